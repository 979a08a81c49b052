"""A small in-memory Hugging Face Hub on 127.0.0.1 for tests: enough of the HTTP API for the real
`huggingface_hub` client to create a model repo, commit to it (`upload_folder`, with regular files inline in the
commit and LFS files through the LFS batch API) and download from it (`hf_hub_download`, `snapshot_download`,
transformers' `from_pretrained`).

Hand-written because no library provides a local Hub server. The routes follow huggingface_hub 2.x:
`HfApi.create_repo` (POST /api/repos/create), `_validate_yaml` (POST /api/validate-yaml), `_fetch_upload_modes`
(POST /api/models/{repo}/preupload/{rev}), `post_lfs_batch_info` (POST /{repo}.git/info/lfs/objects/batch) and
`lfs_upload` (PUT to the returned href, then POST to the verify href), `_send_commit` (POST
/api/models/{repo}/commit/{rev}, ndjson), `model_info` (GET /api/models/{repo}[/revision/{rev}]), `list_repo_tree`
(GET /api/models/{repo}/tree/{rev}[/{path}]) and `get_hf_file_metadata`/`http_get` (HEAD/GET
/{repo}/resolve/{rev}/{path}, with `X-Repo-Commit`, `ETag`, `X-Linked-Etag` and `X-Linked-Size`).

Xet storage is not implemented: set `huggingface_hub.constants.HF_HUB_DISABLE_XET = True` (or `HF_HUB_DISABLE_XET=1`
before importing huggingface_hub) so the client uses the LFS protocol. `patch_hub_client(endpoint)` does that and
points the client's default endpoint at the fake hub, for code that cannot be given `endpoint=`.

Usage:
    with running_fake_hub() as hub:          # hub.endpoint == "http://127.0.0.1:<port>"
        HfApi(endpoint=hub.endpoint).create_repo("org/name")
        hub.fail_requests("/commit/", times=2)   # the next two commits get HTTP 500
"""

import base64
import contextlib
import dataclasses
import hashlib
import json
import re
import socket
import threading
from collections.abc import Iterator
from datetime import datetime, timezone
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

# Files at least this large, or whose first bytes hold a NUL byte (binary), are stored through LFS, like the Hub's
# default .gitattributes does for weights; others are committed inline as base64.
LFS_SIZE_THRESHOLD = 1024 * 1024

GITATTRIBUTES = (
    b"*.safetensors filter=lfs diff=lfs merge=lfs -text\n*.bin filter=lfs diff=lfs merge=lfs -text\n"
)


def git_blob_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclasses.dataclass(frozen=True)
class StoredFile:
    content: bytes
    is_lfs: bool

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()

    @property
    def lfs_pointer(self) -> bytes:
        return f"version https://git-lfs.github.com/spec/v1\noid sha256:{self.sha256}\nsize {len(self.content)}\n".encode()

    @property
    def blob_id(self) -> str:
        """The git object id: of the pointer file for LFS files, of the content otherwise."""
        return git_blob_sha1(self.lfs_pointer if self.is_lfs else self.content)

    @property
    def etag(self) -> str:
        return self.sha256 if self.is_lfs else self.blob_id


@dataclasses.dataclass
class Commit:
    oid: str
    summary: str
    files: dict[str, StoredFile]


@dataclasses.dataclass
class Repo:
    repo_id: str
    private: bool
    created_at: str
    commits: list[Commit]

    @property
    def head(self) -> Commit:
        return self.commits[-1]

    def resolve(self, revision: str) -> Commit | None:
        if revision == "main":
            return self.head
        return next((commit for commit in self.commits if commit.oid == revision), None)


class HubError(Exception):
    def __init__(
        self, status: int, message: str, error_code: str | None = None, headers: dict | None = None, **body
    ):
        super().__init__(message)
        self.status, self.message, self.error_code, self.headers = status, message, error_code, headers or {}
        self.body = {"error": message, **body}


class FakeHub:
    """State of the fake hub: repos, LFS objects, a log of requests, and failure injection."""

    def __init__(self):
        self.endpoint = ""
        self.repos: dict[str, Repo] = {}
        self.lfs_objects: dict[str, bytes] = {}
        self.requests: list[tuple[str, str]] = []
        self.unhandled: list[tuple[str, str]] = []
        self._failures: list[list] = []  # [path substring, remaining count, status]
        self._lock = threading.Lock()
        self._open = threading.Event()
        self._open.set()

    # Failure injection and flow control, for tests.
    def fail_requests(self, path_contains: str, times: int, status: int = 500) -> None:
        """Answer the next `times` requests whose path contains `path_contains` with HTTP `status`."""
        with self._lock:
            self._failures.append([path_contains, times, status])

    def pause(self) -> None:
        """Hold every request until `resume()` (to observe a client that is waiting on the network)."""
        self._open.clear()

    def resume(self) -> None:
        self._open.set()

    def files(self, repo_id: str, revision: str = "main") -> dict[str, bytes]:
        """Content of every file of `repo_id` at `revision`."""
        with self._lock:
            commit = self.repos[repo_id].resolve(revision)
            return {path: stored.content for path, stored in commit.files.items()}

    def _injected_failure(self, path: str) -> int | None:
        with self._lock:
            for failure in self._failures:
                if failure[0] in path and failure[1] > 0:
                    failure[1] -= 1
                    return failure[2]
        return None

    def _repo(self, repo_id: str) -> Repo:
        repo = self.repos.get(repo_id)
        if repo is None:
            raise HubError(404, f"Repository {repo_id} not found", "RepoNotFound")
        return repo

    def _commit(self, repo_id: str, revision: str) -> Commit:
        commit = self._repo(repo_id).resolve(revision)
        if commit is None:
            raise HubError(404, f"Revision {revision} not found in {repo_id}", "RevisionNotFound")
        return commit

    def _new_commit(self, repo: Repo | None, summary: str, files: dict[str, StoredFile]) -> Commit:
        parent = repo.head.oid if repo is not None else ""
        listing = json.dumps(sorted((path, stored.blob_id) for path, stored in files.items()))
        oid = hashlib.sha1(f"{parent}\n{summary}\n{listing}\n{len(self.requests)}".encode()).hexdigest()
        return Commit(oid=oid, summary=summary, files=files)

    # Routes. Each returns (status, JSON-able body or bytes, extra headers).
    def create_repo(self, payload: dict) -> tuple:
        if payload.get("type", "model") not in (None, "model"):
            raise HubError(400, "The fake hub only holds model repos.")
        if not payload.get("organization"):
            raise HubError(400, "The fake hub needs a namespaced repo id (ORG/NAME).")
        repo_id = f"{payload['organization']}/{payload['name']}"
        url = f"{self.endpoint}/{repo_id}"
        with self._lock:
            if repo_id in self.repos:
                raise HubError(409, "You already created this model repo", url=url)
            first = self._new_commit(
                None, "initial commit", {".gitattributes": StoredFile(GITATTRIBUTES, False)}
            )
            created_at = datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
            self.repos[repo_id] = Repo(repo_id, payload.get("visibility") == "private", created_at, [first])
        return 200, {"url": url, "name": repo_id, "id": repo_id}, {}

    def preupload(self, repo_id: str, revision: str, payload: dict) -> tuple:
        with self._lock:
            files = self._commit(repo_id, revision).files
            answers = []
            for entry in payload["files"]:
                sample = base64.b64decode(entry["sample"])
                is_lfs = entry["size"] >= LFS_SIZE_THRESHOLD or b"\0" in sample
                remote = files.get(entry["path"])
                remote_oid = None
                if remote is not None:
                    remote_oid = remote.sha256 if remote.is_lfs else remote.blob_id
                answers.append(
                    {
                        "path": entry["path"],
                        "uploadMode": "lfs" if is_lfs else "regular",
                        "shouldIgnore": False,
                        "oid": remote_oid,
                    }
                )
        return 200, {"files": answers, "commitOid": self._commit(repo_id, revision).oid}, {}

    def lfs_batch(self, repo_id: str, payload: dict) -> tuple:
        self._repo(repo_id)
        objects = []
        for entry in payload["objects"]:
            answer = {"oid": entry["oid"], "size": entry["size"]}
            if entry["oid"] not in self.lfs_objects:
                answer["actions"] = {
                    "upload": {"href": f"{self.endpoint}/fake-lfs/{entry['oid']}"},
                    "verify": {"href": f"{self.endpoint}/fake-lfs/{entry['oid']}/verify"},
                }
            objects.append(answer)
        return 200, {"transfer": "basic", "objects": objects}, {}

    def lfs_put(self, oid: str, body: bytes) -> tuple:
        if hashlib.sha256(body).hexdigest() != oid:
            raise HubError(400, f"LFS upload content does not match sha256 {oid}")
        with self._lock:
            self.lfs_objects[oid] = body
        return 200, b"", {}

    def lfs_verify(self, oid: str, payload: dict) -> tuple:
        if oid not in self.lfs_objects or len(self.lfs_objects[oid]) != payload.get("size"):
            raise HubError(404, f"LFS object {oid} was not uploaded")
        return 200, {"success": True}, {}

    def commit(self, repo_id: str, revision: str, body: bytes) -> tuple:
        lines = [json.loads(line) for line in body.splitlines() if line.strip()]
        if not lines or lines[0]["key"] != "header":
            raise HubError(400, "A commit starts with a header line.")
        header = lines[0]["value"]
        with self._lock:
            repo = self._repo(repo_id)
            if revision != "main":
                raise HubError(400, "The fake hub commits to main only.")
            if header.get("parentCommit") not in (None, repo.head.oid):
                raise HubError(412, "A commit has happened since. Please refresh and try again.")
            files = dict(repo.head.files)
            for line in lines[1:]:
                key, value = line["key"], line["value"]
                if key == "file":
                    files[value["path"]] = StoredFile(base64.b64decode(value["content"]), is_lfs=False)
                elif key == "lfsFile":
                    content = self.lfs_objects.get(value["oid"])
                    if content is None:
                        raise HubError(400, f"LFS object {value['oid']} of {value['path']} was not uploaded.")
                    files[value["path"]] = StoredFile(content, is_lfs=True)
                elif key == "deletedFile":
                    files.pop(value["path"], None)
                elif key == "deletedFolder":
                    prefix = value["path"].rstrip("/") + "/"
                    files = {path: stored for path, stored in files.items() if not path.startswith(prefix)}
                else:
                    raise HubError(400, f"Unknown commit operation {key!r}.")
            commit = self._new_commit(repo, header["summary"], files)
            repo.commits.append(commit)
        answer = {
            "success": True,
            "commitOid": commit.oid,
            "commitUrl": f"{self.endpoint}/{repo_id}/commit/{commit.oid}",
        }
        return 200, answer, {}

    def model_info(self, repo_id: str, revision: str, query: dict) -> tuple:
        with self._lock:
            repo = self._repo(repo_id)
            commit = self._commit(repo_id, revision)
            siblings = []
            for path, stored in sorted(commit.files.items()):
                sibling = {"rfilename": path}
                if "blobs" in query:
                    sibling |= {"size": len(stored.content), "blobId": stored.blob_id}
                    if stored.is_lfs:
                        sibling["lfs"] = {
                            "size": len(stored.content),
                            "sha256": stored.sha256,
                            "pointerSize": len(stored.lfs_pointer),
                        }
                siblings.append(sibling)
            body = {
                "_id": repo_id,
                "id": repo_id,
                "modelId": repo_id,
                "author": repo_id.split("/")[0],
                "sha": commit.oid,
                "private": repo.private,
                "disabled": False,
                "gated": False,
                "downloads": 0,
                "likes": 0,
                "tags": [],
                "createdAt": repo.created_at,
                "lastModified": repo.created_at,
                "siblings": siblings,
            }
        return 200, body, {}

    def tree(self, repo_id: str, revision: str, folder: str, query: dict) -> tuple:
        recursive = query.get("recursive", ["false"])[0].lower() in ("1", "true")
        prefix = folder.rstrip("/") + "/" if folder else ""
        with self._lock:
            commit = self._commit(repo_id, revision)
            entries, folders = [], set()
            for path, stored in sorted(commit.files.items()):
                if not path.startswith(prefix):
                    continue
                parts = path[len(prefix) :].split("/")
                for depth in range(1, len(parts) if recursive else min(2, len(parts))):
                    folders.add(prefix + "/".join(parts[:depth]))
                if len(parts) > 1 and not recursive:
                    continue
                entry = {"type": "file", "path": path, "size": len(stored.content), "oid": stored.blob_id}
                if stored.is_lfs:
                    entry["lfs"] = {
                        "oid": stored.sha256,
                        "size": len(stored.content),
                        "pointerSize": len(stored.lfs_pointer),
                    }
                entries.append(entry)
            if folder and not entries and not folders:
                raise HubError(404, f"{folder} does not exist at {revision}", "EntryNotFound")
        directories = [
            {"type": "directory", "path": path, "oid": git_blob_sha1(path.encode()), "size": 0}
            for path in sorted(folders)
        ]
        return 200, directories + entries, {}

    def resolve(self, repo_id: str, revision: str, path: str) -> tuple:
        with self._lock:
            commit = self._commit(repo_id, revision)
            stored = commit.files.get(path)
            if stored is None:
                raise HubError(
                    404,
                    f"{path} does not exist at {revision}",
                    "EntryNotFound",
                    {"X-Repo-Commit": commit.oid},
                )
        headers = {
            "X-Repo-Commit": commit.oid,
            "ETag": f'"{stored.etag}"',
            "Content-Type": "application/octet-stream",
        }
        if stored.is_lfs:
            headers |= {"X-Linked-Etag": f'"{stored.sha256}"', "X-Linked-Size": str(len(stored.content))}
        return 200, stored.content, headers


_REPO = r"(?P<repo>[^/]+/[^/]+)"
_REVISION = r"(?P<revision>[^/]+)"
_ROUTES = [
    ("POST", re.compile(r"/api/repos/create"), "create_repo"),
    ("POST", re.compile(r"/api/validate-yaml"), "validate_yaml"),
    ("POST", re.compile(rf"/api/models/{_REPO}/preupload/{_REVISION}"), "preupload"),
    ("POST", re.compile(rf"/api/models/{_REPO}/commit/{_REVISION}"), "commit"),
    ("POST", re.compile(rf"/{_REPO}\.git/info/lfs/objects/batch"), "lfs_batch"),
    ("PUT", re.compile(r"/fake-lfs/(?P<oid>[0-9a-f]{64})"), "lfs_put"),
    ("POST", re.compile(r"/fake-lfs/(?P<oid>[0-9a-f]{64})/verify"), "lfs_verify"),
    ("GET", re.compile(rf"/api/models/{_REPO}/tree/{_REVISION}(?:/(?P<path>.*))?"), "tree"),
    ("GET", re.compile(rf"/api/models/{_REPO}(?:/revision/{_REVISION})?"), "model_info"),
    ("GET", re.compile(rf"/{_REPO}/resolve/{_REVISION}/(?P<path>.+)"), "resolve"),
    ("HEAD", re.compile(rf"/{_REPO}/resolve/{_REVISION}/(?P<path>.+)"), "resolve"),
]


class _Handler(BaseHTTPRequestHandler):
    hub: FakeHub  # set on a subclass per server

    def log_message(self, format, *args):  # keep pytest output clean
        pass

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _send(self, status: int, body, headers: dict) -> None:
        if not isinstance(body, bytes):
            body = json.dumps(body).encode()
            headers = {"Content-Type": "application/json", **headers}
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _handle(self) -> None:
        hub = self.hub
        hub._open.wait()
        split = urlsplit(self.path)
        path, query = unquote(split.path), parse_qs(split.query)
        body = self._read_body() if self.command in ("POST", "PUT") else b""
        hub.requests.append((self.command, split.path))
        status = hub._injected_failure(split.path)
        if status is not None:
            self._send(status, {"error": "injected failure"}, {})
            return
        for method, pattern, name in _ROUTES:
            match = pattern.fullmatch(path)
            if match is None or method != self.command:
                continue
            groups = match.groupdict()
            try:
                if name == "create_repo":
                    result = hub.create_repo(json.loads(body))
                elif name == "validate_yaml":
                    result = (200, {"errors": [], "warnings": []}, {})
                elif name == "preupload":
                    result = hub.preupload(groups["repo"], groups["revision"], json.loads(body))
                elif name == "commit":
                    result = hub.commit(groups["repo"], groups["revision"], body)
                elif name == "lfs_batch":
                    result = hub.lfs_batch(groups["repo"], json.loads(body))
                elif name == "lfs_put":
                    result = hub.lfs_put(groups["oid"], body)
                elif name == "lfs_verify":
                    result = hub.lfs_verify(groups["oid"], json.loads(body))
                elif name == "tree":
                    result = hub.tree(groups["repo"], groups["revision"], groups["path"] or "", query)
                elif name == "model_info":
                    result = hub.model_info(groups["repo"], groups["revision"] or "main", query)
                else:
                    result = hub.resolve(groups["repo"], groups["revision"], groups["path"])
            except HubError as error:
                headers = {"X-Error-Message": error.message, **error.headers}
                if error.error_code:
                    headers["X-Error-Code"] = error.error_code
                self._send(error.status, error.body, headers)
                return
            self._send(*result)
            return
        hub.unhandled.append((self.command, split.path))
        self._send(HTTPStatus.NOT_FOUND, {"error": f"fake hub: no route for {self.command} {split.path}"}, {})

    do_GET = do_HEAD = do_POST = do_PUT = _handle


@contextlib.contextmanager
def running_fake_hub() -> Iterator[FakeHub]:
    """Start a fake hub on 127.0.0.1 (a free port) in a background thread; yield it; stop it."""
    hub = FakeHub()
    handler = type("FakeHubHandler", (_Handler,), {"hub": hub})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    hub.endpoint = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="fake-hub", daemon=True)
    thread.start()
    try:
        yield hub
    finally:
        hub.resume()
        server.shutdown()
        server.server_close()
        thread.join()


def free_local_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (to play a hub that is down)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def patch_hub_client(endpoint: str) -> Iterator[None]:
    """Point `huggingface_hub`'s default endpoint at `endpoint`, use LFS instead of Xet, leave offline mode, and
    refuse connections to anything but the loopback interface (so a test can never reach the real Hub)."""
    from huggingface_hub import constants

    saved = {
        name: getattr(constants, name)
        for name in ("ENDPOINT", "HUGGINGFACE_CO_URL_TEMPLATE", "HF_HUB_DISABLE_XET", "HF_HUB_OFFLINE")
    }
    real_connect = socket.socket.connect

    def loopback_only_connect(sock, address):
        if sock.family in (socket.AF_INET, socket.AF_INET6) and address[0] not in (
            "127.0.0.1",
            "::1",
            "localhost",
        ):
            raise OSError(
                f"A test tried to connect to {address}; only the fake hub on 127.0.0.1 is reachable."
            )
        return real_connect(sock, address)

    constants.ENDPOINT = endpoint
    constants.HUGGINGFACE_CO_URL_TEMPLATE = endpoint + "/{repo_id}/resolve/{revision}/{filename}"
    constants.HF_HUB_DISABLE_XET = True
    constants.HF_HUB_OFFLINE = False
    socket.socket.connect = loopback_only_connect
    try:
        yield
    finally:
        socket.socket.connect = real_connect
        for name, value in saved.items():
            setattr(constants, name, value)

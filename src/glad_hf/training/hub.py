"""Push checkpoints to the Hugging Face Hub in the background while training goes on.

The training loop calls `submit(folder)` after writing a checkpoint: the folder is copied to a private staging
directory (a local disk copy, the only work done on the caller's thread) and a worker thread uploads the copy with
`HfApi.upload_folder`, retrying with exponential backoff. A failed upload is logged, never raised: training must not
stop because the network did.

Why not `huggingface_hub.CommitScheduler`: it pushes a folder on a timer, whatever state the folder is in, so it
could push a checkpoint half-written; here each upload is a snapshot taken at a checkpoint boundary.
"""

import dataclasses
import itertools
import logging
import os
import queue
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from huggingface_hub import HfApi

from ..publishing import check_repo_id

logger = logging.getLogger(__name__)


@dataclasses.dataclass
class UploadJob:
    """One submitted folder. `state` is "queued", "uploading", "done", "failed" or "superseded" (a newer
    submission to the same `path_in_repo` replaced it before it started)."""

    job_id: int
    folder: str
    path_in_repo: str | None
    commit_message: str
    state: str = "queued"
    attempts: int = 0
    commit_url: str | None = None
    error: str | None = None
    snapshot: Path | None = dataclasses.field(default=None, repr=False)


@dataclasses.dataclass(frozen=True)
class UploadStatus:
    """Counts of submitted jobs by state, the last commit pushed and the last error seen."""

    submitted: int
    queued: int
    uploading: int
    done: int
    failed: int
    superseded: int
    last_commit_url: str | None
    last_error: str | None


class BackgroundHubUploader:
    """Upload checkpoint folders to a Hub model repo from a worker thread.

    Args:
        repo_id: "ORG/NAME" of the model repo; created (with `private`) on the first upload if missing.
        token: Hub token; `None` uses the locally saved one.
        private: create the repo private.
        endpoint: Hub URL; `None` uses `HF_ENDPOINT` / huggingface.co.
        max_retries: retries of a failed upload after its first attempt.
        backoff: seconds to wait before the first retry; doubled at each further retry, capped at `max_backoff`.
        max_backoff: longest wait between two attempts, in seconds.

    Use `wait()` to let pending uploads finish and `close()` at the end of training (also a context manager).
    """

    def __init__(
        self,
        repo_id: str,
        token: str | None = None,
        private: bool = False,
        endpoint: str | None = None,
        max_retries: int = 3,
        backoff: float = 10.0,
        max_backoff: float = 300.0,
    ):
        check_repo_id(repo_id)
        self.repo_id = repo_id
        self.private = private
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.api = HfApi(endpoint=endpoint, token=token)
        self.jobs: list[UploadJob] = []
        self._repo_created = False
        self._lock = threading.Lock()
        self._queue: queue.Queue[UploadJob | None] = queue.Queue()
        self._closed = False
        self._job_ids = itertools.count()
        self._staging = Path(tempfile.mkdtemp(prefix="glad-hub-upload-"))
        self._worker = threading.Thread(target=self._work, name=f"hub-upload-{repo_id}", daemon=True)
        self._worker.start()

    def submit(
        self,
        folder: str | os.PathLike,
        path_in_repo: str | None = None,
        commit_message: str | None = None,
        *,
        extra_files: Sequence[str | os.PathLike] = (),
        prepare: Callable[[Path], object] | None = None,
    ) -> UploadJob:
        """Snapshot `folder` (with `extra_files` copied in, then `prepare(snapshot)` run on it) and queue its upload
        to `path_in_repo` (the repo root by default); return at once.

        A still-queued upload to the same `path_in_repo` is superseded by this one. If the snapshot cannot be
        taken (missing folder, full disk, `prepare` failing) the job is marked failed and logged; nothing is raised.
        """
        if self._closed:
            raise RuntimeError("This BackgroundHubUploader is closed.")
        folder = Path(folder)
        job = UploadJob(
            job_id=next(self._job_ids),
            folder=str(folder),
            path_in_repo=path_in_repo,
            commit_message=commit_message or f"Upload {folder.name}",
        )
        snapshot = self._staging / f"{job.job_id:06d}"
        try:
            shutil.copytree(folder, snapshot)
            for path in extra_files:
                shutil.copy2(path, snapshot / Path(path).name)
            if prepare is not None:
                prepare(snapshot)
        except (OSError, ValueError) as error:
            shutil.rmtree(snapshot, ignore_errors=True)
            job.state, job.error = "failed", f"could not snapshot {folder}: {error}"
            logger.error("Hub upload of %s not queued: %s", folder, job.error)
            with self._lock:
                self.jobs.append(job)
            return job
        job.snapshot = snapshot
        with self._lock:
            superseded = [
                earlier
                for earlier in self.jobs
                if earlier.state == "queued" and earlier.path_in_repo == path_in_repo
            ]
            for earlier in superseded:
                earlier.state = "superseded"
            self.jobs.append(job)
        for earlier in superseded:
            shutil.rmtree(earlier.snapshot, ignore_errors=True)
        self._queue.put(job)
        return job

    def _work(self) -> None:
        while (job := self._queue.get()) is not None:
            try:
                with self._lock:
                    if job.state == "superseded":
                        continue
                    job.state = "uploading"
                self._upload_with_retries(job)
            except Exception as error:  # a bug here must not kill the worker and leave `wait()` hanging
                job.state, job.error = "failed", f"{type(error).__name__}: {error}"
                logger.exception("Hub upload of %s failed unexpectedly.", job.folder)
            finally:
                shutil.rmtree(job.snapshot, ignore_errors=True)
                self._queue.task_done()
        self._queue.task_done()

    def _upload_with_retries(self, job: UploadJob) -> None:
        for attempt in range(self.max_retries + 1):
            job.attempts = attempt + 1
            try:
                if not self._repo_created:
                    self.api.create_repo(self.repo_id, private=self.private, exist_ok=True)
                    self._repo_created = True
                commit = self.api.upload_folder(
                    repo_id=self.repo_id,
                    folder_path=job.snapshot,
                    path_in_repo=job.path_in_repo,
                    commit_message=job.commit_message,
                )
            except Exception as error:  # any failure (HTTP, network, disk) is retried, then logged
                job.error = f"{type(error).__name__}: {error}"
                if attempt == self.max_retries:
                    job.state = "failed"
                    logger.error(
                        "Hub upload of %s to %s failed after %d attempts: %s",
                        job.folder,
                        self.repo_id,
                        job.attempts,
                        job.error,
                    )
                    return
                delay = min(self.backoff * 2**attempt, self.max_backoff)
                logger.warning(
                    "Hub upload of %s to %s failed (attempt %d of %d), retrying in %.1f s: %s",
                    job.folder,
                    self.repo_id,
                    job.attempts,
                    self.max_retries + 1,
                    delay,
                    job.error,
                )
                time.sleep(delay)
            else:
                job.state, job.commit_url, job.error = "done", commit.commit_url, None
                logger.info("Pushed %s to %s (%s).", job.folder, self.repo_id, commit.commit_url)
                return

    def wait(self, timeout: float | None = None) -> bool:
        """Block until every queued upload has finished (succeeded or given up); return False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
        return True

    def close(self, timeout: float | None = None) -> UploadStatus:
        """Finish pending uploads (up to `timeout` seconds), stop the worker and return the final status.
        Uploads still running at the timeout continue in the daemon thread until the process exits."""
        if not self._closed:
            self._closed = True
            finished = self.wait(timeout)
            self._queue.put(None)
            if finished:
                self._worker.join()
                shutil.rmtree(self._staging, ignore_errors=True)
        status = self.status()
        if status.failed:
            logger.error("%d of %d Hub uploads to %s failed.", status.failed, status.submitted, self.repo_id)
        return status

    def status(self) -> UploadStatus:
        with self._lock:
            states = [job.state for job in self.jobs]
            last_commit = next((job.commit_url for job in reversed(self.jobs) if job.commit_url), None)
            last_error = next((job.error for job in reversed(self.jobs) if job.error), None)
        return UploadStatus(
            submitted=len(states),
            queued=states.count("queued"),
            uploading=states.count("uploading"),
            done=states.count("done"),
            failed=states.count("failed"),
            superseded=states.count("superseded"),
            last_commit_url=last_commit,
            last_error=last_error,
        )

    def __enter__(self) -> "BackgroundHubUploader":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

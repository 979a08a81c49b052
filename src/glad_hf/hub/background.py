"""Pushing checkpoints to the Hub in the background while training goes on.

The training loop calls `submit(folder)` after writing a checkpoint: the folder is copied to a private staging
directory (a local disk copy, the only work done on the caller's thread) and the copy is uploaded by huggingface_hub's
own background worker (`HfApi.run_as_future`, one thread, uploads in submission order), retried as `retry.RetryPolicy`
says. A failed upload is logged, never raised: training must not stop because the network did.

Why not `huggingface_hub.CommitScheduler`: it pushes a folder on a timer, whatever state the folder is in, so it
could push a checkpoint half-written; here each upload is a snapshot taken at a checkpoint boundary.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import itertools
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from huggingface_hub import HfApi

from .push import check_repo_id
from .retry import HubPushError, RetryPolicy

logger = logging.getLogger(__name__)

# Longer waits than a push from the command line: a training run can wait for the Hub to come back.
BACKGROUND_RETRIES = RetryPolicy(max_retries=3, backoff=10.0, max_backoff=300.0)


@dataclasses.dataclass
class UploadJob:
    """One submitted folder. `state` is "queued", "uploading", "done", "failed", "superseded" (a newer submission to
    the same `path_in_repo` replaced it before it started) or "cancelled" (still queued when `close` timed out)."""

    job_id: int
    folder: str
    path_in_repo: str | None
    commit_message: str
    state: str = "queued"
    attempts: int = 0
    commit_url: str | None = None
    error: str | None = None
    snapshot: Path | None = dataclasses.field(default=None, repr=False)
    future: concurrent.futures.Future | None = dataclasses.field(default=None, repr=False)


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
    """Upload checkpoint folders to a Hub model repo in the background.

    Args:
        repo_id: "ORG/NAME" of the model repo; created (with `private`) on the first upload if missing.
        token: Hub token; `None` uses the locally saved one.
        private: create the repo private.
        retries: how failed uploads are retried (`BACKGROUND_RETRIES` by default).

    Use `wait()` to let pending uploads finish and `close()` at the end of training (also a context manager).
    """

    def __init__(
        self,
        repo_id: str,
        *,
        token: str | None = None,
        private: bool = False,
        retries: RetryPolicy = BACKGROUND_RETRIES,
    ):
        self.repo_id = check_repo_id(repo_id)
        self.private = private
        self.retries = retries
        self.api = HfApi(token=token)
        self.jobs: list[UploadJob] = []
        self._repo_created = False
        self._lock = threading.Lock()
        self._stop_retrying = threading.Event()
        self._closed = False
        self._job_ids = itertools.count()
        self._staging = Path(tempfile.mkdtemp(prefix="glad-hub-upload-"))

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
                earlier.future.cancel()  # False when its upload has just started: it then sees its state and stops
            self.jobs.append(job)
            job.future = self.api.run_as_future(self._upload, job)
        for earlier in superseded:
            shutil.rmtree(earlier.snapshot, ignore_errors=True)
        return job

    def _upload(self, job: UploadJob) -> None:
        with self._lock:
            if job.state != "queued":
                return
            job.state = "uploading"

        def push():
            if not self._repo_created:
                self.api.create_repo(self.repo_id, private=self.private, exist_ok=True)
                self._repo_created = True
            return self.api.upload_folder(
                repo_id=self.repo_id,
                folder_path=job.snapshot,
                path_in_repo=job.path_in_repo,
                commit_message=job.commit_message,
            )

        try:
            commit, job.attempts = self.retries.call(
                push, what=f"Hub upload of {job.folder} to {self.repo_id}", stop=self._stop_retrying
            )
        except HubPushError as error:
            job.state, job.attempts, job.error = "failed", error.attempts, str(error)
            logger.error("%s", error)
        except Exception as error:  # a bug here must be logged, not lost in the future
            job.state, job.error = "failed", f"{type(error).__name__}: {error}"
            logger.exception("Hub upload of %s failed unexpectedly.", job.folder)
        else:
            job.state, job.commit_url, job.error = "done", commit.commit_url, None
            logger.info("Pushed %s to %s (%s).", job.folder, self.repo_id, commit.commit_url)
        finally:
            shutil.rmtree(job.snapshot, ignore_errors=True)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until every queued upload has finished (succeeded or given up); return False on timeout."""
        with self._lock:
            futures = [job.future for job in self.jobs if job.future is not None]
        _, not_done = concurrent.futures.wait(futures, timeout=timeout)
        return not not_done

    def close(self, timeout: float | None = None) -> UploadStatus:
        """Finish pending uploads (up to `timeout` seconds) and return the final status. At the timeout, queued
        uploads are cancelled and the running one makes no further retry."""
        if not self._closed:
            self._closed = True
            if not self.wait(timeout):
                self._stop_retrying.set()
                with self._lock:
                    for job in self.jobs:
                        if job.state == "queued" and job.future.cancel():
                            job.state, job.error = (
                                "cancelled",
                                f"still queued when close() timed out ({timeout} s)",
                            )
                            shutil.rmtree(job.snapshot, ignore_errors=True)
                logger.error("Hub uploads to %s still pending after %s s: given up.", self.repo_id, timeout)
            else:
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
            failed=states.count("failed") + states.count("cancelled"),
            superseded=states.count("superseded"),
            last_commit_url=last_commit,
            last_error=last_error,
        )

    def __enter__(self) -> BackgroundHubUploader:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

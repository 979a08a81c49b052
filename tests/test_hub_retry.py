# ruff: noqa: F811  (tests take the `tiny_model_folder` fixture imported from test_hub_push)
"""The one retry policy of every push (`glad_hf.hub.retry`): what is retried and what is not, how long it waits,
and that the background uploader and `push_model_folder` both follow it (they used to disagree on 401/403)."""

import logging
import threading
import time

import httpx2
import pytest
from huggingface_hub.errors import (
    HfHubHTTPError,
    HFValidationError,
    OfflineModeIsEnabled,
    RepositoryNotFoundError,
)

from glad_hf.hub.background import BackgroundHubUploader
from glad_hf.hub.retry import HubPushError, RetryPolicy, is_retryable
from test_hub_push import tiny_model_folder  # noqa: F401  (fixture)

REPO_ID = "glad-org/retry"


def http_error(status: int, cls=HfHubHTTPError):
    request = httpx2.Request("POST", "http://127.0.0.1/api/repos/create")
    return cls(f"{status} Client Error", response=httpx2.Response(status, request=request))


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422])
def test_answers_a_retry_cannot_change_are_not_retried(status):
    assert not is_retryable(http_error(status))


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_rate_limits_timeouts_and_server_errors_are_retried(status):
    assert is_retryable(http_error(status))


@pytest.mark.parametrize(
    "error, retried",
    [
        (http_error(404, RepositoryNotFoundError), False),
        (OfflineModeIsEnabled("offline"), False),  # a ConnectionError, yet never worth a retry
        (HFValidationError("bad id"), False),
        (ValueError("a bug of ours"), False),
        (httpx2.ConnectError("Connection refused"), True),
        (httpx2.ReadTimeout("timed out"), True),
        (ConnectionResetError("reset"), True),
    ],
)
def test_errors_other_than_http_answers(error, retried):
    assert is_retryable(error) is retried


def test_waits_double_up_to_the_cap():
    policy = RetryPolicy(max_retries=5, backoff=1.0, max_backoff=5.0)
    assert [policy.delay(retry) for retry in range(5)] == [1.0, 2.0, 4.0, 5.0, 5.0]
    with pytest.raises(ValueError, match="max_retries must be >= 0"):
        RetryPolicy(max_retries=-1)


def test_call_raises_naming_the_push_and_counting_attempts(caplog):
    answers = iter([http_error(503), http_error(500), http_error(403)])

    def request():
        raise next(answers)

    with caplog.at_level(logging.WARNING, logger="glad_hf.hub"), pytest.raises(HubPushError) as raised:
        RetryPolicy(max_retries=5, backoff=0.0).call(request, what="pushing x to org/y")
    assert raised.value.attempts == 3  # 503 and 500 retried, 403 not
    assert str(raised.value).startswith("pushing x to org/y failed after 3 attempts: HfHubHTTPError: 403")
    assert sum("retrying" in record.getMessage() for record in caplog.records) == 2


def test_call_stops_waiting_when_told():
    stop = threading.Event()
    stop.set()
    attempts = []

    def request():
        attempts.append(1)
        raise http_error(500)

    started = time.monotonic()
    with pytest.raises(HubPushError, match="after 1 attempt:"):
        RetryPolicy(max_retries=3, backoff=60.0).call(request, what="push", stop=stop)
    assert len(attempts) == 1 and time.monotonic() - started < 5


def test_the_background_uploader_gives_up_at_once_on_a_refused_permission(fake_hub, tiny_model_folder):
    fake_hub.fail_requests("/api/repos/create", times=100, status=403)
    uploader = BackgroundHubUploader(REPO_ID, retries=RetryPolicy(max_retries=3, backoff=0.0))
    job = uploader.submit(tiny_model_folder)
    status = uploader.close()
    assert job.state == "failed" and job.attempts == 1 and "403" in job.error
    assert status.failed == 1 and fake_hub.repos == {}


def test_close_with_a_timeout_cancels_queued_uploads_and_stops_retrying(
    fake_hub, tiny_model_folder, tmp_path
):
    fake_hub.fail_requests("/api/repos/create", times=100, status=500)
    uploader = BackgroundHubUploader(REPO_ID, retries=RetryPolicy(max_retries=50, backoff=30.0))
    running = uploader.submit(tiny_model_folder, path_in_repo="a")
    queued = uploader.submit(tiny_model_folder, path_in_repo="b")
    started = time.monotonic()
    uploader.close(timeout=1.0)
    assert queued.state == "cancelled"
    running.future.result(timeout=10)  # its wait between retries ends as soon as close gives up
    assert running.state == "failed" and running.attempts == 1
    assert time.monotonic() - started < 10
    status = uploader.status()
    assert status.failed == 2 and status.done == 0 and status.uploading == 0

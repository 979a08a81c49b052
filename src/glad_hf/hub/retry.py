"""The one retry policy of every push glad_hf makes, now (`push.push_model_folder`) or in the background
(`background.BackgroundHubUploader`): retry what another attempt can change (rate limits, server errors, timeouts,
lost connections), never what it cannot (a bad request, a missing permission or repo, an invalid id, offline mode).

Written here because huggingface_hub retries only some of its own requests (`http_backoff`), not a whole
`create_repo` + `upload_folder` push, and gives no way to stop waiting when training ends.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable
from typing import TypeVar

from huggingface_hub.errors import (
    HfHubHTTPError,
    HFValidationError,
    OfflineModeIsEnabled,
    RepositoryNotFoundError,
)

try:  # the HTTP client of huggingface_hub 2 (httpx2) or 1 (httpx): lost connections and timeouts
    from httpx2 import TransportError
except ImportError:  # pragma: no cover - huggingface_hub 1.x
    from httpx import TransportError

logger = logging.getLogger(__name__)

T = TypeVar("T")

RETRIED_STATUSES = (408, 429)  # request timeout, too many requests; and every 5xx


class HubPushError(RuntimeError):
    """A push to the Hub failed after every attempt the policy allows; the message names the push and its last
    error, `attempts` says how many were made."""

    def __init__(self, message: str, *, attempts: int = 0):
        super().__init__(message)
        self.attempts = attempts


def is_retryable(error: BaseException) -> bool:
    """Whether another attempt at a Hub request could succeed after `error`."""
    if isinstance(error, (OfflineModeIsEnabled, RepositoryNotFoundError, HFValidationError)):
        return False
    if isinstance(error, HfHubHTTPError):
        status = getattr(error.response, "status_code", None)
        return status is None or status in RETRIED_STATUSES or status >= 500
    return isinstance(error, (TransportError, ConnectionError, TimeoutError))


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """`max_retries` further attempts after the first, waiting `backoff` seconds before the first retry, doubled at
    each further one up to `max_backoff`."""

    max_retries: int = 3
    backoff: float = 5.0
    max_backoff: float = 120.0

    def __post_init__(self):
        for name in ("max_retries", "backoff", "max_backoff"):
            if getattr(self, name) < 0:
                raise ValueError(f"--{name} / {name} must be >= 0, got {getattr(self, name)}")

    def delay(self, retry: int) -> float:
        """Seconds to wait before retry number `retry` (0 for the first)."""
        return min(self.backoff * 2**retry, self.max_backoff)

    def call(
        self, request: Callable[[], T], *, what: str, stop: threading.Event | None = None
    ) -> tuple[T, int]:
        """`(request(), attempts made)`, retrying `request` as the policy says; `HubPushError` naming `what` once
        no attempt is left, the error cannot be retried, or `stop` is set while waiting."""
        stop = stop or threading.Event()
        attempt = 0
        while True:
            attempt += 1
            try:
                return request(), attempt
            except (
                Exception
            ) as error:  # HTTP, network, disk: sorted by `is_retryable`, then raised naming `what`
                last_error = error
            if attempt > self.max_retries or not is_retryable(last_error):
                break
            delay = self.delay(attempt - 1)
            logger.warning(
                "%s failed (attempt %d of %d), retrying in %.1f s: %s",
                what,
                attempt,
                self.max_retries + 1,
                delay,
                last_error,
            )
            if stop.wait(delay):
                break
        raise HubPushError(
            f"{what} failed after {attempt} attempt{'s' if attempt > 1 else ''}: "
            f"{type(last_error).__name__}: {last_error}",
            attempts=attempt,
        ) from last_error

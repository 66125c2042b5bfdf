"""How backend calls and failed jobs are retried: one small policy object."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, TypeVar

import tenacity

from jobman.exceptions import UsageError

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """Retry transient errors up to ``max_retries`` times with exponential backoff and jitter.

    ``sleep`` is injectable so tests never wait in real time.
    """

    max_retries: int = 3
    initial_delay: float = 1.0
    max_delay: float = 60.0
    sleep: Callable[[float], None] = time.sleep

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise UsageError(f"--max-retries must be 0 or more, not {self.max_retries}")

    def delay(self, attempt: int) -> float:
        """The longest wait before retry number ``attempt`` (1-based), without jitter."""
        return min(self.max_delay, self.initial_delay * 2 ** (attempt - 1))

    def call(self, fn: Callable[[], T], is_transient: Callable[[BaseException], bool],
             on_retry: Callable[[int, BaseException], None] | None = None) -> T:
        """Call ``fn``; retry it while it raises transient errors, then re-raise the last one."""

        def before_sleep(state: tenacity.RetryCallState) -> None:
            if on_retry is not None and state.outcome is not None:
                on_retry(state.attempt_number, state.outcome.exception())

        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.max_retries + 1),
            wait=tenacity.wait_random_exponential(multiplier=self.initial_delay, max=self.max_delay),
            retry=tenacity.retry_if_exception(is_transient),
            sleep=self.sleep,
            before_sleep=before_sleep,
            reraise=True,
        )
        return retrying(fn)

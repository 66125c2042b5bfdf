"""How backend calls and failed jobs are retried: one small policy object, and
:class:`BackendCalls`, the calls to one backend made under it.

The same backoff serves both levels: a backend *call* (submit, status, result, cancel) that
raises a transient error is retried in place (through tenacity), and a *job* that ends in a
transient ERROR is resubmitted by the engine after :meth:`RetryPolicy.backoff` seconds.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, TypeVar

import tenacity

from jobman.exceptions import UsageError
from jobman.log import swallowed

if TYPE_CHECKING:  # pragma: no cover
    from jobman.backends.base import Backend

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """Retry transient errors up to ``max_retries`` times with exponential backoff and jitter.

    Retry ``n`` (1-based) waits between half and all of
    ``min(max_delay, initial_delay * 2 ** (n - 1))`` seconds. ``sleep`` and ``random`` are
    injectable so tests never wait in real time and can pin the jitter.
    """

    max_retries: int = 3
    initial_delay: float = 1.0
    max_delay: float = 60.0
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)
    random: Callable[[], float] = field(default=random.random, compare=False)

    def __post_init__(self) -> None:
        if isinstance(self.max_retries, bool) or not isinstance(self.max_retries, int) \
                or self.max_retries < 0:
            raise UsageError(f"--max-retries must be 0 or more, not {self.max_retries!r}")
        if self.initial_delay < 0 or self.max_delay < self.initial_delay:
            raise UsageError("retry delays must satisfy 0 <= initial_delay <= max_delay")

    def delay(self, attempt: int) -> float:
        """The longest wait before retry number ``attempt`` (1-based), without jitter."""
        return min(self.max_delay, self.initial_delay * 2 ** min(max(0, attempt - 1), 64))  # no overflow

    def backoff(self, attempt: int) -> float:
        """The wait before retry number ``attempt``: :meth:`delay` with "equal jitter"."""
        ceiling = self.delay(attempt)
        return ceiling / 2 + self.random() * ceiling / 2

    def call(self, fn: Callable[[], T], is_transient: Callable[[BaseException], bool],
             on_retry: Callable[[int, BaseException], None] | None = None) -> T:
        """Call ``fn``; retry it while it raises transient errors, then re-raise the last one.

        ``on_retry(n, error)`` is called before the wait that precedes retry ``n``.
        """
        try:  # the first try outside tenacity: most calls succeed, and a job of a few circuits
            return fn()  # makes several calls, whose bookkeeping would cost more than the call
        except Exception as error:
            if self.max_retries == 0 or not _safe(is_transient, error):
                raise
            if on_retry is not None:
                on_retry(1, error)
        self.sleep(self.backoff(1))

        def before_sleep(state: tenacity.RetryCallState) -> None:  # tenacity's try n is retry n
            if on_retry is not None and state.outcome is not None:
                on_retry(state.attempt_number + 1, state.outcome.exception())

        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.max_retries),
            wait=lambda state: self.backoff(state.attempt_number + 1),
            retry=tenacity.retry_if_exception(lambda error: _safe(is_transient, error)),
            sleep=self.sleep,
            before_sleep=before_sleep,
            reraise=True,
        )
        return retrying(fn)


def _safe(is_transient: Callable[[BaseException], bool], error: BaseException) -> bool:
    """Only ordinary exceptions are ever retried, and a broken classifier means "permanent"."""
    if not isinstance(error, Exception):
        return False  # KeyboardInterrupt, SystemExit, a simulated crash: never swallowed
    try:
        return bool(is_transient(error))
    except Exception as failure:
        swallowed("the backend's error classifier (taken as permanent)", failure)
        return False


class BackendCalls:
    """Calls to one backend, each retried on the backend's transient errors by ``policy``;
    :attr:`retries` counts the retries made."""

    def __init__(self, backend: "Backend", policy: RetryPolicy) -> None:
        self.backend = backend
        self.policy = policy
        self.retries = 0

    def is_transient(self, error: BaseException) -> bool:
        """Whether the backend says ``error`` may pass (a broken classifier means "no")."""
        try:
            return isinstance(error, Exception) and bool(self.backend.is_transient(error))
        except Exception as failure:
            swallowed("the backend's is_transient (taken as not transient)", failure)
            return False

    def call(self, fn: Callable[[], T]) -> T:
        """A backend call, retried on transient errors by the policy."""
        return self.policy.call(fn, self.is_transient, self._count_retry)

    def _count_retry(self, attempt: int, error: BaseException) -> None:
        self.retries += 1

"""Following a job set from another process: poll the store until the set is final.

Used by ``jobman status --watch`` and ``jobman wait``. Only reads the store.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Callable, Iterator

from jobman.cli.formatting import clock_time, totals
from jobman.exceptions import JobSetTimeoutError, SetInterruptedError

if TYPE_CHECKING:  # pragma: no cover
    from jobman.summary import SetSummary

#: How long a set may be unfinished with no process holding it before waiting gives up.
STALL_GRACE = 5.0


class WaitTimeout(JobSetTimeoutError):
    """The set did not finish within ``--timeout`` (exit code 124, as timeout(1))."""


class SetStalled(SetInterruptedError):
    """The set is unfinished and no process is running it, so it will not finish by itself."""


def poll_set(set_store: Any, interval: float, timeout: float | None = None,
             grace: float | None = None, clock: Callable[[], float] = time.monotonic,
             sleep: Callable[[float], None] = time.sleep) -> Iterator["SetSummary"]:
    """Yield the set's summary now and every ``interval`` seconds; stop after the final one.

    Raises :class:`WaitTimeout` after ``timeout`` seconds and :class:`SetStalled` when the
    set stays unfinished with no process running it for ``grace`` seconds (default
    :data:`STALL_GRACE`).
    """
    from jobman.summary import summarize

    grace = STALL_GRACE if grace is None else grace
    deadline = None if timeout is None else clock() + timeout
    idle_since: float | None = None
    while True:
        summary = summarize(set_store)
        yield summary
        if summary.status.is_final:
            return
        now = clock()
        idle_since = None if summary.running else (now if idle_since is None else idle_since)
        if idle_since is not None and now - idle_since >= grace:
            raise SetStalled(f"job set {set_store.id} is INTERRUPTED: no process is running it and "
                             f"work is left; run `jobman resume {set_store.id}` to carry on")
        if deadline is not None and now >= deadline:
            raise WaitTimeout(f"timed out after {timeout:g}s; job set {set_store.id} is "
                              f"{summary.status.value} ({totals(summary.circuits)}); "
                              f"wait again with `jobman wait {set_store.id}`")
        sleep(interval if deadline is None else max(0.0, min(interval, deadline - now)))


def changes(summaries: Iterator["SetSummary"]) -> Iterator["SetSummary"]:
    """Only the summaries whose status, circuit or chunk totals differ from the one before."""
    last = None
    for summary in summaries:
        key = (summary.status, tuple(summary.circuits.items()), tuple(summary.chunks.items()))
        if key != last:
            last = key
            yield summary


def change_line(summary: "SetSummary", now: float | None = None) -> str:
    """``09:45:12 RUNNING 300/2000 circuits done; circuits ...; chunks ...``: one line per change."""
    circuits = summary.circuits
    return (f"{clock_time(time.time() if now is None else now)} {summary.status.value} "
            f"{circuits.get('DONE', 0)}/{summary.total} circuits done; "
            f"circuits {totals(circuits)}; chunks {totals(summary.chunks)}")

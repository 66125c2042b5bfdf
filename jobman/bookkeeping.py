"""The chunk book-keeping of a run: records, result lines, split parts, sessions and usage.

:class:`Bookkeeping` keeps a set's chunk records in step with their result lines (through the
:class:`~jobman.ledger.Ledger`): it merges lines, closes and fails chunks, remembers which
chunks wait for the other part of a split job, records the backend's sessions and counts the
usage of the set's jobs. It needs no backend and no circuits, so that
:mod:`jobman.recovery`, ``jobman check`` and an offline ``cancel`` use it alone; the
:class:`~jobman.submitter.Submitter` and the loop (:class:`~jobman.engine.Engine`) write
through it.

:class:`WorkItem` (circuits to submit) and :class:`Flight` (a job to follow) are what the
three parts hand each other.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence

from jobman.backends.base import ChunkJob
from jobman.estimate import attempt_cost, attempt_usage
from jobman.ledger import ERROR, Ledger, failed_lines
from jobman.log import quietly
from jobman.records import Attempt, ChunkRecord
from jobman.spec import to_ranges
from jobman.status import JobStatus

if TYPE_CHECKING:  # pragma: no cover
    from jobman.store import SetStore

CANCEL_REASON = "cancelled by request (jobman cancel)"
#: Chunk statuses that say a job is being made or run (none is left so after a Ctrl-C).
LIVE = (JobStatus.TRANSPILING, JobStatus.SUBMITTING, JobStatus.QUEUED, JobStatus.RUNNING)


@dataclass
class WorkItem:
    """Circuits of one chunk to (re)submit: global ranges ``runs``, not before ``not_before``."""

    chunk: int
    runs: list[tuple[int, int]]
    not_before: float = 0.0
    failures: int = 0  # transient job failures so far: the resubmission budget used


@dataclass
class Flight:
    """A job in flight for a work item; ``attempt`` is its attempt in the chunk's record."""

    job_id: str
    item: WorkItem
    attempt: Attempt
    names: dict[int, str]
    status: JobStatus = JobStatus.QUEUED
    unread: int = 0  #: reads of its status or result that failed in a row
    next_read: float = 0.0  #: not asked again before (backoff after failed reads)

    def job_indices(self) -> list[int]:
        """The circuits the job holds, in order: its attempt's runs (an adopted earlier job may
        hold more than the work item, whose circuits alone take its results)."""
        return self.attempt.indices() or indices_of(self.item.runs)


class Bookkeeping:
    """The chunk records of one job set and every change to them (the caller holds the lock).

    ``durable``: whether records reach the disk before each next step (see
    ``Backend.durable_records``); ``on_failure="abort"`` makes a newly failed circuit set
    :attr:`aborting`.
    """

    def __init__(self, set_store: "SetStore", clock: Callable[[], float] = time.time,
                 on_change: Callable[[ChunkRecord], None] | None = None, durable: bool = True,
                 on_failure: str = "continue") -> None:
        self.set = set_store
        self.clock = clock
        self.on_failure = on_failure
        self.ledger = Ledger(set_store, clock, on_change, durable=durable)
        self.records: dict[int, ChunkRecord] = {r.index: r for r in set_store.chunks()}
        #: A circuit failed under ``--on-failure abort``: submit nothing more.
        self.aborting = False
        self._open_parts: dict[int, int] = {}  # chunk -> parts of a split job still to end, less one
        self._reported: list[float] | None = None  # seconds and circuits the backend reported

    def now(self) -> float:
        """The clock, rounded to the millisecond as stored."""
        return round(self.clock(), 3)

    # results and closing ----------------------------------------------------------------
    def merge(self, record: ChunkRecord, updates: dict[int, dict[str, Any]],
              memory: dict[int, list[str] | None] | None = None) -> None:
        """Merge result lines into the chunk's stored ones and close the chunk (one write).

        A part of a split job that ends leaves the chunk open while another part is still to end.
        """
        if self._open_parts.get(record.index):
            self._open_parts[record.index] -= 1
            self.ledger.merge(record, updates, memory)
        else:
            self.ledger.merge(record, updates, memory, close=True)
        self.check_abort(line["status"] for line in updates.values())

    def reject(self, record: ChunkRecord, lines: dict[int, dict[str, Any]]) -> None:
        """Write the lines of circuits that fail before any job (the chunk stays open)."""
        self.ledger.merge(record, lines)
        self.check_abort([ERROR])

    def close(self, record: ChunkRecord, lines: list[dict[str, Any]] | None = None) -> None:
        """Make the chunk's record final from its result lines.

        A part of a split job that ends leaves the chunk open while another part is still to end.
        """
        if self._open_parts.get(record.index):
            self._open_parts[record.index] -= 1
            return
        self.ledger.close(record, lines)

    def fail(self, item: WorkItem, names: dict[int, str], reason: str, status: str = ERROR) -> None:
        """Give every circuit of ``item`` the final ``status`` with ``reason``; close the chunk."""
        lines = failed_lines(indices_of(item.runs), names, status, reason)
        self.merge(self.records[item.chunk], lines)

    def check_abort(self, statuses: Iterable[str]) -> None:
        """Under --on-failure abort, a circuit that newly failed stops the run."""
        if self.on_failure == "abort" and ERROR in statuses:
            self.aborting = True

    def split(self, item: WorkItem) -> list[WorkItem]:
        """The two halves of ``item`` (of two circuits or more), to submit instead of it; the
        chunk stays open until both have ended."""
        indices = indices_of(item.runs)
        half = len(indices) // 2
        self._open_parts[item.chunk] = self._open_parts.get(item.chunk, 0) + 1
        self.ledger.set_status(self.records[item.chunk], JobStatus.RETRYING)
        return [WorkItem(item.chunk, to_ranges(part), failures=item.failures)
                for part in (indices[:half], indices[half:])]

    # attempts ---------------------------------------------------------------------------
    def end_attempt(self, attempt: Attempt, status: str, error: str | None = None) -> None:
        """Record that an attempt's job (or submit call) ended now, with ``status`` (and why,
        when ``error`` is given)."""
        attempt.end(status, self.now(), error)

    def note(self, flight: Flight, status: JobStatus) -> None:
        """A job in flight changed status (not yet final): keep its chunk in step."""
        flight.status = status
        record = self.records[flight.item.chunk]
        if record.status != status.value:
            flight.attempt.status = status.value
            self.ledger.set_status(record, status, sync=False)

    def leave_resumable(self) -> None:
        """After Ctrl-C: no chunk is left looking live (e.g. one interrupted while submitting);
        an unfinished last attempt is marked interrupted. Never raises."""
        for record in self.records.values():
            if record.job_status in LIVE:
                last = record.last_attempt()
                if last is not None and not last.is_final:
                    self.end_attempt(last, JobStatus.CANCELLED.value, "interrupted")
                quietly(lambda: self.ledger.set_status(record, JobStatus.PENDING))

    # the set ----------------------------------------------------------------------------
    def save_sessions(self, sessions: list[dict[str, Any]]) -> None:
        """Record the backend's sessions in the set as soon as they change (resume re-attaches)."""
        if sessions != self.set.record.sessions:
            self.set.record.sessions = sessions
            self.set.save_record()

    def cancel_requested(self) -> bool:
        """Whether ``jobman cancel`` asked the process running the set to stop."""
        return self.set.cancel_requested()

    def clear_cancel_request(self) -> None:
        self.set.clear_cancel_request()

    # usage ------------------------------------------------------------------------------
    def usage_counted(self) -> float:
        """What the budget counts so far: reported usage of finished jobs (at least their
        estimate while the service's figure is pending) plus the estimates of jobs in flight."""
        return sum(attempt_cost(attempt) for record in self.records.values()
                   for attempt in record.attempts if attempt.job_id)

    def measured_rate(self) -> float | None:
        """Seconds per circuit the backend reported for the attempts of this set so far."""
        if self._reported is None:  # once: then kept up to date by record_usage
            self._reported = [0.0, 0]
            for record in self.records.values():
                for attempt in record.attempts:
                    self._count_usage(attempt)
        seconds, circuits = self._reported
        return seconds / circuits if circuits else None

    def record_usage(self, attempt: Attempt, usage: dict[str, Any] | None) -> None:
        """Keep the usage the backend reports for a finished job with its attempt."""
        if usage:
            had = attempt_usage(attempt) is not None
            attempt.usage = usage
            if not had:
                self._count_usage(attempt)

    def _count_usage(self, attempt: Attempt) -> None:
        used = attempt_usage(attempt)
        if used is not None and self._reported is not None:
            self._reported[0] += used
            self._reported[1] += len(attempt.indices())


def attempt_job(set_id: str, chunk: int, attempt: Attempt) -> ChunkJob:
    """The submission an attempt stands for (its tags find its job again)."""
    runs = tuple((a, b) for a, b in attempt.runs)
    start, stop = (runs[0][0], runs[-1][1]) if runs else (0, 0)
    return ChunkJob(set_id, chunk, start, stop, attempt.number, runs)


def indices_of(runs: Sequence[tuple[int, int]]) -> list[int]:
    """The global circuit indices of ``runs``, in order."""
    return [i for start, stop in runs for i in range(start, stop)]


"""The engine: submits chunks with bounded concurrency, follows them, records every change.

It talks only to a :class:`~jobman.backends.base.Backend` and a
:class:`~jobman.store.SetStore`; it never touches the terminal or the network itself. It is in
three parts:

* :mod:`jobman.bookkeeping` - the chunk records, their result lines, split parts, sessions and
  usage (usable without a backend: recovery, ``jobman check`` and an offline cancel use it alone);
* :mod:`jobman.submitter` - load, check, prepare and submit one work item as one job;
* this module - the loop: keep up to ``max_in_flight`` jobs in flight, follow them, finish,
  retry, cancel or abort them, and stop cleanly on Ctrl-C (:class:`Engine`).

Crash safety rests on two orderings: a chunk's result lines are written (atomically) before
its record says it is final (see :mod:`jobman.ledger`), and an attempt is recorded before its
job is submitted (see :mod:`jobman.submitter`). So after a kill at any moment
:mod:`jobman.recovery` can tell, from the store alone, which circuits still owe a result and
which recorded (or tagged) jobs to re-attach.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Sequence

from jobman.backends.base import Backend, RunOptions
from jobman.bookkeeping import CANCEL_REASON, Bookkeeping, Flight, WorkItem, attempt_job, indices_of
from jobman.exceptions import BackendError, Interrupted
from jobman.ledger import CANCELLED, ERROR, outcome_line
from jobman.log import log, message, quietly, swallowed
from jobman.records import ATTEMPT_LOST, ChunkRecord
from jobman.retry import BackendCalls, RetryPolicy
from jobman.status import JobStatus
from jobman.submitter import Submitter, bind_points, circuit_problem

if TYPE_CHECKING:  # pragma: no cover
    from jobman.inputs import CircuitSource
    from jobman.store import SetStore

#: Kept importable from here: the names callers used before the engine was split.
__all__ = ["ABORT_REASON", "ATTEMPT_LOST", "CANCEL_REASON", "Engine", "EngineConfig", "Flight",
           "JOB_CANCELLED", "ON_FAILURE_CHOICES", "WorkItem", "attempt_job", "bind_points",
           "circuit_problem", "indices_of", "message", "quietly"]

ON_FAILURE_CHOICES = ("continue", "abort")
ABORT_REASON = "cancelled: another circuit failed (--on-failure abort)"
JOB_CANCELLED = "the backend job was cancelled"


@dataclass(frozen=True)
class EngineConfig:
    """How the engine drives a backend."""

    max_in_flight: int | None = None  # None: the backend's default
    poll_interval: float = 0.5
    on_failure: str = "continue"
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    max_usage: float | None = None  # seconds of usage (QPU, or simulation on Aer) the set may use


class Engine:
    """Runs the unfinished work of one job set on one backend (the caller holds the set's lock).

    ``books`` keeps the records, ``calls`` makes the backend calls (retried) and ``submitter``
    turns work items into jobs; the engine itself is the loop over them.
    """

    def __init__(self, set_store: "SetStore", source: "CircuitSource", backend: Backend,
                 options: RunOptions, config: EngineConfig | None = None,
                 on_change: Callable[[ChunkRecord], None] | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.config = config or EngineConfig()
        self.clock = clock
        self.backend = backend
        self.books = Bookkeeping(set_store, clock, on_change,
                                 durable=getattr(backend, "durable_records", True),
                                 on_failure=self.config.on_failure)
        self.calls = BackendCalls(backend, self.config.retry)
        self.submitter = Submitter(self.books, source, self.calls, options, self.config.max_usage)
        self.resubmitted = 0  #: jobs submitted again after a transient failure

    @property
    def retries(self) -> int:
        """Transient errors retried, calls and jobs together."""
        return self.calls.retries + self.resubmitted

    @property
    def submitted(self) -> int:
        """Jobs submitted by this engine."""
        return self.submitter.submitted

    @property
    def budget_stop(self) -> dict[str, Any] | None:
        """Why submitting stopped at the usage budget (the rest stays PENDING), or None."""
        return self.submitter.budget_stop

    def save_sessions(self) -> None:
        """Record the backend's sessions in the set as soon as they change."""
        self.submitter.save_sessions()

    # the main loop --------------------------------------------------------------------
    def run(self, work: Sequence[WorkItem], attached: Sequence[Flight] = ()) -> None:
        """Submit ``work``, follow it and the ``attached`` jobs to the end, recording everything."""
        queue = list(work)
        inflight = {flight.job_id: flight for flight in attached}
        self.backend.restore_sessions(self.books.set.record.sessions)
        try:
            while (queue and self.budget_stop is None) or inflight:
                # asked every round: a cluster's backend follows the cluster's size
                limit = self.config.max_in_flight or self.backend.default_max_in_flight
                if self.books.cancel_requested():
                    self._cancel_all(queue, inflight, CANCEL_REASON)
                    self.books.clear_cancel_request()
                    break
                if self.books.aborting:
                    self._abort(queue, inflight)
                self._fill(queue, inflight, limit)
                if inflight:
                    self._follow(queue, inflight)
                elif queue:
                    self._pause_until(min(item.not_before for item in queue))
        except BaseException as error:
            self._stop(inflight, interrupted=isinstance(error, KeyboardInterrupt))
            if isinstance(error, KeyboardInterrupt):  # Ctrl-C, SIGTERM, SIGHUP
                raise Interrupted.resumable(self.books.set.id, error) from None
            raise

    def _fill(self, queue: list[WorkItem], inflight: dict[str, Flight], limit: int) -> None:
        while len(inflight) < limit and not self.books.aborting and not self.books.cancel_requested() \
                and self.budget_stop is None:
            if self.submitter.full and inflight:
                return  # the service holds too many jobs: wait for one of ours to end
            now = self.clock()
            item = next((item for item in queue if item.not_before <= now), None)
            if item is None:
                return
            queue.remove(item)
            flight = self.submitter.submit(item, queue)
            if flight is not None:
                inflight[flight.job_id] = flight
            elif self.submitter.full:  # none of ours to wait for (other clients' jobs fill the service)
                item.not_before = self.clock() + self.config.retry.delay(self.submitter.room_waits)
                return

    def _follow(self, queue: list[WorkItem], inflight: dict[str, Flight]) -> None:
        now = self.clock()
        due = [job_id for job_id, flight in inflight.items() if flight.next_read <= now]
        if not due:  # every job is unreadable for now: wait for the first one's next try
            return self._pause_until(min(flight.next_read for flight in inflight.values()))
        for job_id, state in self._poll(due).items():
            flight = inflight.get(job_id)
            if flight is None:
                continue
            if isinstance(state, BaseException):
                self._unreadable(flight, state, inflight, queue)
            elif state.is_final:
                del inflight[job_id]
                self.submitter.full = False  # a job ended: there may be room for the next one
                self._finish(flight, state, queue, inflight)
            else:
                flight.unread = 0
                self.books.note(flight, state)

    def _unreadable(self, flight: Flight, error: BaseException, inflight: dict[str, Flight],
                    queue: list[WorkItem]) -> None:
        """A job whose status or result could not be read. Only a job the backend says does
        not exist is given up (and its circuits submitted again); any other failure - an
        outage, 502s, a timeout - says nothing about the job, which may well be running or
        done: keep it, and ask again after a growing (bounded) pause. Never pay twice."""
        inflight.pop(flight.job_id, None)
        if quietly(lambda: self.backend.is_missing(error)):
            return self._job_failed(flight, error, queue, lost=True)
        flight.unread += 1
        pause = self.config.retry.delay(flight.unread)
        flight.next_read = self.clock() + pause
        inflight[flight.job_id] = flight
        log.warning("cannot read job %s of chunk %d (%s, %d time%s in a row); it is kept, "
                    "asking again in %.0f s", flight.job_id, flight.item.chunk, message(error),
                    flight.unread, "" if flight.unread == 1 else "s", pause)

    def _poll(self, job_ids: list[str]) -> dict[str, JobStatus | BaseException]:
        """Every job's status; a job whose status cannot be read gets the error instead."""
        try:
            return dict(self.calls.call(lambda: self.backend.wait(job_ids, self.config.poll_interval)))
        except Exception as error:
            swallowed("waiting for jobs (each job's status is asked instead)", error)
            states: dict[str, JobStatus | BaseException] = {}
            for job_id in job_ids:
                try:
                    states[job_id] = self.calls.call(lambda: self.backend.status(job_id))
                except Exception as error:
                    states[job_id] = error
            return states

    def _pause_until(self, moment: float) -> None:
        """Sleep towards ``moment``, waking every poll interval to notice a cancel request."""
        delay = min(moment - self.clock(), self.config.poll_interval)
        if delay > 0:
            self.config.retry.sleep(delay)

    # finishing ------------------------------------------------------------------------
    def _finish(self, flight: Flight, status: JobStatus, queue: list[WorkItem],
                inflight: dict[str, Flight]) -> None:
        self.books.end_attempt(flight.attempt, status.value)
        self.books.record_usage(flight.attempt, quietly(lambda: self.backend.job_usage(flight.job_id)))
        if status is JobStatus.CANCELLED:
            return self.books.fail(flight.item, flight.names, JOB_CANCELLED, CANCELLED)
        if status is JobStatus.ERROR:
            error = quietly(lambda: self.backend.job_error(flight.job_id))
            return self._job_failed(flight, error or BackendError("the backend job ended in ERROR"),
                                    queue)
        try:
            outcomes = self.calls.call(lambda: self.backend.result(flight.job_id))
        except Exception as error:
            if self.calls.is_transient(error) or quietly(lambda: self.backend.is_missing(error)):
                return self._unreadable(flight, error, inflight, queue)  # done there: ask again
            return self._job_failed(flight, error, queue)
        indices = flight.job_indices()
        if len(outcomes) != len(indices):
            mismatch = BackendError(f"the backend returned {len(outcomes)} results for "
                                    f"{len(indices)} circuits")
            return self._job_failed(flight, mismatch, queue)
        wanted = set(indices_of(flight.item.runs))
        pairs = [(g, self.submitter.every_observable(g, o)) for g, o in zip(indices, outcomes) if g in wanted]
        lines = {g: outcome_line(g, flight.names.get(g), o) for g, o in pairs}
        memory = {g: o.memory for g, o in pairs} if self.submitter.options.memory else None
        self.books.merge(self.books.records[flight.item.chunk], lines, memory)

    def _job_failed(self, flight: Flight, error: BaseException, queue: list[WorkItem],
                    lost: bool = False) -> None:
        """Resubmit a job that failed transiently, or that the backend says does not exist
        (``lost``), within budget; otherwise fail its circuits."""
        if lost:
            error = BackendError(f"the backend says job {flight.job_id} does not exist: "
                                 f"{message(error)}")
        self.books.end_attempt(flight.attempt, ATTEMPT_LOST if lost else ERROR, message(error))
        item = flight.item
        if not lost and self.submitter.split(item, error, queue):
            return
        if (lost or self.calls.is_transient(error)) and item.failures < self.config.retry.max_retries \
                and not self.books.aborting and not self.books.cancel_requested():
            failures = item.failures + 1
            self.resubmitted += 1
            later = self.clock() + self.config.retry.backoff(failures)
            queue.append(WorkItem(item.chunk, item.runs, later, failures))
            self.books.ledger.set_status(self.books.records[item.chunk], JobStatus.RETRYING)
            return
        self.books.fail(item, flight.names, message(error))

    # cancelling, aborting, stopping ---------------------------------------------------
    def _cancel_all(self, queue: list[WorkItem], inflight: dict[str, Flight], reason: str) -> None:
        """Cancel every job in flight and every pending submission."""
        for flight in list(inflight.values()):
            self._cancel_flight(flight, reason)
        inflight.clear()
        for item in queue:
            self.books.fail(item, self.submitter.names(item.runs), reason, CANCELLED)
        queue.clear()

    def _abort(self, queue: list[WorkItem], inflight: dict[str, Flight]) -> None:
        """--on-failure abort: no more submissions; cancel queued jobs, let running ones finish."""
        for job_id, flight in list(inflight.items()):
            if flight.status is not JobStatus.RUNNING:
                del inflight[job_id]
                self._cancel_flight(flight, ABORT_REASON)
        for item in queue:
            self.books.fail(item, self.submitter.names(item.runs), ABORT_REASON, CANCELLED)
        queue.clear()

    def _cancel_flight(self, flight: Flight, reason: str) -> None:
        quietly(lambda: self.calls.call(lambda: self.backend.cancel(flight.job_id)))
        self.books.end_attempt(flight.attempt, CANCELLED, reason)
        self.books.fail(flight.item, flight.names, reason, CANCELLED)

    def _stop(self, inflight: dict[str, Flight], interrupted: bool = False) -> None:
        """On Ctrl-C (SIGTERM, SIGHUP) or a fatal error: leave the store resumable, quickly and
        without raising. When ``interrupted``, no chunk is left looking live either."""
        if self.backend.reattachable:
            return  # the jobs go on remotely; resume re-attaches them by id
        for flight in inflight.values():
            quietly(lambda: self.backend.cancel(flight.job_id))
            self.books.end_attempt(flight.attempt, CANCELLED, "interrupted")
            quietly(lambda: self.books.ledger.set_status(self.books.records[flight.item.chunk],
                                                         JobStatus.PENDING))
        if interrupted:
            self.books.leave_resumable()

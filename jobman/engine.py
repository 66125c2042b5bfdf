"""The engine: submits chunks with bounded concurrency, follows them, records every change.

It talks only to a :class:`~jobman.backends.base.Backend` and a
:class:`~jobman.store.SetStore`; it never touches the terminal or the network itself.

Crash safety rests on two orderings: a chunk's result lines are written (atomically) before
its record says it is final (see :mod:`jobman.ledger`), and an attempt is recorded before its
job is submitted. So after a kill at any moment :mod:`jobman.recovery` can tell, from the
store alone, which circuits still owe a result and which recorded (or tagged) jobs to re-attach.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence, TypeVar

from jobman.backends.base import Backend, ChunkJob, RunOptions
from jobman.estimate import attempt_cost, attempt_usage, job_seconds
from jobman.exceptions import BackendError, Interrupted
from jobman.ledger import CANCELLED, ERROR, Ledger, failed_line, failed_lines, outcome_line
from jobman.log import log, swallowed
from jobman.records import ATTEMPT_FINAL, ChunkRecord, attempt_indices, new_attempt
from jobman.retry import RetryPolicy
from jobman.spec import to_ranges
from jobman.status import JobStatus

T = TypeVar("T")

if TYPE_CHECKING:  # pragma: no cover
    from jobman.inputs import CircuitSource
    from jobman.store import SetStore


ON_FAILURE_CHOICES = ("continue", "abort")
ATTEMPT_LOST = "LOST"  #: an attempt whose job is gone: the backend does not know it (or its process died)
CANCEL_REASON = "cancelled by request (jobman cancel)"
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


@dataclass
class WorkItem:
    """Circuits of one chunk to (re)submit: global ranges ``runs``, not before ``not_before``."""

    chunk: int
    runs: list[tuple[int, int]]
    not_before: float = 0.0
    failures: int = 0  # transient job failures so far: the resubmission budget used


@dataclass
class Flight:
    """A job in flight for a work item; ``attempt`` is its entry in the chunk's record."""

    job_id: str
    item: WorkItem
    attempt: dict[str, Any]
    names: dict[int, str]
    status: JobStatus = JobStatus.QUEUED
    unread: int = 0  #: reads of its status or result that failed in a row
    next_read: float = 0.0  #: not asked again before (backoff after failed reads)

    def job_indices(self) -> list[int]:
        """The circuits the job holds, in order: its attempt's runs (an adopted earlier job may
        hold more than the work item, whose circuits alone take its results)."""
        return indices_of([(int(a), int(b)) for a, b in self.attempt.get("runs") or []]
                          or self.item.runs)


class Engine:
    """Runs the unfinished work of one job set on one backend (the caller holds the set's lock)."""

    def __init__(self, set_store: "SetStore", source: "CircuitSource", backend: Backend,
                 options: RunOptions, config: EngineConfig | None = None,
                 on_change: Callable[[ChunkRecord], None] | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.set = set_store
        self.source = source
        self.backend = backend
        self.options = options
        self.config = config or EngineConfig()
        self.clock = clock
        self.ledger = Ledger(set_store, clock, on_change,
                             durable=getattr(backend, "durable_records", True))
        self.records: dict[int, ChunkRecord] = {r.index: r for r in set_store.chunks()}
        self.retries = 0  #: transient errors retried, calls and jobs together
        self.submitted = 0  #: jobs submitted by this engine
        self._aborting = False
        self._open_parts: dict[int, int] = {}  # chunk -> parts of a split job still to end, less one
        self._full = False  # the service refused a job for holding too many: wait for one to end
        self._room_waits = 0
        self._reported: list[float] | None = None  # seconds and circuits the backend reported
        #: Why submitting stopped at the usage budget (the rest stays PENDING), or None.
        self.budget_stop: dict[str, Any] | None = None

    # the main loop --------------------------------------------------------------------
    def run(self, work: Sequence[WorkItem], attached: Sequence[Flight] = ()) -> None:
        """Submit ``work``, follow it and the ``attached`` jobs to the end, recording everything."""
        queue = list(work)
        inflight = {flight.job_id: flight for flight in attached}
        self.backend.restore_sessions(self.set.record.sessions)
        try:
            while (queue and self.budget_stop is None) or inflight:
                # asked every round: a cluster's backend follows the cluster's size
                limit = self.config.max_in_flight or self.backend.default_max_in_flight
                if self._cancel_requested():
                    self._cancel_all(queue, inflight, CANCEL_REASON)
                    self.set.paths.cancel_file.unlink(missing_ok=True)
                    break
                if self._aborting:
                    self._abort(queue, inflight)
                self._fill(queue, inflight, limit)
                if inflight:
                    self._follow(queue, inflight)
                elif queue:
                    self._pause_until(min(item.not_before for item in queue))
        except BaseException as error:
            self._stop(inflight, interrupted=isinstance(error, KeyboardInterrupt))
            if isinstance(error, KeyboardInterrupt):  # Ctrl-C, SIGTERM, SIGHUP
                raise Interrupted.resumable(self.set.id, error) from None
            raise

    def _fill(self, queue: list[WorkItem], inflight: dict[str, Flight], limit: int) -> None:
        while len(inflight) < limit and not self._aborting and not self._cancel_requested() \
                and self.budget_stop is None:
            if self._full and inflight:
                return  # the service holds too many jobs: wait for one of ours to end
            now = self.clock()
            item = next((item for item in queue if item.not_before <= now), None)
            if item is None:
                return
            queue.remove(item)
            flight = self._submit(item, queue)
            if flight is not None:
                inflight[flight.job_id] = flight
            elif self._full:  # none of ours to wait for (other clients' jobs fill the service)
                item.not_before = self.clock() + self.config.retry.delay(self._room_waits)
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
                self._full = False  # a job ended: there may be room for the next one
                self._finish(flight, state, queue, inflight)
            else:
                flight.unread = 0
                self._note(flight, state)

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
            return dict(self.call(lambda: self.backend.wait(job_ids, self.config.poll_interval)))
        except Exception as error:
            swallowed("waiting for jobs (each job's status is asked instead)", error)
            states: dict[str, JobStatus | BaseException] = {}
            for job_id in job_ids:
                try:
                    states[job_id] = self.call(lambda: self.backend.status(job_id))
                except Exception as error:
                    states[job_id] = error
            return states

    def _pause_until(self, moment: float) -> None:
        """Sleep towards ``moment``, waking every poll interval to notice a cancel request."""
        delay = min(moment - self.clock(), self.config.poll_interval)
        if delay > 0:
            self.config.retry.sleep(delay)

    # submitting -----------------------------------------------------------------------
    def _submit(self, item: WorkItem, queue: list[WorkItem]) -> Flight | None:
        """Load, check, prepare and submit one work item; None when nothing was left to submit
        (or it went back to ``queue``: split in two, or waiting for room at the service)."""
        record = self.records[item.chunk]
        circuits, rejected = self._load(item.runs)
        names = {g: c.name for g, c in circuits.items()}
        if rejected:  # circuits that could not be read are still named (e.g. after their file)
            names.update((g, n) for g, n in self.names(to_ranges(list(rejected))).items() if g in rejected)
        rejected.update(self._validate(circuits))
        if not self.backend.runs_sweeps:  # points of a sweep go as bound circuits
            circuits = bind_points(circuits, rejected)
        if rejected:  # written now, so that a re-attached job never has to know about them
            self.ledger.merge(record, {g: failed_line(g, names.get(g), ERROR, why)
                                       for g, why in rejected.items()})
            self._check_abort([ERROR])
        kept = [(g, c) for g, c in circuits.items() if g not in rejected]
        if not kept:
            self.close(record)
            return None
        work = WorkItem(item.chunk, to_ranges([g for g, _ in kept]), failures=item.failures)
        preparing = type(self.backend).prepare is not Backend.prepare
        self.ledger.set_status(record, JobStatus.TRANSPILING if preparing else JobStatus.SUBMITTING,
                               save=self.backend.keep_prepared)  # costly: let `jobman status` see it
        try:
            prepared = self._prepare(record.index, kept)
            estimate = self.estimate(prepared)
            if self._over_budget(estimate):
                queue.insert(0, item)
                self.ledger.set_status(record, JobStatus.PENDING)
                return None
            job_id, entry = self.call(self._submitter(record, work.runs, prepared))
        except Exception as error:
            if quietly(partial(self.backend.must_wait, error)):
                self._wait_for_room(record, item, queue)
            elif not self._split(work, error, queue):
                self._fail(work, names, message(error))
            return None
        entry.update(job_id=job_id, submitted=self.now(), status=JobStatus.QUEUED.value,
                     error=None, finished=None, estimate_seconds=estimate,  # a failed call may have made it
                     **(quietly(lambda: self.backend.job_details(job_id)) or {}))
        self._full, self._room_waits = False, 0
        self.save_sessions()
        self.submitted += 1
        self.ledger.set_status(record, JobStatus.QUEUED)
        return Flight(job_id, work, entry, names)

    def _submitter(self, record: ChunkRecord, runs: list[tuple[int, int]],
                   prepared: list[Any]) -> Callable[[], tuple[str, dict[str, Any]]]:
        """One submit try per call, each recorded as an attempt before the backend sees it.

        Every try first looks for a job that an earlier attempt may have made (see
        :meth:`find_earlier`), so that a chunk is never paid for twice.
        """

        def submit_once() -> tuple[str, dict[str, Any]]:
            found = self.find_earlier(record, runs)
            if found is not None:
                return found
            self.backend.before_submit()  # e.g. open a session: recorded before a job runs in it
            self.save_sessions()
            entry = new_attempt(len(record.attempts) + 1, runs)
            record.attempts.append(entry)
            self.ledger.set_status(record, JobStatus.SUBMITTING)
            job = attempt_job(self.set.recorded_id, record.index, entry)
            try:
                return self.backend.submit(job, prepared, self.options), entry
            except Exception as error:
                entry.update(status=ERROR, error=message(error), finished=self.now())
                if getattr(error, "job_id", None):  # the job exists but was refused (and cancelled)
                    entry["job_id"] = error.job_id  # type: ignore[attr-defined]
                self.set.save_chunk(record, sync=self.ledger.durable)
                raise

        return submit_once

    def find_earlier(self, record: ChunkRecord, runs: list[tuple[int, int]]
                     ) -> tuple[str, dict[str, Any]] | None:
        """A job that an attempt without a recorded job id made after all, found by its tags:
        a submit call answered with an error (429, 5xx, a reset) after the service created the
        job, or a process killed inside ``submit``. Only attempts holding every circuit of
        ``runs`` count. Raises a transient error when the backend cannot be asked: submitting
        again then could pay for the same circuits twice."""
        if not self.backend.reattachable:
            return None
        needed = set(indices_of(runs))
        for entry in reversed(record.attempts):
            if entry.get("job_id") or not needed <= set(attempt_indices(entry)):
                continue
            job = attempt_job(self.set.id, record.index, entry)
            try:
                job_id = self.backend.find_job(job)
            except Exception as error:
                raise BackendError(f"cannot look up whether attempt {entry['number']} of chunk "
                                   f"{record.index} created a job, so it is not submitted again yet: "
                                   f"{message(error)}", transient=True) from None
            if job_id:
                return job_id, entry
        return None

    def _prepare(self, chunk: int, kept: list[tuple[int, Any]]) -> list[Any]:
        """The circuits as the backend runs them. When preparing is costly (transpiling) they
        are stored per chunk, so that resume, retry and split halves never prepare them twice."""
        if not self.backend.keep_prepared:
            return self.backend.prepare([c for _, c in kept], self.options)
        stored = self.set.load_transpiled(chunk)
        missing = [(g, c) for g, c in kept if g not in stored]
        if missing:
            prepared = self.backend.prepare([c for _, c in missing], self.options)
            stored.update(zip((g for g, _ in missing), prepared))
            self.set.save_transpiled(chunk, stored)
        return [stored[g] for g, _ in kept]

    def _split(self, item: WorkItem, error: BaseException, queue: list[WorkItem]) -> bool:
        """Queue a job that was too big for the backend (ran too long, too large) as two halves;
        False when the backend does not ask for it or there is one circuit left."""
        indices = indices_of(item.runs)
        if len(indices) < 2 or not quietly(lambda: self.backend.wants_split(error)):
            return False
        half = len(indices) // 2
        queue.extend(WorkItem(item.chunk, to_ranges(part), failures=item.failures)
                     for part in (indices[:half], indices[half:]))
        self._open_parts[item.chunk] = self._open_parts.get(item.chunk, 0) + 1
        self.ledger.set_status(self.records[item.chunk], JobStatus.RETRYING)
        return True

    def _wait_for_room(self, record: ChunkRecord, item: WorkItem, queue: list[WorkItem]) -> None:
        """The service holds too many unfinished jobs: not a failure. Forget the refused attempt
        (no job was made), put the item back first in line and wait for a job to end."""
        last = record.last_attempt()
        if last is not None and not last.get("job_id"):
            record.attempts.pop()
        queue.insert(0, item)
        self._full = True
        self._room_waits += 1
        self.ledger.set_status(record, JobStatus.PENDING)

    def save_sessions(self) -> None:
        """Record the backend's sessions in the set as soon as they change (resume re-attaches)."""
        sessions = self.backend.sessions()
        if sessions != self.set.record.sessions:
            self.set.record.sessions = sessions
            self.set.save_record()

    def _load(self, runs: list[tuple[int, int]]) -> tuple[dict[int, Any], dict[int, str]]:
        """Circuits by global index, and why others could not be read.

        A range that fails to load is read again one circuit at a time, so that one corrupt
        circuit fails alone instead of taking its chunk with it.
        """
        circuits: dict[int, Any] = {}
        broken: dict[int, str] = {}
        for start, stop in runs:
            try:
                circuits.update(zip(range(start, stop), self.source.load(start, stop)))
            except Exception as error:
                swallowed(f"loading circuits {start}-{stop - 1} at once (loaded one by one)", error)
                for index in range(start, stop):
                    try:
                        circuits[index] = self.source.load(index, index + 1)[0]
                    except Exception as error:
                        broken[index] = f"cannot load circuit: {message(error)}"
        return circuits, broken

    def names(self, runs: Sequence[tuple[int, int]]) -> dict[int, str]:
        """Circuit names without decoding circuits, best effort (names only label results)."""
        try:
            return {g: name for start, stop in runs
                    for g, name in zip(range(start, stop), self.source.names(start, stop))}
        except Exception as error:
            swallowed("reading circuit names", error)
            return {}

    def _validate(self, circuits: dict[int, Any]) -> dict[int, str]:
        """Why circuits (or points of a sweep) cannot run, by index; a sweep's circuit is checked
        once per call, each point's values on their own."""
        from jobman.sweep import SweepPoint

        rejected: dict[int, str] = {}
        checked: dict[int, str | None] = {}  # id of a sweep's circuit -> its problem
        for index, item in circuits.items():
            try:
                if isinstance(item, SweepPoint):
                    key = id(item.circuit)
                    if key not in checked:
                        checked[key] = self.backend.validate(item.circuit) or circuit_problem(
                            item.circuit, swept=True, measured=item.observables is None)
                    reason = checked[key] or item.problem()
                else:
                    reason = self.backend.validate(item) or circuit_problem(item)
            except Exception as error:
                reason = f"cannot check circuit: {message(error)}"
            if reason:
                rejected[index] = reason
        return rejected

    # finishing ------------------------------------------------------------------------
    def estimate(self, prepared: Sequence[Any]) -> float | None:
        """Seconds a job of these prepared circuits should take (QPU time on IBM, by the
        documented baseline; simulation time on Aer, at the rate measured so far), or None."""
        per_shot = [self.backend.seconds_per_shot(c) for c in prepared]
        if per_shot and all(s is not None for s in per_shot):
            return round(job_seconds(self.backend.job_overhead_seconds, self.options.shots,
                                     sum(per_shot)), 6)  # type: ignore[arg-type]
        rate = self._measured_rate()
        return None if rate is None else round(rate * len(prepared), 6)

    def usage_counted(self) -> float:
        """What the budget counts so far: reported usage of finished jobs (at least their
        estimate while the service's figure is pending) plus the estimates of jobs in flight."""
        return sum(attempt_cost(attempt) for record in self.records.values()
                   for attempt in record.attempts if attempt.get("job_id"))

    def _over_budget(self, estimate: float | None) -> bool:
        """Whether submitting a job of ``estimate`` seconds would pass ``max_usage``; if so,
        remember why (submitting stops; what is left stays PENDING)."""
        budget = self.config.max_usage
        if budget is None:
            return False
        counted = self.usage_counted()
        if counted + (estimate or 0.0) <= budget:
            return False
        self.budget_stop = {"reason": "max_usage", "max_usage": budget, "counted": round(counted, 3),
                            "next_job": None if estimate is None else round(estimate, 3),
                            "at": self.now()}
        return True

    def _measured_rate(self) -> float | None:
        """Seconds per circuit the backend reported for the attempts of this set so far."""
        if self._reported is None:  # once: then kept up to date by _record_usage
            self._reported = [0.0, 0]
            for record in self.records.values():
                for attempt in record.attempts:
                    self._count_usage(attempt)
        seconds, circuits = self._reported
        return seconds / circuits if circuits else None

    def _count_usage(self, attempt: dict[str, Any]) -> None:
        used = attempt_usage(attempt)
        if used is not None and self._reported is not None:
            self._reported[0] += used
            self._reported[1] += len(attempt_indices(attempt))

    def _record_usage(self, flight: Flight) -> None:
        """Keep the usage the backend reports for a finished job with its attempt."""
        usage = quietly(lambda: self.backend.job_usage(flight.job_id))
        if usage:
            had = attempt_usage(flight.attempt) is not None
            flight.attempt["usage"] = usage
            if not had:
                self._count_usage(flight.attempt)

    def _finish(self, flight: Flight, status: JobStatus, queue: list[WorkItem],
                inflight: dict[str, Flight]) -> None:
        flight.attempt.update(finished=self.now(), status=status.value)
        self._record_usage(flight)
        if status is JobStatus.CANCELLED:
            return self._fail(flight.item, flight.names, JOB_CANCELLED, CANCELLED)
        if status is JobStatus.ERROR:
            error = quietly(lambda: self.backend.job_error(flight.job_id))
            return self._job_failed(flight, error or BackendError("the backend job ended in ERROR"),
                                    queue)
        try:
            outcomes = self.call(lambda: self.backend.result(flight.job_id))
        except Exception as error:
            if self._is_transient(error) or quietly(lambda: self.backend.is_missing(error)):
                return self._unreadable(flight, error, inflight, queue)  # done there: ask again
            return self._job_failed(flight, error, queue)
        indices = flight.job_indices()
        if len(outcomes) != len(indices):
            mismatch = BackendError(f"the backend returned {len(outcomes)} results for "
                                    f"{len(indices)} circuits")
            return self._job_failed(flight, mismatch, queue)
        wanted = set(indices_of(flight.item.runs))
        pairs = [(g, o) for g, o in zip(indices, outcomes) if g in wanted]
        lines = {g: outcome_line(g, flight.names.get(g), o) for g, o in pairs}
        memory = {g: o.memory for g, o in pairs} if self.options.memory else None
        self.merge(self.records[flight.item.chunk], lines, memory)

    def _job_failed(self, flight: Flight, error: BaseException, queue: list[WorkItem],
                    lost: bool = False) -> None:
        """Resubmit a job that failed transiently, or that the backend says does not exist
        (``lost``), within budget; otherwise fail its circuits."""
        if lost:
            error = BackendError(f"the backend says job {flight.job_id} does not exist: "
                                 f"{message(error)}")
        flight.attempt.update(status=ATTEMPT_LOST if lost else ERROR, error=message(error),
                              finished=self.now())
        item = flight.item
        if not lost and self._split(item, error, queue):
            return
        if (lost or self._is_transient(error)) and item.failures < self.config.retry.max_retries \
                and not self._aborting and not self._cancel_requested():
            failures = item.failures + 1
            self.retries += 1
            later = self.clock() + self.config.retry.backoff(failures)
            queue.append(WorkItem(item.chunk, item.runs, later, failures))
            self.ledger.set_status(self.records[item.chunk], JobStatus.RETRYING)
            return
        self._fail(item, flight.names, message(error))

    def _fail(self, item: WorkItem, names: dict[int, str], reason: str, status: str = ERROR) -> None:
        """Give every circuit of ``item`` the final ``status`` with ``reason``; close the chunk."""
        lines = failed_lines(indices_of(item.runs), names, status, reason)
        self.merge(self.records[item.chunk], lines)

    def merge(self, record: ChunkRecord, updates: dict[int, dict[str, Any]],
              memory: dict[int, list[str] | None] | None = None) -> None:
        """Merge result lines into the chunk's stored ones and close the chunk."""
        self.close(record, self.ledger.merge(record, updates, memory))
        self._check_abort(line["status"] for line in updates.values())

    def close(self, record: ChunkRecord, lines: list[dict[str, Any]] | None = None) -> None:
        """Make the chunk's record final from its result lines.

        A part of a split job that ends leaves the chunk open while another part is still to end.
        """
        if self._open_parts.get(record.index):
            self._open_parts[record.index] -= 1
            return
        self.ledger.close(record, lines)

    def _check_abort(self, statuses: Iterable[str]) -> None:
        """Under --on-failure abort, a circuit that newly failed stops the run."""
        if self.config.on_failure == "abort" and ERROR in statuses:
            self._aborting = True

    # cancelling, aborting, stopping ---------------------------------------------------
    def _cancel_requested(self) -> bool:
        return self.set.paths.cancel_file.exists()

    def _cancel_all(self, queue: list[WorkItem], inflight: dict[str, Flight], reason: str) -> None:
        """Cancel every job in flight and every pending submission."""
        for flight in list(inflight.values()):
            self._cancel_flight(flight, reason)
        inflight.clear()
        for item in queue:
            self._fail(item, self.names(item.runs), reason, CANCELLED)
        queue.clear()

    def _abort(self, queue: list[WorkItem], inflight: dict[str, Flight]) -> None:
        """--on-failure abort: no more submissions; cancel queued jobs, let running ones finish."""
        for job_id, flight in list(inflight.items()):
            if flight.status is not JobStatus.RUNNING:
                del inflight[job_id]
                self._cancel_flight(flight, ABORT_REASON)
        for item in queue:
            self._fail(item, self.names(item.runs), ABORT_REASON, CANCELLED)
        queue.clear()

    def _cancel_flight(self, flight: Flight, reason: str) -> None:
        quietly(lambda: self.call(lambda: self.backend.cancel(flight.job_id)))
        flight.attempt.update(status=CANCELLED, error=reason, finished=self.now())
        self._fail(flight.item, flight.names, reason, CANCELLED)

    def _stop(self, inflight: dict[str, Flight], interrupted: bool = False) -> None:
        """On Ctrl-C (SIGTERM, SIGHUP) or a fatal error: leave the store resumable, quickly and
        without raising. When ``interrupted``, no chunk is left looking live either."""
        if self.backend.reattachable:
            return  # the jobs go on remotely; resume re-attaches them by id
        for flight in inflight.values():
            quietly(lambda: self.backend.cancel(flight.job_id))
            flight.attempt.update(status=CANCELLED, error="interrupted", finished=self.now())
            quietly(lambda: self.ledger.set_status(self.records[flight.item.chunk], JobStatus.PENDING))
        live = (JobStatus.TRANSPILING, JobStatus.SUBMITTING, JobStatus.QUEUED, JobStatus.RUNNING)
        for record in self.records.values() if interrupted else ():  # e.g. while submitting
            if record.job_status in live:
                last = record.last_attempt()
                if last is not None and last.get("status") not in ATTEMPT_FINAL:
                    last.update(status=CANCELLED, error="interrupted", finished=self.now())
                quietly(lambda: self.ledger.set_status(record, JobStatus.PENDING))

    # bookkeeping ----------------------------------------------------------------------
    def _note(self, flight: Flight, status: JobStatus) -> None:
        flight.status = status
        record = self.records[flight.item.chunk]
        if record.status != status.value:
            flight.attempt["status"] = status.value
            self.ledger.set_status(record, status, sync=False)

    def now(self) -> float:
        """The clock, rounded to the millisecond as stored."""
        return round(self.clock(), 3)

    def _is_transient(self, error: BaseException) -> bool:
        try:
            return isinstance(error, Exception) and bool(self.backend.is_transient(error))
        except Exception as failure:
            swallowed("the backend's is_transient (taken as not transient)", failure)
            return False

    def _count_retry(self, attempt: int, error: BaseException) -> None:
        self.retries += 1

    def call(self, fn: Callable[[], T]) -> T:
        """A backend call, retried on transient errors by the retry policy."""
        return self.config.retry.call(fn, self._is_transient, self._count_retry)


def attempt_job(set_id: str, chunk: int, entry: dict[str, Any]) -> ChunkJob:
    """The submission an attempt entry stands for (its tags find its job again)."""
    runs = tuple((int(a), int(b)) for a, b in entry.get("runs") or [])
    start, stop = (runs[0][0], runs[-1][1]) if runs else (0, 0)
    return ChunkJob(set_id, chunk, start, stop, int(entry["number"]), runs)


def quietly(fn: Callable[[], Any]) -> Any:
    """Best effort: the value of ``fn()``, or None if it raised (logged: ``jobman -vv`` shows it)."""
    try:
        return fn()
    except Exception as error:
        swallowed(getattr(getattr(fn, "func", fn), "__qualname__", "a best-effort call"), error)
        return None


def bind_points(circuits: dict[int, Any], rejected: dict[int, str]) -> dict[int, Any]:
    """Points of a sweep as bound circuits (for a backend without :attr:`Backend.runs_sweeps`);
    other circuits as they are. A point whose values cannot be assigned fails alone."""
    from jobman.sweep import SweepPoint

    bound: dict[int, Any] = {}
    for index, item in circuits.items():
        if not isinstance(item, SweepPoint) or index in rejected:
            bound[index] = item
            continue
        try:
            bound[index] = item.bound()
        except Exception as error:
            rejected[index] = f"cannot assign the parameter values: {message(error)}"
    return bound


def circuit_problem(circuit: Any, swept: bool = False, measured: bool = True) -> str | None:
    """Why a circuit cannot give a result on any backend, or None (``swept``: its parameters
    get values from a sweep, so they may be unbound; ``measured=False``: an estimator PUB's,
    whose observables say what is measured).

    Checked per circuit so that one bad circuit fails alone instead of failing its whole job.
    """
    from jobman.qpy_codec import stored_problem

    stored = stored_problem(circuit)
    if stored:
        return stored
    if measured and (circuit.num_clbits == 0 or not _has_measure(circuit)):
        return "circuit has no measurements; add measure_all() or measure into classical bits"
    if circuit.num_parameters and not swept:
        shown = ", ".join(str(p) for p in list(circuit.parameters)[:3])
        return f"circuit has unbound parameters ({shown}); assign them before running"
    return None


def _has_measure(circuit: Any) -> bool:
    for instruction in reversed(circuit.data):  # measurements are usually last
        operation = instruction.operation
        if operation.name == "measure":
            return True
        if any(_has_measure(block) for block in getattr(operation, "blocks", ())):
            return True
    return False


def indices_of(runs: Sequence[tuple[int, int]]) -> list[int]:
    """The global circuit indices of ``runs``, in order."""
    return [i for start, stop in runs for i in range(start, stop)]


def message(error: BaseException) -> str:
    """An error as one line of text."""
    text = " ".join(str(error).split())
    return (text if len(text) <= 500 else text[:497] + "...") or type(error).__name__

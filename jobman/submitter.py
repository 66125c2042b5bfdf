"""The submitter: turns a work item into a job in flight.

For one :class:`~jobman.bookkeeping.WorkItem` it loads the circuits, checks each one (a
circuit that cannot run fails alone, with its reason), prepares them as the backend runs them
(stored per chunk when that is costly), keeps to the usage budget and submits them as one job.
A job that is too large is split in two; a service that holds too many jobs is waited for.

The crash-safety rule lives here: **an attempt is recorded before its job is submitted**, and
every submit try first looks for a job an earlier attempt made after all (by its tags), so that
a chunk is never paid for twice.
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING, Any, Callable, Sequence

from jobman.backends.base import Backend, CircuitOutcome, RunOptions
from jobman.bookkeeping import Bookkeeping, Flight, WorkItem, attempt_job, indices_of
from jobman.estimate import job_seconds
from jobman.exceptions import BackendError
from jobman.ledger import ERROR, failed_line
from jobman.log import message, quietly, swallowed
from jobman.records import Attempt, ChunkRecord, new_attempt
from jobman.retry import BackendCalls
from jobman.spec import to_ranges
from jobman.status import JobStatus

if TYPE_CHECKING:  # pragma: no cover
    from jobman.inputs import CircuitSource

Submission = tuple[str, Attempt]  #: a job id and the attempt it was recorded under


class Submitter:
    """Submits the work items of one set to one backend, recording each attempt first."""

    def __init__(self, books: Bookkeeping, source: "CircuitSource", calls: BackendCalls,
                 options: RunOptions, max_usage: float | None = None) -> None:
        self.books = books
        self.source = source
        self.calls = calls
        self.backend: Backend = calls.backend
        self.options = options
        self.max_usage = max_usage  #: seconds of usage (QPU, or simulation on Aer) the set may use
        self.submitted = 0  #: jobs submitted
        #: The service refused a job for holding too many: wait for one to end.
        self.full = False
        self.room_waits = 0  #: refusals for room in a row
        #: Why submitting stopped at the usage budget (the rest stays PENDING), or None.
        self.budget_stop: dict[str, Any] | None = None

    def submit(self, item: WorkItem, queue: list[WorkItem]) -> Flight | None:
        """Load, check, prepare and submit one work item; None when nothing was left to submit
        (or it went back to ``queue``: split in two, or waiting for room at the service)."""
        record = self.books.records[item.chunk]
        kept, names = self._checked(record, item)
        if not kept:
            self.books.close(record)
            return None
        work = WorkItem(item.chunk, to_ranges([g for g, _ in kept]), failures=item.failures)
        preparing = type(self.backend).prepare is not Backend.prepare
        self.books.ledger.set_status(record, JobStatus.TRANSPILING if preparing else JobStatus.SUBMITTING,
                                     save=self.backend.keep_prepared)  # costly: let `jobman status` see it
        try:
            prepared = self._prepare(record.index, kept)
            estimate = self.estimate(prepared)
            if self._over_budget(estimate):
                queue.insert(0, item)
                self.books.ledger.set_status(record, JobStatus.PENDING)
                return None
            job_id, entry = self.calls.call(self._submit_once(record, work.runs, prepared))
        except Exception as error:
            if quietly(partial(self.backend.must_wait, error)):
                self._wait_for_room(record, item, queue)
            elif not self.split(work, error, queue):
                self.books.fail(work, names, message(error))
            return None
        entry.update(dict(job_id=job_id, submitted=self.books.now(), status=JobStatus.QUEUED.value,
                          error=None, finished=None, estimate_seconds=estimate,  # a failed call may have made it
                          **(quietly(lambda: self.backend.job_details(job_id)) or {})))
        self.full, self.room_waits = False, 0
        self.save_sessions()
        self.submitted += 1
        self.books.ledger.set_status(record, JobStatus.QUEUED)
        return Flight(job_id, work, entry, names)

    def _checked(self, record: ChunkRecord, item: WorkItem
                 ) -> tuple[list[tuple[int, Any]], dict[int, str]]:
        """The item's circuits that can run (as the backend takes them), and every circuit's
        name; those that cannot run are failed now with their reason."""
        circuits, rejected = self._load(item.runs)
        names = {g: c.name for g, c in circuits.items()}
        if rejected:  # circuits that could not be read are still named (e.g. after their file)
            names.update((g, n) for g, n in self.names(to_ranges(list(rejected))).items() if g in rejected)
        rejected.update(self._validate(circuits))
        if not self.backend.runs_sweeps:  # points of a sweep go as bound circuits
            circuits = bind_points(circuits, rejected)
        if rejected:  # written now, so that a re-attached job never has to know about them
            self.books.reject(record, {g: failed_line(g, names.get(g), ERROR, why)
                                       for g, why in rejected.items()})
        return [(g, c) for g, c in circuits.items() if g not in rejected], names

    def _submit_once(self, record: ChunkRecord, runs: list[tuple[int, int]],
                     prepared: list[Any]) -> Callable[[], Submission]:
        """One submit try per call, each recorded as an attempt before the backend sees it.

        Every try first looks for a job that an earlier attempt may have made (see
        :meth:`find_earlier`), so that a chunk is never paid for twice.
        """

        def submit_once() -> Submission:
            found = self.find_earlier(record, runs)
            if found is not None:
                return found
            self.backend.before_submit()  # e.g. open a session: recorded before a job runs in it
            self.save_sessions()
            entry = new_attempt(len(record.attempts) + 1, runs)
            record.attempts.append(entry)
            # saved before the backend sees it where a job could be paid for or re-attached; a
            # lost local job (Aer's) just runs again, and its record is saved once it is queued
            self.books.ledger.set_status(record, JobStatus.SUBMITTING, save=self.books.ledger.durable)
            job = attempt_job(self.books.set.recorded_id, record.index, entry)
            try:
                return self.backend.submit(job, prepared, self.options), entry
            except Exception as error:
                self.books.end_attempt(entry, ERROR, message(error))
                if getattr(error, "job_id", None):  # the job exists but was refused (and cancelled)
                    entry.job_id = error.job_id  # type: ignore[attr-defined]
                self.books.set.save_chunk(record, sync=self.books.ledger.durable)
                raise

        return submit_once

    def find_earlier(self, record: ChunkRecord, runs: list[tuple[int, int]]) -> Submission | None:
        """A job that an attempt without a recorded job id made after all, found by its tags:
        a submit call answered with an error (429, 5xx, a reset) after the service created the
        job, or a process killed inside ``submit``. Only attempts holding every circuit of
        ``runs`` count. Raises a transient error when the backend cannot be asked: submitting
        again then could pay for the same circuits twice."""
        if not self.backend.reattachable:
            return None
        needed = set(indices_of(runs))
        for entry in reversed(record.attempts):
            if entry.job_id or not needed <= set(entry.indices()):
                continue
            job = attempt_job(self.books.set.id, record.index, entry)
            try:
                job_id = self.backend.find_job(job)
            except Exception as error:
                raise BackendError(f"cannot look up whether attempt {entry.number} of chunk "
                                   f"{record.index} created a job, so it is not submitted again yet: "
                                   f"{message(error)}", transient=True) from None
            if job_id:
                return job_id, entry
        return None

    def split(self, item: WorkItem, error: BaseException, queue: list[WorkItem]) -> bool:
        """Queue a job that was too big for the backend (ran too long, too large) as two halves;
        False when the backend does not ask for it or there is one circuit left."""
        if len(indices_of(item.runs)) < 2 or not quietly(lambda: self.backend.wants_split(error)):
            return False
        queue.extend(self.books.split(item))
        return True

    def _wait_for_room(self, record: ChunkRecord, item: WorkItem, queue: list[WorkItem]) -> None:
        """The service holds too many unfinished jobs: not a failure. Forget the refused attempt
        (no job was made), put the item back first in line and wait for a job to end."""
        last = record.last_attempt()
        if last is not None and not last.job_id:
            record.attempts.pop()
        queue.insert(0, item)
        self.full = True
        self.room_waits += 1
        self.books.ledger.set_status(record, JobStatus.PENDING)

    def save_sessions(self) -> None:
        """Record the backend's sessions in the set as soon as they change (resume re-attaches)."""
        self.books.save_sessions(self.backend.sessions())

    # circuits ---------------------------------------------------------------------------
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

    def _prepare(self, chunk: int, kept: list[tuple[int, Any]]) -> list[Any]:
        """The circuits as the backend runs them. When preparing is costly (transpiling) they
        are stored per chunk, so that resume, retry and split halves never prepare them twice."""
        if not self.backend.keep_prepared or _swept(kept):  # a sweep's circuit: prepared once per chunk
            return self.backend.prepare([c for _, c in kept], self.options)
        stored = self.books.set.load_transpiled(chunk)
        missing = [(g, c) for g, c in kept if g not in stored]
        if missing:
            prepared = self.backend.prepare([c for _, c in missing], self.options)
            stored.update(zip((g for g, _ in missing), prepared))
            self.books.set.save_transpiled(chunk, stored)
        return [stored[g] for g, _ in kept]

    def every_observable(self, index: int, outcome: CircuitOutcome) -> CircuitOutcome:
        """An estimator point's outcome with a value per observable of its PUB, None where the
        point's result takes none (a backend that estimates only those gives fewer); any other
        outcome as it is."""
        if outcome.evs is None:
            return outcome
        used = getattr(self.source, "observables_used", None)
        found = used(index) if used is not None else None
        if found is None or len(outcome.evs) == found[0]:
            return outcome
        count, taken = found
        if taken is None or len(outcome.evs) != len(taken) or len(outcome.stds or ()) != len(taken):
            return CircuitOutcome(JobStatus.ERROR, error=f"the backend returned {len(outcome.evs)} expectation "
                                  f"values for a point of a PUB of {count} observables")
        evs: list[float | None] = [None] * count
        stds: list[float | None] = [None] * count
        for k, ev, std in zip(taken, outcome.evs, outcome.stds or ()):
            evs[k], stds[k] = ev, std
        return replace(outcome, evs=evs, stds=stds)

    # usage ------------------------------------------------------------------------------
    def estimate(self, prepared: Sequence[Any]) -> float | None:
        """Seconds a job of these prepared circuits should take (QPU time on IBM, by the
        documented baseline; simulation time on Aer, at the rate measured so far), or None."""
        per_shot = [self.backend.seconds_per_shot(c) for c in prepared]
        known = [s for s in per_shot if s is not None]
        if known and len(known) == len(per_shot):
            seconds = sum(s * _shots(item, self.options.shots) for s, item in zip(known, prepared))
            return round(job_seconds(self.backend.job_overhead_seconds, 1, seconds), 6)
        rate = self.books.measured_rate()
        return None if rate is None else round(rate * len(prepared), 6)

    def _over_budget(self, estimate: float | None) -> bool:
        """Whether submitting a job of ``estimate`` seconds would pass ``max_usage``; if so,
        remember why (submitting stops; what is left stays PENDING)."""
        budget = self.max_usage
        if budget is None:
            return False
        counted = self.books.usage_counted()
        if counted + (estimate or 0.0) <= budget:
            return False
        self.budget_stop = {"reason": "max_usage", "max_usage": budget, "counted": round(counted, 3),
                            "next_job": None if estimate is None else round(estimate, 3),
                            "at": self.books.now()}
        return True


def _shots(item: Any, task_shots: int) -> int:
    """The shots an item takes (an estimator point's come from its precision)."""
    from jobman.sweep import SweepPoint

    return item.shots(task_shots) if isinstance(item, SweepPoint) else task_shots


def _swept(kept: list[tuple[int, Any]]) -> bool:
    """Whether the items are points of a sweep (their prepared circuit is not stored per point)."""
    from jobman.sweep import SweepPoint

    return any(isinstance(item, SweepPoint) for _, item in kept)


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

"""The engine: submits chunks with bounded concurrency, follows them, records every change.

It talks only to a :class:`~jobman.backends.base.Backend` and a
:class:`~jobman.store.SetStore`; it never touches the terminal or the network itself.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Sequence

from jobman.backends.base import Backend, ChunkJob, CircuitOutcome, RunOptions
from jobman.exceptions import Interrupted, JobmanError
from jobman.records import ChunkRecord, compress_ranges
from jobman.retry import RetryPolicy
from jobman.spec import to_ranges
from jobman.status import JobStatus

if TYPE_CHECKING:  # pragma: no cover
    from jobman.inputs import CircuitSource
    from jobman.store import SetStore

ON_FAILURE_CHOICES = ("continue", "abort")


@dataclass(frozen=True)
class EngineConfig:
    """How the engine drives a backend."""

    max_in_flight: int | None = None  # None: the backend's default
    poll_interval: float = 0.5
    on_failure: str = "continue"
    retry: RetryPolicy = field(default_factory=RetryPolicy)


@dataclass
class WorkItem:
    """Circuits of one chunk to (re)submit: global ranges ``runs``."""

    chunk: int
    runs: list[tuple[int, int]]
    not_before: float = 0.0


@dataclass
class Flight:
    """A job in flight for a work item."""

    job_id: str
    item: WorkItem
    attempt: int
    names: dict[int, str]
    rejected: dict[int, str]


class Engine:
    """Runs the unfinished work of one job set on one backend."""

    def __init__(self, set_store: "SetStore", source: "CircuitSource", backend: Backend,
                 options: RunOptions, config: EngineConfig | None = None,
                 on_change: Callable[[ChunkRecord], None] | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.set = set_store
        self.source = source
        self.backend = backend
        self.options = options
        self.config = config or EngineConfig()
        self.on_change = on_change
        self.clock = clock
        self.records: dict[int, ChunkRecord] = {r.index: r for r in set_store.chunks()}
        self.retries = 0
        self._failed_attempts: dict[int, int] = {}
        self._aborting = False

    # the main loop --------------------------------------------------------------------
    def run(self, work: Sequence[WorkItem]) -> None:
        """Submit ``work``, follow it to the end, and record everything on the way."""
        queue = deque(work)
        inflight: dict[str, Flight] = {}
        limit = self.config.max_in_flight or self.backend.default_max_in_flight
        try:
            while queue or inflight:
                if self._cancel_requested():
                    self._cancel_all(queue, inflight, "cancelled by request")
                    break
                self._fill(queue, inflight, limit)
                if inflight:
                    self._follow(queue, inflight)
                elif queue:
                    self._sleep_until(queue[0].not_before)
        except KeyboardInterrupt:
            self._interrupt(inflight)
            raise Interrupted(f"interrupted; run `jobman resume {self.set.id}` to carry on") from None

    def adopt(self, inflight: dict[str, Flight]) -> None:
        """Follow jobs submitted by an earlier process (re-attached by id) to the end."""
        queue: deque[WorkItem] = deque()
        while inflight:
            self._follow(queue, inflight)
        if queue:
            self.run(list(queue))

    def _fill(self, queue: deque[WorkItem], inflight: dict[str, Flight], limit: int) -> None:
        while queue and len(inflight) < limit and not self._aborting:
            if queue[0].not_before > self.clock():
                if not inflight:
                    self._sleep_until(queue[0].not_before)
                return
            flight = self._submit(queue.popleft())
            if flight is not None:
                inflight[flight.job_id] = flight
        if self._aborting:
            self._cancel_all(queue, inflight, "cancelled: another circuit failed (--on-failure abort)")

    def _follow(self, queue: deque[WorkItem], inflight: dict[str, Flight]) -> None:
        states = self._call(lambda: self.backend.wait(list(inflight), self.config.poll_interval))
        for job_id, status in states.items():
            flight = inflight.get(job_id)
            if flight is None:
                continue
            if status.is_final:
                del inflight[job_id]
                self._finish(flight, status, queue)
            else:
                self._note(flight.item.chunk, status)

    def _sleep_until(self, moment: float) -> None:
        delay = moment - self.clock()
        if delay > 0:
            self.config.retry.sleep(delay)

    # submitting -----------------------------------------------------------------------
    def _submit(self, item: WorkItem) -> Flight | None:
        record = self.records[item.chunk]
        circuits, names = self._load(item.runs)
        rejected = self._validate(circuits, item.runs)
        valid = [c for c, g in zip(circuits, _indices(item.runs)) if g not in rejected]
        runs = to_ranges([g for g in _indices(item.runs) if g not in rejected])
        if not runs:
            self._complete(item, {}, names, rejected, JobStatus.DONE)
            return None
        self._set_status(record, JobStatus.TRANSPILING if self.backend_transpiles() else
                         JobStatus.SUBMITTING, save=False)
        prepared = self.backend.prepare(valid, self.options)
        attempt = len(record.attempts) + 1
        job = ChunkJob(self.set.id, item.chunk, runs[0][0], runs[-1][1], attempt, tuple(runs))
        record.attempts.append({"number": attempt, "runs": [list(r) for r in runs], "job_id": None,
                                "submitted": None, "finished": None, "status": "SUBMITTING",
                                "error": None})
        self._set_status(record, JobStatus.SUBMITTING)
        try:
            job_id = self._call(lambda: self.backend.submit(job, prepared, self.options),
                                on_retry=self._count_retry)
        except JobmanError as error:
            record.attempts[-1].update(status="ERROR", error=str(error), finished=self.clock())
            self._complete(WorkItem(item.chunk, runs), {}, names,
                           {**rejected, **{g: str(error) for g in _indices(runs)}}, JobStatus.ERROR)
            return None
        record.attempts[-1].update(job_id=job_id, submitted=round(self.clock(), 3), status="QUEUED")
        self._set_status(record, JobStatus.QUEUED)
        return Flight(job_id, WorkItem(item.chunk, runs), attempt, names, rejected)

    def backend_transpiles(self) -> bool:
        return type(self.backend).prepare is not Backend.prepare

    def _load(self, runs: list[tuple[int, int]]) -> tuple[list[Any], dict[int, str]]:
        circuits: list[Any] = []
        for start, stop in runs:
            circuits.extend(self.source.load(start, stop))
        names = {g: c.name for g, c in zip(_indices(runs), circuits)}
        return circuits, names

    def _validate(self, circuits: list[Any], runs: list[tuple[int, int]]) -> dict[int, str]:
        rejected: dict[int, str] = {}
        for index, circuit in zip(_indices(runs), circuits):
            reason = self.backend.validate(circuit) or _measure_problem(circuit)
            if reason:
                rejected[index] = reason
        return rejected

    # finishing ------------------------------------------------------------------------
    def _finish(self, flight: Flight, status: JobStatus, queue: deque[WorkItem]) -> None:
        record = self.records[flight.item.chunk]
        attempt = record.attempts[flight.attempt - 1] if len(record.attempts) >= flight.attempt else {}
        attempt.update(finished=round(self.clock(), 3), status=status.value)
        if status is JobStatus.DONE:
            try:
                outcomes = self._call(lambda: self.backend.result(flight.job_id))
            except JobmanError as error:
                return self._job_failed(flight, attempt, error, queue)
            by_index = dict(zip(_indices(flight.item.runs), outcomes))
            return self._complete(flight.item, by_index, flight.names, flight.rejected, JobStatus.DONE)
        if status is JobStatus.CANCELLED:
            reason = "job was cancelled"
            self._complete(flight.item, {}, flight.names,
                           {**flight.rejected, **{g: reason for g in _indices(flight.item.runs)}},
                           JobStatus.CANCELLED)
            return None
        error = self.backend.job_error(flight.job_id) or JobmanError("job ended in ERROR")
        return self._job_failed(flight, attempt, error, queue)

    def _job_failed(self, flight: Flight, attempt: dict[str, Any], error: BaseException,
                    queue: deque[WorkItem]) -> None:
        attempt.update(status="ERROR", error=str(error))
        chunk = flight.item.chunk
        used = self._failed_attempts.get(chunk, 0)
        if self.backend.is_transient(error) and used < self.config.retry.max_retries and not self._aborting:
            self._failed_attempts[chunk] = used + 1
            self._count_retry(used + 1, error)
            delay = self.config.retry.delay(used + 1)
            queue.append(WorkItem(chunk, flight.item.runs, self.clock() + delay))
            self._set_status(self.records[chunk], JobStatus.RETRYING)
            return
        reason = f"{error} ({len(self.records[chunk].attempts)} attempts)"
        self._complete(flight.item, {}, flight.names,
                       {**flight.rejected, **{g: reason for g in _indices(flight.item.runs)}},
                       JobStatus.ERROR)

    def _complete(self, item: WorkItem, outcomes: dict[int, CircuitOutcome], names: dict[int, str],
                  failures: dict[int, str], job_status: JobStatus) -> None:
        """Merge an attempt's outcomes into the chunk's stored results and close the chunk."""
        record = self.records[item.chunk]
        lines, memory = self._existing(record, bool(outcomes) and self.options.memory)
        for index in _indices(item.runs) + sorted(failures):
            pos = index - record.start
            if index in outcomes:
                lines[pos], memory_row = _line(index, names.get(index), outcomes[index])
                if memory is not None:
                    memory[pos] = memory_row
            elif index in failures:
                failed = JobStatus.CANCELLED if job_status is JobStatus.CANCELLED and \
                    failures[index] == "job was cancelled" else JobStatus.ERROR
                lines[pos] = {"index": index, "name": names.get(index, lines[pos].get("name")),
                              "status": failed.value, "num_clbits": 0, "counts": None,
                              "error": failures[index]}
        all_names = [line.get("name") for line in lines]
        self.set.write_results(record.index, lines, all_names, memory)
        record.failed = compress_ranges([(l["index"], l["status"], l.get("error") or "")
                                         for l in lines if l["status"] != JobStatus.DONE.value])
        final = self._chunk_status(record, lines, job_status)
        record.error = record.failed[0][3] if record.failed else None
        self._set_status(record, final)
        if record.failed and self.config.on_failure == "abort":
            self._aborting = True

    def _chunk_status(self, record: ChunkRecord, lines: list[dict[str, Any]],
                      job_status: JobStatus) -> JobStatus:
        statuses = {line["status"] for line in lines}
        if statuses == {JobStatus.DONE.value}:
            return JobStatus.DONE
        if JobStatus.DONE.value in statuses:
            return JobStatus.DONE  # finished; its failed circuits are listed in record.failed
        if JobStatus.CANCELLED.value in statuses and JobStatus.ERROR.value not in statuses:
            return JobStatus.CANCELLED
        return JobStatus.ERROR if job_status is not JobStatus.CANCELLED else JobStatus.CANCELLED

    def _existing(self, record: ChunkRecord, memory: bool) -> tuple[list[dict[str, Any]], list | None]:
        lines = self.set.read_results(record.index) if record.attempts else None
        if lines is None or len(lines) != record.size:
            lines = [{"index": i, "name": None, "status": JobStatus.PENDING.value, "num_clbits": 0,
                      "counts": None, "error": None} for i in range(record.start, record.stop)]
        rows = None
        if memory:
            rows = self.set.read_memory(record.index)
            if rows is None or len(rows) != record.size:
                rows = [None] * record.size
        return lines, rows

    # cancelling and interrupting ------------------------------------------------------
    def _cancel_requested(self) -> bool:
        return self.set.paths.cancel_file.exists()

    def _cancel_all(self, queue: deque[WorkItem], inflight: dict[str, Flight], reason: str) -> None:
        for job_id, flight in list(inflight.items()):
            try:
                self._call(lambda: self.backend.cancel(job_id))
            except JobmanError:
                pass
            self._complete(flight.item, {}, flight.names,
                           {**flight.rejected, **{g: reason for g in _indices(flight.item.runs)}},
                           JobStatus.CANCELLED)
        inflight.clear()
        while queue:
            item = queue.popleft()
            self._complete(item, {}, {}, {g: reason for g in _indices(item.runs)}, JobStatus.CANCELLED)

    def _interrupt(self, inflight: dict[str, Flight]) -> None:
        if self.backend.reattachable:
            return  # jobs keep running remotely; resume re-attaches them
        for job_id, flight in inflight.items():
            self.backend.cancel(job_id)
            record = self.records[flight.item.chunk]
            if record.attempts:
                record.attempts[-1].update(status="CANCELLED", error="interrupted")
            self._set_status(record, JobStatus.PENDING)

    # bookkeeping ----------------------------------------------------------------------
    def _note(self, chunk: int, status: JobStatus) -> None:
        record = self.records[chunk]
        if record.status != status.value:
            if record.attempts:
                record.attempts[-1]["status"] = status.value
            self._set_status(record, status, sync=False)

    def _set_status(self, record: ChunkRecord, status: JobStatus, save: bool = True,
                    sync: bool = True) -> None:
        record.set_status(status, self.clock())
        if save:
            self.set.save_chunk(record, sync=sync)
            if self.on_change is not None:
                self.on_change(record)

    def _count_retry(self, attempt: int, error: BaseException | None) -> None:
        self.retries += 1

    def _call(self, fn: Callable[[], Any], on_retry: Callable[[int, BaseException], None] | None = None
              ) -> Any:
        return self.config.retry.call(fn, self.backend.is_transient, on_retry or self._count_retry)


def _indices(runs: Sequence[tuple[int, int]]) -> list[int]:
    return [i for start, stop in runs for i in range(start, stop)]


def _measure_problem(circuit: Any) -> str | None:
    if circuit.num_clbits == 0 or not any(inst.operation.name == "measure" for inst in reversed(circuit.data)):
        return "circuit has no measurements; add measure_all() or measure into classical bits"
    return None


def _line(index: int, name: str | None, outcome: CircuitOutcome) -> tuple[dict[str, Any], list | None]:
    line = {"index": index, "name": name, "status": outcome.status.value, "num_clbits": outcome.num_clbits,
            "counts": outcome.counts, "error": outcome.error}
    return line, outcome.memory

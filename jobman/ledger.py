"""The ledger: each chunk's per-circuit result lines, and its record kept in step with them.

One line per circuit, always: ``{"index", "name", "status", "num_clbits", "counts", "error"}``,
plus ``"metadata"`` (the circuit's ``QuantumCircuit.metadata``, as the backend returned it) and
``"creg_sizes"`` (the circuit's register sizes, which split outcomes into registers as
Qiskit prints them), and for a point of an estimator PUB ``"evs"`` and ``"stds"`` (one per
observable of its PUB, flat; its ``"counts"`` are ``{}``). Lines stored before jobman recorded registers have no ``"creg_sizes"``:
their outcomes read as one bitstring over all clbits, as they always did.
Lines are merged into what is stored (so a retry replaces only its circuits) and written
atomically *before* the chunk record that depends on them: a crash between the two leaves
lines that say more than the record, which :meth:`Ledger.close` reconciles on resume.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Sequence

from jobman.backends.base import CircuitOutcome
from jobman.records import ChunkRecord, compress_ranges
from jobman.status import JobStatus

if TYPE_CHECKING:  # pragma: no cover
    from jobman.store import SetStore

PENDING, DONE, ERROR, CANCELLED = (JobStatus.PENDING.value, JobStatus.DONE.value,
                                   JobStatus.ERROR.value, JobStatus.CANCELLED.value)
NO_RESULT = "no result was recorded for this circuit"

Line = dict[str, Any]


class Ledger:
    """Reads, merges and writes result lines; saves chunk records and reports their changes."""

    def __init__(self, set_store: "SetStore", clock: Callable[[], float],
                 on_change: Callable[[ChunkRecord], None] | None = None, durable: bool = True) -> None:
        self.set = set_store
        self.clock = clock
        self.on_change = on_change
        #: Whether records reach the disk before each next step (see ``Backend.durable_records``).
        self.durable = durable

    def lines(self, record: ChunkRecord) -> list[Line]:
        """The chunk's stored lines, or PENDING ones when it has none yet."""
        lines = self.set.read_results(record.index)
        if lines is None or len(lines) != record.size:
            lines = [failed_line(i, None, PENDING, None) for i in range(record.start, record.stop)]
        return lines

    def merge(self, record: ChunkRecord, updates: dict[int, Line],
              memory: dict[int, list[str] | None] | None = None, close: bool = False) -> list[Line]:
        """Replace the stored lines of the circuits in ``updates``; return all the chunk's lines.
        With ``close``, make the chunk final too (see :meth:`close`), in the same write."""
        whole = len(updates) == record.size and all(
            record.start <= i < record.stop and line["name"] is not None for i, line in updates.items())
        # every line replaced and named: nothing stored is kept, so nothing is read
        lines: list[Line] = [{}] * record.size if whole else self.lines(record)
        rows: list[list[str] | None] | None = None
        if memory is not None:
            rows = [None] * record.size if whole and len(memory) == record.size else self._memory_rows(record)
        for index, line in updates.items():
            pos = index - record.start
            if line["name"] is None:
                line["name"] = lines[pos].get("name")
            lines[pos] = line
            if rows is not None and memory is not None:
                rows[pos] = memory.get(index)
        if not close:
            self.set.write_results(record.index, lines, [line.get("name") for line in lines], rows)
            return lines
        lines = self._final(record, lines)
        self.set.finish_chunk(record, lines, [line.get("name") for line in lines], rows, sync=self.durable)
        self._changed(record)
        return lines

    def close(self, record: ChunkRecord, lines: list[Line] | None = None) -> None:
        """Make the chunk's record final from its lines; no circuit is ever left PENDING."""
        stored = self.lines(record) if lines is None else lines
        lines = self._final(record, stored)
        if lines is not stored:
            self.set.write_results(record.index, lines, [line.get("name") for line in lines])
        self.set.save_chunk(record, sync=self.durable)
        self._changed(record)

    def _final(self, record: ChunkRecord, lines: list[Line]) -> list[Line]:
        """The chunk's lines with none left PENDING (those get ERROR, no result), and its record
        made final from them (not saved); the same list when no line was PENDING."""
        if any(line["status"] == PENDING for line in lines):
            lines = [failed_line(line["index"], line.get("name"), ERROR, NO_RESULT)
                     if line["status"] == PENDING else line for line in lines]
        record.failed = compress_ranges([(line["index"], line["status"], line.get("error") or "")
                                         for line in lines if line["status"] != DONE])
        record.error = record.failed[0][3] if record.failed else None
        record.set_status(chunk_status(lines), self.clock())
        return lines

    def set_status(self, record: ChunkRecord, status: JobStatus, save: bool = True,
                   sync: bool = True) -> None:
        """Change a chunk's status; save it and tell ``on_change``."""
        record.set_status(status, self.clock())
        if save:
            self.set.save_chunk(record, sync=sync and self.durable)
            self._changed(record)

    def _changed(self, record: ChunkRecord) -> None:
        if self.on_change is not None:
            self.on_change(record)

    def _memory_rows(self, record: ChunkRecord) -> list[list[str] | None]:
        rows = self.set.read_memory(record.index)
        return rows if rows is not None and len(rows) == record.size else [None] * record.size


def owed(record: ChunkRecord, lines: list[Line]) -> list[int]:
    """Circuits of an unfinished chunk that still need a result: the pending ones, and those of
    its last attempt that are not done (a retry re-runs circuits whose lines are final)."""
    indices = {line["index"] for line in lines if line["status"] == PENDING}
    last = record.last_attempt()
    if last is not None:
        indices |= {i for i in last.indices() if lines[i - record.start]["status"] != DONE}
    return sorted(indices)


def chunk_status(lines: list[Line]) -> JobStatus:
    """DONE if any circuit is (its failed ones are listed in ``failed``), else CANCELLED or ERROR."""
    statuses = {line["status"] for line in lines}
    if DONE in statuses:
        return JobStatus.DONE
    return JobStatus.CANCELLED if statuses == {CANCELLED} else JobStatus.ERROR


def outcome_line(index: int, name: str | None, outcome: CircuitOutcome) -> Line:
    """The line of a circuit the backend returned."""
    failed = outcome.status is not JobStatus.DONE
    line: Line = {"index": index, "name": name, "status": outcome.status.value,
            "num_clbits": outcome.num_clbits, "counts": outcome.counts,
            "error": outcome.error or (NO_RESULT if failed else None),
            "creg_sizes": outcome.creg_sizes, "metadata": outcome.metadata}
    if outcome.evs is not None:  # a point of an estimator PUB (its counts: {}, nothing sampled)
        line.update(evs=outcome.evs, stds=outcome.stds)
    return line


def failed_line(index: int, name: str | None, status: str, reason: str | None) -> Line:
    """The line of a circuit without counts (ERROR, CANCELLED, or PENDING)."""
    return {"index": index, "name": name, "status": status, "num_clbits": 0, "counts": None,
            "error": reason}


def failed_lines(indices: Sequence[int], names: dict[int, str], status: str, reason: str
                 ) -> dict[int, Line]:
    """The same failure for many circuits."""
    return {index: failed_line(index, names.get(index), status, reason) for index in indices}

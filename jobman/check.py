"""Verifying a job set against its files (``jobman check``), and what ``jobman resume`` repairs.

Every chunk record is read and checked, and so is every result line against it: the line's
shape, its status against the record's failed ranges, and its counts against the set's shots.
A finding says what is wrong, in which file, and what ``resume`` does about it:

* results missing, truncated or unreadable, or lines that disagree with their record:
  resume keeps the lines that are sound and re-runs the other circuits;
* a damaged set.json or chunk record: resume cannot know what was submitted, so it refuses;
  restore the file or delete the set.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from jobman.exceptions import DamagedSetError, StoreError
from jobman.records import ChunkRecord
from jobman.spec import format_ranges
from jobman.status import JobStatus

if TYPE_CHECKING:  # pragma: no cover
    from jobman.bookkeeping import Bookkeeping
    from jobman.engine import Engine
    from jobman.store import SetStore

PENDING = JobStatus.PENDING.value
NO_REPAIR = "resume cannot repair this: restore the file, or delete the set"
MISSING = "results file is missing"


@dataclass(frozen=True)
class Finding:
    """One thing wrong with a set: ``fault`` in ``file``; ``repair`` is what resume does (or not)."""

    file: str
    fault: str
    chunk: int | None = None
    repair: str = NO_REPAIR

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def line(self) -> str:
        """``chunks/000003.json: field 'status' ... (resume cannot repair this: ...)``."""
        return f"{self.file}: {self.fault} ({self.repair})"


@dataclass
class ChunkVerdict:
    """A chunk's sound lines (None where a circuit has none it can keep) and the findings."""

    record: ChunkRecord
    lines: list[dict[str, Any] | None]
    findings: list[Finding]

    def rerun(self) -> list[int]:
        return [self.record.start + pos for pos, line in enumerate(self.lines)
                if line is None or line["status"] == PENDING]


def missing_results(set_store: "SetStore", chunks: list[ChunkRecord]) -> list[int]:
    """Final chunks whose results are gone (one listing or query, no read)."""
    final = [c.index for c in chunks if c.job_status.is_final]
    if not final:
        return []
    stored = set_store.chunks_with_results()
    return [index for index in final if index not in stored]


def check_set(set_store: "SetStore") -> list[Finding]:
    """Everything wrong with an opened set (empty when it is sound)."""
    findings: list[Finding] = []
    try:
        problems = set_store.integrity_problems()
    except DamagedSetError as error:
        return [Finding(str(set_store.paths.folder), _fault(error))]
    if problems:  # SQLite's own check: nothing read from it can be trusted
        shown = "; ".join(problems[:3]) + (f"; and {len(problems) - 3} more" if len(problems) > 3 else "")
        return [Finding(str(set_store.paths.folder / "set.db"), f"integrity_check: {shown}")]
    try:
        set_store.is_locked()
    except DamagedSetError as error:
        findings.append(Finding(str(set_store.paths.lock_file), _fault(error)))
    for index in range(set_store.record.num_chunks):
        try:
            record = set_store.chunk(index)
        except DamagedSetError as error:
            findings.append(Finding(set_store.chunk_location(index), _fault(error), index))
            continue
        findings += verdict(set_store, record).findings
    return findings


def verdict(set_store: "SetStore", record: ChunkRecord) -> ChunkVerdict:
    """Read and check one chunk's result lines against its record and the set's shots."""
    path = set_store.results_location(record.index)
    try:
        raw = set_store.result_lines(record.index)
    except DamagedSetError as error:
        raw, fault = [], _fault(error)
    else:
        fault = MISSING if raw is None and record.job_status.is_final else None
    if raw is None:
        raw = []
    elif fault is None and len(raw) != record.size:
        fault = f"has {len(raw)} result lines for the chunk's {record.size} circuits (truncated)"
    lines: list[dict[str, Any] | None] = [None] * record.size if raw or fault else []
    faults = [fault] if fault else []
    for pos, data in enumerate(raw[: record.size]):
        lines[pos], line_fault = _sound_line(set_store, record, pos, data)
        if line_fault:
            faults.append(line_fault)
    result = ChunkVerdict(record, lines, [])
    if faults:
        rerun = result.rerun()
        repair = (f"resume re-runs circuits {format_ranges(rerun)}" if rerun
                  else "resume rebuilds the chunk record from its results")
        shown = "; ".join(faults[:3]) + (f"; and {len(faults) - 3} more" if len(faults) > 3 else "")
        result.findings.append(Finding(path, shown, record.index, repair))
    return result


def _sound_line(set_store: "SetStore", record: ChunkRecord, pos: int, raw: bytes
                ) -> tuple[dict[str, Any] | None, str | None]:
    index = record.start + pos
    try:
        line = set_store.decode_line(record.index, index, raw)
    except DamagedSetError as error:
        return None, _fault(error)
    shots = set_store.record.options.get("shots")
    estimated = line.get("evs") is not None  # a point of an estimator PUB: nothing was sampled
    if line["status"] == JobStatus.DONE.value and shots and not estimated \
            and sum(line["counts"].values()) != shots:
        return None, f"counts of circuit {index} add up to {sum(line['counts'].values())}, not {shots} shots"
    if record.job_status.is_final:
        if line["status"] == PENDING:
            return None, f"circuit {index} has no result, but its chunk is {record.status}"
        failed = any(start <= index < stop for start, stop, *_ in record.failed)
        if failed != (line["status"] != JobStatus.DONE.value):
            return line, f"circuit {index} is {line['status']} but the chunk record says otherwise"
    return line, None


def _fault(error: StoreError) -> str:
    """The fault of a DamagedSetError without the path it starts with."""
    text = str(error)
    head, sep, rest = text.partition(": ")
    return rest if sep and "/" in head else text


def repair(books: "Bookkeeping") -> list[int]:
    """Before resuming: give every chunk with missing or unsound results sound lines again
    (PENDING where none can be kept) and reopen it; return the chunks repaired."""
    from jobman.ledger import failed_line

    problems = books.set.integrity_problems()
    if problems:  # never write into a database SQLite finds damaged
        raise DamagedSetError(f"{books.set.paths.folder / 'set.db'}: integrity_check: {problems[0]} "
                              f"({NO_REPAIR})")
    repaired = []
    for record in books.records.values():
        found = verdict(books.set, record)
        if not found.findings:
            continue
        lines = [line if line is not None else failed_line(record.start + pos, None, PENDING, None)
                 for pos, line in enumerate(found.lines or [None] * record.size)]
        books.set.write_results(record.index, lines, [line.get("name") for line in lines])
        if found.rerun():
            record.failed, record.error = [], None
            if record.job_status.is_final:
                books.ledger.set_status(record, JobStatus.PENDING)
        else:
            books.ledger.close(record, lines)
        repaired.append(record.index)
    return repaired


def plan_resume(engine: "Engine") -> tuple[list[Any], list[Any]]:
    """:func:`jobman.recovery.plan_unfinished`, after :func:`repair`."""
    from jobman.recovery import plan_unfinished

    repair(engine.books)
    return plan_unfinished(engine.books, engine.calls, engine.submitter.names)

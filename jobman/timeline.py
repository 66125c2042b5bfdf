"""Every attempt of every chunk over time, from the stored attempt records, laid out in rows.

An attempt (a submission of a chunk, or of part of it) spans ``submitted`` to ``finished``;
it started running at the first ``RUNNING`` the chunk's history records in that window (on
IBM Quantum, at the service's ``running`` timestamp). Its outcome is ``DONE``, ``ERROR`` or
``CANCELLED``, ``retried`` when a later attempt of the chunk took some of its circuits again
(a transient failure, a lost job, a job halved to isolate a bad circuit, an interrupted run
resumed), or ``unfinished``. Pure data: :mod:`jobman.plot` and :mod:`jobman.cli.plot_text`
draw it. Never imports qiskit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable, Literal, Sequence

from jobman.records import ATTEMPT_LOST, Attempt, ChunkRecord
from jobman.spec import format_range

DONE, ERROR, CANCELLED, RETRIED, UNFINISHED = "DONE", "ERROR", "CANCELLED", "retried", "unfinished"
#: Outcomes in legend order.
OUTCOMES = (DONE, RETRIED, ERROR, CANCELLED, UNFINISHED)
RowKind = Literal["chunk", "slot", "session"]
ROW_KINDS: tuple[str, ...] = ("chunk", "slot", "session")
#: ``--by`` left out: rows per chunk up to this many chunks, else per slot.
CHUNK_ROWS_UP_TO = 40


@dataclass
class Span:
    """One attempt: queued from ``submitted`` to ``started``, running to ``finished``."""

    chunk: int
    number: int
    circuits: str  # "700-799"
    submitted: float
    started: float
    finished: float
    outcome: str
    job_id: str | None = None
    session_id: str | None = None
    error: str | None = None


@dataclass
class Row:
    """One row of the timeline and the attempts drawn in it, oldest first."""

    label: str
    spans: list[Span] = field(default_factory=list)


@dataclass
class Timeline:
    """The rows, when the first attempt was submitted, and how long everything took."""

    rows: list[Row]
    start: float
    end: float
    by: str

    @property
    def spans(self) -> list[Span]:
        return sorted((s for row in self.rows for s in row.spans), key=lambda s: (s.submitted, s.chunk))

    def totals(self) -> dict[str, int]:
        """Attempts per outcome, in legend order, outcomes that occur only."""
        found = [s.outcome for s in self.spans]
        return {outcome: found.count(outcome) for outcome in OUTCOMES if outcome in found}


def attempt_spans(chunks: Iterable[ChunkRecord], now: float | None = None) -> list[Span]:
    """Every attempt of ``chunks`` that has a time, oldest first.

    An unfinished attempt ends at ``now`` when given (a set that runs), else at the last
    moment its chunk's record knows of (a set interrupted: the end is not known).
    """
    spans = []
    for chunk in chunks:
        for position, attempt in enumerate(chunk.attempts):
            span = _span(chunk, attempt, chunk.attempts[position + 1:], now)
            if span is not None:
                spans.append(span)
    return sorted(spans, key=lambda s: (s.submitted, s.chunk, s.number))


def _span(chunk: ChunkRecord, attempt: Attempt, later: Sequence[Attempt],
          now: float | None) -> Span | None:
    submitted, finished = _number(attempt.submitted), _number(attempt.finished)
    first = submitted if submitted is not None else finished  # a refused submit call has no job
    if first is None:
        return None
    if finished is None:
        known = [t for _, t in chunk.history if isinstance(t, (int, float))] + [first]
        finished = max(first, now if now is not None else max(known))
    started = _started(chunk, attempt, first, finished)
    return Span(chunk.index, attempt.number, _circuits(attempt, chunk), first, started,
                finished, _outcome(attempt, later), attempt.job_id, attempt.session_id, attempt.error)


def _started(chunk: ChunkRecord, attempt: Attempt, first: float, finished: float) -> float:
    """When the attempt's job began to run (``first`` when nothing says: all of it ran)."""
    running = _iso_time((attempt.usage or {}).get("running"))
    if running is None:
        running = next((t for status, t in chunk.history if status == "RUNNING"
                        and isinstance(t, (int, float)) and first <= t <= finished), None)
    return min(max(first, running), finished) if running is not None else first


def _outcome(attempt: Attempt, later: Sequence[Attempt]) -> str:
    status = attempt.status
    if status == DONE:
        return DONE
    if status not in (ERROR, CANCELLED, ATTEMPT_LOST):
        return UNFINISHED
    mine = set(attempt.indices())
    if any(mine & set(other.indices()) for other in later):
        return RETRIED
    return CANCELLED if status == CANCELLED else ERROR


def _circuits(attempt: Attempt, chunk: ChunkRecord) -> str:
    runs = attempt.runs or [[chunk.start, chunk.stop]]
    return ",".join(format_range(int(a), int(b)) for a, b in runs)


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _iso_time(value: Any) -> float | None:
    """Seconds since the epoch of an ISO 8601 timestamp (``2026-11-21T09:45:12.5Z``), or None."""
    if not isinstance(value, str):
        return _number(value)
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def build_timeline(chunks: Sequence[ChunkRecord], by: str | None = None, now: float | None = None
                   ) -> Timeline:
    """The attempts of ``chunks`` in rows: one per chunk, per slot (attempts that ran at the
    same time are in different rows: the backend's concurrent jobs, like workers), or per
    session (slots within each IBM Quantum session). ``by`` None: per session when attempts
    ran in sessions, per chunk up to :data:`CHUNK_ROWS_UP_TO` chunks, else per slot."""
    spans = attempt_spans(chunks, now)
    if by is None:
        by = "session" if any(s.session_id for s in spans) else \
            "chunk" if len(chunks) <= CHUNK_ROWS_UP_TO else "slot"
    rows: list[Row] = []
    if by == "chunk":
        for chunk in chunks:
            mine = [s for s in spans if s.chunk == chunk.index]
            label = f"chunk {chunk.index} ({format_range(chunk.start, chunk.stop)})"
            rows.extend(_pack(mine, label, numbered=False) if mine else [Row(label)])
    elif by == "session":
        for session in dict.fromkeys(s.session_id for s in spans):
            name = f"session {session}" if session else "no session"
            rows.extend(_pack([s for s in spans if s.session_id == session], name, numbered=True))
    else:
        rows = _pack(spans, "slot", numbered=True)
    start = min((s.submitted for s in spans), default=0.0)
    end = max((s.finished for s in spans), default=start)
    return Timeline(rows, start, end, by)


def _pack(spans: Sequence[Span], label: str, numbered: bool) -> list[Row]:
    """Spans into as few rows as keep overlapping ones apart, each in the first free row."""
    rows: list[Row] = []
    for span in sorted(spans, key=lambda s: (s.submitted, s.chunk, s.number)):
        row = next((r for r in rows if r.spans[-1].finished <= span.submitted), None)
        if row is None:
            row = Row("")
            rows.append(row)
        row.spans.append(span)
    for position, row in enumerate(rows, 1):
        row.label = f"{label} {position}" if numbered else label if position == 1 else f"{label} +{position - 1}"
    return rows

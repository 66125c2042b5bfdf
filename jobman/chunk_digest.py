"""What a chunk adds to its set's summary, kept beside its record (store format 2) so that
``jobman status`` adds up a set of any size by queries instead of reading every record.

Only chunks with failed circuit ranges need their whole record for the summary (which circuits
failed, why, and which are being retried); every other chunk counts by its status and size.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jobman.estimate import attempt_cost, attempt_usage
from jobman.records import ChunkRecord
from jobman.status import JobStatus

#: The columns of :class:`ChunkDigest` in the ``chunks`` table, in order.
COLUMNS = ("updated", "started", "failed", "touched", "final", "usage_seconds", "usage_reported",
           "usage_kind", "estimated", "counted")


@dataclass(frozen=True)
class ChunkDigest:
    """A chunk's share of its set's summary (see :func:`jobman.summary.summarize`)."""

    updated: float
    started: float | None  # when it first left PENDING
    failed: int  # 1: it has failed ranges, and the summary reads its record
    touched: int  # 1: it left PENDING or was ever tried
    final: int
    usage_seconds: float
    usage_reported: int
    usage_kind: str | None
    estimated: float
    counted: float

    def row(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in COLUMNS)


def digest(chunk: ChunkRecord) -> ChunkDigest:
    """What ``chunk`` adds to its set's summary."""
    seconds, reported, kind, estimated, counted = 0.0, 0, None, 0.0, 0.0
    for attempt in chunk.attempts:
        value = attempt_usage(attempt)
        if value is not None:
            seconds += value
            reported += 1
            kind = kind or ("qpu" if "quantum_seconds" in (attempt.usage or {}) else "simulation")
        estimated += float(attempt.estimate_seconds or 0.0)
        if attempt.job_id:
            counted += attempt_cost(attempt)
    started = next((when for status, when in chunk.history if status != JobStatus.PENDING.value), None)
    return ChunkDigest(updated=chunk.updated, started=started, failed=int(bool(chunk.failed)),
                       touched=int(chunk.status != JobStatus.PENDING.value or bool(chunk.attempts)),
                       final=int(chunk.job_status.is_final), usage_seconds=seconds, usage_reported=reported,
                       usage_kind=kind, estimated=estimated, counted=counted)


@dataclass
class SetTotals:
    """A set's chunks added up (by :meth:`jobman.store.SetStore.totals`)."""

    chunks: int
    chunk_counts: dict[str, int]  # status -> chunks
    plain_circuits: dict[str, int]  # status -> circuits, over chunks without failed ranges
    failed_records: list[ChunkRecord]  # the chunks with failed ranges, whole
    lost: list[int]  # final chunks whose results are gone
    started: float | None
    updated: float | None
    all_final: bool
    any_touched: bool
    usage_seconds: float
    usage_reported: int
    usage_kind: str | None
    estimated: float
    counted: float

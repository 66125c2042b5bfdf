"""What a job set's state adds up to: totals per status and failed circuit ranges.

Pure data from the store; the CLI and ``ManagedJobSet.report()`` render it.
"""

from __future__ import annotations

from typing import Any

from jobman.records import ChunkRecord
from jobman.status import STATUS_ORDER, JobStatus
from jobman.store import SetStore


def circuit_totals(chunks: list[ChunkRecord]) -> dict[str, int]:
    """How many circuits are in each status (circuits of unfinished chunks take the chunk's)."""
    totals = {status.value: 0 for status in STATUS_ORDER}
    for chunk in chunks:
        if chunk.job_status.is_final or chunk.failed:
            failed = 0
            for start, stop, status, _reason in chunk.failed:
                totals[status] += stop - start
                failed += stop - start
            settled = JobStatus.DONE if chunk.job_status.is_final else chunk.job_status
            totals[settled.value] += chunk.size - failed
        else:
            totals[chunk.status] += chunk.size
    return {key: value for key, value in totals.items() if value}


def chunk_totals(chunks: list[ChunkRecord]) -> dict[str, int]:
    """How many chunks are in each status."""
    totals: dict[str, int] = {}
    for status in STATUS_ORDER:
        count = sum(1 for chunk in chunks if chunk.status == status.value)
        if count:
            totals[status.value] = count
    return totals


def failures(chunks: list[ChunkRecord]) -> list[dict[str, Any]]:
    """Failed circuit ranges with chunk, attempts and reason."""
    rows = []
    for chunk in chunks:
        for start, stop, status, reason in chunk.failed:
            rows.append({"start": start, "stop": stop, "chunk": chunk.index, "status": status,
                         "attempts": len(chunk.attempts), "reason": reason})
    return rows


def overall_status(chunks: list[ChunkRecord]) -> JobStatus:
    """DONE, ERROR (some circuit failed), CANCELLED, or the set's most advanced live state."""
    if all(chunk.job_status.is_final for chunk in chunks):
        if any(chunk.failed for chunk in chunks):
            statuses = {row[2] for chunk in chunks for row in chunk.failed}
            return JobStatus.ERROR if JobStatus.ERROR.value in statuses else JobStatus.CANCELLED
        return JobStatus.DONE
    for status in (JobStatus.RUNNING, JobStatus.QUEUED, JobStatus.RETRYING, JobStatus.SUBMITTING,
                   JobStatus.TRANSPILING):
        if any(chunk.status == status.value for chunk in chunks):
            return JobStatus.RUNNING if status is not JobStatus.QUEUED else JobStatus.QUEUED
    return JobStatus.PENDING


def summarize(set_store: SetStore, chunks: list[ChunkRecord] | None = None,
              detail: bool = False) -> dict[str, Any]:
    """Everything ``jobman status`` shows, as JSON-ready data."""
    record = set_store.record
    chunks = set_store.chunks() if chunks is None else chunks
    summary: dict[str, Any] = {
        "id": record.id, "name": record.name, "status": overall_status(chunks).value,
        "created": record.created, "updated": max((c.updated for c in chunks), default=record.created),
        "backend": record.backend.get("name"), "shots": record.options.get("shots"),
        "total": record.total, "chunk_size": record.chunk_size, "num_chunks": record.num_chunks,
        "circuits": circuit_totals(chunks), "chunks": chunk_totals(chunks),
        "failures": failures(chunks), "running": set_store.is_locked(),
    }
    if detail:
        summary["chunk_detail"] = [
            {"chunk": c.index, "start": c.start, "stop": c.stop, "status": c.status,
             "attempts": len(c.attempts), "job_id": (c.last_attempt() or {}).get("job_id"),
             "failed": c.failed_count(), "error": c.error} for c in chunks]
    return summary


def exit_code(status: str) -> int:
    """The CLI exit code for a final set status: 0 DONE, 3 some circuits failed or cancelled."""
    return 0 if status == JobStatus.DONE.value else 3

"""What a job set's state adds up to: totals per status and failed circuit ranges.

Pure data from the store; the CLI and ``ManagedJobSet.report()`` render it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from jobman.estimate import total_usage
from jobman.failure_report import group_data
from jobman.records import ChunkRecord
from jobman.spec import format_range
from jobman.status import STATUS_ORDER, JobStatus, SetState
from jobman.store import SetStore

if TYPE_CHECKING:  # pragma: no cover
    from jobman.chunk_digest import SetTotals


@dataclass
class SetSummary:
    """Everything ``jobman status`` shows about a set (see :func:`summarize`); :meth:`to_dict`
    is its JSON (``jobman status --json``, ``wait --json``)."""

    id: str
    name: str
    status: SetState
    created: float
    updated: float
    started: float | None
    finished: float | None
    backend: str | None
    shots: int | None
    total: int
    chunk_size: int
    num_chunks: int
    circuits: dict[str, int]  #: circuits per status, statuses that occur only
    failed: int  #: circuits that ended in ERROR or CANCELLED
    chunks: dict[str, int]  #: chunks per status
    failures: list[dict[str, Any]]  #: failed ranges (see :func:`failures`)
    running: bool  #: a process holds the set's lock
    sessions: list[dict[str, Any]]
    usage: dict[str, Any]  #: seconds reported, estimated and counted, the kind, ``max_usage``
    stopped: dict[str, Any] | None  #: why the last run stopped submitting with work left
    failure_groups: list[dict[str, Any]]  #: the failures grouped by reason
    copy_of: str | None = None  #: the id the set was created with, when its folder is a copy
    damaged: list[dict[str, Any]] | None = None  #: final chunks whose results are missing
    chunk_detail: list[dict[str, Any]] | None = None  #: a row per chunk (``detail=True``)
    unit: str = "circuit"  #: what ``total`` counts: ``"point"`` of a sweep, else ``"circuit"``
    precisions: list[float] | None = None  #: an estimator task's precisions (it takes no shots)

    def sampling(self) -> str:
        """How the set samples: ``"100 shots"``, or ``"precision 0.01"`` for an estimator task
        (``"precision 0 (exact)"``: Aer's estimator then gives exact values)."""
        if self.precisions is not None:
            shown = "precision " + ", ".join(f"{value:g}" for value in self.precisions)
            return shown + " (exact)" if self.precisions == [0.0] else shown
        return f"{self.shots} shots"

    def to_dict(self) -> dict[str, Any]:
        """The summary as JSON-ready data; ``copy_of``, ``damaged`` and ``chunk_detail`` only
        when set."""
        data = {name: getattr(self, name) for name in self.__dataclass_fields__}
        data["status"] = self.status.value
        for name in _SUMMARY_OPTIONAL:
            if data[name] is None:
                del data[name]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "SetSummary":
        """A summary from its JSON (``jobman status --json``); keys it does not know are ignored."""
        known = {key: value for key, value in data.items() if key in cls.__dataclass_fields__}
        return cls(**dict(known, status=SetState(known["status"])))


#: SetSummary fields left out of its JSON when not set (sets without them never had the key).
_SUMMARY_OPTIONAL = ("copy_of", "damaged", "chunk_detail", "precisions")


def circuit_totals(chunks: list[ChunkRecord]) -> dict[str, int]:
    """How many circuits are in each status (circuits of unfinished chunks take the chunk's,
    except those that finished before the chunk was reopened to retry its failed ones)."""
    totals = {status.value: 0 for status in STATUS_ORDER}
    for chunk in chunks:
        if chunk.job_status.is_final or chunk.failed:  # closed once (``failed``: being retried)
            last = chunk.last_attempt()
            rerun = [] if chunk.job_status.is_final or last is None else last.runs
            failed = 0
            for start, stop, status, _reason in chunk.failed:
                again = sum(max(0, min(stop, b) - max(start, a)) for a, b in rerun)
                totals[status] += stop - start - again  # not retried: still failed
                totals[chunk.status] += again
                failed += stop - start
            totals[JobStatus.DONE.value] += chunk.size - failed  # what finished stays DONE
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
    """Failed circuit ranges with chunk, attempts and reason.

    ``start``/``stop`` are half-open; ``circuits`` is the same range as the user types it
    (``"2000-2299"``). ``attempts`` counts the submissions that held those circuits (0: never
    submitted, e.g. a circuit without measurements); a range is split where that count changes.
    """
    rows = []
    for chunk in chunks:
        for start, stop, status, reason in chunk.failed:
            for first, end, attempts in _attempt_pieces(chunk, start, stop):
                rows.append({"start": first, "stop": end, "circuits": format_range(first, end),
                             "chunk": chunk.index, "status": status, "attempts": attempts,
                             "reason": reason})
    return rows


def _attempt_pieces(chunk: ChunkRecord, start: int, stop: int) -> list[tuple[int, int, int]]:
    """``[start, stop)`` cut where the number of attempts covering a circuit changes."""
    cuts = sorted({start, stop} | {edge for attempt in chunk.attempts for run in attempt.runs
                                   for edge in run if start < edge < stop})
    pieces: list[tuple[int, int, int]] = []
    for first, end in zip(cuts, cuts[1:]):
        count = chunk.attempts_covering(first)
        if pieces and pieces[-1][2] == count:
            pieces[-1] = (pieces[-1][0], end, count)
        else:
            pieces.append((first, end, count))
    return pieces


def set_state(chunks: list[ChunkRecord], running: bool) -> SetState:
    """The set's lifecycle state, from its chunk records and whether a live process holds its lock.

    While a process holds the lock the set is RUNNING (PENDING until a chunk has started), even
    when every chunk looks final: a retry about to resubmit, or a run about to let go. With no
    process: DONE or CANCELLED (some circuit was cancelled) when every chunk is final, with or
    without failed circuits; INTERRUPTED when work is left.
    """
    if running:
        started = any(chunk.status != JobStatus.PENDING.value or chunk.attempts for chunk in chunks)
        return SetState.RUNNING if started else SetState.PENDING
    if all(chunk.job_status.is_final for chunk in chunks):
        cancelled = any(row[2] == JobStatus.CANCELLED.value for chunk in chunks for row in chunk.failed)
        return SetState.CANCELLED if cancelled else SetState.DONE
    return SetState.INTERRUPTED


def failed_count(circuits: dict[str, int]) -> int:
    """Circuits that ended in ERROR or CANCELLED, from :func:`circuit_totals`."""
    return circuits.get(JobStatus.ERROR.value, 0) + circuits.get(JobStatus.CANCELLED.value, 0)


def timing(chunks: list[ChunkRecord]) -> dict[str, float | None]:
    """When work on the set started (first chunk left PENDING) and finished (all chunks final)."""
    starts = [next((when for status, when in chunk.history if status != JobStatus.PENDING.value), None)
              for chunk in chunks]
    started = min((when for when in starts if when is not None), default=None)
    final = bool(chunks) and all(chunk.job_status.is_final for chunk in chunks)
    finished = max(chunk.updated for chunk in chunks) if final else None
    return {"started": started, "finished": finished}


def describe_failure(row: dict[str, Any]) -> str:
    """``circuits 2000-2299 failed (chunk 7, 3 attempts): reason``."""
    start, stop = row["start"], row["stop"]
    one = stop == start + 1
    what = f"circuit {start}" if one else f"circuits {start}-{stop - 1}"
    if row["status"] == JobStatus.ERROR.value:
        verb = "failed"
    else:
        verb = "was cancelled" if one else "were cancelled"
    attempts = row["attempts"]
    tried = "not submitted" if not attempts else f"{attempts} attempt{'s' if attempts != 1 else ''}"
    return f"{what} {verb} (chunk {row['chunk']}, {tried}): {row['reason']}"


def summarize(set_store: SetStore, chunks: list[ChunkRecord] | None = None,
              detail: bool = False, running: bool | None = None) -> SetSummary:
    """Everything ``jobman status`` shows (:meth:`SetSummary.to_dict`: as JSON-ready data).

    ``running`` says whether a process runs the set; by default the set's lock is asked, which
    the run that holds it cannot do for its own ending (see ``ManagedJobSet.outcome``). A set of
    store format 2 is added up by queries (:meth:`SetStore.totals`) unless ``chunks`` or
    ``detail`` need every record, or a final chunk lost its results.
    """
    record = set_store.record
    if running is None:  # before the chunks: a run that ends meanwhile reads RUNNING
        running = set_store.is_locked()
    totals = set_store.totals() if chunks is None and not detail else None
    if totals is not None and not totals.lost:
        parts, lost = _from_totals(totals, running, record.created), list[int]()
    else:
        chunks = set_store.chunks() if chunks is None else chunks
        parts, lost, chunks = _from_records(set_store, chunks, running)
    damaged = [{"chunk": i, "file": set_store.results_location(i), "fault": "results file is missing",
                "repair": f"`jobman resume {set_store.id}` runs its circuits again"} for i in lost]
    detail_rows = None
    if detail and chunks is not None:
        detail_rows = [
            {"chunk": c.index, "start": c.start, "stop": c.stop, "status": c.status,
             "attempts": len(c.attempts), "job_id": _last(c, "job_id"), "session_id": _last(c, "session_id"),
             "failed": c.failed_count(), "error": c.error} for c in chunks]
    return SetSummary(
        id=set_store.id, name=record.name, status=SetState(parts["status"]), created=record.created,
        updated=parts["updated"], started=parts["started"], finished=parts["finished"],
        backend=record.backend.get("name"), shots=record.options.get("shots"), total=record.total,
        chunk_size=record.chunk_size, num_chunks=record.num_chunks, circuits=parts["circuits"],
        failed=failed_count(parts["circuits"]), chunks=parts["chunks"], failures=parts["failures"],
        running=running, sessions=[dict(session) for session in record.sessions],
        usage=dict(parts["usage"], max_usage=record.engine_options().max_usage), stopped=record.stopped,
        failure_groups=group_data(parts["failures"]), copy_of=record.id if set_store.is_copy else None,
        damaged=damaged or None, chunk_detail=detail_rows, unit=record.unit,
        precisions=record.estimator_precisions())


def _last(chunk: ChunkRecord, name: str) -> Any:
    """A field of the chunk's last attempt (None without attempts)."""
    last = chunk.last_attempt()
    return None if last is None else getattr(last, name)


def _from_records(set_store: SetStore, chunks: list[ChunkRecord], running: bool
                  ) -> tuple[dict[str, Any], list[int], list[ChunkRecord]]:
    """The chunk-derived parts of a summary, from every chunk record."""
    from jobman.check import missing_results

    lost = missing_results(set_store, chunks)
    if lost:  # a final chunk without its results is work to do again, never DONE
        chunks = [ChunkRecord(c.index, c.start, c.stop, updated=c.updated) if c.index in lost else c
                  for c in chunks]
    parts = {"status": set_state(chunks, running).value,
             "updated": max((c.updated for c in chunks), default=set_store.record.created),
             **timing(chunks), "circuits": circuit_totals(chunks), "chunks": chunk_totals(chunks),
             "failures": failures(chunks), "usage": total_usage(a for c in chunks for a in c.attempts)}
    return parts, lost, chunks


def _from_totals(totals: "SetTotals", running: bool, created: float) -> dict[str, Any]:
    """The same parts from :class:`~jobman.chunk_digest.SetTotals` (only the chunks with failed
    ranges read whole)."""
    failed = totals.failed_records
    circuits = dict(totals.plain_circuits)
    for status, count in circuit_totals(failed).items():
        circuits[status] = circuits.get(status, 0) + count
    if running:
        state = SetState.RUNNING if totals.any_touched else SetState.PENDING
    elif totals.all_final:
        cancelled = any(row[2] == JobStatus.CANCELLED.value for chunk in failed for row in chunk.failed)
        state = SetState.CANCELLED if cancelled else SetState.DONE
    else:
        state = SetState.INTERRUPTED
    final = totals.chunks > 0 and totals.all_final
    return {"status": state.value, "updated": totals.updated if totals.updated is not None else created,
            "started": totals.started, "finished": totals.updated if final else None,
            "circuits": {status.value: circuits[status.value] for status in STATUS_ORDER
                         if circuits.get(status.value)},
            "chunks": {status.value: totals.chunk_counts[status.value] for status in STATUS_ORDER
                       if totals.chunk_counts.get(status.value)},
            "failures": failures(failed),
            "usage": {"seconds": round(totals.usage_seconds, 3), "jobs_reported": totals.usage_reported,
                      "kind": totals.usage_kind, "estimated_seconds": round(totals.estimated, 3),
                      "counted_seconds": round(totals.counted, 3)}}


def exit_code(summary: SetSummary) -> int:
    """The CLI exit code for a final set (a :func:`summarize` result): 0 DONE with every
    circuit DONE, 3 DONE with failed circuits, or CANCELLED."""
    done = summary.status is SetState.DONE and not summary.failed
    return 0 if done else 3

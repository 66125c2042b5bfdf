"""Picking a set up where its process stopped, from the store alone.

After a kill, a power loss or Ctrl-C, every unfinished chunk is one of:

* all its lines are written: the record was not closed yet, so close it (nothing re-runs);
* its last attempt's job can be followed again (a re-attachable backend, and a job id that
  was recorded, or found by the attempt's tags when the process died inside ``submit``);
* otherwise its circuits without a result are submitted again (Aer jobs die with the process).

:func:`plan_unfinished` sorts them; :func:`plan_retry` picks failed circuits of finished
chunks; :func:`cancel_unfinished` cancels a set that no process is running.
"""

from __future__ import annotations

from typing import Iterable

from jobman.engine import CANCEL_REASON, Engine, Flight, WorkItem, attempt_job, indices_of, quietly
from jobman.ledger import CANCELLED, ERROR, failed_lines, owed
from jobman.records import ATTEMPT_FINAL, ChunkRecord
from jobman.spec import to_ranges
from jobman.status import JobStatus

LOST = "jobman stopped before this job's result was stored; its circuits were submitted again"


def plan_unfinished(engine: Engine) -> tuple[list[WorkItem], list[Flight]]:
    """Work left in unfinished chunks, and jobs of an earlier process to re-attach."""
    work: list[WorkItem] = []
    attached: list[Flight] = []
    for record in engine.records.values():
        if record.job_status.is_final:
            continue
        lines = engine.ledger.lines(record)
        missing = owed(record, lines)
        if not missing:
            engine.close(record, lines)
            continue
        flight = _reattach(engine, record, missing)
        if flight is not None:
            attached.append(flight)
        else:
            _abandon(engine, record)
            work.append(WorkItem(record.index, to_ranges(missing)))
    return work, attached


def plan_retry(engine: Engine, indices: Iterable[int] | None = None) -> list[WorkItem]:
    """Failed or cancelled circuits of finished chunks (only those in ``indices``, if given)."""
    wanted = set(indices) if indices is not None else None
    work = []
    for record in engine.records.values():
        failed = [i for start, stop, *_ in record.failed for i in range(start, stop)
                  if wanted is None or i in wanted]
        if failed:
            work.append(WorkItem(record.index, to_ranges(failed)))
    return work


def cancel_unfinished(engine: Engine, reason: str = CANCEL_REASON) -> None:
    """Cancel a set no process is running: its live jobs (where the backend can reach them),
    and every circuit of an unfinished chunk that has no result yet."""
    for record in engine.records.values():
        if record.job_status.is_final:
            continue
        lines = engine.ledger.lines(record)
        last = record.last_attempt()
        if last is not None and last.get("status") not in ATTEMPT_FINAL:
            job_id = last.get("job_id")
            if job_id and engine.backend.reattachable:
                quietly(lambda: engine.call(lambda: engine.backend.cancel(job_id)))
            last.update(status=CANCELLED, error=reason, finished=engine.now())
        engine.merge(record, failed_lines(owed(record, lines), {}, CANCELLED, reason))


def _reattach(engine: Engine, record: ChunkRecord, missing: list[int]) -> Flight | None:
    """Follow the chunk's last job again, if the backend can and that job covers what is owed."""
    last = record.last_attempt()
    if not engine.backend.reattachable or last is None or \
            last.get("status") in (ERROR, CANCELLED, "LOST"):
        return None
    runs = [(int(a), int(b)) for a, b in last.get("runs") or []]
    if not runs or not set(missing) <= set(indices_of(runs)):
        return None
    job = attempt_job(engine.set.recorded_id, record.index, last)
    job_id = last.get("job_id") or quietly(lambda: engine.call(lambda: engine.backend.find_job(job)))
    if not job_id:  # not found (or not now): the engine looks again before submitting anything
        return None
    try:
        status = engine.call(lambda: engine.backend.status(job_id))
    except Exception as error:
        if quietly(lambda error=error: engine.backend.is_missing(error)):
            return None  # the service does not know it: lost, its circuits are submitted again
        status = None  # an outage says nothing about the job: follow it, the engine asks again
    last["job_id"] = job_id
    engine.ledger.set_status(record, JobStatus.RUNNING if status is None or status.is_final else status)
    return Flight(job_id, WorkItem(record.index, runs), last, engine.names(runs),
                  status or JobStatus.QUEUED)


def _abandon(engine: Engine, record: ChunkRecord) -> None:
    """Mark the chunk's unfinished last attempt as lost; its circuits will be submitted again."""
    last = record.last_attempt()
    if last is not None and last.get("status") not in ATTEMPT_FINAL:
        job_id = last.get("job_id")
        if job_id and engine.backend.reattachable:  # it may still run: do not pay for it twice
            quietly(lambda: engine.backend.cancel(job_id))
        last.update(status="LOST", error=LOST, finished=engine.now())
    elif record.job_status is JobStatus.PENDING:
        return  # a fresh chunk: nothing to write
    engine.ledger.set_status(record, JobStatus.PENDING)

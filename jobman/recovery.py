"""Picking a set up where its process stopped, from the store alone.

After a kill, a power loss or Ctrl-C, every unfinished chunk is one of:

* all its lines are written: the record was not closed yet, so close it (nothing re-runs);
* its last attempt's job can be followed again (a re-attachable backend, and a job id that
  was recorded, or found by the attempt's tags when the process died inside ``submit``);
* otherwise its circuits without a result are submitted again (Aer jobs die with the process).

:func:`plan_unfinished` sorts them; :func:`plan_retry` picks failed circuits of finished
chunks; :func:`cancel_unfinished` cancels a set that no process is running. They work on the
chunk book-keeping (:class:`~jobman.bookkeeping.Bookkeeping`); the backend, through
:class:`~jobman.retry.BackendCalls`, only where a job is asked about or cancelled.
"""

from __future__ import annotations

from functools import partial
from typing import Callable, Iterable, Sequence

from jobman.bookkeeping import CANCEL_REASON, Bookkeeping, Flight, WorkItem, attempt_job, indices_of
from jobman.ledger import CANCELLED, ERROR, failed_lines, owed
from jobman.log import quietly
from jobman.records import ATTEMPT_LOST, ChunkRecord
from jobman.retry import BackendCalls
from jobman.spec import to_ranges
from jobman.status import JobStatus

LOST = "jobman stopped before this job's result was stored; its circuits were submitted again"

Names = Callable[[Sequence[tuple[int, int]]], dict[int, str]]  #: circuit names of global ranges


def plan_unfinished(books: Bookkeeping, calls: BackendCalls | None = None, names: Names | None = None
                    ) -> tuple[list[WorkItem], list[Flight]]:
    """Work left in unfinished chunks, and jobs of an earlier process to re-attach (through
    ``calls``, when its backend can; ``names`` label a re-attached job's results)."""
    work: list[WorkItem] = []
    attached: list[Flight] = []
    for record in books.records.values():
        if record.job_status.is_final:
            continue
        lines = books.ledger.lines(record)
        missing = owed(record, lines)
        if not missing:
            books.close(record, lines)
            continue
        flight = None
        if calls is not None and calls.backend.reattachable:
            flight = _reattach(books, calls, record, missing, names)
        if flight is not None:
            attached.append(flight)
        else:
            _abandon(books, calls, record)
            work.append(WorkItem(record.index, to_ranges(missing)))
    return work, attached


def plan_retry(books: Bookkeeping, indices: Iterable[int] | None = None) -> list[WorkItem]:
    """Failed or cancelled circuits of finished chunks (only those in ``indices``, if given)."""
    wanted = set(indices) if indices is not None else None
    work = []
    for record in books.records.values():
        failed = [i for start, stop, *_ in record.failed for i in range(start, stop)
                  if wanted is None or i in wanted]
        if failed:
            work.append(WorkItem(record.index, to_ranges(failed)))
    return work


def cancel_unfinished(books: Bookkeeping, calls: BackendCalls | None = None,
                      reason: str = CANCEL_REASON) -> None:
    """Cancel a set no process is running: its live jobs (where the backend can reach them:
    ``calls`` is needed only when a live job has a recorded id), and every circuit of an
    unfinished chunk that has no result yet."""
    for record in books.records.values():
        if record.job_status.is_final:
            continue
        lines = books.ledger.lines(record)
        last = record.last_attempt()
        if last is not None and not last.is_final:
            job_id = last.job_id
            if job_id and calls is not None and calls.backend.reattachable:
                quietly(lambda: calls.call(lambda: calls.backend.cancel(job_id)))
            books.end_attempt(last, CANCELLED, reason)
        books.merge(record, failed_lines(owed(record, lines), {}, CANCELLED, reason))


def _reattach(books: Bookkeeping, calls: BackendCalls, record: ChunkRecord, missing: list[int],
              names: Names | None) -> Flight | None:
    """Follow the chunk's last job again, if that job covers what is owed."""
    last = record.last_attempt()
    if last is None or last.status in (ERROR, CANCELLED, ATTEMPT_LOST):
        return None
    runs = [(a, b) for a, b in last.runs]
    if not runs or not set(missing) <= set(indices_of(runs)):
        return None
    backend = calls.backend
    job = attempt_job(books.set.recorded_id, record.index, last)
    job_id = last.job_id or quietly(lambda: calls.call(lambda: backend.find_job(job)))
    if not job_id:  # not found (or not now): the submitter looks again before submitting anything
        return None
    try:
        status = calls.call(lambda: backend.status(job_id))
    except Exception as error:
        if quietly(partial(backend.is_missing, error)):
            return None  # the service does not know it: lost, its circuits are submitted again
        status = None  # an outage says nothing about the job: follow it, the engine asks again
    last.job_id = job_id
    books.ledger.set_status(record, JobStatus.RUNNING if status is None or status.is_final else status)
    return Flight(job_id, WorkItem(record.index, runs), last, names(runs) if names else {},
                  status or JobStatus.QUEUED)


def _abandon(books: Bookkeeping, calls: BackendCalls | None, record: ChunkRecord) -> None:
    """Mark the chunk's unfinished last attempt as lost; its circuits will be submitted again."""
    last = record.last_attempt()
    if last is not None and not last.is_final:
        job_id = last.job_id
        if job_id and calls is not None and calls.backend.reattachable:  # it may still run: do not pay for it twice
            backend = calls.backend
            quietly(lambda: backend.cancel(job_id))
        books.end_attempt(last, ATTEMPT_LOST, LOST)
    elif record.job_status is JobStatus.PENDING:
        return  # a fresh chunk: nothing to write
    books.ledger.set_status(record, JobStatus.PENDING)

"""Recovery from the store alone: what each unfinished chunk becomes on resume (closed,
re-attached, or submitted again), failed circuits picked for retry, and offline cancel.

A real store on disk and the chunk book-keeping alone; the backend is a stand-in service that
knows some job ids, reached through BackendCalls (no engine, no circuits: recovery only plans)."""

from __future__ import annotations

from typing import Any, Sequence

from jobman.backends.base import JOB_NOT_FOUND, Backend, ChunkJob, CircuitOutcome, RunOptions
from jobman.bookkeeping import Bookkeeping
from jobman.exceptions import BackendError
from jobman.ledger import failed_line
from jobman.records import new_attempt
from jobman.recovery import LOST, cancel_unfinished, plan_retry, plan_unfinished
from jobman.retry import BackendCalls, RetryPolicy
from jobman.status import JobStatus
from jobman.store import Store
from test_store import make_set

SET = "20260101-000000-aaaaaa"


class Service(Backend):
    """Jobs the service knows, by id; ``cancelled`` lists what it was asked to cancel."""

    name = "service"

    def __init__(self, known: dict[str, JobStatus], reattachable: bool = True) -> None:
        self.known = known
        self.reattachable = reattachable
        self.cancelled: list[str] = []

    def submit(self, job: ChunkJob, circuits: Sequence[Any], options: RunOptions) -> str:
        raise AssertionError("recovery never submits")

    def status(self, job_id: str) -> JobStatus:
        if job_id not in self.known:
            raise BackendError(f"job {job_id} not found", code=JOB_NOT_FOUND)
        return self.known[job_id]

    def result(self, job_id: str) -> list[CircuitOutcome]:
        raise AssertionError("recovery never reads results")

    def cancel(self, job_id: str) -> None:
        self.cancelled.append(job_id)


def _books(tmp_path, prepare=None) -> Bookkeeping:
    set_store = make_set(Store(tmp_path), SET, total=8, chunk_size=4)  # chunks 0-3 and 4-7
    if prepare is not None:
        prepare(set_store)
    return Bookkeeping(Store(tmp_path).open_set(SET), clock=lambda: 9.0)


def _calls(backend: Backend) -> BackendCalls:
    return BackendCalls(backend, RetryPolicy(sleep=lambda seconds: None))


def _submitted(set_store, chunk: int, job_id: str | None, status: str = "QUEUED") -> None:
    record = set_store.chunk(chunk)
    attempt = new_attempt(1, [(record.start, record.stop)])
    attempt.job_id, attempt.status = job_id, status
    record.attempts.append(attempt)
    record.set_status(JobStatus(status), now=1.0)
    set_store.save_chunk(record)


def test_a_chunk_whose_lines_are_all_written_is_closed_and_nothing_reruns(tmp_path):
    def prepare(set_store):
        _submitted(set_store, 0, "job-0")
        set_store.write_results(0, [dict(failed_line(i, None, "DONE", None), counts={"0x0": 10})
                                    for i in range(4)], [None] * 4)

    work, attached = plan_unfinished(_books(tmp_path, prepare), _calls(Service({})))
    assert attached == [] and [(w.chunk, w.runs) for w in work] == [(1, [(4, 8)])]
    assert Store(tmp_path).open_set(SET).chunk(0).status == "DONE"


def test_a_job_the_service_still_knows_is_followed_again(tmp_path):
    books = _books(tmp_path, lambda s: _submitted(s, 0, "job-0"))
    work, attached = plan_unfinished(books, _calls(Service({"job-0": JobStatus.RUNNING})))
    assert [(f.job_id, f.item.runs) for f in attached] == [("job-0", [(0, 4)])]
    assert [w.chunk for w in work] == [1]  # the never-submitted chunk
    assert Store(tmp_path).open_set(SET).chunk(0).status == "RUNNING"


def test_a_job_the_service_does_not_know_is_lost_and_its_circuits_go_again(tmp_path):
    service = Service({})
    work, attached = plan_unfinished(_books(tmp_path, lambda s: _submitted(s, 0, "job-gone")),
                                     _calls(service))
    assert attached == [] and [(w.chunk, w.runs) for w in work] == [(0, [(0, 4)]), (1, [(4, 8)])]
    record = Store(tmp_path).open_set(SET).chunk(0)
    assert record.status == "PENDING"
    assert record.attempts[-1].status == "LOST" and record.attempts[-1].error == LOST
    assert service.cancelled == ["job-gone"]  # in case it runs after all: never paid twice


def test_jobs_of_a_backend_that_cannot_reattach_are_submitted_again(tmp_path):
    service = Service({"job-0": JobStatus.RUNNING}, reattachable=False)
    work, attached = plan_unfinished(_books(tmp_path, lambda s: _submitted(s, 0, "job-0")),
                                     _calls(service))
    assert attached == [] and [w.chunk for w in work] == [0, 1]
    assert service.cancelled == []  # Aer's jobs died with their process


def test_retry_picks_the_failed_circuits_of_finished_chunks_or_only_those_asked(tmp_path):
    def prepare(set_store):
        record = set_store.chunk(1)
        record.failed = [[5, 7, "ERROR", "bad"]]
        record.set_status(JobStatus.DONE, now=1.0)
        set_store.save_chunk(record)

    books = _books(tmp_path, prepare)  # no backend at all
    assert [(w.chunk, w.runs) for w in plan_retry(books)] == [(1, [(5, 7)])]
    assert [(w.chunk, w.runs) for w in plan_retry(books, [6, 0])] == [(1, [(6, 7)])]
    assert plan_retry(books, [0]) == []


def test_offline_cancel_cancels_the_live_job_and_every_circuit_without_a_result(tmp_path):
    service = Service({"job-0": JobStatus.QUEUED})
    cancel_unfinished(_books(tmp_path, lambda s: _submitted(s, 0, "job-0")), _calls(service),
                      "cancelled by request")
    assert service.cancelled == ["job-0"]
    set_store = Store(tmp_path).open_set(SET)
    for chunk in (0, 1):
        assert set_store.chunk(chunk).status == "CANCELLED"
        assert {line["status"] for line in set_store.read_results(chunk)} == {"CANCELLED"}
    assert set_store.chunk(0).attempts[-1].status == "CANCELLED"

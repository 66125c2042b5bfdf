"""The submitter on a real store and the fault backend: an attempt is recorded before its job is
submitted (and found again by its tags), bad circuits fail alone before any job, a job too large
is split, a full service is waited for, and per-circuit problems are named."""

from __future__ import annotations

import pytest
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter

from conftest import write_qpy
from fault_backend import FaultBackend, FaultLab, SimulatedCrash, lab  # noqa: F401  (the fixture)
from jobman.backends.base import RunOptions
from jobman.bookkeeping import Bookkeeping, WorkItem
from jobman.inputs import make_basis_circuits, open_source
from jobman.retry import BackendCalls, RetryPolicy
from jobman.store import Store
from jobman.submitter import Submitter, circuit_problem
from test_store import make_set

SET = "20260101-000000-aaaaaa"


class Picky(FaultBackend):
    """The fault backend, asking to split jobs that are "too large" and to wait when "full"."""

    def wants_split(self, error: BaseException) -> bool:
        return "too large" in str(error)

    def must_wait(self, error: BaseException) -> bool:
        return "too many jobs" in str(error)


def no_measure(name: str = "bare") -> QuantumCircuit:
    circuit = QuantumCircuit(2, name=name)
    circuit.h(0)
    return circuit


@pytest.fixture
def sources():
    """Circuit sources opened by a test, closed after it."""
    opened: list = []
    yield opened
    for source in opened:
        source.close()


def _submitter(tmp_path, lab: FaultLab, sources: list, circuits=None, reattachable: bool = False
               ) -> Submitter:
    circuits = circuits or make_basis_circuits(8, 2)
    make_set(Store(tmp_path / "store"), SET, total=len(circuits), chunk_size=4)
    books = Bookkeeping(Store(tmp_path / "store").open_set(SET), clock=lab.clock.time)
    source = open_source([write_qpy(tmp_path / "in.qpy", circuits)])
    sources.append(source)
    backend = Picky(lab, reattachable, None, max_in_flight=2)
    return Submitter(books, source, BackendCalls(backend, RetryPolicy(sleep=lab.clock.sleep)),
                     RunOptions(shots=10))


def _chunk(tmp_path, index: int):
    return Store(tmp_path / "store").open_set(SET).chunk(index)


def test_the_attempt_is_on_disk_before_the_job_and_a_later_try_finds_that_job(tmp_path, lab, sources):
    lab.crash_after_submit(chunk=0)
    with pytest.raises(SimulatedCrash):
        _submitter(tmp_path, lab, sources, reattachable=True).submit(WorkItem(0, [(0, 4)]), [])
    (attempt,) = _chunk(tmp_path, 0).attempts  # recorded although the process "died" in submit
    assert (attempt.number, attempt.runs, attempt.job_id) == (1, [[0, 4]], None)
    again = Submitter(Bookkeeping(Store(tmp_path / "store").open_set(SET), clock=lab.clock.time),
                      None, BackendCalls(lab.backend(reattachable=True), RetryPolicy()),  # type: ignore[arg-type]
                      RunOptions(shots=10))
    assert again.find_earlier(again.books.records[0], [(0, 4)]) == ("fault-1", attempt)
    assert again.find_earlier(again.books.records[0], [(0, 5)]) is None  # must hold every circuit


def test_a_submitted_job_is_queued_with_its_attempt_and_names(tmp_path, lab, sources):
    submitter = _submitter(tmp_path, lab, sources)
    flight = submitter.submit(WorkItem(1, [(4, 8)]), [])
    assert flight is not None and flight.job_id == "fault-1" and flight.item.runs == [(4, 8)]
    assert flight.names == {i: f"c{i}" for i in range(4, 8)} and submitter.submitted == 1
    record = _chunk(tmp_path, 1)
    assert record.status == "QUEUED"
    assert (record.attempts[0].job_id, record.attempts[0].status) == ("fault-1", "QUEUED")


def test_bad_circuits_fail_alone_before_the_job_and_a_chunk_of_only_them_is_closed(tmp_path, lab, sources):
    circuits = make_basis_circuits(8, 2)
    circuits[2] = no_measure("c2")
    circuits[4:8] = [no_measure(f"b{i}") for i in range(4, 8)]
    submitter = _submitter(tmp_path, lab, sources, circuits)
    flight = submitter.submit(WorkItem(0, [(0, 4)]), [])
    assert flight is not None and lab.submits[0].ranges() == ((0, 2), (3, 4))
    line = submitter.books.ledger.lines(_chunk(tmp_path, 0))[2]
    assert (line["name"], line["status"]) == ("c2", "ERROR")
    assert line["error"].startswith("circuit has no measurements")
    assert submitter.submit(WorkItem(1, [(4, 8)]), []) is None and len(lab.submits) == 1
    assert _chunk(tmp_path, 1).status == "ERROR"  # never reached the backend


def test_a_job_too_large_goes_back_as_two_halves(tmp_path, lab, sources):
    lab.fail_submit(transient=False, message="job too large")
    submitter = _submitter(tmp_path, lab, sources)
    queue: list[WorkItem] = []
    assert submitter.submit(WorkItem(0, [(0, 4)], failures=1), queue) is None
    assert [(w.runs, w.failures) for w in queue] == [([(0, 2)], 1), ([(2, 4)], 1)]
    record = _chunk(tmp_path, 0)
    assert record.status == "RETRYING" and record.attempts[0].status == "ERROR"
    assert "job too large" in record.attempts[0].error


def test_a_permanent_submit_failure_fails_the_circuits_with_its_reason(tmp_path, lab, sources):
    lab.fail_submit(transient=False, message="refused")
    submitter = _submitter(tmp_path, lab, sources)
    assert submitter.submit(WorkItem(0, [(0, 4)]), []) is None
    record = _chunk(tmp_path, 0)
    assert record.status == "ERROR" and record.failed == [[0, 4, "ERROR", "refused (permanent)"]]


def test_a_full_service_is_waited_for_and_its_refusal_is_no_attempt(tmp_path, lab, sources):
    lab.fail_submit(transient=False, message="too many jobs")
    submitter = _submitter(tmp_path, lab, sources)
    queue = [WorkItem(1, [(4, 8)])]
    item = WorkItem(0, [(0, 4)])
    assert submitter.submit(item, queue) is None
    assert queue[0] is item and submitter.full and submitter.room_waits == 1
    record = _chunk(tmp_path, 0)
    assert record.status == "PENDING" and record.attempts == []
    assert submitter.submit(queue.pop(0), queue) is not None  # room again: submitted
    assert not submitter.full and submitter.room_waits == 0


def test_circuit_problem_names_missing_measurements_and_unbound_parameters():
    assert circuit_problem(make_basis_circuits(1, 2)[0]) is None
    assert circuit_problem(no_measure()).startswith("circuit has no measurements")
    with_clbits = QuantumCircuit(1, 1)
    with_clbits.x(0)
    assert circuit_problem(with_clbits).startswith("circuit has no measurements")
    nested = QuantumCircuit(1, 1)
    with nested.if_test((nested.clbits[0], 0)):
        nested.measure(0, 0)
    assert circuit_problem(nested) is None
    param = QuantumCircuit(1)
    param.rx(Parameter("theta"), 0)
    param.measure_all()
    assert circuit_problem(param) == "circuit has unbound parameters (theta); assign them before running"

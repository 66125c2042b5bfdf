"""The engine on the fault backend: partial failures, abort, cancel, hangs, slow jobs, Ctrl-C,
and re-attaching after a crash. Nothing waits in real time; every scripted fault must fire."""

import pytest
from qiskit import QuantumCircuit

from conftest import expected_counts
from fault_backend import IDEAL_AND_AER, FaultLab, SimulatedCrash, lab  # noqa: F401  (the fixture)
from jobman.exceptions import Interrupted
from jobman.inputs import make_basis_circuits
from jobman.manager import JobManager
from jobman.status import JobStatus, SetState
from jobman.store import SetStore

SHOTS = 20


def manager(store_dir, lab: FaultLab) -> JobManager:
    return JobManager(store_dir, clock=lab.clock.time, sleep=lab.clock.sleep, poll_interval=0.05)


def no_measure(name: str = "bare") -> QuantumCircuit:
    circuit = QuantumCircuit(2, name=name)
    circuit.h(0)
    return circuit


def check_exact(result, indices) -> None:
    for i in indices:
        assert result.get_counts(i) == expected_counts(i, SHOTS), i


def only_set(store_dir) -> SetStore:
    (set_store,) = JobManager(store_dir).store.list_sets()
    return set_store


def lines_of(set_store: SetStore) -> list[dict]:
    return [line for chunk in range(set_store.record.num_chunks)
            for line in set_store.read_results(chunk) or []]


# per-circuit problems (circuit_problem itself: tests/test_submitter.py) -------------------
def test_one_bad_circuit_fails_alone_and_is_named_with_its_reason(store_dir, lab):
    circuits = make_basis_circuits(30, 5)
    circuits[13] = no_measure("c13")
    job_set = manager(store_dir, lab).run(circuits, lab.backend(), shots=SHOTS, chunk_size=10)
    summary = job_set.summary()
    assert summary.status == "DONE" and summary.failed == 1
    assert summary.circuits == {"DONE": 29, "ERROR": 1}
    assert job_set.statuses() == [JobStatus.DONE] * 3
    assert summary.failures == [{
        "start": 13, "stop": 14, "circuits": "13", "chunk": 1, "status": "ERROR", "attempts": 0,
        "reason": "circuit has no measurements; add measure_all() or measure into classical bits"}]
    result = job_set.results()
    check_exact(result, [i for i in range(30) if i != 13])
    assert result.circuit(13).status is JobStatus.ERROR and result.circuit(13).name == "c13"
    assert "circuit 13 failed (chunk 1, not submitted): circuit has no measurements" in job_set.report()
    # the job held the other nine circuits of chunk 1, in two runs around the gap
    assert lab.jobs_of(1)[0].job.ranges() == ((10, 13), (14, 20))


def test_circuits_wider_than_the_backend_fail_alone(store_dir, lab):
    wide = QuantumCircuit(7, name="wide")
    wide.x(6)
    wide.measure_all()
    circuits = make_basis_circuits(4, 5) + [wide]
    job_set = manager(store_dir, lab).run(circuits, lab.backend(num_qubits=5), shots=SHOTS)
    failure = job_set.summary().failures
    assert failure[0]["reason"] == "circuit has 7 qubits; backend fault has 5"
    check_exact(job_set.results(), range(4))


def test_a_chunk_of_only_bad_circuits_never_reaches_the_backend(store_dir, lab):
    circuits = [no_measure(f"b{i}") for i in range(5)] + make_basis_circuits(5, 5)
    job_set = manager(store_dir, lab).run(circuits, lab.backend(), shots=SHOTS, chunk_size=5)
    assert [job.job.chunk for job in lab.jobs.values()] == [1]
    assert job_set.statuses() == [JobStatus.ERROR, JobStatus.DONE]
    assert all(line["status"] in ("DONE", "ERROR") for line in lines_of(job_set._set))


# --on-failure ---------------------------------------------------------------------------
def test_on_failure_abort_cancels_what_is_queued_and_lets_running_jobs_finish(store_dir, lab):
    lab.fail_job(chunk=0, transient=False)
    lab.slow(30.0, chunk=1)  # chunk 1 is RUNNING when chunk 0 fails
    job_set = manager(store_dir, lab).run(make_basis_circuits(50, 5), lab.backend(max_in_flight=2),
                                          shots=SHOTS, chunk_size=10, on_failure="abort")
    assert job_set.statuses() == [JobStatus.ERROR, JobStatus.DONE] + [JobStatus.CANCELLED] * 3
    check_exact(job_set.results(), range(10, 20))
    reasons = {row["reason"] for row in job_set.summary().failures[1:]}
    assert reasons == {"cancelled: another circuit failed (--on-failure abort)"}
    assert sorted(job.job.chunk for job in lab.jobs.values()) == [0, 1]
    assert job_set.status() is SetState.CANCELLED


def test_on_failure_continue_finishes_everything_else(store_dir, lab):
    lab.fail_job(chunk=0, transient=False)
    job_set = manager(store_dir, lab).run(make_basis_circuits(50, 5), lab.backend(), shots=SHOTS,
                                          chunk_size=10)
    assert job_set.statuses() == [JobStatus.ERROR] + [JobStatus.DONE] * 4
    check_exact(job_set.results(), range(10, 50))


# concurrency, slowness, hangs, cancel ---------------------------------------------------
def test_in_flight_jobs_never_exceed_the_limit_and_slow_jobs_take_fake_time(store_dir, lab):
    lab.slow(120.0, times=3)
    start = lab.clock.time()
    job_set = manager(store_dir, lab).run(make_basis_circuits(40, 5), lab.backend(), shots=SHOTS,
                                          chunk_size=5, max_in_flight=3)
    check_exact(job_set.results(), range(40))
    assert lab.most_in_flight == 3
    assert lab.clock.time() - start >= 120.0


def test_a_hanging_job_holds_only_its_own_slot_until_released(store_dir, lab):
    lab.hang(chunk=0)
    finished_while_hanging = []

    def on_wait(n: int) -> None:
        if n == 40:
            finished_while_hanging.append(sum(1 for s in only_set(store_dir).chunks()
                                              if s.status == "DONE"))
            lab.release()

    lab.on_wait = on_wait
    job_set = manager(store_dir, lab).run(make_basis_circuits(30, 5), lab.backend(), shots=SHOTS,
                                          chunk_size=5)
    check_exact(job_set.results(), range(30))
    assert finished_while_hanging == [5]  # every other chunk went through the second slot


def test_cancel_request_from_outside_stops_the_run_and_keeps_what_finished(store_dir, lab):
    lab.hang(chunk=3)
    done_at_request = []

    def on_wait(n: int) -> None:
        set_store = only_set(store_dir)
        if set_store.chunk(3).status == "RUNNING" and not done_at_request:
            assert set_store.is_locked()
            done_at_request.append(sum(c.status == "DONE" for c in set_store.chunks()))
            JobManager(store_dir).cancel(set_store.id)  # writes the request; the run acts on it

    lab.on_wait = on_wait
    job_set = manager(store_dir, lab).run(make_basis_circuits(50, 5), lab.backend(max_in_flight=2),
                                          shots=SHOTS, chunk_size=5)
    statuses = job_set.statuses()
    done = [i for i, s in enumerate(statuses) if s is JobStatus.DONE]
    assert statuses[3] is JobStatus.CANCELLED and lab.jobs_of(3)[0].cancelled
    assert set(statuses) == {JobStatus.DONE, JobStatus.CANCELLED}
    assert done_at_request[0] <= len(done) <= done_at_request[0] + 1 and statuses[9] is JobStatus.CANCELLED
    assert job_set.status() is SetState.CANCELLED
    check_exact(job_set.results(), [i for c in done for i in range(5 * c, 5 * c + 5)])
    assert job_set.results().circuit(49).error == "cancelled by request (jobman cancel)"
    assert not job_set._set.paths.cancel_file.exists()


def interrupt_at(wait: int):
    """An ``on_wait`` hook that presses Ctrl-C at the given wait."""
    def on_wait(n: int) -> None:
        if n == wait:
            raise KeyboardInterrupt
    return on_wait


def test_offline_cancel_of_an_interrupted_set_keeps_results(store_dir, lab):
    lab.hang(chunk=4)  # the run is still going at wait 20
    lab.on_wait = interrupt_at(20)
    with pytest.raises(Interrupted):
        manager(store_dir, lab).run(make_basis_circuits(40, 5), lab.backend(), shots=SHOTS,
                                    chunk_size=5)
    set_store = only_set(store_dir)
    done_before = [c.index for c in set_store.chunks() if c.status == "DONE"]
    job_set = JobManager(store_dir).cancel(set_store.id)
    assert job_set.status() is SetState.CANCELLED
    assert all(s.is_final for s in job_set.statuses())
    assert [i for i, s in enumerate(job_set.statuses()) if s is JobStatus.DONE] == done_before
    check_exact(job_set.results(), [i for c in done_before for i in range(5 * c, 5 * c + 5)])


# Ctrl-C and crashes ---------------------------------------------------------------------
@IDEAL_AND_AER
def test_ctrl_c_stops_cleanly_and_resume_finishes_exactly(store_dir, lab):
    lab.hang(chunk=2)
    lab.on_wait = interrupt_at(10)
    with pytest.raises(Interrupted, match=r"interrupted; progress is saved: run `jobman resume "):
        manager(store_dir, lab).run(make_basis_circuits(40, 5), lab.backend(), shots=SHOTS,
                                    chunk_size=5)
    set_store = only_set(store_dir)
    assert not set_store.is_locked()
    cancelled = [job for job in lab.jobs.values() if job.cancelled]
    assert cancelled  # Aer jobs cannot be re-attached: they were cancelled, not left running
    lab.on_wait = None
    lab.release()
    job_set = manager(store_dir, lab).resume(set_store.id, backend=lab.backend())
    assert job_set.status() is SetState.DONE
    check_exact(job_set.results(), range(40))
    for chunk in job_set._set.chunks():  # every interrupted attempt says so
        assert all(a.status in ("DONE", "CANCELLED") for a in chunk.attempts)


def test_a_reattachable_backend_keeps_jobs_running_and_resume_follows_them(store_dir, lab):
    lab.hang(times=2)  # chunks 0 and 1 are still running at the interrupt
    lab.on_wait = interrupt_at(3)
    with pytest.raises(Interrupted):
        manager(store_dir, lab).run(make_basis_circuits(30, 5), lab.backend(reattachable=True),
                                    shots=SHOTS, chunk_size=5)
    assert not any(job.cancelled for job in lab.jobs.values())
    submitted = len(lab.jobs)
    lab.on_wait = None
    lab.release()
    job_set = manager(store_dir, lab).resume(backend=lab.backend(reattachable=True))
    check_exact(job_set.results(), range(30))
    assert len(lab.jobs) == submitted + 4  # chunks 0 and 1 re-attached, 2-5 submitted now
    assert [len(lab.jobs_of(c)) for c in range(6)] == [1] * 6


def test_a_job_submitted_but_not_recorded_is_found_by_its_tags(store_dir, lab):
    lab.crash_after_submit(chunk=2)
    with pytest.raises(SimulatedCrash):
        manager(store_dir, lab).run(make_basis_circuits(30, 5), lab.backend(reattachable=True),
                                    shots=SHOTS, chunk_size=5)
    record = only_set(store_dir).chunk(2)
    assert record.status == "SUBMITTING" and record.attempts[-1].job_id is None
    job_set = manager(store_dir, lab).resume(backend=lab.backend(reattachable=True))
    check_exact(job_set.results(), range(30))
    assert len(lab.jobs_of(2)) == 1  # adopted, not submitted a second time
    assert job_set._set.chunk(2).attempts[-1].job_id == lab.jobs_of(2)[0].job_id


def test_without_reattach_an_unrecorded_job_is_resubmitted(store_dir, lab):
    lab.crash_after_submit(chunk=2)
    with pytest.raises(SimulatedCrash):
        manager(store_dir, lab).run(make_basis_circuits(30, 5), lab.backend(), shots=SHOTS,
                                    chunk_size=5)
    job_set = manager(store_dir, lab).resume(backend=lab.backend())
    check_exact(job_set.results(), range(30))
    assert [a.status for a in job_set._set.chunk(2).attempts] == ["LOST", "DONE"]


def test_results_written_but_chunk_not_closed_are_kept_without_rerunning(store_dir, lab, monkeypatch):
    real_finish = SetStore.finish_chunk

    def results_then_crash(self, record, lines, names, memory=None, **kwargs):
        if record.index != 1:
            return real_finish(self, record, lines, names, memory, **kwargs)
        self.write_results(record.index, lines, names, memory)  # format 1 writes them one by one
        raise SimulatedCrash("killed between results and record")

    monkeypatch.setattr(SetStore, "finish_chunk", results_then_crash)
    with pytest.raises(SimulatedCrash):
        manager(store_dir, lab).run(make_basis_circuits(20, 5), lab.backend(reattachable=True),
                                    shots=SHOTS, chunk_size=5, max_in_flight=1)
    monkeypatch.setattr(SetStore, "finish_chunk", real_finish)
    assert only_set(store_dir).chunk(1).status != "DONE"
    jobs_before = len(lab.jobs_of(1))
    job_set = manager(store_dir, lab).resume(backend=lab.backend())
    check_exact(job_set.results(), range(20))
    assert len(lab.jobs_of(1)) == jobs_before == 1
    assert job_set.statuses() == [JobStatus.DONE] * 4


# never paying twice for a chunk ---------------------------------------------------------
def crash_in_backoff(lab: FaultLab, at: int = 1):
    """A sleep that "kills the process" at retry backoff number ``at`` (a kill -9 while it waits)."""
    backoffs = []

    def sleep(seconds: float) -> None:
        if seconds >= 0.5:  # a backoff, not a poll interval's pause
            backoffs.append(seconds)
            if len(backoffs) == at:
                raise SimulatedCrash(f"killed while backing off {seconds:.2f} s")
        lab.clock.sleep(seconds)
    return sleep


def test_a_kill_during_submit_backoff_then_resume_adopts_the_job_the_failed_call_made(store_dir, lab):
    lab.fail_submit(chunk=1, after_create=True, message="HTTP 429 Too many requests")
    runner = JobManager(store_dir, clock=lab.clock.time, sleep=crash_in_backoff(lab), poll_interval=0.05)
    with pytest.raises(SimulatedCrash):
        runner.run(make_basis_circuits(15, 5), lab.backend(reattachable=True, max_in_flight=1),
                   shots=SHOTS, chunk_size=5)
    (attempt,) = only_set(store_dir).chunk(1).attempts
    assert attempt.status == "ERROR" and attempt.job_id is None  # what the kill leaves
    job_set = manager(store_dir, lab).resume(backend=lab.backend(reattachable=True))
    check_exact(job_set.results(), range(15))
    assert len(lab.jobs) == 3 == job_set._set.record.num_chunks  # one job per chunk, no more
    assert job_set._set.chunk(1).attempts[-1].job_id == lab.jobs_of(1)[0].job_id


def test_a_failed_lookup_never_lets_a_chunk_be_submitted_twice(store_dir, lab):
    lab.fail_submit(chunk=0, after_create=True, message="HTTP 502 Bad Gateway")
    lab.fail_calls("find_job", times=2)  # the service cannot be asked for a while
    job_set = manager(store_dir, lab).run(make_basis_circuits(10, 5), lab.backend(reattachable=True),
                                          shots=SHOTS, chunk_size=5, max_retries=3)
    check_exact(job_set.results(), range(10))
    assert len(lab.jobs_of(0)) == 1 and lab.calls["find_job"] == 3
    assert [job.job.attempt for job in lab.jobs.values()] == [1, 1]  # no attempt 2 was submitted


def test_every_attempt_without_a_job_id_is_looked_up_not_only_the_last(store_dir, lab):
    lab.fail_submit(chunk=0, after_create=True, message="connection reset")  # attempt 1 made a job
    lab.list_late()  # ... that the service does not list yet when attempt 2 looks for it
    lab.fail_submit(chunk=0, message="HTTP 503")  # attempt 2 makes none
    runner = JobManager(store_dir, clock=lab.clock.time, sleep=crash_in_backoff(lab, at=2),
                        poll_interval=0.05)
    backend = lab.backend(reattachable=True)
    with pytest.raises(SimulatedCrash):
        runner.run(make_basis_circuits(5, 5), backend, shots=SHOTS, max_retries=3)
    assert [a.job_id for a in only_set(store_dir).chunk(0).attempts] == [None, None]
    job_set = manager(store_dir, lab).resume(backend=backend)
    check_exact(job_set.results(), range(5))
    assert len(lab.jobs) == 1 and job_set._set.chunk(0).attempts[0].status == "DONE"


def test_a_status_outage_during_resume_never_makes_a_finished_job_lost(store_dir, lab, caplog):
    lab.hang(times=2)  # chunks 0 and 1 still run at the service when the process is stopped
    lab.on_wait = interrupt_at(3)
    with pytest.raises(Interrupted):
        manager(store_dir, lab).run(make_basis_circuits(20, 5), lab.backend(reattachable=True),
                                    shots=SHOTS, chunk_size=5)
    lab.on_wait = None
    lab.release()  # they finish at the service meanwhile
    submitted = len(lab.jobs)
    lab.fail_calls("status", times=40, message="HTTP 502 Bad Gateway")
    lab.fail_calls("wait", times=None, message="HTTP 502 Bad Gateway")
    job_set = manager(store_dir, lab).resume(backend=lab.backend(reattachable=True))
    check_exact(job_set.results(), range(20))
    assert len(lab.jobs) == submitted + 2 == 4  # chunks 0 and 1 re-attached, 2 and 3 submitted
    assert [[a.status for a in c.attempts] for c in job_set._set.chunks()] == [["DONE"]] * 4
    assert "it is kept, asking again in" in caplog.text

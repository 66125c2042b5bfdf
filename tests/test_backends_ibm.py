"""The IBM backend end to end: the real qiskit-ibm-runtime client against the loopback stand-in
(batch, session and job modes, faults, crashes), and fake devices in local testing mode."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading

import pytest
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister

from conftest import expected_counts, write_qpy
from ibm_support import (account_env, ibm_account, ibm_backend, ibm_standin, manager,  # noqa: F401
                         no_account, one_at_a_time, quick_sleep)
from jobman.backends import ChunkJob, RunOptions, backend_from_record
from jobman.backends.ibm import IBMBackend
from jobman.inputs import make_basis_circuits
from jobman.manager import JobManager
from jobman.status import JobStatus, SetState

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

SHOTS = 40


def run_set(store, backend, n=30, chunk_size=10, **kwargs):
    return manager(store).run(make_basis_circuits(n, 5), backend=backend, shots=SHOTS, seed=5,
                              chunk_size=chunk_size, **kwargs)


def check_exact(job_set, indices) -> None:
    result = job_set.results()
    for i in indices:
        assert result.get_counts(i) == expected_counts(i, SHOTS), i


def attempts(job_set):
    return [chunk.attempts for chunk in job_set._set.chunks()]


# --------------------------------------------------------------------------- modes
def test_batch_mode_runs_every_chunk_in_one_tagged_batch(store_dir, ibm_account):
    job_set = run_set(store_dir, ibm_backend(), memory=True)
    assert job_set.status() is SetState.DONE and ibm_account.jobs_created == 3
    check_exact(job_set, range(30))
    assert job_set.results().get_memory(7) == ["00111"] * SHOTS
    assert job_set._set.read_memory(0)[7] == ["0x7"] * SHOTS  # stored as hex per shot, as Aer
    [batch] = job_set._set.record.sessions
    assert batch["mode"] == "batch" and ibm_account.session(batch["id"]).mode == "batch"
    assert batch["state"] == "closed"  # closed at the end of the run, and recorded so
    set_id = job_set.job_set_id()
    for chunk, job in enumerate(ibm_account.jobs):
        assert job.session_id == batch["id"]
        assert job.tags == ["jobman", f"jobman-set:{set_id}", f"jobman-chunk:{chunk}", "jobman-attempt:1"]
    assert [a[0].session_id for a in attempts(job_set)] == [batch["id"]] * 3
    stored = (job_set._set.paths.folder / "set.json").read_text()
    everything = b"".join(p.read_bytes() for p in job_set._set.paths.folder.rglob("*") if p.is_file())
    assert ibm_account.api_key.encode() not in everything and b"token" not in everything.lower()
    assert json.loads(stored)["backend"]["options"]["mode"] == "batch"
    assert all(job_set._set.load_transpiled(i) for i in range(3))


def test_session_mode_keeps_the_next_job_queued_while_one_runs(store_dir, one_at_a_time):
    standin = one_at_a_time
    standin.run_time = 60  # at most: a running job ends once the next one is queued (or it is the last)
    newest = lambda: list(standin._jobs.values())[-1]  # noqa: E731  (called under the stand-in's lock)
    standin.finish_when = lambda job: job is not newest() or len(standin._jobs) == 4
    job_set = run_set(store_dir, ibm_backend(mode="session", max_time=600), n=20, chunk_size=5)
    check_exact(job_set, range(20))
    [session] = job_set._set.record.sessions
    assert session["mode"] == "session" and standin.session(session["id"]).mode == "dedicated"
    jobs = standin.jobs
    assert len(jobs) == 4 and {job.session_id for job in jobs} == {session["id"]}
    for job in sorted(jobs, key=lambda job: job.finished_ts)[:-1]:  # when one ended, the next waited
        assert any(other.created_ts < job.finished_ts < other.finished_ts for other in jobs)


def test_job_mode_uses_no_session(store_dir, ibm_account):
    job_set = run_set(store_dir, ibm_backend(mode="job"), n=10, chunk_size=5)
    check_exact(job_set, range(10))
    assert job_set._set.record.sessions == [] and {j.session_id for j in ibm_account.jobs} == {None}


def test_executor_sampler(store_dir, ibm_account):
    job_set = run_set(store_dir, ibm_backend(sampler="executor", mode="job"), n=6, chunk_size=6)
    check_exact(job_set, range(6))
    assert [job.program_id for job in ibm_account.jobs] == ["executor"]


def test_expired_session_is_replaced_and_the_run_carries_on(store_dir, ibm_account):
    ibm_account.hold()
    expired: list[str] = []

    def expire_once(record) -> None:  # both first jobs queued: the session's max_time runs out
        if not expired and ibm_account.jobs_created == 2:
            expired.append(ibm_account.jobs[0].session_id)
            ibm_account.expire_session(expired[0])
            ibm_account.release()

    job_set = run_set(store_dir, ibm_backend(mode="session"), n=15, chunk_size=5, max_in_flight=2,
                      on_change=expire_once)
    check_exact(job_set, range(15))
    sessions = job_set._set.record.sessions
    assert len(sessions) == 2 and sessions[0]["id"] == expired[0] and sessions[0]["state"] == "closed"
    assert {job.session_id for job in ibm_account.jobs if job.status == "Completed"} == {sessions[1]["id"]}
    failed = [job for job in ibm_account.jobs if job.status == "Failed"]
    assert failed and {job.reason_code for job in failed} == {1217}


# --------------------------------------------------------------------------- faults
def test_pending_jobs_limit_waits_without_using_retries(store_dir, ibm_account):
    ibm_account.pending_limit = 1
    ibm_account.hold()  # the first job waits until a submission has been refused

    def release_after_a_refusal(record) -> None:
        if ibm_account.requests_to("POST", "/jobs") > ibm_account.jobs_created:
            ibm_account.release()

    job_set = run_set(store_dir, ibm_backend(), n=20, chunk_size=5, max_in_flight=3, max_retries=0,
                      on_change=release_after_a_refusal)
    check_exact(job_set, range(20))
    assert ibm_account.jobs_created == 4 and ibm_account.requests_to("POST", "/jobs") > 4
    assert job_set.engine.retries == 0
    assert [len(a) for a in attempts(job_set)] == [1, 1, 1, 1]  # refusals leave no attempt


def test_http_5xx_and_429_on_submit_are_retried(store_dir, ibm_account):
    ibm_account.fail_next_submissions(2, status=500)  # retried inside the client
    backend = ibm_backend()
    backend.before_submit()  # the batch exists, so the faults hit job submissions
    ibm_account.fail_next_submissions(1, status=429, code=1202, message="Too many requests.")
    job_set = run_set(store_dir, backend, n=10, chunk_size=5, max_in_flight=1)
    check_exact(job_set, range(10))
    assert ibm_account.jobs_created == 2
    first = attempts(job_set)[0]
    assert len(first) == 2 and "429" in first[0].error and first[1].status == "DONE"


class Killed(BaseException):
    """The process "dies" (kill -9): not an Exception, so nothing in jobman handles it."""


def killed_in_backoff(seconds: float) -> None:
    """A sleep that kills the process at the first retry backoff (polls barely sleep)."""
    if seconds >= 0.5:
        raise Killed(f"killed while backing off {seconds:.2f} s")
    quick_sleep(seconds)


@pytest.mark.parametrize("status,answers", [(429, 1), (503, 6)], ids=["429", "503"])
def test_a_kill_in_backoff_after_a_failed_submit_that_made_the_job_never_pays_twice(
        store_dir, ibm_account, status, answers, monkeypatch):
    from qiskit_ibm_runtime.api.session import PostForcelistRetry

    monkeypatch.setattr(PostForcelistRetry, "get_backoff_time", lambda self: 0)  # the client's own
    backend = ibm_backend()
    backend.before_submit()  # the batch exists, so the fault hits the first job submission
    # the service creates the job, then answers the error (503: to every retry of the client too)
    ibm_account.fail_next_submissions(answers, status=status, after_create=1)
    with pytest.raises(Killed):
        JobManager(store_dir, poll_interval=0.02, sleep=killed_in_backoff).run(
            make_basis_circuits(10, 5), backend=backend, shots=SHOTS, seed=5, chunk_size=5,
            max_in_flight=1)
    assert ibm_account.jobs_created == 1
    job_set = manager(store_dir).resume(backend=ibm_backend())
    check_exact(job_set, range(10))
    assert ibm_account.jobs_created == 2 == job_set._set.record.num_chunks
    assert [a.status for a in attempts(job_set)[0]] == ["DONE"]  # the failed call's job adopted


def test_a_status_outage_at_the_service_is_waited_out_and_nothing_is_submitted_twice(
        store_dir, ibm_account, monkeypatch, caplog):
    from qiskit_ibm_runtime.api.session import PostForcelistRetry

    from fault_backend import FakeClock

    monkeypatch.setattr(PostForcelistRetry, "get_backoff_time", lambda self: 0)  # the client's own
    outages = []

    def outage(record) -> None:  # once chunk 0's job exists, 60 reads of jobs fail
        if record.index == 0 and record.status == "QUEUED" and not outages:
            outages.append(ibm_account.inject_http_error(502, 60, method="GET", path="/jobs/*"))

    clock = FakeClock()  # backoff pauses pass at once; the jobs run in real time at the stand-in
    job_set = JobManager(store_dir, clock=clock.time, sleep=clock.sleep, poll_interval=0.02).run(
        make_basis_circuits(10, 5), backend=ibm_backend(), shots=SHOTS, seed=5, chunk_size=5,
        on_change=outage)
    check_exact(job_set, range(10))
    assert ibm_account.jobs_created == 2 and [len(a) for a in attempts(job_set)] == [1, 1]
    assert "it is kept, asking again in" in caplog.text and max(clock.sleeps) <= 60


def test_job_errors_retryable_code_resubmits_permanent_code_fails(store_dir, ibm_account):
    ibm_account.fail_next_jobs(1, code=1010, message="Backend error.", tag="jobman-chunk:1")
    ibm_account.fail_next_jobs(1, code=1517, message="Error in job execution.", tag="jobman-chunk:0")
    job_set = run_set(store_dir, ibm_backend(), n=15, chunk_size=5)
    assert ibm_account.jobs_created == 4  # chunk 1 twice, chunk 0 once (permanent)
    assert [len(a) for a in attempts(job_set)] == [1, 2, 1]
    check_exact(job_set, range(5, 15))
    [failure] = job_set.summary().failures
    assert (failure["start"], failure["stop"]) == (0, 5) and "Error code 1517" in failure["reason"]

    counting = ibm_backend()  # retry: the stored ISA circuits are used, nothing is transpiled again
    counting.prepare = lambda circuits, options: pytest.fail("transpiled again")
    again = manager(store_dir).retry(job_set.job_set_id(), backend=counting)
    check_exact(again, range(15))


def test_job_that_ran_too_long_is_split_in_half(store_dir, ibm_account):
    ibm_account.fail_next_jobs(1, code=1305, message="Ran too long", tag="jobman-chunk:0")
    job_set = run_set(store_dir, ibm_backend(), n=16, chunk_size=8)
    check_exact(job_set, range(16))
    assert ibm_account.jobs_created == 4
    runs = [a.runs for a in attempts(job_set)[0]]
    assert runs == [[[0, 8]], [[0, 4]], [[4, 8]]] and job_set.status() is SetState.DONE


def test_cancel_cancels_the_jobs_at_the_service(store_dir, ibm_account):
    ibm_account.hold()
    circuits = write_qpy(store_dir.parent / "c.qpy", make_basis_circuits(15, 5))
    done: list = []
    worker = threading.Thread(target=lambda: done.append(run_set_file(store_dir, circuits)))
    worker.start()
    ibm_account.wait_until(lambda: ibm_account.jobs_created == 3, timeout=30)
    manager(store_dir).cancel(wait=30)
    worker.join(30)
    assert done and done[0].status() is SetState.CANCELLED
    assert {job.status for job in ibm_account.jobs} == {"Cancelled"}


def run_set_file(store, path):
    return manager(store).run([str(path)], backend=ibm_backend(), shots=SHOTS, chunk_size=5)


KILLER = r"""
import os, signal, sys
from jobman.backends.ibm import IBMBackend
real_submit = IBMBackend.submit
def submit(self, job, circuits, options):
    job_id = real_submit(self, job, circuits, options)
    if job.chunk == int(sys.argv[1]):
        os.kill(os.getpid(), signal.SIGKILL)  # the job exists; its id is not stored yet
    return job_id
IBMBackend.submit = submit
from jobman.cli import main
main(sys.argv[2:])
"""


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_kill_between_submit_and_persist_then_resume_adopts_the_job_by_its_tags(
        store_dir, ibm_account, tmp_path):
    circuits = write_qpy(tmp_path / "basis15.qpy", make_basis_circuits(15, 5))
    env = dict(os.environ, **account_env(ibm_account), JOBMAN_HOME=str(store_dir))
    child = subprocess.run([sys.executable, "-c", KILLER, "1", "run", str(circuits), "--backend",
                            "ibm_fake_manila", "--shots", str(SHOTS), "-k", "5", "--max-in-flight", "1"],
                           env=env, capture_output=True, text=True, timeout=120)
    assert child.returncode == -signal.SIGKILL, child.stderr
    assert ibm_account.jobs_created == 2
    set_store = JobManager(store_dir).job_set()._set
    assert set_store.chunks()[1].attempts[-1].job_id is None  # submitted, never recorded

    job_set = manager(store_dir).resume(backend=backend_from_record_quick(set_store.record.backend))
    check_exact(job_set, range(15))
    assert ibm_account.jobs_created == 3 == job_set._set.record.num_chunks  # nothing submitted twice
    [batch] = job_set._set.record.sessions  # the batch was re-attached by its recorded id
    assert {job.session_id for job in ibm_account.jobs} == {batch["id"]}


def backend_from_record_quick(described):
    backend = backend_from_record(described)
    backend.poll_interval = 0.02
    return backend


def test_recorded_options_rebuild_the_same_backend(ibm_account):
    backend = ibm_backend(mode="session", max_time=300, optimization_level=2, sampler="executor")
    rebuilt = backend_from_record(json.loads(json.dumps(backend.describe())))
    assert rebuilt.options() == backend.options() and rebuilt.mode_name == "session"
    assert backend.describe()["instance_crn"] == ibm_account.instance_crn


# ------------------------------------------------------------------- fake devices, local mode
def test_fake_manila_in_local_mode_most_frequent_outcome_is_right(store_dir):
    job_set = JobManager(store_dir, poll_interval=0.02).run(
        make_basis_circuits(256, 5), backend=IBMBackend("fake_manila"), shots=64, seed=11,
        chunk_size=128)
    assert job_set.status() is SetState.DONE and job_set._set.record.sessions == []
    result = job_set.results()
    wrong = [i for i in range(256)
             if max(result.get_counts(i).items(), key=lambda kv: kv[1])[0] != format(i % 32, "05b")]
    assert wrong == []


def test_fake_device_fails_only_the_circuit_that_failed_its_job_and_retry_keeps_the_rest(store_dir):
    with_var = QuantumCircuit(1, 1, name="var")  # the local Sampler fails a job holding it
    with_var.add_var("flag", True)
    with_var.measure(0, 0)
    good = make_basis_circuits(2, 2)
    jobs = JobManager(store_dir, poll_interval=0.02)
    failing = jobs.run([good[0], with_var, good[1]], backend="fake_manila", shots=SHOTS, seed=3)
    reference = jobs.run([good[0], good[0], good[1]], backend="fake_manila", shots=SHOTS, seed=3)
    result, expected = failing.results(), reference.results()
    assert [c.status for c in result] == [JobStatus.DONE, JobStatus.ERROR, JobStatus.DONE]
    assert result.circuit(1).error.startswith("fake_manila cannot run this circuit: ")
    for i in (0, 2):  # the same seeds as in a run without the bad circuit
        assert result.get_counts(i) == expected.get_counts(i), i
    retried = jobs.retry(failing.job_set_id())
    assert [c.status for c in retried.results()] == [c.status for c in result]
    assert [c.counts for c in retried.results()] == [c.counts for c in result]
    assert attempts(retried)[0][-1].runs == [[1, 2]]  # only the failed circuit went again


def two_register_circuits() -> list[QuantumCircuit]:
    """Registers a (2 bits) and b (3 bits) measured from different qubits: known outcomes."""
    circuits = []
    for state in (0b00101, 0b10010, 0b01111):
        q, a, b = QuantumRegister(5, "q"), ClassicalRegister(2, "a"), ClassicalRegister(3, "b")
        circuit = QuantumCircuit(q, a, b, name=f"s{state}")
        for k in range(5):
            if state >> k & 1:
                circuit.x(k)
        circuit.measure([4, 0], a)  # a[0] <- q4, a[1] <- q0
        circuit.measure([1, 2, 3], b)
        circuits.append(circuit)
    return circuits


def test_several_registers_count_over_all_clbits_as_aer_does(store_dir, ibm_account):
    circuits = two_register_circuits()
    on_aer = JobManager(store_dir).run(circuits, shots=SHOTS, memory=True)
    on_ibm = manager(store_dir).run(circuits, backend=ibm_backend(), shots=SHOTS, memory=True)
    for i in range(len(circuits)):
        assert on_ibm.results().get_counts(i) == on_aer.results().get_counts(i)
        assert on_ibm.results().get_memory(i) == on_aer.results().get_memory(i)
    # |q4..q0> = 00101: a[1] <- q0 = 1, b[1] <- q2 = 1; clbits b2 b1 b0 a1 a0 read "010 10",
    # registers apart as in Qiskit's Result.get_counts()
    assert on_ibm.results().get_counts(0) == {"010 10": SHOTS}



# ------------------------------------------------------------------- sizes, ISA input, sessions
def test_chunks_are_sized_and_split_to_keep_uploads_under_the_limit(store_dir, ibm_account, monkeypatch):
    import jobman.backends.ibm as ibm

    per_circuit = ibm_backend().estimate_payload(make_basis_circuits(1, 5))
    monkeypatch.setattr(ibm, "MAX_PAYLOAD_BYTES", 6 * per_circuit)
    planned = run_set(store_dir, ibm_backend(), n=12, chunk_size=12)  # planned from a sample
    assert 1 < planned._set.record.chunk_size < 6  # the largest sampled circuit, with a margin
    check_exact(planned, range(12))
    assert all(len(chunk) == 1 for chunk in attempts(planned))  # no job had to be split

    unplanned = ibm_backend()  # no estimate at plan time: the check before upload splits the job
    unplanned.estimate_payload = lambda circuits: None
    job_set = run_set(store_dir, unplanned, n=12, chunk_size=12)
    check_exact(job_set, range(12))
    [chunk] = attempts(job_set)
    sent = sorted(tuple(a.runs[0]) for a in chunk if a.job_id)  # halves, halved again if need be
    assert len(sent) >= 2 and all(stop - start <= 6 for start, stop in sent)
    assert [i for start, stop in sent for i in range(start, stop)] == list(range(12))
    assert "over the" in chunk[0].error and chunk[0].job_id is None


def test_isa_circuits_pass_through_and_others_are_rejected_with_skip_transpile(store_dir, ibm_account):
    backend = ibm_backend(skip_transpile=True)
    isa = ibm_backend().prepare(make_basis_circuits(6, 5), RunOptions(seed=1))
    not_isa = QuantumCircuit(2, name="bell")
    not_isa.h(0)
    not_isa.cx(0, 1)
    not_isa.measure_all()
    job_set = manager(store_dir).run(isa + [not_isa], backend=backend, shots=SHOTS)
    check_exact(job_set, range(6))
    [failure] = job_set.summary().failures
    assert failure["start"] == 6 and "not ISA for ibm_fake_manila (h not supported on qubits (0,))" in failure["reason"]
    assert not job_set._set.paths.transpiled_folder.exists()  # nothing costly to keep


def test_a_recorded_session_closed_meanwhile_is_replaced(ibm_account):
    first = ibm_backend(mode="batch")
    first.before_submit()
    records = first.sessions()
    ibm_account.expire_session(records[0]["id"])
    second = ibm_backend(mode="batch")
    second.restore_sessions(records)
    job = ChunkJob("s", 0, 0, 2, 1)
    circuits = second.prepare(make_basis_circuits(2, 5), RunOptions())
    job_id = second.submit(job, circuits, RunOptions(shots=8))
    [old, new] = second.sessions()
    assert (old["id"], old["state"], new["state"]) == (records[0]["id"], "closed", "open")
    assert second.job_details(job_id) == {"session_id": new["id"]}
    assert [o.counts for o in second.result(job_id)] == [{"0x0": 8}, {"0x1": 8}]


def test_circuits_that_already_are_isa_run_as_they_are_and_transpile_options_are_recorded(store_dir):
    from jobman.exceptions import UsageError

    backend = IBMBackend("fake_manila", transpile_options={"scheduling_method": "alap"})
    try:
        isa = IBMBackend("fake_manila").prepare(make_basis_circuits(4, 5), RunOptions(seed=2))
        bell = QuantumCircuit(2, name="bell")
        bell.h(0)
        bell.cx(0, 1)
        bell.measure_all()
        prepared = backend.prepare(isa + [bell], RunOptions(seed=2))
        assert all(a is b for a, b in zip(prepared[:4], isa))  # not transpiled again
        assert prepared[4] is not bell and "delay" in prepared[4].count_ops()  # transpiled, alap
        recorded = json.loads(json.dumps(backend.describe()))
        assert recorded["options"]["transpile_options"] == {"scheduling_method": "alap"}
        rebuilt = backend_from_record(recorded)
        assert rebuilt.transpile_options == {"scheduling_method": "alap"}
        rebuilt.close()
    finally:
        backend.close()
    with pytest.raises(UsageError, match="unknown transpile option 'layout'"):
        IBMBackend("fake_manila", transpile_options={"layout": "sabre"})
    job_set = JobManager(store_dir, poll_interval=0.02).run(isa, backend="fake_manila", shots=SHOTS, seed=2,
                                                             transpile_options={"layout_method": "trivial"})
    stored = job_set._set.load_transpiled(0)
    assert [stored[i] for i in range(4)] == isa
    assert job_set._set.record.backend["options"]["transpile_options"] == {"layout_method": "trivial"}

"""The real, unmodified qiskit-ibm-runtime client against the loopback IBM Runtime stand-in.

These tests pin down both the stand-in and the client behaviour jobman relies on:
which exception classes (and message fragments) surface for each kind of failure.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest
from qiskit import QuantumCircuit
from qiskit.transpiler import generate_preset_pass_manager
from qiskit_ibm_runtime import Batch, SamplerV2, Session
from qiskit_ibm_runtime.accounts.exceptions import InvalidAccountError
from qiskit_ibm_runtime.api.exceptions import RequestsApiError
from qiskit_ibm_runtime.exceptions import (
    IBMInputValueError,
    IBMRuntimeError,
    RuntimeInvalidStateError,
    RuntimeJobFailureError,
    RuntimeJobMaxTimeoutError,
    RuntimeJobNotFound,
)

try:  # tests/ is on sys.path (pytest "prepend" import mode, as for cli_support)
    from ibm_standin.fixtures import ibm_service, ibm_standin, make_runtime_service  # noqa: F401
except ImportError:  # imported as part of a ``tests`` package
    from tests.ibm_standin.fixtures import ibm_service, ibm_standin, make_runtime_service  # noqa: F401

pytestmark = pytest.mark.filterwarnings("ignore:The SamplerV2 class is deprecated:DeprecationWarning")

N_CIRCUITS = 10
WIDTH = 4


def basis_state_circuits(n: int = N_CIRCUITS, width: int = WIDTH) -> list[QuantumCircuit]:
    """Circuit ``i`` prepares the computational basis state ``|i>`` and measures all qubits."""
    circuits = []
    for i in range(n):
        qc = QuantumCircuit(width, name=f"basis_{i}")
        for bit in range(width):
            if (i >> bit) & 1:
                qc.x(bit)
        qc.measure_all()
        circuits.append(qc)
    return circuits


def isa(backend, circuits):
    return generate_preset_pass_manager(backend=backend, optimization_level=1, seed_transpiler=7).run(circuits)


def assert_exact_counts(pub_results, shots, offset=0):
    for i, pub in enumerate(pub_results, start=offset):
        assert pub.data.meas.get_counts() == {format(i, f"0{WIDTH}b"): shots}


@pytest.fixture
def manila(ibm_service):
    return ibm_service.backend("ibm_fake_manila")


@pytest.fixture
def manila_circuits(manila):
    return isa(manila, basis_state_circuits())


# --------------------------------------------------------------------------- discovery
def test_list_backends(ibm_service):
    backends = {b.name: b for b in ibm_service.backends()}
    assert set(backends) == {"ibm_fake_manila", "ibm_fake_torino"}
    assert backends["ibm_fake_manila"].num_qubits == 5
    assert backends["ibm_fake_torino"].num_qubits == 133
    status = backends["ibm_fake_manila"].status()
    assert status.operational and status.status_msg == "active" and status.pending_jobs == 0
    assert "cx" in backends["ibm_fake_manila"].target.operation_names
    assert ibm_service.active_instance().startswith("crn:v1:bluemix:public:quantum-computing:")


def test_instance_by_name_and_ibm_cloud_channel(ibm_standin):
    by_name = make_runtime_service(ibm_standin, instance="standin-instance")
    assert by_name.active_instance() == ibm_standin.instance_crn
    legacy = make_runtime_service(ibm_standin, channel="ibm_cloud")
    assert legacy.backend("ibm_fake_torino").name == "ibm_fake_torino"


def test_bad_api_key_is_rejected(ibm_standin):
    with pytest.raises(InvalidAccountError, match="Unable to retrieve instances"):
        make_runtime_service(ibm_standin, token="not-the-key")


# --------------------------------------------------------------------------- sampling
def test_sampler_job_mode_exact_counts(ibm_standin, manila, manila_circuits):
    job = SamplerV2(mode=manila).run(manila_circuits, shots=128)
    result = job.result()
    assert len(result) == N_CIRCUITS
    assert_exact_counts(result, 128)
    assert result[0].data.meas.num_shots == 128
    assert job.status() == "DONE"
    assert job.session_id is None  # job mode: no session
    assert ibm_standin.jobs_created == 1
    record = ibm_standin.jobs[0]
    assert (record.program_id, record.backend, record.status) == ("sampler", "ibm_fake_manila", "Completed")
    assert "execution_spans" in result.metadata["execution"]


def test_default_shots_are_4096(manila, manila_circuits):
    result = SamplerV2(mode=manila).run(manila_circuits[:2]).result()
    assert_exact_counts(result, 4096)


def test_sampler_in_batch(ibm_standin, manila, manila_circuits):
    with Batch(backend=manila) as batch:
        sampler = SamplerV2(mode=batch)
        jobs = [sampler.run(manila_circuits[:5], shots=64), sampler.run(manila_circuits[5:], shots=64)]
        assert_exact_counts(jobs[0].result(), 64)
        assert_exact_counts(jobs[1].result(), 64, offset=5)
        assert {job.session_id for job in jobs} == {batch.session_id}
        assert batch.details()["mode"] == "batch"
    session = ibm_standin.session(batch.session_id)
    assert (session.mode, session.state, session.accepting_jobs) == ("batch", "closed", False)
    assert batch.status() == "Closed"


def test_sampler_in_session_on_torino(ibm_standin, ibm_service):
    torino = ibm_service.backend("ibm_fake_torino")
    circuits = isa(torino, basis_state_circuits())
    with Session(backend=torino, max_time=600) as session:
        job = SamplerV2(mode=session).run(circuits, shots=32)
        assert_exact_counts(job.result(), 32)
        assert job.session_id == session.session_id
        assert session.status() == "In progress, accepting new jobs"
        assert session.details()["max_time"] == 600
    assert ibm_standin.session(session.session_id).mode == "dedicated"


def test_executor_sampler_exact_counts(ibm_standin, manila, manila_circuits):
    from qiskit_ibm_runtime.executor_sampler import Sampler as ExecutorSampler

    job = ExecutorSampler(mode=manila).run(manila_circuits, shots=50)
    assert_exact_counts(job.result(), 50)
    assert ibm_standin.jobs[-1].program_id == "executor"


# --------------------------------------------------------------------- tags & re-attach
def test_tags_round_trip_and_filter(ibm_standin, ibm_service, manila, manila_circuits):
    sampler = SamplerV2(mode=manila)
    sampler.options.environment.job_tags = ["jobman", "run-1", "chunk-0"]
    first = sampler.run(manila_circuits[:2], shots=8)
    sampler.options.environment.job_tags = ["jobman", "run-1", "chunk-1"]
    second = sampler.run(manila_circuits[2:4], shots=8)
    assert first.tags == ["jobman", "run-1", "chunk-0"]
    assert ibm_standin.job(second.job_id()).tags == ["jobman", "run-1", "chunk-1"]

    found = ibm_service.jobs(job_tags=["run-1", "chunk-1"])
    assert [j.job_id() for j in found] == [second.job_id()]
    assert {j.job_id() for j in ibm_service.jobs(job_tags=["jobman"])} == {first.job_id(), second.job_id()}
    assert ibm_service.jobs(job_tags=["no-such-tag"]) == []
    assert found[0].tags == ["jobman", "run-1", "chunk-1"]  # tags survive the listing

    assert sorted(first.update_tags(["renamed"])) == ["renamed"]
    assert [j.job_id() for j in ibm_service.jobs(job_tags=["renamed"])] == [first.job_id()]


def test_reattach_job_from_a_new_client(ibm_standin, manila, manila_circuits):
    job_id = SamplerV2(mode=manila).run(manila_circuits, shots=16).job_id()
    fresh = make_runtime_service(ibm_standin)
    again = fresh.job(job_id)
    assert again.job_id() == job_id and again.primitive_id == "sampler"
    assert again.backend().name == "ibm_fake_manila"
    assert_exact_counts(again.result(), 16)
    with pytest.raises(RuntimeJobNotFound, match="Job not found"):
        fresh.job("d000000000000000000")


def test_session_and_batch_from_id(ibm_standin, manila, manila_circuits):
    session = Session(backend=manila)
    batch = Batch(backend=manila)
    fresh = make_runtime_service(ibm_standin)

    reattached = Session.from_id(session.session_id, fresh)
    job = SamplerV2(mode=reattached).run(manila_circuits[:3], shots=4)
    assert job.session_id == session.session_id
    assert_exact_counts(job.result(), 4)

    rebatch = Batch.from_id(batch.session_id, fresh)
    assert SamplerV2(mode=rebatch).run(manila_circuits[:1], shots=4).session_id == batch.session_id

    with pytest.raises(IBMInputValueError, match="has execution mode dedicated instead of batch"):
        Batch.from_id(session.session_id, fresh)

    batch.close()  # nothing pending -> closed at once; re-attaching gives an inactive Batch
    closed = Batch.from_id(batch.session_id, fresh)
    with pytest.raises(IBMRuntimeError, match="The session is closed"):
        SamplerV2(mode=closed).run(manila_circuits[:1])
    session.close()


# ------------------------------------------------------------------ submission faults
def test_transient_500_is_retried_inside_the_client(ibm_standin, manila, manila_circuits):
    ibm_standin.fail_next_submissions(2, status=500)
    job = SamplerV2(mode=manila).run(manila_circuits[:1], shots=8)
    assert_exact_counts(job.result(), 8)
    assert ibm_standin.requests_to("POST", "/jobs") == 3  # 2 failures + 1 success, no error seen
    assert ibm_standin.jobs_created == 1


def test_persistent_500_surfaces_as_ibmruntimeerror(ibm_standin, manila, manila_circuits,
                                                    monkeypatch):
    # urllib3 Retry(total=5, backoff_factor=0.5): 6 attempts, ~15 s of back-off in all,
    # which the client asks for here but does not sleep (the test would wait for nothing).
    from qiskit_ibm_runtime.api.session import PostForcelistRetry

    real_backoff, backoffs = PostForcelistRetry.get_backoff_time, []
    monkeypatch.setattr(PostForcelistRetry, "get_backoff_time",
                        lambda self: backoffs.append(real_backoff(self)) or 0)
    ibm_standin.fail_next_submissions(6, status=500)
    with pytest.raises(IBMRuntimeError) as info:
        SamplerV2(mode=manila).run(manila_circuits[:1])
    # QiskitError.__str__ is repr(message): use ``.message`` for the plain text.
    message = info.value.message
    assert message.startswith("Failed to run program: ")
    assert "Max retries exceeded" in message and "too many 500 error responses" in message
    # ``raise ... from None`` hides the cause, but the RequestsApiError stays in __context__.
    assert isinstance(info.value.__context__, RequestsApiError)
    assert info.value.__context__.status_code == -1  # no HTTP response object after retries
    assert ibm_standin.requests_to("POST", "/jobs") == 6
    assert ibm_standin.jobs_created == 0
    assert sum(backoffs) >= 7  # what the client would have slept


def test_429_is_not_retried(ibm_standin, manila, manila_circuits):
    ibm_standin.fail_next_submissions(1, status=429, code=1202, message="Too many requests.")
    with pytest.raises(IBMRuntimeError, match="429 Client Error: Too Many Requests") as info:
        SamplerV2(mode=manila).run(manila_circuits[:1])
    assert "Too many requests." in str(info.value) and "1202" in str(info.value)
    assert info.value.__context__.status_code == 429
    assert ibm_standin.requests_to("POST", "/jobs") == 1
    assert SamplerV2(mode=manila).run(manila_circuits[:1], shots=2).result()  # next one passes


def test_pending_jobs_limit_3458(ibm_standin, manila, manila_circuits):
    ibm_standin.pending_limit = 2
    ibm_standin.hold()
    sampler = SamplerV2(mode=manila)
    held = [sampler.run(manila_circuits[:1], shots=4) for _ in range(2)]
    assert [j.status() for j in held] == ["QUEUED", "QUEUED"]
    with pytest.raises(IBMRuntimeError, match="400 Client Error: Bad Request") as info:
        sampler.run(manila_circuits[:1])
    assert '"code": 3458' in info.value.message
    assert "reached the limit of 2 pending jobs" in info.value.message
    assert info.value.__context__.status_code == 400
    ibm_standin.release()
    for job in held:
        job.wait_for_final_state(timeout=30)
    assert sampler.run(manila_circuits[:1], shots=4).result()
    assert ibm_standin.jobs_created == 3


# ----------------------------------------------------------------------- job failures
def test_job_error_raises_runtime_job_failure_error(ibm_standin, manila, manila_circuits):
    ibm_standin.fail_next_jobs(1, code=1517, message="Error in job execution.")
    job = SamplerV2(mode=manila).run(manila_circuits[:1])
    with pytest.raises(RuntimeJobFailureError, match=r"Unable to retrieve job result\. Error code 1517; Error in job execution\."):
        job.result()
    assert job.status() == "ERROR"
    assert "Error code 1517" in job.error_message()
    assert ibm_standin.job(job.job_id()).client_status == "ERROR"


def test_job_failure_can_target_a_tag(ibm_standin, manila, manila_circuits):
    ibm_standin.fail_next_jobs(1, code=1010, message="An error was returned at the backend level.", tag="bad")
    sampler = SamplerV2(mode=manila)
    ok = sampler.run(manila_circuits[:1], shots=2)
    sampler.options.environment.job_tags = ["bad"]
    bad = sampler.run(manila_circuits[:1], shots=2)
    assert ok.result()
    with pytest.raises(RuntimeJobFailureError, match="Error code 1010"):
        bad.result()


def test_ran_too_long_1305_raises_max_timeout(ibm_standin, manila, manila_circuits):
    ibm_standin.fail_next_jobs(1, code=1305, message="Ran too long")
    job = SamplerV2(mode=manila).run(manila_circuits[:1])
    with pytest.raises(RuntimeJobMaxTimeoutError, match="Error code 1305"):
        job.result()


def test_fail_running_job_and_poll_errors(ibm_standin, manila, manila_circuits):
    ibm_standin.run_time = 30
    job = SamplerV2(mode=manila).run(manila_circuits[:1])
    ibm_standin.wait_until(lambda: ibm_standin.job(job.job_id()).status == "Running")
    ibm_standin.inject_http_error(404, 1, "GET", f"/jobs/{job.job_id()}")
    with pytest.raises(RequestsApiError, match="404 Client Error"):
        job.status()  # polling errors surface raw, not wrapped
    ibm_standin.fail_job(job.job_id(), code=1008, message="Error during the validation process.")
    ibm_standin.set_job_timing(job.job_id(), run_time=0)
    with pytest.raises(RuntimeJobFailureError, match="Error code 1008"):
        job.result(timeout=30)


# --------------------------------------------------------------------------- cancel
def test_cancel(ibm_standin, manila, manila_circuits):
    ibm_standin.hold()
    job = SamplerV2(mode=manila).run(manila_circuits[:1])
    assert job.status() == "QUEUED"
    job.cancel()
    assert job.status() == "CANCELLED"
    assert ibm_standin.job(job.job_id()).status == "Cancelled"
    with pytest.raises(RuntimeInvalidStateError, match="Job was cancelled"):
        job.result()
    with pytest.raises(RuntimeInvalidStateError, match=r"Job cannot be cancelled: .*409 Client Error: Conflict"):
        job.cancel()
    other = SamplerV2(mode=manila).run(manila_circuits[:1])
    ibm_standin.cancel_job(other.job_id())  # cancelled on the server side
    assert make_runtime_service(ibm_standin).job(other.job_id()).status() == "CANCELLED"


# ------------------------------------------------------------------- session expiry
def test_session_expiry(ibm_standin, manila, manila_circuits):
    session = Session(backend=manila, max_time=1)
    sampler = SamplerV2(mode=session)
    assert_exact_counts(sampler.run(manila_circuits[:1], shots=4).result(), 4)
    ibm_standin.wait_until(lambda: ibm_standin.session(session.session_id).state == "closed", timeout=5)
    assert session.status() == "Closed"
    with pytest.raises(IBMRuntimeError, match=r"Failed to run program: .*400 Client Error") as info:
        sampler.run(manila_circuits[:1])  # the client still thinks the session is open
    assert '"code": 1217' in str(info.value) and "Session has been closed." in str(info.value)

    queued_session = Session(backend=manila)
    ibm_standin.hold()
    queued = SamplerV2(mode=queued_session).run(manila_circuits[:1])
    ibm_standin.expire_session(queued_session.session_id)
    with pytest.raises(RuntimeJobFailureError, match="Error code 1217; Session has been closed."):
        queued.result()


def test_session_cancel_cancels_queued_jobs(ibm_standin, manila, manila_circuits):
    session = Session(backend=manila)
    ibm_standin.hold()
    job = SamplerV2(mode=session).run(manila_circuits[:1])
    session.cancel()
    assert job.status() == "CANCELLED"
    assert ibm_standin.session(session.session_id).state == "closed"


# ------------------------------------------------------------------- slow jobs, kill
def test_slow_job_goes_through_queued_and_running(ibm_standin, manila, manila_circuits):
    ibm_standin.queue_time, ibm_standin.run_time = 0.4, 0.4
    job = SamplerV2(mode=manila).run(manila_circuits[:2], shots=4)
    seen = []
    while not job.in_final_state():
        if not seen or seen[-1] != job.status():
            seen.append(job.status())
    assert seen[:2] == ["QUEUED", "RUNNING"] and job.status() == "DONE"
    assert_exact_counts(job.result(), 4)


CHILD = textwrap.dedent(
    """
    import sys, warnings
    warnings.simplefilter("ignore")
    from qiskit import QuantumCircuit
    from qiskit.transpiler import generate_preset_pass_manager
    from qiskit_ibm_runtime import QiskitRuntimeService, SamplerV2
    token, instance, url, tag = sys.argv[1:5]
    service = QiskitRuntimeService(channel="ibm_quantum_platform", token=token, instance=instance, url=url)
    backend = service.backend("ibm_fake_manila")
    qc = QuantumCircuit(3)
    qc.x(0)
    qc.x(2)
    qc.measure_all()
    sampler = SamplerV2(mode=backend)
    sampler.options.environment.job_tags = [tag]
    job = sampler.run(generate_preset_pass_manager(backend=backend, optimization_level=1).run([qc]), shots=64)
    print(job.job_id(), flush=True)
    job.result()  # blocks while the stand-in keeps the job running
    """
)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_client_killed_mid_job_then_reattach_by_tag(ibm_standin):
    ibm_standin.run_time = 120
    tag = "jobman-kill-test"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, ibm_standin.api_key, ibm_standin.instance_crn, ibm_standin.url, tag],
        env=dict(os.environ),  # carries IAM_URL / GLOBAL_SEARCH_URL / GLOBAL_CATALOG_URL
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        ibm_standin.wait_until(
            lambda: any(j.status == "Running" and tag in j.tags for j in ibm_standin.jobs), timeout=60
        )
        child.kill()
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == -signal.SIGKILL
    [record] = ibm_standin.jobs
    assert record.status == "Running"

    service = make_runtime_service(ibm_standin)
    [job] = service.jobs(job_tags=[tag])
    assert job.job_id() == record.id and job.status() == "RUNNING"
    ibm_standin.set_job_timing(record.id, run_time=0)
    assert job.result()[0].data.meas.get_counts() == {"101": 64}

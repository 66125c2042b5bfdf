"""Retries: the policy's backoff, call-level retries of every backend call, job resubmission.

Nothing here waits in real time: sleeps go to a fake clock.
"""

import pytest

from conftest import expected_counts
from fault_backend import FaultLab, lab  # noqa: F401  (the fixture)
from jobman.exceptions import BackendError, UsageError
from jobman.inputs import make_basis_circuits
from jobman.manager import JobManager
from jobman.retry import BackendCalls, RetryPolicy
from jobman.status import JobStatus, SetState


def manager(store_dir, lab: FaultLab) -> JobManager:
    return JobManager(store_dir, clock=lab.clock.time, sleep=lab.clock.sleep, poll_interval=0.05)


def run(store_dir, lab: FaultLab, n: int = 20, chunk: int = 10, max_retries: int = 3, **kwargs):
    circuits = make_basis_circuits(n, 5)
    return manager(store_dir, lab).run(circuits, kwargs.pop("backend", None) or lab.backend(), shots=20,
                                       chunk_size=chunk, max_retries=max_retries, **kwargs)


def all_exact(job_set, n: int) -> bool:
    result = job_set.results()
    return all(result.get_counts(i) == expected_counts(i, 20) for i in range(n))


# the policy ------------------------------------------------------------------------------
def test_backoff_doubles_is_capped_and_jittered_within_half():
    policy = RetryPolicy(initial_delay=1.0, max_delay=10.0, random=lambda: 0.0)
    assert [policy.delay(n) for n in range(1, 7)] == [1, 2, 4, 8, 10, 10]
    assert [policy.backoff(n) for n in (1, 2, 5)] == [0.5, 1.0, 5.0]
    assert RetryPolicy(initial_delay=1.0, max_delay=10.0, random=lambda: 1.0).backoff(3) == 4.0


def test_call_retries_transient_errors_then_gives_up_with_the_last_one():
    sleeps, calls, seen = [], [], []

    def flaky():
        calls.append(1)
        raise BackendError(f"busy {len(calls)}", transient=True)

    policy = RetryPolicy(max_retries=2, sleep=sleeps.append, random=lambda: 0.5)
    with pytest.raises(BackendError, match="busy 3"):
        policy.call(flaky, lambda e: e.transient, lambda n, e: seen.append((n, str(e))))
    assert len(calls) == 3
    assert sleeps == [0.75, 1.5]
    assert seen == [(1, "busy 1"), (2, "busy 2")]


def test_permanent_errors_and_interrupts_are_never_retried():
    sleeps, calls = [], []

    def broken():
        calls.append(1)
        raise BackendError("bad input", transient=False)

    policy = RetryPolicy(max_retries=5, sleep=sleeps.append)
    with pytest.raises(BackendError):
        policy.call(broken, lambda e: e.transient)
    assert calls == [1] and sleeps == []

    def interrupted():
        calls.append(1)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        policy.call(interrupted, lambda e: True)
    assert len(calls) == 2 and sleeps == []


def test_a_broken_classifier_means_permanent():
    def classify(error):
        raise RuntimeError("oops")

    with pytest.raises(ValueError):
        RetryPolicy(sleep=lambda s: None).call(lambda: (_ for _ in ()).throw(ValueError("x")), classify)


@pytest.mark.parametrize("bad", [-1, True, 1.5])
def test_bad_max_retries_is_a_usage_error(bad):
    with pytest.raises(UsageError, match="--max-retries must be 0 or more"):
        RetryPolicy(max_retries=bad)


# through the engine -------------------------------------------------------------------
def test_transient_submit_failures_are_retried_and_every_attempt_is_recorded(store_dir, lab):
    lab.fail_submit(times=2, chunk=1)
    job_set = run(store_dir, lab)
    assert job_set.status() is SetState.DONE and all_exact(job_set, 20)
    attempts = job_set._set.chunk(1).attempts
    assert [(a.status, a.error, a.job_id is None) for a in attempts] == [
        ("ERROR", "submit failed (transient)", True), ("ERROR", "submit failed (transient)", True),
        ("DONE", None, False)]
    assert len(lab.clock.sleeps) >= 2 and job_set.engine.retries == 2
    assert 0.5 <= lab.clock.sleeps[0] <= 1.0 and 1.0 <= lab.clock.sleeps[1] <= 2.0


def test_permanent_submit_failure_fails_only_that_chunk_after_one_attempt(store_dir, lab):
    lab.fail_submit(transient=False, chunk=0, message="invalid program")
    job_set = run(store_dir, lab)
    summary = job_set.summary()
    assert summary.status == "DONE" and summary.circuits == {"DONE": 10, "ERROR": 10}
    assert summary.failed == 10
    assert summary.failures == [{"start": 0, "stop": 10, "circuits": "0-9", "chunk": 0,
                                    "status": "ERROR", "attempts": 1,
                                    "reason": "invalid program (permanent)"}]
    assert lab.clock.sleeps == [] or all(s == 0.05 for s in lab.clock.sleeps)


def test_submit_retries_are_bounded_by_max_retries(store_dir, lab):
    lab.fail_submit(times=None, chunk=1)
    job_set = run(store_dir, lab, max_retries=1)
    assert [a.status for a in job_set._set.chunk(1).attempts] == ["ERROR", "ERROR"]
    assert "circuits 10-19 failed (chunk 1, 2 attempts): submit failed (transient)" in job_set.report()


def test_a_job_ending_in_transient_error_is_resubmitted_after_backoff(store_dir, lab):
    lab.fail_job(times=2, chunk=0)
    job_set = run(store_dir, lab)
    assert job_set.status() is SetState.DONE and all_exact(job_set, 20)
    attempts = job_set._set.chunk(0).attempts
    assert [a.status for a in attempts] == ["ERROR", "ERROR", "DONE"]
    assert attempts[0].error == "job failed (transient)"
    history = [status for status, _ in job_set._set.chunk(0).history]
    assert history.count("RETRYING") == 2
    assert len(lab.jobs_of(0)) == 3


def test_a_job_ending_in_permanent_error_is_not_resubmitted(store_dir, lab):
    lab.fail_job(chunk=1, transient=False, message="ran too long")
    job_set = run(store_dir, lab)
    assert len(lab.jobs_of(1)) == 1
    assert job_set.summary().failures[0]["reason"] == "ran too long (permanent)"


def test_transient_job_errors_beyond_the_budget_fail_with_the_count(store_dir, lab):
    lab.fail_job(times=None, chunk=1)
    job_set = run(store_dir, lab, max_retries=2)
    assert len(lab.jobs_of(1)) == 3
    assert job_set.report().splitlines()[-1] == \
        "  circuits 10-19 failed (chunk 1, 3 attempts): job failed (transient)"


def test_max_retries_zero_means_one_try(store_dir, lab):
    lab.fail_job(chunk=0)
    lab.fail_submit(chunk=1)
    job_set = run(store_dir, lab, max_retries=0)
    assert job_set.summary().circuits == {"ERROR": 20}
    assert lab.clock.sleeps == [] or set(lab.clock.sleeps) == {0.05}


@pytest.mark.parametrize("method", ["wait", "result"])
def test_transient_status_and_result_calls_are_retried_without_resubmitting(store_dir, lab, method):
    lab.fail_calls(method, times=2)
    job_set = run(store_dir, lab)
    assert job_set.status() is SetState.DONE and all_exact(job_set, 20)
    assert len(lab.jobs) == 2 and job_set.engine.retries == 2


def test_a_broken_wait_falls_back_to_status_per_job(store_dir, lab):
    lab.fail_calls("wait", times=None, transient=False)
    job_set = run(store_dir, lab)
    assert job_set.status() is SetState.DONE and all_exact(job_set, 20)
    assert lab.calls["status"] >= 2


def test_a_job_whose_status_cannot_be_read_is_kept_and_asked_again_never_resubmitted(store_dir, lab,
                                                                                   caplog):
    lab.fail_calls("wait", times=1, transient=False)
    lab.fail_calls("status", times=4)  # one job's status: the first try and 3 retries all fail
    job_set = run(store_dir, lab, n=10)
    assert job_set.status() is SetState.DONE and all_exact(job_set, 10)
    [attempt] = job_set._set.chunk(0).attempts
    assert attempt.status == "DONE" and attempt.error is None and len(lab.jobs) == 1
    assert "cannot read job fault-1 of chunk 0 (status call failed (transient), 1 time in a row); " \
           "it is kept, asking again in 1 s" in caplog.text


def test_a_long_status_outage_is_waited_out_with_bounded_pauses(store_dir, lab, caplog):
    lab.fail_calls("wait", times=None)  # wait() never works: every read is a status call
    lab.fail_calls("status", times=40, message="HTTP 502 Bad Gateway")
    job_set = run(store_dir, lab, n=20, chunk=10)
    assert job_set.status() is SetState.DONE and all_exact(job_set, 20)
    assert len(lab.jobs) == 2 and [len(c.attempts) for c in job_set._set.chunks()] == [1, 1]
    assert max(lab.clock.sleeps) <= RetryPolicy().max_delay
    assert caplog.text.count("asking again in") >= 5


def test_a_job_the_backend_says_does_not_exist_is_lost_and_submitted_again(store_dir, lab):
    lab.slow(10.0, chunk=0)

    def vanish(n: int) -> None:
        if n == 2:
            lab.jobs.pop(lab.jobs_of(0)[0].job_id)  # deleted at the service

    lab.on_wait = vanish
    job_set = run(store_dir, lab, n=10, backend=lab.backend(reattachable=True))
    assert all_exact(job_set, 10)
    first, second = job_set._set.chunk(0).attempts
    assert first.status == "LOST" and first.error.startswith("the backend says job fault-1 "
                                                                  "does not exist")
    assert second.status == "DONE"


def test_a_submit_that_failed_after_creating_the_job_is_not_submitted_twice(store_dir, lab):
    lab.fail_submit(chunk=0, after_create=True, message="connection reset")
    job_set = run(store_dir, lab, backend=lab.backend(reattachable=True))
    assert job_set.status() is SetState.DONE and all_exact(job_set, 20)
    assert len(lab.jobs_of(0)) == 1  # found again by its tags instead of a second job
    (attempt,) = job_set._set.chunk(0).attempts
    assert attempt.job_id == lab.jobs_of(0)[0].job_id and attempt.status == "DONE"
    assert attempt.error is None  # the failed call's error does not stay on the job it made


def test_transient_cancel_calls_are_retried(store_dir, lab):
    lab.hang(chunk=1)
    lab.fail_calls("cancel", times=2)

    def on_wait(n: int) -> None:
        if n == 5:
            JobManager(store_dir).cancel()

    lab.on_wait = on_wait
    job_set = run(store_dir, lab, n=30)
    assert lab.jobs_of(1)[0].cancelled and lab.calls["cancel"] >= 3
    assert job_set.statuses()[1] is JobStatus.CANCELLED


def test_backend_calls_retry_transient_errors_count_them_and_take_a_broken_classifier_as_permanent(lab):
    calls = BackendCalls(lab.backend(), RetryPolicy(max_retries=3, sleep=lab.clock.sleep))
    lab.fail_calls("status", times=2)
    with pytest.raises(BackendError):
        calls.call(lambda: calls.backend.status("no-such-job"))  # two transient failures, then not found
    assert calls.retries == 2 and lab.calls["status"] == 3 and len(lab.clock.sleeps) == 2

    class Broken(type(lab.backend())):
        def is_transient(self, error):
            raise RuntimeError("classifier bug")

    broken = BackendCalls(Broken(lab, False, None, 2), RetryPolicy())
    assert broken.is_transient(BackendError("busy", transient=True)) is False

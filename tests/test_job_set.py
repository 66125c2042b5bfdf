"""The handle like a Qiskit job: ``JobManager().run(..., wait=False)`` returns at once, and the
handle waits, cancels and returns results; ``job_sets()`` and ``delete()`` on the manager.

Real Aer throughout. A gate (a threading.Event) holds every Aer simulation until the test opens
it, so "the set is still running" is a fact of the test, never a matter of timing.
"""

import threading
import time

import pytest

from conftest import expected_counts
from jobman.backends.aer import AerBackend
from jobman.exceptions import JobSetTimeoutError, SetLockedError
from jobman.inputs import make_basis_circuits
from jobman.manager import JobManager
from jobman.status import SetState

SHOTS = 20
WAIT = 120  # generous: the machine may be loaded; tests poll, never sleep to assert


@pytest.fixture
def gate(monkeypatch):
    """Every Aer simulation waits for ``gate.set()`` (at most WAIT seconds)."""
    opened = threading.Event()
    real = AerBackend._simulate

    def gated(self, *args):
        opened.wait(WAIT)
        return real(self, *args)

    monkeypatch.setattr(AerBackend, "_simulate", gated)
    yield opened
    opened.set()  # never leave a background run blocked


def manager(store_dir) -> JobManager:
    return JobManager(store_dir, poll_interval=0.05)


def start(store_dir, n: int = 30, **options):
    return manager(store_dir).run(make_basis_circuits(n, 5), shots=SHOTS, seed=5, chunk_size=10,
                                  wait=False, **options)


def until(predicate, what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def test_run_without_waiting_returns_at_once_then_waits_and_gives_exact_results(store_dir, gate):
    job_set = start(store_dir)
    assert job_set.status() in (SetState.PENDING, SetState.RUNNING)  # the gate is shut: cannot be final
    assert not job_set.in_final_state() and not job_set.done()
    with pytest.raises(JobSetTimeoutError, match="is not final after 0.2s"):
        job_set.wait_for_final_state(timeout=0.2)
    until(job_set.running, "RUNNING")
    gate.set()
    result = job_set.result(timeout=WAIT)
    assert job_set.status() is SetState.DONE and job_set.done() and not job_set.running()
    assert [c.counts for c in result] == [expected_counts(i, SHOTS) for i in range(30)]
    assert job_set.summary().failed == 0 and "DONE 30" in job_set.report()
    again = JobManager(store_dir).job_set(job_set.job_set_id())  # another handle, from the store
    again.wait_for_final_state(timeout=0)
    assert again.status() is SetState.DONE


def test_cancel_from_the_handle_stops_the_background_run_and_retry_finishes_it(store_dir, gate):
    job_set = start(store_dir, n=50)
    job_set.cancel()  # at once: the request must not be lost while the thread starts
    gate.set()
    job_set.wait_for_final_state(timeout=WAIT)
    assert job_set.cancelled() and job_set.in_final_state()
    summary = job_set.summary()
    assert summary.status == "CANCELLED" and summary.failed > 0
    for circuit in job_set.results():  # what finished is exact, the rest says why it did not
        assert circuit.status.value in ("DONE", "CANCELLED")
        if circuit.status.value == "DONE":
            assert circuit.counts == expected_counts(circuit.index, SHOTS)
        else:
            assert "cancel" in circuit.error
    retried = manager(store_dir).retry(job_set.job_set_id(), wait=False)
    assert retried.result(timeout=WAIT).get_counts(49) == expected_counts(49, SHOTS)
    assert retried.status() is SetState.DONE and retried.summary().circuits == {"DONE": 50}


def test_job_sets_filters_like_jobman_list_and_delete_refuses_a_running_set(store_dir, gate):
    gate.set()
    first = manager(store_dir).run(make_basis_circuits(4, 5), shots=SHOTS, name="bell-a")
    gate.clear()
    second = start(store_dir, n=20, name="ghz-b")
    ids = lambda sets: [s.job_set_id() for s in sets]  # noqa: E731
    assert ids(JobManager(store_dir).job_sets()) == [second.job_set_id(), first.job_set_id()]
    assert ids(JobManager(store_dir).job_sets(status="DONE")) == [first.job_set_id()]
    assert ids(JobManager(store_dir).job_sets(status=["running", "pending"], name="ghz*")) == \
        [second.job_set_id()]
    assert ids(JobManager(store_dir).job_sets(limit=1)) == [second.job_set_id()]
    with pytest.raises(SetLockedError):
        JobManager(store_dir).delete(second.job_set_id())
    gate.set()
    second.wait_for_final_state(timeout=WAIT)
    JobManager(store_dir).delete(second.job_set_id())
    assert ids(JobManager(store_dir).job_sets()) == [first.job_set_id()]


def test_bad_input_raises_at_run_even_without_waiting(store_dir):
    with pytest.raises(Exception, match="shots must be a positive integer"):
        manager(store_dir).run(make_basis_circuits(2, 5), shots=0, wait=False)
    with pytest.raises(Exception, match="unknown set status 'LOST'"):
        manager(store_dir).job_sets(status="LOST")
    assert manager(store_dir).job_sets() == []


@pytest.mark.parametrize("wait", [True, False])
def test_how_a_run_ended_does_not_depend_on_who_takes_the_lock_after_it(store_dir, wait):
    # `jobman cancel` takes a finished set's lock for a moment to check nothing is left to cancel;
    # the run that just let go must still report how it ended (DONE), not RUNNING
    job_set = manager(store_dir).run(make_basis_circuits(20, 5), shots=SHOTS, seed=5, chunk_size=10,
                                     wait=wait)
    job_set.wait_for_final_state(timeout=WAIT)
    other = job_set.set_store.acquire_lock()
    try:
        assert job_set.summary().status == "RUNNING"  # what a reader now sees
        assert job_set.outcome().status == "DONE" and job_set.outcome().circuits["DONE"] == 20
    finally:
        other.close()
    assert manager(store_dir).job_set(job_set.job_set_id()).outcome().status == "DONE"

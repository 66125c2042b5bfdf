"""Aer chunks on any concurrent.futures.Executor: the same answers as the local workers."""

from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor

import pytest
from qiskit import QuantumCircuit

from jobman import JobManager
from jobman.backends import get_backend
from jobman.backends.aer_executor import ExecutorAerBackend, executor_slots
from jobman.exceptions import Interrupted, UsageError
from jobman.status import JobStatus


def random_like(n: int) -> list[QuantumCircuit]:
    circuits = []
    for i in range(n):
        circuit = QuantumCircuit(3, name=f"r{i}")
        circuit.h(range(3))
        circuit.cx(0, 1)
        circuit.measure_all()
        circuits.append(circuit)
    return circuits


def answers(job_set) -> list[tuple[str, dict, str | None]]:
    return [(c.status, c.counts, c.error) for c in job_set.results()]


@pytest.fixture(scope="module")
def local_answers(tmp_path_factory):
    store = tmp_path_factory.mktemp("local")
    return answers(JobManager(store).run(random_like(30), shots=64, seed=17, chunk_size=7))


def test_a_process_pool_gives_the_local_answers(tmp_path, local_answers):
    with ProcessPoolExecutor(max_workers=2) as pool:
        job_set = JobManager(tmp_path, executor=pool).run(random_like(30), shots=64, seed=17, chunk_size=7)
    assert answers(job_set) == local_answers
    assert job_set.summary().backend == "aer"
    assert len({str(counts) for _, counts, _ in local_answers}) > 1  # seeds matter here


def test_a_dask_cluster_gives_the_local_answers(tmp_path, local_answers):
    distributed = pytest.importorskip("distributed", reason="dask.distributed is not installed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=True,
                                  dashboard_address=None, host="127.0.0.1") as cluster, \
            distributed.Client(cluster) as client:
        executor = client.get_executor(pure=False)
        assert executor_slots(executor) == 2
        job_set = JobManager(tmp_path).run(random_like(30), shots=64, seed=17, chunk_size=7,
                                          executor=executor)
    assert answers(job_set) == local_answers


class _Broken(ThreadPoolExecutor):
    """An executor whose first call fails as if its worker had died."""

    def __init__(self) -> None:
        super().__init__(max_workers=1)
        self.calls = 0

    def submit(self, fn, *args, **kwargs):
        self.calls += 1
        if self.calls == 1:
            future: Future = Future()
            future.set_exception(ConnectionError("worker lost"))
            return future
        return super().submit(fn, *args, **kwargs)


def test_an_executor_failure_is_retried_by_jobman(tmp_path, local_answers):
    with _Broken() as broken:
        job_set = JobManager(tmp_path, executor=broken, sleep=lambda s: None).run(
            random_like(30), shots=64, seed=17, chunk_size=7)
    assert answers(job_set) == local_answers
    attempts = [a for c in job_set._set.chunks() for a in c.attempts]
    failed = [a for a in attempts if a.status == "ERROR"]
    assert len(failed) == 1 and "worker lost" in failed[0].error


class _Interrupting(ThreadPoolExecutor):
    """An executor that runs two calls, then Ctrl-C hits the coordinator."""

    def __init__(self) -> None:
        super().__init__(max_workers=1)
        self.calls = 0

    def submit(self, fn, *args, **kwargs):
        self.calls += 1
        if self.calls > 2:
            raise KeyboardInterrupt
        return super().submit(fn, *args, **kwargs)


def test_resume_of_an_executor_set_runs_locally(tmp_path, local_answers):
    with _Interrupting() as pool, pytest.raises(Interrupted):
        JobManager(tmp_path, executor=pool).run(random_like(30), shots=64, seed=17, chunk_size=7,
                                                max_in_flight=1)
    job_set = JobManager(tmp_path).job_set()
    assert job_set._set.record.backend["executor"] == "_Interrupting"
    assert job_set._set.record.backend["options"] == {}  # an object cannot be rebuilt: local
    assert job_set.status() is not JobStatus.DONE
    assert answers(JobManager(tmp_path).resume()) == local_answers


def test_cancel_cancels_the_call_and_close_leaves_the_executor_up():
    with ThreadPoolExecutor(max_workers=1) as pool:
        blocker = pool.submit(lambda: __import__("time").sleep(0.3))
        backend = ExecutorAerBackend(pool)
        from jobman.backends.base import ChunkJob, RunOptions

        job_id = backend.submit(ChunkJob("s", 0, 0, 2, 1), random_like(2), RunOptions(shots=5))
        backend.cancel(job_id)
        assert backend.status(job_id) is JobStatus.CANCELLED
        backend.close()
        blocker.result()
        assert pool.submit(lambda: 5).result() == 5


def test_unknown_executors_and_misplaced_options_are_usage_errors():
    with pytest.raises(UsageError, match="unknown executor"):
        get_backend("aer", executor="spark")
    with ThreadPoolExecutor(max_workers=1) as pool:  # fake devices take ray (transpiling), no pool
        with pytest.raises(UsageError, match="an Executor object runs Aer chunks only"):
            get_backend("fake_manila", executor=pool)
    with pytest.raises(UsageError, match="--ray-address: only with --executor ray"):
        get_backend("aer", ray_address="127.0.0.1:6379")


def test_usage_is_the_simulation_time_the_executor_reports():
    from jobman.backends.base import ChunkJob, RunOptions

    with ThreadPoolExecutor(max_workers=1) as pool:
        backend = ExecutorAerBackend(pool)
        job_id = backend.submit(ChunkJob("s", 0, 0, 2, 1), random_like(2), RunOptions(shots=5))
        assert backend.wait([job_id], timeout=60)[job_id] is JobStatus.DONE
        usage = backend.job_usage(job_id)
        assert usage is not None and usage["seconds"] >= 0 and usage["source"] == "simulation wall time"
        assert len(backend.result(job_id)) == 2
        backend.close()

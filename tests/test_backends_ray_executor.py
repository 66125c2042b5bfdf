"""Aer chunks as Ray tasks, on a real three-node Ray cluster kept on loopback.

The cluster (a head and two worker nodes, one CPU each) runs inside a network namespace with
only a loopback interface (see shared RAY-FACTS: elsewhere Ray binds the machine's external
address): the scenarios in ``tests/ray_scenarios.py`` run there once, in one process, and each
test below asserts on what one scenario saw. Needs root (``unshare --net``) and Ray.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import run_jobman
from jobman.backends import backend_from_record, get_backend
from jobman.exceptions import UsageError

SCRIPT = Path(__file__).with_name("ray_scenarios.py")
#: The first test starts the cluster and runs every scenario (~30 s quiet, minutes under load).
pytestmark = pytest.mark.timeout(600)


def _namespace_problem() -> str | None:
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return "unshare or ip is not installed"
    probe = subprocess.run(["unshare", "--net", "sh", "-c", "ip link set lo up"], capture_output=True,
                           text=True, timeout=30)
    if probe.returncode != 0:
        return f"cannot make a network namespace (needs root): {probe.stderr.strip()[:200]}"
    return None


@pytest.fixture(scope="module")
def scenarios(tmp_path_factory) -> dict[str, dict]:
    pytest.importorskip("ray", reason='Ray is not installed (pip install ".[ray]")')
    problem = _namespace_problem()
    if problem:
        pytest.skip(problem)
    workdir = tmp_path_factory.mktemp("ray")
    command = f"ip link set lo up && exec {sys.executable} {SCRIPT} {workdir}"
    done = subprocess.run(["unshare", "--net", "sh", "-c", command], capture_output=True, text=True,
                          timeout=600, env=dict(os.environ, PYTHONPATH=str(SCRIPT.parent)))
    found = {}
    for line in done.stdout.splitlines():
        if line.startswith("SCENARIO "):
            facts = json.loads(line[len("SCENARIO "):])
            found[facts["scenario"]] = facts
    assert found, f"no scenario ran (exit {done.returncode}): {done.stderr[-3000:]}"
    return found


def scenario(scenarios: dict[str, dict], name: str) -> dict:
    facts = scenarios.get(name)
    assert facts is not None, f"scenario {name} did not run"
    assert "error" not in facts, facts["error"]
    return facts


def test_every_node_binds_loopback(scenarios):
    facts = scenario(scenarios, "nodes")
    assert facts["addresses"] == ["127.0.0.1"] * 3
    assert facts["cpus"] == 3


def test_results_are_those_of_a_local_run_and_in_flight_follows_the_cluster(scenarios):
    facts = scenario(scenarios, "exact")
    assert facts["same"] and facts["once"]
    assert facts["in_flight"] == 4  # three CPUs, one task each, and one waiting
    assert facts["options"]["executor"] == "ray" and facts["options"]["ray_address"].startswith("127.0.0.1:")


def test_fake_backend_chunks_are_transpiled_on_the_cluster_exactly_as_here(scenarios):
    facts = scenario(scenarios, "fake-transpiled")
    assert facts["same_isa"] and facts["isa_circuits"] == 32  # the very ISA circuits of a local run
    assert facts["same_counts"] and facts["done"] == 32
    assert facts["tasks"] == 2 and facts["circuits"] == 32  # one chunk, cut into a task per 16 circuits
    assert facts["on_cluster_nodes"] and facts["not_here"]  # ran in Ray workers, not in the coordinator
    assert facts["nodes_used"] == 2  # two tasks at once: one CPU per node, so two nodes
    assert facts["options"]["executor"] == "ray" and facts["options"]["ray_address"].startswith("127.0.0.1:")


def test_a_transpile_task_that_dies_is_sent_again_and_nothing_is_lost(scenarios):
    facts = scenario(scenarios, "transpile-task-dies")
    assert facts["died"] and facts["tasks"] == 2  # both slices transpiled on the cluster in the end
    assert facts["same_isa"] and facts["circuits"] == 32
    [warning] = facts["warnings"]
    assert warning.startswith("a Ray task transpiling 16 circuits failed (WorkerCrashedError") and \
        warning.endswith("sending it again")


def test_a_worker_node_that_dies_midrun_has_its_chunk_resubmitted(scenarios):
    facts = scenario(scenarios, "node-dies")
    assert facts["killed_running"], "no chunk was seen running on a worker node"
    assert any("NodeDiedError" in error for error in facts["errors"]), facts
    assert facts["same"] and facts["once"]  # every circuit ended once, with the local answer


def test_cancel_cancels_the_running_tasks(scenarios):
    facts = scenario(scenarios, "cancel")
    assert facts["busy"]  # every CPU ran a task of the set when it was cancelled
    assert facts["freed_after"] is not None and facts["freed_after"] < 5  # a task runs ~10 s or more
    assert facts["cancelled"] == facts["total"]


def test_a_killed_coordinator_resumes_on_the_cluster(scenarios):
    facts = scenario(scenarios, "killed-cluster")
    assert 2 <= facts["done_at_kill"] < facts["chunks"]
    assert facts["code"] == 0, facts["stderr"]
    assert facts["same"] and facts["once"]


def test_a_killed_coordinator_resumes_locally_when_the_cluster_is_gone(scenarios):
    facts = scenario(scenarios, "killed-local")
    assert 2 <= facts["done_at_kill"] < facts["chunks"]
    assert facts["refused_code"] == 1
    assert "cannot reach the Ray cluster" in facts["refused_err"][0]
    assert "--executor local" in facts["refused_err"][0]
    assert facts["code"] == 0, facts["stderr"]
    assert facts["same"] and facts["once"]


# without a cluster ------------------------------------------------------------------------
def test_the_ray_backend_records_how_to_find_its_cluster_again():
    pytest.importorskip("ray", reason="Ray is not installed")
    backend = get_backend("aer", executor="ray", ray_address="127.0.0.1:1", ray_num_cpus=2)
    try:
        described = backend.describe()
        assert described["options"] == {"executor": "ray", "ray_address": "127.0.0.1:1", "ray_num_cpus": 2}
        assert described["executor"] == "RayExecutor"
        local = backend_from_record(described, executor="local")
        assert type(local).__name__ == "AerBackend"
        local.close()
    finally:
        backend.close()


def test_a_connection_begun_early_is_taken_over_with_what_it_met():
    pytest.importorskip("ray", reason="Ray is not installed")
    from jobman.backends.ray_executor import RayExecutor, connect_early, forget_early
    from jobman.exceptions import BackendError

    connect_early("127.0.0.1:9")  # nothing listens there
    with pytest.raises(BackendError, match="cannot reach the Ray cluster at 127.0.0.1:9"):
        RayExecutor("127.0.0.1:9").connect()  # the early thread's error, raised here
    connect_early("127.0.0.1:9")
    forget_early()  # a run that failed before connecting: the connection is dropped
    with pytest.raises(BackendError, match="cannot reach"):
        RayExecutor("127.0.0.1:9").connect()  # and a later executor connects on its own


def test_a_gone_cluster_named_by_ray_address_is_one_error_line_too(store_dir, small_qpy):
    pytest.importorskip("ray", reason="Ray is not installed")
    done = run_jobman("run", str(small_qpy), "--executor", "ray", env={"RAY_ADDRESS": "127.0.0.1:9"})
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1].startswith("Error: cannot reach the Ray cluster at 127.0.0.1:9")
    assert not store_dir.exists() or not any(p.is_dir() for p in store_dir.iterdir())


def test_a_gone_cluster_is_one_error_line_and_nothing_is_made(store_dir, small_qpy):
    pytest.importorskip("ray", reason="Ray is not installed")
    done = run_jobman("run", str(small_qpy), "--executor", "ray", "--ray-address", "127.0.0.1:9")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1].startswith("Error: cannot reach the Ray cluster at 127.0.0.1:9")
    assert not store_dir.exists() or not any(p.is_dir() for p in store_dir.iterdir())


def test_cluster_options_are_checked():
    with pytest.raises(UsageError, match="--ray-num-cpus must be a positive integer"):
        get_backend("aer", executor="ray", ray_num_cpus=0)
    done = run_jobman("run", "x.qpy", "--backend", "fake_manila", "--executor", "ray", "--ray-num-cpus", "2")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1].startswith(
        "Error: --ray-num-cpus: only for the aer backend, not 'fake_manila'")
    with pytest.raises(UsageError, match="--ray-address: only with --executor ray"):
        get_backend("fake_manila", ray_address="127.0.0.1:1")
    with pytest.raises(UsageError, match="not with --skip-transpile"):
        get_backend("fake_manila", executor="ray", skip_transpile=True)


# fake and IBM backends: transpiled on the cluster, without one ---------------------------
def test_a_fake_backend_on_ray_records_its_cluster_and_resumes_locally_without_it():
    backend = get_backend("fake_manila", executor="ray", ray_address="127.0.0.1:1")
    try:
        described = backend.describe()
        assert described["options"]["executor"] == "ray" and described["options"]["ray_address"] == "127.0.0.1:1"
        again = backend_from_record(described)
        assert (again.executor, again.ray_address) == ("ray", "127.0.0.1:1")
        local = backend_from_record(described, executor="local")
        assert local.executor is None and "executor" not in local.options()
        assert "ray_address" not in local.options()
        with pytest.raises(UsageError, match="--ray-num-cpus: only for Aer chunks"):
            backend_from_record(described, ray_num_cpus=2)
        from jobman.manager import _backend

        named = _backend("fake_manila", None, None, None, executor="ray")  # run(..., executor="ray")
        assert named.executor == "ray" and named.options()["executor"] == "ray"
        named.close()
    finally:
        backend.close()


def test_a_fake_backend_on_a_gone_cluster_is_one_error_line_and_nothing_is_made(store_dir, small_qpy):
    pytest.importorskip("ray", reason="Ray is not installed")
    done = run_jobman("run", str(small_qpy), "--backend", "fake_manila", "--executor", "ray",
                      "--ray-address", "127.0.0.1:9")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1].startswith("Error: cannot reach the Ray cluster at 127.0.0.1:9")
    assert not store_dir.exists() or not any(p.is_dir() for p in store_dir.iterdir())


class DyingCluster:
    """A stand-in for jobman's Ray executor whose tasks all end with ``error``."""

    def __init__(self, error: BaseException) -> None:
        self.error, self.sent = error, 0

    def connect(self) -> None:
        pass

    def slots(self) -> int:
        return 2

    def put(self, value):
        return "target-ref"

    def submit(self, fn, *args, **kwargs):
        from concurrent.futures import Future

        self.sent += 1
        future = Future()
        future.set_exception(self.error)
        return future

    def shutdown(self) -> None:
        pass


def manila_circuits():
    import warnings

    from qiskit.circuit.random import random_circuit
    from qiskit_ibm_runtime.fake_provider import FakeManilaV2

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        target = FakeManilaV2().target
    return target, [random_circuit(4, 4, measure=True, seed=i) for i in range(40)]


def test_slices_whose_tasks_die_twice_are_transpiled_here_with_the_reason_logged(caplog):
    ray_exceptions = pytest.importorskip("ray.exceptions", reason="Ray is not installed")
    from jobman.backends.ray_transpile import RayTranspiler
    from jobman.backends.transpile import Transpiler

    target, circuits = manila_circuits()
    cluster = DyingCluster(ray_exceptions.WorkerCrashedError())
    transpiler = RayTranspiler(target, 1, executor=cluster)
    with caplog.at_level("WARNING", logger="jobman"):
        isa = transpiler.run(circuits, seed=7)
    assert isa == Transpiler(target, 1, workers=1).run(circuits, seed=7)  # nothing lost, nothing different
    assert cluster.sent == 4 and transpiler.placements == []  # two slices, each sent twice
    here = [r.getMessage() for r in caplog.records if "here instead" in r.getMessage()]
    assert here == ["transpiling 20 circuits here instead of on the Ray cluster: its task failed 2 times "
                    "(last: WorkerCrashedError: The worker died unexpectedly while executing this task. "
                    "Check python-core-worker-*.log files for more information.)"] * 2


def test_an_error_of_the_transpiler_in_a_task_is_raised_as_here():
    ray_exceptions = pytest.importorskip("ray.exceptions", reason="Ray is not installed")
    from qiskit.transpiler.exceptions import TranspilerError

    from jobman.backends.ray_transpile import RayTranspiler

    target, circuits = manila_circuits()
    cluster = DyingCluster(ray_exceptions.RayTaskError("transpile_task", "Traceback ...", TranspilerError("no way")))
    with pytest.raises(TranspilerError, match="no way"):
        RayTranspiler(target, 1, executor=cluster).run(circuits, seed=7)
    assert cluster.sent == 2  # one task per slice, none sent again: it would fail the same way


def test_without_ray_installed_the_error_says_how_to_get_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)
    backend = get_backend("aer", executor="ray", ray_address="127.0.0.1:1")
    try:
        with pytest.raises(UsageError, match=r'pip install "jobman\[ray\]"'):
            backend.connect()
    finally:
        backend.close()

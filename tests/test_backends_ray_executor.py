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


def test_a_gone_cluster_is_one_error_line_and_nothing_is_made(store_dir, small_qpy):
    pytest.importorskip("ray", reason="Ray is not installed")
    done = run_jobman("run", str(small_qpy), "--executor", "ray", "--ray-address", "127.0.0.1:9")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1].startswith("Error: cannot reach the Ray cluster at 127.0.0.1:9")
    assert not store_dir.exists() or not any(p.is_dir() for p in store_dir.iterdir())


def test_cluster_options_are_checked():
    with pytest.raises(UsageError, match="--ray-num-cpus must be a positive integer"):
        get_backend("aer", executor="ray", ray_num_cpus=0)
    done = run_jobman("run", "x.qpy", "--backend", "fake_manila", "--executor", "ray")
    assert done.returncode == 2 and "only for the aer backend" in done.stderr


def test_without_ray_installed_the_error_says_how_to_get_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)
    backend = get_backend("aer", executor="ray", ray_address="127.0.0.1:1")
    try:
        with pytest.raises(UsageError, match=r'pip install "jobman\[ray\]"'):
            backend.connect()
    finally:
        backend.close()

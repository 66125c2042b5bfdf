"""Scenarios on a real Ray cluster, run by tests/test_backends_ray_executor.py inside a network
namespace that has only a loopback interface (so every Ray node binds 127.0.0.1).

    unshare --net sh -c 'ip link set lo up && exec python tests/ray_scenarios.py WORKDIR'

One cluster (``ray.cluster_utils.Cluster``: a head and two worker nodes, one CPU each) serves
every scenario, so Ray starts once. Each scenario prints one line ``SCENARIO <json>`` with what
it saw (or the traceback that stopped it); the tests assert on those lines. Results are
compared with a local run (jobman's own worker processes) of the same input and seed.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any, Callable

from qiskit import QuantumCircuit, qpy

from jobman import JobManager
from jobman.records import attempt_indices

SEED = 11
SHOTS = 200


def circuits(n: int, qubits: int, depth: int, prefix: str) -> list[QuantumCircuit]:
    """Different circuits whose counts depend on the seed (so a wrong seed or order shows)."""
    made = []
    for i in range(n):
        circuit = QuantumCircuit(qubits, name=f"{prefix}{i}")
        for layer in range(depth):
            for q in range(qubits):
                circuit.rx(0.3 + 0.01 * ((i + 1) * (q + 1) + layer), q)
            for q in range(layer % 2, qubits - 1, 2):
                circuit.cx(q, q + 1)
        circuit.measure_all()
        made.append(circuit)
    return made


def write(path: Path, made: list[QuantumCircuit]) -> str:
    with open(path, "wb") as handle:
        qpy.dump(made, handle)
    return str(path)


def answers(job_set: Any) -> list[list[Any]]:
    return [[c.status, c.counts, c.error] for c in job_set.results()]


def aer_answers(path: str) -> list[list[Any]]:
    """What a local run gives: one Aer run of the whole file with the seed (a circuit's result
    depends only on the seed and its index; tests/test_equivalence.py checks jobman's own
    workers against this)."""
    from qiskit_aer import AerSimulator

    with open(path, "rb") as handle:
        made = qpy.load(handle)
    result = AerSimulator(max_parallel_threads=1, max_parallel_experiments=0).run(
        made, shots=SHOTS, seed_simulator=SEED).result()
    return [["DONE", dict(result.get_counts(i)), None]
            for i in range(len(made))]


def ended_once(job_set: Any) -> bool:
    """Every circuit has exactly one attempt that ended DONE, and counts of exactly SHOTS."""
    done: dict[int, int] = {}
    for chunk in job_set._set.chunks():
        for attempt in chunk.attempts:
            if attempt.status == "DONE":
                for index in attempt_indices(attempt):
                    done[index] = done.get(index, 0) + 1
    total = job_set._set.record.total
    shots_ok = all(sum((c.counts or {}).values()) == SHOTS for c in job_set.results())
    return sorted(done) == list(range(total)) and set(done.values()) == {1} and shots_ok


def errors(job_set: Any) -> list[str]:
    return [a.error or "" for c in job_set._set.chunks() for a in c.attempts
            if a.status == "ERROR"]


def runs_a_chunk(node: Any) -> bool:
    """Whether a worker process of this node executes a chunk now (Ray titles a worker
    ``ray::run_chunk`` while it runs that task; a task only leased to a node would be moved
    to another node, not failed, if the node died)."""
    import psutil

    raylet = psutil.Process(node.all_processes["raylet"][0].process.pid)
    try:
        return any(" ".join(child.cmdline()).startswith("ray::run_chunk") for child in raylet.children(recursive=True))
    except psutil.Error:  # a worker ended meanwhile
        return False


def transpiled(job_set: Any) -> list[Any]:
    """The ISA circuits the set stored, chunk by chunk, in circuit order."""
    stored = [job_set._set.load_transpiled(chunk) for chunk in range(job_set._set.record.num_chunks)]
    return [circuit for chunk in stored for _, circuit in sorted(chunk.items())]


def die(*args: Any) -> None:
    """A task that kills its own worker process (Ray then reports WorkerCrashedError)."""
    os._exit(1)


class Warnings(logging.Handler):
    """The warnings jobman logs while it is installed."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.seen.append(record.getMessage())


def report(name: str, work: Callable[[], dict[str, Any]]) -> None:
    started = time.monotonic()
    try:
        facts = work()
    except BaseException:
        facts = {"error": traceback.format_exc()}
    facts.update(scenario=name, seconds=round(time.monotonic() - started, 1))
    print("SCENARIO " + json.dumps(facts), flush=True)


def jobman(*args: str, env: dict[str, str], wait: bool = True) -> Any:
    command = [sys.executable, "-m", "jobman", *args]
    if not wait:
        return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)


class Scenarios:
    def __init__(self, workdir: Path) -> None:
        import ray
        from ray.cluster_utils import Cluster

        self.ray = ray
        self.workdir = workdir
        started = time.monotonic()
        # no dashboard: it is the slowest part of a start on two cores, and nothing here needs it
        # A node that stops answering is declared dead after ~3 s (Ray's default: ~15 s).
        health = {"health_check_period_ms": 1000, "health_check_timeout_ms": 1000,
                  "health_check_failure_threshold": 3}
        self.cluster = Cluster(initialize_head=True, head_node_args={
            "num_cpus": 1, "include_dashboard": False, "no_monitor": True, "_system_config": health})
        self.workers = [self.cluster.add_node(num_cpus=1) for _ in range(2)]
        self.removed: list[Any] = []
        self.cluster.wait_for_nodes()
        ray.init(address=self.cluster.address, log_to_driver=False, logging_level="ERROR")
        self.startup = round(time.monotonic() - started, 1)
        self.address = self.cluster.address
        self.inputs = {
            "medium": write(workdir / "medium.qpy", circuits(240, 12, 8, "m")),
            "slow": write(workdir / "slow.qpy", circuits(12, 18, 12, "s")),  # chunks of ~2 s
            "heavy": write(workdir / "heavy.qpy", circuits(9, 20, 16, "h")),  # chunks of ~10 s
        }
        started = time.monotonic()
        self.local = {name: aer_answers(self.inputs[name]) for name in ("medium", "slow")}
        self.baseline = round(time.monotonic() - started, 1)  # the local runs to compare with
        self.env = dict(os.environ, JOBMAN_HOME=str(workdir / "cli-store"))
        self.inputs["isa"] = write(workdir / "isa.qpy", circuits(32, 5, 3, "i"))  # needs routing on manila
        self.fake_local: Any = None  # the "isa" input run here (by fake_transpiled)

    def manager(self, name: str) -> JobManager:
        return JobManager(self.workdir / name, executor="ray", poll_interval=0.1)

    def fake_run(self, name: str, backend: Any = "fake_manila") -> Any:
        """The "isa" input on fake_manila: one chunk, cut into two transpile tasks on Ray."""
        return JobManager(self.workdir / name, poll_interval=0.1).run(self.inputs["isa"], backend=backend,
                                                                      shots=SHOTS, seed=SEED, chunk_size=32)

    # scenarios --------------------------------------------------------------------------
    def nodes(self) -> dict[str, Any]:
        nodes = self.ray.nodes()
        return {"addresses": [n["NodeManagerAddress"] for n in nodes if n["Alive"]],
                "cpus": self.ray.cluster_resources().get("CPU"), "startup": self.startup,
                "baseline": self.baseline}

    def exact(self) -> dict[str, Any]:
        from jobman.backends import get_backend

        backend = get_backend("aer", executor="ray", ray_address=self.address)
        in_flight = backend.default_max_in_flight
        job_set = JobManager(self.workdir / "exact").run(self.inputs["medium"], backend=backend, shots=SHOTS,
                                                         seed=SEED, chunk_size=15)
        return {"same": answers(job_set) == self.local["medium"], "once": ended_once(job_set),
                "in_flight": in_flight, "chunks": job_set._set.record.num_chunks,
                "executor": job_set._set.record.backend.get("executor"),
                "options": job_set._set.record.backend.get("options")}

    def fake_transpiled(self) -> dict[str, Any]:
        """fake_manila with --executor ray: chunks transpiled as tasks on the cluster's nodes,
        submitted from here; the same ISA circuits and counts as the local run."""
        from jobman.backends import get_backend

        backend = get_backend("fake_manila", executor="ray", ray_address=self.address)
        started = time.monotonic()
        job_set = self.fake_run("fake-ray", backend)
        seconds = round(time.monotonic() - started, 1)  # the first transpile on a worker is the slow part
        started = time.monotonic()
        self.fake_local = self.fake_run("fake-local")  # transpiled here
        local_seconds = round(time.monotonic() - started, 1)
        placements = backend._transpiler.placements
        nodes = {n["NodeID"] for n in self.ray.nodes() if n["Alive"]}
        return {"same_counts": answers(job_set) == answers(self.fake_local),
                "same_isa": transpiled(job_set) == transpiled(self.fake_local),
                "isa_circuits": len(transpiled(job_set)), "done": [c.status for c in job_set.results()].count("DONE"),
                "tasks": len(placements), "circuits": sum(p["circuits"] for p in placements),
                "on_cluster_nodes": {p["node"] for p in placements} <= nodes,
                "nodes_used": len({p["node"] for p in placements}),
                "not_here": all(p["pid"] != os.getpid() for p in placements),
                "options": job_set._set.record.backend.get("options"), "ray_seconds": seconds,
                "local_seconds": local_seconds}

    def transpile_task_dies(self) -> dict[str, Any]:
        """The first transpile task's worker dies (os._exit in the task): that slice is sent
        again, and the chunk's ISA circuits are those of the local run, none lost."""
        from jobman.backends import get_backend
        from jobman.backends.ray_executor import RayExecutor

        class DiesFirst(RayExecutor):
            died = False

            def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
                if not self.died:
                    self.died = True
                    return super().submit(die, *args, **kwargs)
                return super().submit(fn, *args, **kwargs)

        backend = get_backend("fake_manila", executor="ray", ray_address=self.address)
        transpiler = backend._get_transpiler()
        transpiler.executor = DiesFirst(self.address)
        with open(self.inputs["isa"], "rb") as handle:
            made = qpy.load(handle)
        warned = Warnings()
        logging.getLogger("jobman").addHandler(warned)
        try:
            isa = transpiler.run(made, SEED)  # as the engine asks it for the one chunk
        finally:
            logging.getLogger("jobman").removeHandler(warned)
            backend.close()
        return {"same_isa": isa == transpiled(self.fake_local), "circuits": len(isa), "warnings": warned.seen,
                "tasks": len(transpiler.placements), "died": transpiler.executor.died}

    def node_dies(self) -> dict[str, Any]:
        """A worker node is killed while a chunk runs there; jobman resubmits that chunk. Should
        the kill miss (the chunk finished first), it is tried once more, on a fresh node."""
        tries = []
        for _ in range(2):
            facts = self._kill_a_node_midrun()
            tries.append(facts)
            if any("NodeDiedError" in error for error in facts["errors"]):
                break
            self.workers.append(self.cluster.add_node(num_cpus=1))
            self.cluster.wait_for_nodes()
        return dict(tries[-1], tries=len(tries), missed=[t["killed_running"] for t in tries[:-1]])

    def _kill_a_node_midrun(self) -> dict[str, Any]:
        submitted = threading.Event()
        seen: dict[str, Any] = {"killed_running": False}

        def on_change(record: Any) -> None:
            if record.status == "QUEUED":
                submitted.set()

        def kill_when_busy() -> None:
            submitted.wait(120)
            deadline = time.monotonic() + 60
            doomed = None
            while doomed is None and time.monotonic() < deadline:
                doomed = next((node for node in self.workers if node not in self.removed
                               and runs_a_chunk(node)), None)
                time.sleep(0.02)
            if doomed is not None:
                self.cluster.remove_node(doomed, allow_graceful=False)  # its raylet and workers killed
                self.removed.append(doomed)
                seen["killed_running"] = True

        killer = threading.Thread(target=kill_when_busy, daemon=True)
        killer.start()
        job_set = self.manager("node").run(self.inputs["slow"], shots=SHOTS, seed=SEED, chunk_size=4,
                                           on_change=on_change, executor="ray", max_retries=3)
        killer.join(5)
        return dict(seen, same=answers(job_set) == self.local["slow"], once=ended_once(job_set),
                    errors=errors(job_set))

    def cancel(self) -> dict[str, Any]:
        """`cancel` while long tasks run: the tasks are cancelled (their CPUs free at once)."""
        manager = self.manager("cancel")
        outcome: dict[str, Any] = {}
        created: list[str] = []
        thread = threading.Thread(target=lambda: outcome.setdefault("set", manager.run(
            self.inputs["heavy"], shots=SHOTS, seed=SEED, chunk_size=3, executor="ray",
            on_created=lambda js: created.append(js.job_set_id()))), daemon=True)
        thread.start()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and self.ray.available_resources().get("CPU", 0) > 0:
            time.sleep(0.05)  # every CPU of the cluster runs one of the set's tasks (0 is left out)
        busy = self.ray.available_resources().get("CPU", 0) == 0
        asked = time.monotonic()
        JobManager(self.workdir / "cancel").cancel(created[0], wait=60)
        thread.join(60)
        freed = None
        while time.monotonic() < asked + 60:
            if self.ray.available_resources().get("CPU", 0) >= self.ray.cluster_resources().get("CPU", 0):
                freed = round(time.monotonic() - asked, 1)
                break
            time.sleep(0.05)
        job_set = outcome["set"]
        statuses = [c.status for c in job_set.results()]
        return {"busy": busy, "freed_after": freed, "cancelled": statuses.count("CANCELLED"),
                "done": statuses.count("DONE"), "total": len(statuses)}

    def coordinator_killed(self, then: str) -> dict[str, Any]:
        """kill -9 of `jobman run --executor ray`, then `jobman resume` on the cluster (then=
        "cluster") or, once the cluster is gone, with --executor local (then="local")."""
        run = jobman("run", self.inputs["medium"], "--executor", "ray", "--ray-address", self.address,
                     "--seed", str(SEED), "--shots", str(SHOTS), "--chunk-size", "15", "--max-in-flight", "1",
                     "--name", f"killed-{then}", env=self.env, wait=False)
        set_id = run.stdout.readline().strip()
        store = JobManager(self.env["JOBMAN_HOME"])
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and store.job_set(set_id).statuses().count("DONE") < 2:
            time.sleep(0.02)
        os.kill(run.pid, signal.SIGKILL)
        run.wait()
        run.stdout.close()
        done_at_kill = store.job_set(set_id).statuses().count("DONE")
        facts: dict[str, Any] = {"done_at_kill": done_at_kill, "chunks": store.job_set(set_id)._set.record.num_chunks}
        if then == "local":
            self.ray.shutdown()  # this driver first: a driver whose cluster vanished exits later
            self.cluster.shutdown()
            refused = jobman("resume", set_id, env=self.env)
            facts.update(refused_code=refused.returncode, refused_err=refused.stderr.strip().splitlines()[-1:])
            resumed = jobman("resume", set_id, "--executor", "local", env=self.env)
        else:
            resumed = jobman("resume", set_id, env=self.env)
        job_set = store.job_set(set_id)
        facts.update(code=resumed.returncode, stderr=resumed.stderr[-2000:],
                     same=answers(job_set) == self.local["medium"], once=ended_once(job_set))
        return facts


def main() -> None:
    workdir = Path(sys.argv[1])
    scenarios = Scenarios(workdir)
    report("nodes", scenarios.nodes)
    report("exact", scenarios.exact)
    report("fake-transpiled", scenarios.fake_transpiled)
    report("transpile-task-dies", scenarios.transpile_task_dies)
    report("killed-cluster", lambda: scenarios.coordinator_killed("cluster"))
    report("cancel", scenarios.cancel)
    report("node-dies", scenarios.node_dies)
    report("killed-local", lambda: scenarios.coordinator_killed("local"))  # shuts the cluster down
    if scenarios.ray.is_initialized():
        scenarios.ray.shutdown()


if __name__ == "__main__":
    main()

"""The 10,000-circuit benchmark through a Ray cluster of two worker nodes (one CPU each)
against the local executor with two workers, side by side in one invocation.

    python bench/ray_bench.py               # 3 rounds of each, alternating (~2 min on 2 cores)
    python bench/ray_bench.py --rounds 1 --circuits 2000

It re-runs itself inside a network namespace with only a loopback interface (``unshare
--net``, as root), so that every Ray node binds 127.0.0.1 (see the README, "Running on a
cluster"). There it starts ``ray.cluster_utils.Cluster``: a head with no CPU for tasks (the
jobman coordinator runs beside it) and two worker nodes of one CPU each. Both sides are the
real CLI, ``jobman run FILE --shots 1000 --seed 7`` with and without ``--executor ray
--ray-address ADDR``, with their whole start-up; throughput is circuits per second of the
median run, and the target is ray / local >= 0.9. Results are checked to be identical.

The per-chunk overhead of Ray is measured apart: one chunk of 1000 circuits at a time as a
Ray task, the time around ``ray.get`` less the time ``run_chunk`` took inside the task (QPY
bytes put into the object store, scheduling, the answer's transfer and decoding).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from statistics import median

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from circuits import ensure_inputs  # noqa: E402
from measure import Series, run, settle  # noqa: E402

SEED = 7
INSIDE = "JOBMAN_RAY_BENCH_INSIDE"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--circuits", type=int, default=10_000)
    parser.add_argument("--shots", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=HERE / "out")
    args = parser.parse_args(argv)
    if not os.environ.get(INSIDE):
        return _enter_namespace(argv if argv is not None else sys.argv[1:])
    return _bench(args)


def _enter_namespace(argv: list[str]) -> int:
    if shutil.which("unshare") is None:
        sys.exit("needs unshare (util-linux) and root: Ray must stay on loopback here")
    command = " ".join([sys.executable, str(Path(__file__).resolve()), *argv])
    env = dict(os.environ, **{INSIDE: "1"})
    return subprocess.call(["unshare", "--net", "sh", "-c", f"ip link set lo up && exec {command}"], env=env)


def _bench(args: argparse.Namespace) -> int:
    import ray
    from ray.cluster_utils import Cluster

    path = ensure_inputs(args.out / "inputs", [args.circuits], 10_000, SEED)[args.circuits]
    store = args.out / f"ray-store-{time.strftime('%Y%m%d-%H%M%S')}"
    env = dict(os.environ, JOBMAN_HOME=str(store), PYTHONUNBUFFERED="1")
    env.pop(INSIDE, None)
    started = time.monotonic()
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0})
    for _ in range(2):
        cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    ray.init(address=cluster.address, log_to_driver=False, logging_level="ERROR")
    nodes = [(n["NodeManagerAddress"], n["Resources"].get("CPU", 0)) for n in ray.nodes() if n["Alive"]]
    _note(f"cluster up in {time.monotonic() - started:.1f} s: nodes {nodes}")
    base = [sys.executable, "-m", "jobman", "run", str(path), "--shots", str(args.shots), "--seed", str(SEED)]
    sides = {"local (2 workers)": base,
             "ray (2 worker nodes x 1 CPU)": base + ["--executor", "ray", "--ray-address", cluster.address]}
    series = {label: Series(label, args.circuits) for label in sides}
    sets: dict[str, str] = {}
    try:
        for round_number in range(args.rounds):
            order = list(sides) if round_number % 2 == 0 else list(reversed(sides))
            for label in order:
                settle(patience=20)
                sample = run(sides[label], env, watch=False)
                series[label].samples.append(sample)
                sets[label] = re.search(r"\b\d{8}-\d{6}-[0-9a-f]{7}\b", sample.stdout).group(0)
                _note(f"{label}: {sample.seconds:.2f} s, {args.circuits / sample.seconds:,.0f} circuits/s, "
                      f"foreign load {sample.foreign_cores:.2f} cores")
        overhead = _chunk_overhead(ray, path, args.shots, chunks=max(1, min(5, args.circuits // 1000)))
    finally:
        ray.shutdown()
        cluster.shutdown()
    same = _same_results(store, list(sets.values()))
    _report(args, series, overhead, same)
    return 0


def _chunk_overhead(ray, path: Path, shots: int, chunks: int = 5) -> dict[str, float]:
    """Median seconds per chunk of 1000 circuits: around ``ray.get``, inside the task, and the
    difference (Ray's own cost per chunk)."""
    from jobman.backends.aer_chunk import encode_circuits, plan_runs, run_chunk
    from jobman.backends.base import RunOptions
    from jobman.inputs import open_source

    @ray.remote(num_cpus=1, max_retries=0)
    def timed(payload, runs, options):
        begun = time.perf_counter()
        answer = run_chunk(payload, runs, options)
        return time.perf_counter() - begun, len(answer["outcomes"])

    source = open_source([str(path)])
    options = {"method": "automatic", "device": "CPU", "max_parallel_experiments": 0, "max_parallel_threads": 1}
    ray.get(timed.remote(encode_circuits(source.load(0, 10)), plan_runs([(0, 10)], RunOptions(shots=shots)),
                         options))  # a warm worker, as in a run after its first chunk
    around, inside = [], []
    for k in range(chunks):
        start, stop = k * 1000, (k + 1) * 1000
        payload = encode_circuits(source.load(start, stop))
        runs = plan_runs([(start, stop)], RunOptions(shots=shots, seed=SEED))
        begun = time.perf_counter()
        seconds, count = ray.get(timed.remote(ray.put(payload), runs, options))
        around.append(time.perf_counter() - begun)
        inside.append(seconds)
    source.close()
    return {"around": median(around), "inside": median(inside),
            "overhead": median(a - i for a, i in zip(around, inside))}


def _same_results(store: Path, set_ids: list[str]) -> bool:
    from jobman import JobManager

    manager = JobManager(store)
    answers = [[(c.status, c.counts) for c in manager.job_set(set_id).results()] for set_id in set_ids]
    return all(answer == answers[0] for answer in answers[1:])


def _report(args: argparse.Namespace, series: dict[str, Series], overhead: dict[str, float], same: bool) -> None:
    local, ray_side = series.values()
    ratio = local.seconds / ray_side.seconds  # throughput ray / local
    lines = [f"jobman on Ray vs local, {time.strftime('%Y-%m-%d %H:%M')}: {args.circuits:,} circuits x "
             f"{args.shots} shots, {args.rounds} rounds each, alternating",
             f"machine: {os.cpu_count()} cores; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
             "",
             f"throughput: ray {args.circuits / ray_side.seconds:,.0f} / local {args.circuits / local.seconds:,.0f} "
             f"circuits/s = {ratio:.2f}  (goal >= 0.90: {'PASS' if ratio >= 0.9 else 'FAIL'})",
             f"per chunk of 1000: {overhead['around'] * 1000:.0f} ms around ray.get, {overhead['inside'] * 1000:.0f} ms "
             f"in run_chunk: Ray's overhead {overhead['overhead'] * 1000:.0f} ms per chunk",
             f"results identical on both sides: {same}",
             ""]
    lines += [f"  {s.label:30} {s.spread()}" for s in series.values()]
    print("\n".join(lines))
    (args.out / "ray-bench.json").write_text(json.dumps(
        {"ratio": ratio, "overhead": overhead, "same": same,
         "series": {s.label: [x.seconds for x in s.samples] for s in series.values()}}, indent=1))


def _note(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())

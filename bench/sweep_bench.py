"""Issue 12 point 5: a parameter sweep through jobman against qiskit-aer's SamplerV2 and jobman
on bound circuits, side by side.

    python bench/sweep_bench.py                  # 10,000 points, 100 and 1000 shots, 3 rounds
    python bench/sweep_bench.py --points 2000    # smaller, for a busy machine
    python bench/sweep_bench.py --smoke          # a few seconds: proves the script works

The task: a 6-qubit, 12-parameter ansatz (two layers of RY, CX chain) at N random points.
Three commands, each a fresh process (start-up and imports included), run alternately:

* ``sampler``: qiskit-aer's ``SamplerV2(seed=7).run([(ansatz, values)], shots=S).result()``
  (``sweep_sampler.py``: loads the circuit and the values, runs, persists nothing);
* ``sampler-1t``: the same with Aer on one thread (``max_parallel_threads=1``): shown, not a
  target (Aer's default threads suffer badly on a busy machine);
* ``bound``: ``jobman run bound.qpy --shots S --seed 7`` on the N circuits bound one by one;
* ``sweep``: ``jobman run ansatz.qpy --parameters values.npy --shots S --seed 7``.

Targets: sweep / sampler <= 0.6 and sweep / bound <= 0.6, at 100 shots (and shown at 1000).
Both jobman sets must give identical counts per point (same seed): checked and printed.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from measure import Series, run, settle  # noqa: E402

HERE = Path(__file__).resolve().parent
SEED = 7
QUBITS, PARAMETERS = 6, 12
GOAL = 0.6
LABELS = ("sampler", "sampler-1t", "bound", "sweep")


def ansatz() -> "object":
    """Two layers of RY on 6 qubits with a CX chain between them: 12 parameters, measured."""
    from qiskit import QuantumCircuit
    from qiskit.circuit import ParameterVector

    theta = ParameterVector("theta", PARAMETERS)
    circuit = QuantumCircuit(QUBITS, name="ansatz")
    for layer in range(2):
        for q in range(QUBITS):
            circuit.ry(theta[layer * QUBITS + q], q)
        for q in range(QUBITS - 1):
            circuit.cx(q, q + 1)
    circuit.measure_all()
    return circuit


def make_inputs(folder: Path, points: int) -> dict[str, Path]:
    """The ansatz, its values and the bound circuits, written once per size."""
    import numpy as np
    from qiskit import qpy

    folder.mkdir(parents=True, exist_ok=True)
    paths = {"ansatz": folder / "ansatz.qpy", "values": folder / f"values-{points}.npy",
             "bound": folder / f"bound-{points}.qpy"}
    if all(p.exists() for p in paths.values()):
        return paths
    circuit = ansatz()
    values = np.random.default_rng(SEED).uniform(0, 2 * np.pi, (points, PARAMETERS))
    with open(paths["ansatz"], "wb") as handle:
        qpy.dump(circuit, handle)
    np.save(paths["values"], values)
    with open(paths["bound"], "wb") as handle:
        qpy.dump([circuit.assign_parameters(row) for row in values], handle)
    return paths


def commands(paths: dict[str, Path], shots: int) -> dict[str, list[str]]:
    jobman = [sys.executable, "-m", "jobman", "-q", "run"]
    common = ["--shots", str(shots), "--seed", str(SEED)]
    return {
        "sampler": [sys.executable, str(HERE / "sweep_sampler.py"), str(paths["ansatz"]), str(paths["values"]),
                    *common],
        "sampler-1t": [sys.executable, str(HERE / "sweep_sampler.py"), str(paths["ansatz"]),
                       str(paths["values"]), *common, "--threads", "1"],
        "bound": [*jobman, str(paths["bound"]), *common, "--name", f"bound-{shots}"],
        "sweep": [*jobman, str(paths["ansatz"]), "--parameters", str(paths["values"]), *common,
                  "--name", f"sweep-{shots}"],
    }


def same_counts(home: Path, shots: int) -> bool:
    """Whether the newest bound and sweep sets at ``shots`` agree point by point."""
    from jobman.result import ManagedResult
    from jobman.store import Store

    store = Store(home)
    newest = {}
    for set_id in store.set_ids():
        set_store = store.open_set(set_id)
        newest[set_store.record.name] = set_store
    bound, sweep = (ManagedResult(newest[f"{kind}-{shots}"]) for kind in ("bound", "sweep"))
    return len(bound) == len(sweep) and all(a.counts == b.counts for a, b in zip(bound, sweep))


def measure(paths: dict[str, Path], home: Path, shots: int, rounds: int, patience: float) -> dict[str, Series]:
    env = dict(os.environ, JOBMAN_HOME=str(home))
    series = {label: Series(label) for label in LABELS}
    todo = commands(paths, shots)
    for k in range(rounds):
        order = list(todo) if k % 2 == 0 else list(reversed(todo))
        for label in order:
            settle(patience=patience)
            series[label].samples.append(run(todo[label], env=env, watch=False))
    return series


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=10_000)
    parser.add_argument("--shots", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--patience", type=float, default=10.0, help="seconds to wait for a quiet machine")
    parser.add_argument("--smoke", action="store_true", help="200 points, one round, 100 shots")
    parser.add_argument("--out", type=Path, default=HERE / "out")
    args = parser.parse_args()
    if args.smoke:
        args.points, args.rounds, args.shots, args.patience = 200, 1, [100], 0.0
    began = time.time()
    paths = make_inputs(args.out / "sweep-inputs", args.points)
    home = args.out / f"sweep-store-{os.getpid()}"
    print(f"jobman sweep benchmark, {time.strftime('%Y-%m-%d %H:%M')}: {args.points:,} points of a "
          f"{QUBITS}-qubit, {PARAMETERS}-parameter ansatz, {args.rounds} rounds each, alternating")
    print(f"machine: {os.cpu_count()} cores; Python {platform.python_version()}; load average "
          + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    try:
        lines = []
        for shots in args.shots:
            series = measure(paths, home, shots, args.rounds, args.patience)
            sweep, sampler, bound, single = (series[k].seconds for k in ("sweep", "sampler", "bound",
                                                                          "sampler-1t"))
            same = same_counts(home, shots)
            for other, value in (("qiskit-aer SamplerV2", sampler), ("jobman on bound circuits", bound)):
                ratio = sweep / value
                verdict = "PASS" if ratio <= GOAL else "FAIL"
                lines.append(f"{shots:>5} shots  sweep / {other:<25} {sweep:6.2f} s / {value:6.2f} s = "
                             f"{ratio:4.2f}  (goal <= {GOAL}: {verdict})")
            lines.append(f"{shots:>5} shots  sweep / {'SamplerV2, Aer on 1 thread':<25} {sweep:6.2f} s / "
                         f"{single:6.2f} s = {sweep / single:4.2f}  (not a target)")
            lines.append(f"{shots:>5} shots  same counts per point, bound and sweep: {same}")
            for label in LABELS:
                lines.append(f"             {label:<10} {series[label].spread()}")
        print()
        print("\n".join(lines))
        print(f"\ntook {time.time() - began:.0f} s; load average after: "
              + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    finally:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()

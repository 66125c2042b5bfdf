"""The baseline jobman is measured against: the plain script a user would write.

It loads the whole QPY file, runs it on ``AerSimulator(max_parallel_experiments=0)`` in
chunks of 1000 with the seeds jobman uses, and keeps every circuit's counts in memory.
It persists nothing and cannot resume.

    python bench/plain_aer.py circuits.qpy --shots 1000 --seed 7
"""

from __future__ import annotations

import argparse

from qiskit import qpy
from qiskit_aer import AerSimulator


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path")
    parser.add_argument("--shots", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--chunk-size", type=int, default=1000)
    args = parser.parse_args()
    with open(args.path, "rb") as handle:
        circuits = qpy.load(handle)
    simulator = AerSimulator(max_parallel_experiments=0)
    counts = []
    for start in range(0, len(circuits), args.chunk_size):
        chunk = circuits[start:start + args.chunk_size]
        result = simulator.run(chunk, shots=args.shots, seed_simulator=args.seed + 2113 * start).result()
        counts.extend(experiment.data.counts for experiment in result.results)
    print(f"{len(counts)} circuits")


if __name__ == "__main__":
    main()

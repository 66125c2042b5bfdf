"""The sweep benchmark's baseline: qiskit-aer's SamplerV2 on one PUB, as a user would write it.

    python bench/sweep_sampler.py ansatz.qpy values.npy --shots 100 --seed 7

It loads the circuit and the values, runs ``SamplerV2(seed=...).run([(circuit, values)])`` and
waits for the result. It persists nothing and cannot resume. ``--threads 1`` runs Aer on one
thread (its default uses every core, which a busy machine punishes).
"""

from __future__ import annotations

import argparse

import numpy as np
from qiskit import qpy
from qiskit_aer.primitives import SamplerV2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("circuit")
    parser.add_argument("values")
    parser.add_argument("--shots", type=int, default=100)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--threads", type=int, default=None, help="Aer's max_parallel_threads (default: Aer's)")
    args = parser.parse_args()
    with open(args.circuit, "rb") as handle:
        circuit = qpy.load(handle)[0]
    values = np.load(args.values, allow_pickle=False)
    options = None if args.threads is None else {"backend_options": {"max_parallel_threads": args.threads}}
    result = SamplerV2(seed=args.seed, options=options).run([(circuit, values)], shots=args.shots).result()
    print(f"{result[0].data.meas.size} points")


if __name__ == "__main__":
    main()

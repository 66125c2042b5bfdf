"""Transpiling to a device's ISA: seeded, the same in worker processes as in this one."""

from __future__ import annotations

import warnings

from qiskit.circuit.random import random_circuit

from jobman.backends.transpile import Transpiler


def test_parallel_transpiling_gives_exactly_the_serial_circuits():
    from qiskit_ibm_runtime.fake_provider import FakeManilaV2

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        target = FakeManilaV2().target
    circuits = [random_circuit(4, 5, measure=True, seed=i) for i in range(8)]
    serial = Transpiler(target, 2, workers=1).run(circuits, seed=7)
    parallel = Transpiler(target, 2, workers=2, parallel_min=2)
    try:
        assert parallel.run(circuits, seed=7) == serial  # and the pool is reused:
        assert parallel.run(circuits[:4], seed=7) == serial[:4]
    finally:
        parallel.close()
    assert Transpiler(target, 2, workers=1).run(circuits, seed=7) == serial  # reproducible
    assert all(set(c.count_ops()) <= set(target.operation_names) | {"barrier"} for c in serial)

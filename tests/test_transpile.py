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


def manila_target():
    from qiskit_ibm_runtime.fake_provider import FakeManilaV2

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return FakeManilaV2().target


def test_isa_problem_checks_each_instruction_on_its_qubits_as_the_runtime_does():
    from qiskit import QuantumCircuit

    from jobman.backends.transpile import isa_problem

    target = manila_target()  # a line 0-1-2-3-4 of cx, sx, rz, x
    ok = QuantumCircuit(5, 2)
    ok.x(0)
    ok.cx(0, 1)
    with ok.if_test((ok.clbits[0], 1)):
        ok.sx(1)
    ok.barrier()
    ok.measure([0, 1], [0, 1])
    assert isa_problem(ok, target) is None
    far = QuantumCircuit(5, 1)
    far.cx(0, 4)
    far.measure(0, 0)
    assert isa_problem(far, target) == "cx not supported on qubits (0, 4)"
    inside = QuantumCircuit(5, 1)
    with inside.if_test((inside.clbits[0], 1)):
        inside.h(2)
    assert isa_problem(inside, target) == "h not supported on qubits (2,)"
    assert "6 qubits" in isa_problem(QuantumCircuit(6), target)


def test_transpile_options_reach_the_pass_manager_and_bad_ones_are_refused():
    import pytest
    from qiskit import QuantumCircuit

    from jobman.backends.transpile import check_options
    from jobman.exceptions import UsageError

    target = manila_target()
    circuit = QuantumCircuit(2, 2)
    circuit.h(0)
    circuit.measure([0, 1], [0, 1])
    plain = Transpiler(target, 1, workers=1).run([circuit], seed=3)[0]
    alap = Transpiler(target, 1, workers=1, options={"scheduling_method": "alap"}).run([circuit], seed=3)[0]
    assert "delay" not in plain.count_ops() and "delay" in alap.count_ops()  # idle qubits padded
    assert check_options(target, 1, {"scheduling_method": "alap"}) == {"scheduling_method": "alap"}
    for options, message in (({"seed_transpiler": 1}, "'seed_transpiler' is set by jobman: use --seed"),
                             ({"optimization_level": 3}, "use -O"),
                             ({"bogus": 1}, "unknown transpile option 'bogus'"),
                             ({"scheduling_method": "nope"}, "the transpiler refuses the transpile options"),
                             ({"initial_layout": (0, 1)}, "cannot be recorded")):
        with pytest.raises(UsageError, match=message):
            check_options(target, 1, options)


def test_a_target_without_a_qubit_count_takes_any_width():
    """Qiskit's ideal targets (BasicSimulator's) have ``num_qubits`` None."""
    from qiskit import QuantumCircuit
    from qiskit.providers.basic_provider import BasicSimulator

    from jobman.backends.transpile import isa_problem

    wide = QuantumCircuit(40)
    wide.h(0)
    wide.cx(0, 39)
    wide.measure_all()
    target = BasicSimulator().target
    assert target.num_qubits is None and isa_problem(wide, target) is None
    from qiskit.circuit.library import C3XGate

    wide.append(C3XGate(), [0, 1, 2, 3])
    assert isa_problem(wide, target) == "mcx not supported on qubits (0, 1, 2, 3)"

"""Real workloads for the equivalence tests: benchmark circuits and a matrix of circuit features.

:func:`benchmark_circuits` builds the circuits of the public MQT Bench suite's best-known
families (GHZ, W state, graph state, QFT, entangled QFT, Deutsch-Jozsa, exact QPE, quantum
volume, random, RealAmplitudes and EfficientSU2 ansätze with random parameters) the way that
suite does, from qiskit's own circuit library, at the sizes asked for. :func:`feature_circuits`
holds one small circuit per feature a real experiment uses: mid-circuit measurement, every
control-flow construct, reset, delays in every unit, initialize, several, loose, overlapping
and reordered registers, metadata. All are small and seeded, so the tests stay fast and exact.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister
from qiskit.circuit import Clbit
from qiskit.circuit.classical import expr


#: MQT Bench's target-independent level: circuits compiled to this gate set.
INDEP_BASIS = ["id", "rz", "sx", "x", "h", "cx", "cz", "rx", "ry", "u", "swap", "measure"]


def benchmark_circuits(sizes: tuple[int, ...] = (2, 3, 5)) -> list[QuantumCircuit]:
    """Every benchmark family at every size, measured, at MQT Bench's target-independent level
    (compiled to :data:`INDEP_BASIS`, seeded), named ``<family>_<size>``."""
    from qiskit import transpile

    circuits = []
    for size in sizes:
        for family, build in BENCHMARKS.items():
            circuit = transpile(build(size), basis_gates=INDEP_BASIS, optimization_level=1,
                                seed_transpiler=size)
            circuit.name = f"{family}_{size}"
            circuits.append(circuit)
    return circuits


def _ghz(n: int) -> QuantumCircuit:
    circuit = QuantumCircuit(n)
    circuit.h(0)
    for k in range(n - 1):
        circuit.cx(k, k + 1)
    circuit.measure_all()
    return circuit


def _wstate(n: int) -> QuantumCircuit:
    circuit = QuantumCircuit(n)
    circuit.x(n - 1)
    for k in range(n - 1, 0, -1):  # MQT Bench's construction: controlled rotations down the line
        theta = 2 * math.acos(math.sqrt(1 / (k + 1)))
        circuit.cry(theta, k, k - 1)
        circuit.cx(k - 1, k)
    circuit.measure_all()
    return circuit


def _graphstate(n: int) -> QuantumCircuit:
    rng = np.random.default_rng(n)
    circuit = QuantumCircuit(n)
    circuit.h(range(n))
    for a in range(n):
        for b in range(a + 1, n):
            if rng.random() < 0.5:
                circuit.cz(a, b)
    circuit.h(range(n))
    circuit.measure_all()
    return circuit


def _qft(n: int) -> QuantumCircuit:
    from qiskit.circuit.library import QFTGate

    circuit = QuantumCircuit(n)
    circuit.x(range(0, n, 2))
    circuit.append(QFTGate(n), range(n))
    circuit.measure_all()
    return circuit


def _qftentangled(n: int) -> QuantumCircuit:
    from qiskit.circuit.library import QFTGate

    circuit = QuantumCircuit(n)
    circuit.h(0)
    for k in range(n - 1):
        circuit.cx(k, k + 1)
    circuit.append(QFTGate(n), range(n))
    circuit.measure_all()
    return circuit


def _dj(n: int) -> QuantumCircuit:
    """Deutsch-Jozsa on n-1 inputs with a balanced oracle: outcome all ones on the inputs."""
    inputs = max(1, n - 1)
    circuit = QuantumCircuit(inputs + 1, inputs)
    circuit.x(inputs)
    circuit.h(range(inputs + 1))
    for k in range(inputs):
        circuit.cx(k, inputs)
    circuit.h(range(inputs))
    circuit.measure(range(inputs), range(inputs))
    return circuit


def _qpeexact(n: int) -> QuantumCircuit:
    from qiskit.circuit.library import PhaseGate, phase_estimation

    counting = max(1, n - 1)
    phase = 2 * math.pi * (1 / 2 ** counting) * (2 ** counting // 3 or 1)
    circuit = QuantumCircuit(counting + 1, counting)
    circuit.x(counting)
    circuit.compose(phase_estimation(counting, PhaseGate(phase)), range(counting + 1), inplace=True)
    circuit.measure(range(counting), range(counting))
    return circuit


def _qv(n: int) -> QuantumCircuit:
    from qiskit.circuit.library import quantum_volume

    circuit = quantum_volume(n, seed=n)
    circuit.measure_all()
    return circuit


def _random(n: int) -> QuantumCircuit:
    from qiskit.circuit.random import random_circuit

    return random_circuit(n, 4, max_operands=2, measure=True, seed=n)


def _ansatz(kind: str) -> Callable[[int], QuantumCircuit]:
    def build(n: int) -> QuantumCircuit:
        from qiskit.circuit.library import efficient_su2, real_amplitudes

        make = real_amplitudes if kind == "real" else efficient_su2
        circuit = make(n, reps=2)
        values = np.random.default_rng(n).uniform(0, 2 * math.pi, circuit.num_parameters)
        circuit = circuit.assign_parameters(values)
        circuit.measure_all()
        return circuit

    return build


BENCHMARKS: dict[str, Callable[[int], QuantumCircuit]] = {
    "ghz": _ghz, "wstate": _wstate, "graphstate": _graphstate, "qft": _qft,
    "qftentangled": _qftentangled, "dj": _dj, "qpeexact": _qpeexact, "qv": _qv, "random": _random,
    "realamprandom": _ansatz("real"), "su2random": _ansatz("su2"),
}


# ----------------------------------------------------------------------------- features
def _mid_circuit_measurement() -> QuantumCircuit:
    circuit = QuantumCircuit(2, 3)
    circuit.h(0)
    circuit.measure(0, 0)
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.measure(0, 1)
    circuit.measure(1, 2)
    return circuit


def _if_else() -> QuantumCircuit:
    qreg, creg = QuantumRegister(2, "q"), ClassicalRegister(2, "c")
    circuit = QuantumCircuit(qreg, creg)
    circuit.h(0)
    circuit.measure(0, creg[0])
    with circuit.if_test((creg[0], 1)) as orelse:
        circuit.x(1)
    with orelse:
        circuit.h(1)
    circuit.measure(1, creg[1])
    return circuit


def _switch() -> QuantumCircuit:
    qreg, sel, out = QuantumRegister(3, "q"), ClassicalRegister(2, "sel"), ClassicalRegister(1, "out")
    circuit = QuantumCircuit(qreg, sel, out)
    circuit.h([0, 1])
    circuit.measure([0, 1], sel)
    with circuit.switch(sel) as case:
        with case(0):
            circuit.x(2)
        with case(1, 2):
            circuit.h(2)
        with case(case.DEFAULT):
            circuit.rx(0.7, 2)
    circuit.measure(2, out)
    return circuit


def _expr_condition() -> QuantumCircuit:
    qreg, creg, out = QuantumRegister(3, "q"), ClassicalRegister(2, "c"), ClassicalRegister(1, "out")
    circuit = QuantumCircuit(qreg, creg, out)
    circuit.h([0, 1])
    circuit.measure([0, 1], creg)
    with circuit.if_test(expr.equal(creg, 2)):
        circuit.x(2)
    circuit.measure(2, out)
    return circuit


def _for_loop() -> QuantumCircuit:
    circuit = QuantumCircuit(1, 1)
    with circuit.for_loop(range(3)):
        circuit.rx(0.4, 0)
    circuit.measure(0, 0)
    return circuit


def _while_loop() -> QuantumCircuit:
    qreg, creg = QuantumRegister(2, "q"), ClassicalRegister(2, "c")
    circuit = QuantumCircuit(qreg, creg)
    circuit.h(0)
    circuit.measure(0, creg[0])
    with circuit.while_loop((creg[0], 1)):  # repeat until qubit 0 reads 0, counting on qubit 1
        circuit.h(0)
        circuit.x(1)
        circuit.measure(0, creg[0])
    circuit.measure(1, creg[1])
    return circuit


def _reset() -> QuantumCircuit:
    circuit = QuantumCircuit(2, 3)
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.measure(0, 0)
    circuit.reset(0)
    circuit.h(0)
    circuit.measure(0, 1)
    circuit.reset(1)
    circuit.measure(1, 2)
    return circuit


def _delay(duration: float, unit: str) -> Callable[[], QuantumCircuit]:
    def build() -> QuantumCircuit:
        circuit = QuantumCircuit(2, 2)
        circuit.h(0)
        circuit.delay(duration, 0, unit=unit)
        circuit.cx(0, 1)
        circuit.delay(duration, [0, 1], unit=unit)
        circuit.measure([0, 1], [0, 1])
        return circuit

    return build


def _initialize() -> QuantumCircuit:
    circuit = QuantumCircuit(3, 3)
    circuit.initialize([0.6, 0.8], 0)
    circuit.initialize([1 / math.sqrt(2), 0, 0, 1j / math.sqrt(2)], [1, 2])
    circuit.measure(range(3), range(3))
    return circuit


def _several_registers() -> QuantumCircuit:
    qreg, a, b = QuantumRegister(3, "q"), ClassicalRegister(2, "a"), ClassicalRegister(1, "b")
    circuit = QuantumCircuit(qreg, a, b)
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.x(2)
    circuit.measure([0, 1], a)
    circuit.measure(2, b[0])
    return circuit


def _measure_all_over_register() -> QuantumCircuit:
    circuit = QuantumCircuit(2, 2)
    circuit.h(0)
    circuit.measure(0, 1)
    circuit.measure_all()
    return circuit


def _loose_clbits() -> QuantumCircuit:
    circuit = QuantumCircuit(QuantumRegister(2, "q"), [Clbit(), Clbit()])
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.measure([0, 1], [0, 1])
    return circuit


def _loose_and_register() -> QuantumCircuit:
    """Clbits 0-1 in no register, clbit 2 in ``b``: Qiskit's keys show ``b`` only."""
    circuit = QuantumCircuit(QuantumRegister(3, "q"), [Clbit(), Clbit()], ClassicalRegister(1, "b"))
    circuit.h([0, 2])
    circuit.measure([0, 1, 2], [0, 1, 2])
    return circuit


def _overlapping_registers() -> QuantumCircuit:
    bits = [Clbit() for _ in range(3)]
    first = ClassicalRegister(bits=bits[:2], name="first")
    second = ClassicalRegister(bits=bits[1:], name="second")
    circuit = QuantumCircuit(QuantumRegister(3, "q"), bits, first, second)
    circuit.h(0)
    circuit.cx(0, 2)
    circuit.measure([0, 1, 2], [0, 1, 2])
    return circuit


def _reordered_register() -> QuantumCircuit:
    bits = [Clbit() for _ in range(3)]
    backwards = ClassicalRegister(bits=[bits[2], bits[0]], name="backwards")
    circuit = QuantumCircuit(QuantumRegister(3, "q"), bits, backwards)
    circuit.h(0)
    circuit.x(2)
    circuit.measure([0, 1, 2], [0, 1, 2])
    return circuit


def _empty_register() -> QuantumCircuit:
    circuit = QuantumCircuit(QuantumRegister(2, "q"), ClassicalRegister(2, "c"), ClassicalRegister(0, "e"))
    circuit.h(0)
    circuit.measure([0, 1], [0, 1])
    return circuit


def _metadata() -> QuantumCircuit:
    circuit = QuantumCircuit(1, 1)
    circuit.x(0)
    circuit.measure(0, 0)
    circuit.metadata = {"experiment_type": "T1", "xval": 1.5e-05, "qubits": [0], "tags": {"run": 3}}
    return circuit


FEATURES: dict[str, Callable[[], QuantumCircuit]] = {
    "mid_circuit_measurement": _mid_circuit_measurement, "if_else": _if_else, "switch": _switch,
    "expr_condition": _expr_condition, "for_loop": _for_loop, "while_loop": _while_loop,
    "reset": _reset, "initialize": _initialize,
    "delay_dt": _delay(160, "dt"), "delay_ps": _delay(2500, "ps"), "delay_ns": _delay(120.5, "ns"),
    "delay_us": _delay(16, "us"), "delay_us_fraction": _delay(1.5, "us"), "delay_ms": _delay(1, "ms"),
    "delay_ms_fraction": _delay(0.25, "ms"), "delay_s": _delay(2e-6, "s"), "delay_s_int": _delay(1, "s"),
    "several_registers": _several_registers, "measure_all_over_register": _measure_all_over_register,
    "loose_clbits": _loose_clbits, "loose_and_register": _loose_and_register,
    "overlapping_registers": _overlapping_registers, "reordered_register": _reordered_register,
    "empty_register": _empty_register, "metadata": _metadata,
}


def feature_circuits() -> list[QuantumCircuit]:
    """One circuit per feature, named after it."""
    circuits = []
    for name, build in FEATURES.items():
        circuit = build()
        circuit.name = name
        circuits.append(circuit)
    return circuits


def classical_variable() -> QuantumCircuit:
    """A circuit with a classical variable: valid Qiskit that Aer 0.18 cannot run."""
    circuit = QuantumCircuit(1, 1, name="classical_variable")
    flag = circuit.add_var("flag", True)
    circuit.h(0)
    circuit.measure(0, 0)
    with circuit.if_test(flag):
        circuit.x(0)
    return circuit

"""QPY as jobman writes it: delays keep their units, and what QPY cannot hold fails alone."""

import io

import pytest
from qiskit import QuantumCircuit, qpy
from qiskit.circuit import Duration
from qiskit.circuit.classical import expr

from jobman import qpy_codec
from jobman.manager import JobManager
from jobman.status import JobStatus

UNITS = [(160, "dt"), (2500, "ps"), (120.5, "ns"), (16, "us"), (1.5, "us"), (1, "ms"), (2e-6, "s")]


def delayed(duration, unit: str) -> QuantumCircuit:
    circuit = QuantumCircuit(2, 2, name=f"delay-{unit}")
    circuit.h(0)
    circuit.delay(duration, 0, unit=unit)
    with circuit.if_test((circuit.clbits[0], 0)):  # inside control flow too
        circuit.delay(duration, 1, unit=unit)
    circuit.measure([0, 1], [0, 1])
    return circuit


@pytest.mark.parametrize("duration,unit", UNITS)
def test_delays_keep_their_unit_where_plain_qpy_drops_it(duration, unit):
    circuit = delayed(duration, unit)
    assert qpy_codec.loads(qpy_codec.dumps([circuit])) == [circuit]
    assert qpy_codec.problems([circuit]) == {}
    if unit != "dt":  # the bug worked around: plain QPY reloads another circuit, or none
        buffer = io.BytesIO()
        qpy.dump(circuit, buffer)
        try:
            assert qpy.load(io.BytesIO(buffer.getvalue())) != [circuit]
        except Exception:
            pass


def test_a_constant_duration_expression_runs_as_that_duration_with_its_unit():
    circuit = QuantumCircuit(1, 1)
    circuit.delay(expr.lift(Duration.us(3.0)), 0)
    circuit.measure(0, 0)
    [back] = qpy_codec.loads(qpy_codec.dumps([circuit]))
    delay = back.data[0].operation
    assert (delay.duration, delay.unit) == (3.0, "us")
    assert qpy_codec.problems([circuit]) == {}


def test_restore_keeps_the_circuit_object_and_its_length():
    circuit = delayed(16, "us")
    stored = qpy_codec.storable(circuit)
    assert stored is not circuit and stored.data[1].operation.unit == "expr"
    length = len(stored.data)
    assert qpy_codec.restore(stored) is stored and len(stored.data) == length and stored == circuit
    plain = QuantumCircuit(1, 1)
    assert qpy_codec.storable(plain) is plain


def test_a_circuit_qpy_cannot_hold_fails_alone_with_the_reason(tmp_path):
    odd = QuantumCircuit(1, 1, name="odd-metadata")
    odd.x(0)
    odd.measure(0, 0)
    odd.metadata = {"when": object()}  # QPY writes metadata as JSON
    good = [delayed(16, "us"), delayed(2e-6, "s")]
    job_set = JobManager(tmp_path).run([good[0], odd, good[1]], shots=20, seed=1)
    result = job_set.results()
    assert [c.status for c in result] == [JobStatus.DONE, JobStatus.ERROR, JobStatus.DONE]
    failed = result.circuit(1)
    assert failed.name == "odd-metadata" and failed.error.startswith("QPY cannot store this circuit: TypeError")

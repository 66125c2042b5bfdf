"""Noise models recorded as JSON that rebuilds exactly the model given (backends/noise.py)."""

import json
import warnings

import numpy as np
import pytest
from qiskit.circuit.library import XGate
from qiskit_aer.noise import (NoiseModel, ReadoutError, amplitude_damping_error, coherent_unitary_error,
                              depolarizing_error, pauli_error, phase_amplitude_damping_error,
                              thermal_relaxation_error)
from qiskit_aer.noise.passes import RelaxationNoisePass

from jobman.backends import noise
from jobman.exceptions import UsageError


@pytest.fixture(scope="module")
def manila():
    return noise.from_device("fake_manila")


@pytest.fixture(scope="module")
def manila_record(manila):
    return json.loads(json.dumps(noise.record(manila, source="fake_manila"), allow_nan=False))


def through_json(record):
    return json.loads(json.dumps(record, allow_nan=False))


def test_aers_own_round_trip_loses_the_basis_gates_and_the_delay_relaxation(manila):
    assert "relaxation" not in json.dumps(manila.to_dict(serializable=True)).lower()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        assert NoiseModel.from_dict(manila.to_dict()).basis_gates != manila.basis_gates


def test_a_device_model_rebuilds_equal_with_its_delay_relaxation(manila, manila_record):
    record = manila_record
    rebuilt = noise.restore(record)
    assert rebuilt == manila and noise.encode(rebuilt) == record["model"]
    assert rebuilt.basis_gates == manila.basis_gates
    relax, = rebuilt._custom_noise_passes
    original, = manila._custom_noise_passes
    assert (relax._t1s.tolist(), relax._t2s.tolist(), relax._p1s.tolist(), relax._dt) == \
        (original._t1s.tolist(), original._t2s.tolist(), original._p1s.tolist(), original._dt)
    assert noise.describe(record) == "fake_manila"


def test_every_standard_error_kind_rebuilds_exactly():
    model = NoiseModel()
    model.add_all_qubit_quantum_error(depolarizing_error(0.05, 1), ["h", "x"])
    model.add_all_qubit_quantum_error(depolarizing_error(0.1, 2), ["cx"])
    model.add_quantum_error(amplitude_damping_error(0.1), "sx", [0])
    model.add_quantum_error(phase_amplitude_damping_error(0.1, 0.2), "rz", [1])
    model.add_quantum_error(coherent_unitary_error(XGate().to_matrix() * np.exp(0.3j)), "id", [2])
    model.add_quantum_error(thermal_relaxation_error(50e3, 30e3, 100), "y", [0])
    model.add_quantum_error(pauli_error([("X", 0.1), ("I", 0.9)]), "z", [3])
    model.add_all_qubit_readout_error(ReadoutError([[0.9, 0.1], [0.2, 0.8]]))
    record = noise.record(model)
    assert noise.restore(through_json(record)) == model and noise.describe(record) == "custom"


def test_what_cannot_be_recorded_is_refused_not_dropped():
    model = NoiseModel()
    model._custom_noise_passes.append(RelaxationNoisePass([1e-4], [1e-4]))  # on every op, not delays
    with pytest.raises(UsageError, match="noise pass RelaxationNoisePass cannot be recorded"):
        noise.record(model)
    with pytest.raises(UsageError, match="must be a qiskit_aer NoiseModel"):
        noise.record({"errors": []})
    with pytest.raises(UsageError, match="takes a fake device"):
        noise.from_device("ibm_torino")


def test_a_record_that_does_not_rebuild_is_an_error(manila_record):
    record = manila_record
    with pytest.raises(UsageError, match="cannot restore the recorded noise model: unknown .* format 99"):
        noise.restore(dict(record, format=99))
    broken = json.loads(json.dumps(record))
    broken["model"]["local_quantum_errors"][0][2]["circuits"][0]["ops"][0]["kind"] = "mystery"
    with pytest.raises(UsageError, match="cannot restore the recorded noise model: unknown noise op"):
        noise.restore(broken)

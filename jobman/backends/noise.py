"""Aer noise models as JSON that rebuilds exactly the same model: what a job set records.

``NoiseModel.to_dict``/``from_dict`` cannot be trusted for this (qiskit-aer 0.18): ``to_dict``
drops the basis gates and the delay relaxation of ``NoiseModel.from_backend`` (a
``RelaxationNoisePass``), and ``from_dict`` (deprecated) fails on Kraus errors. So this module
writes every part of a model itself: basis gates, noise instructions, quantum errors (their
circuits, op by op, and probabilities), readout errors and the relaxation pass. Anything it
does not know is refused when the set is created, never dropped. :func:`record` checks the
round trip: the rebuilt model encodes to the very same JSON, every part and every float (Aer's
own ``==`` compares channels within a tolerance and ignores noise passes; the tests check it too).

Numbers are exact: floats go through ``repr`` (JSON), complex matrices as real and imaginary
parts, ``inf``/``nan`` as strings.
"""

from __future__ import annotations

import functools
import math
from typing import Any

from jobman.exceptions import UsageError

#: Version of the encoding below.
FORMAT = 1


class NoiseModelError(UsageError):
    """A noise model that jobman cannot record exactly, or a record it cannot rebuild."""


def from_device(name: str) -> Any:
    """The noise model of fake device ``name`` (``fake_manila``): ``NoiseModel.from_backend``."""
    import warnings

    from qiskit_aer.noise import NoiseModel

    from jobman.backends.ibm_service import fake_backend

    if not name.startswith("fake_"):
        raise UsageError(f"--noise-model takes a fake device (e.g. fake_manila), not {name!r}; "
                         "`jobman backends` lists them")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return NoiseModel.from_backend(fake_backend(name))


def record(model: Any, source: str | None = None) -> dict[str, Any]:
    """The JSON record of ``model``, checked to rebuild the same model; NoiseModelError if not."""
    try:
        encoded = encode(model)
        rebuilt = decode(encoded)
        same = encode(rebuilt) == encoded  # every part, exact floats: stricter than Aer's ==
    except NoiseModelError:
        raise
    except Exception as error:
        raise NoiseModelError(f"the noise model cannot be recorded: {type(error).__name__}: {error}") from None
    if not same:
        raise NoiseModelError("the noise model cannot be recorded exactly (it does not rebuild equal "
                              "from its record)")
    return {"format": FORMAT, "source": source, "model": encoded}


def restore(data: dict[str, Any]) -> Any:
    """The noise model a :func:`record` describes; NoiseModelError when it cannot be rebuilt."""
    try:
        if data.get("format") != FORMAT:
            raise NoiseModelError(f"unknown noise model record format {data.get('format')!r}")
        model = decode(data["model"])
        if encode(model) != data["model"]:
            raise NoiseModelError("it rebuilds differently with this qiskit-aer")
    except NoiseModelError as error:
        raise NoiseModelError(f"cannot restore the recorded noise model: {error}") from None
    except Exception as error:
        raise NoiseModelError(f"cannot restore the recorded noise model: {type(error).__name__}: "
                              f"{error}") from None
    return model


def describe(data: dict[str, Any] | None) -> str | None:
    """A short label for a record: its source device, or ``custom``."""
    if not data:
        return None
    return data.get("source") or "custom"


# encoding ---------------------------------------------------------------------------
def encode(model: Any) -> dict[str, Any]:
    """Every part of ``model`` as JSON-ready data; NoiseModelError for parts it does not know."""
    from qiskit_aer.noise import NoiseModel

    if type(model) is not NoiseModel:
        raise NoiseModelError(f"a noise model must be a qiskit_aer NoiseModel, not {type(model).__name__}")
    known = {"_basis_gates", "_noise_instructions", "_noise_qubits", "_default_quantum_errors",
             "_local_quantum_errors", "_default_readout_error", "_local_readout_errors",
             "_custom_noise_passes"}
    unknown = set(vars(model)) - known
    if unknown:
        raise NoiseModelError(f"the noise model has parts jobman cannot record: {', '.join(sorted(unknown))}")
    readout = model._default_readout_error
    return {
        "basis_gates": sorted(model._basis_gates),
        "noise_instructions": sorted(model._noise_instructions),
        "noise_qubits": sorted(model._noise_qubits),
        "default_quantum_errors": [[name, _quantum_error(error)]
                                   for name, error in model._default_quantum_errors.items()],
        "local_quantum_errors": [[name, list(qubits), _quantum_error(error)]
                                 for name, errors in model._local_quantum_errors.items()
                                 for qubits, error in errors.items()],
        "default_readout_error": None if readout is None else _readout_error(readout),
        "local_readout_errors": [[list(qubits), _readout_error(error)]
                                 for qubits, error in model._local_readout_errors.items()],
        "passes": [_relaxation_pass(p) for p in model._custom_noise_passes],
    }


def _quantum_error(error: Any) -> dict[str, Any]:
    from qiskit_aer.noise import QuantumError

    if type(error) is not QuantumError:
        raise NoiseModelError(f"unsupported error type {type(error).__name__} in the noise model")
    return {"num_qubits": error.num_qubits, "probabilities": [_number(p) for p in error.probabilities],
            "circuits": [_noise_circuit(circuit) for circuit in error.circuits]}


def _noise_circuit(circuit: Any) -> dict[str, Any]:
    if circuit.num_clbits or circuit.global_phase:
        raise NoiseModelError("a noise circuit with classical bits or a global phase cannot be recorded")
    return {"num_qubits": circuit.num_qubits,
            "ops": [_operation(item.operation, [circuit.find_bit(q).index for q in item.qubits])
                    for item in circuit.data]}


def _operation(operation: Any, qubits: list[int]) -> dict[str, Any]:
    """One op of a noise circuit: a standard gate, reset, Pauli, unitary or Kraus instruction."""
    from qiskit.circuit import Instruction, Reset
    from qiskit.circuit.library import PauliGate, UnitaryGate

    name = operation.name
    entry: dict[str, Any] = {"name": name, "qubits": qubits}
    if getattr(operation, "label", None):
        raise NoiseModelError(f"a labelled {name!r} in a noise circuit cannot be recorded")
    if isinstance(operation, Reset):
        entry["kind"] = "reset"
    elif isinstance(operation, PauliGate):
        entry.update(kind="pauli", label=operation.params[0])
    elif isinstance(operation, UnitaryGate):
        entry.update(kind="unitary", matrix=_matrix(operation.to_matrix()))
    elif _standard_gate(name) is not None and type(operation) is type(_standard_gate(name)):
        entry.update(kind="gate", params=[_number(p) for p in operation.params])
    elif type(operation) is Instruction and name == "kraus":
        entry.update(kind="kraus", num_qubits=operation.num_qubits,
                     matrices=[_matrix(m) for m in operation.params])
    else:
        raise NoiseModelError(f"instruction {name!r} ({type(operation).__name__}) in the noise model "
                              "cannot be recorded")
    return entry


def _readout_error(error: Any) -> dict[str, Any]:
    from qiskit_aer.noise import ReadoutError

    if type(error) is not ReadoutError:
        raise NoiseModelError(f"unsupported readout error type {type(error).__name__}")
    return {"probabilities": [[_number(p) for p in row] for row in error.probabilities.tolist()]}


def _relaxation_pass(noise_pass: Any) -> dict[str, Any]:
    """The delay relaxation that ``NoiseModel.from_backend`` adds; other passes are refused.

    Its target is not recorded: for delays the pass reads only the delay's own duration (and
    ``dt``), never the target, so the pass rebuilt without one adds exactly the same errors.
    """
    from qiskit.circuit import Delay
    from qiskit_aer.noise.passes import RelaxationNoisePass

    if type(noise_pass) is not RelaxationNoisePass or tuple(noise_pass._ops) != (Delay,) \
            or noise_pass._method != "append":
        raise NoiseModelError(f"noise pass {type(noise_pass).__name__} cannot be recorded")
    return {"kind": "relaxation", "op_types": ["delay"],
            "t1s": [_number(t) for t in noise_pass._t1s.tolist()],
            "t2s": [_number(t) for t in noise_pass._t2s.tolist()],
            "excited_state_populations": [_number(p) for p in noise_pass._p1s.tolist()],
            "dt": None if noise_pass._dt is None else _number(noise_pass._dt)}


def _number(value: Any) -> Any:
    """A float as JSON: finite numbers as they are, ``inf``/``nan`` as strings."""
    if isinstance(value, complex) or hasattr(value, "imag") and getattr(value, "imag", 0):
        raise NoiseModelError(f"a complex parameter {value!r} in the noise model cannot be recorded")
    if isinstance(value, bool) or not isinstance(value, (int, float)) and not hasattr(value, "__float__"):
        raise NoiseModelError(f"parameter {value!r} in the noise model cannot be recorded")
    number = float(value)
    return number if math.isfinite(number) else repr(number)


def _matrix(matrix: Any) -> dict[str, Any]:
    import numpy as np

    array = np.asarray(matrix, dtype=complex)
    return {"re": array.real.tolist(), "im": array.imag.tolist()}


def _standard_gate(name: str) -> Any:
    return _standard_gates().get(name)


@functools.lru_cache(maxsize=1)
def _standard_gates() -> dict[str, Any]:
    from qiskit.circuit.library import get_standard_gate_name_mapping

    return get_standard_gate_name_mapping()


# decoding ---------------------------------------------------------------------------
def decode(data: dict[str, Any]) -> Any:
    """The noise model :func:`encode` wrote, built through Aer's own API."""
    from qiskit_aer.noise import NoiseModel

    model = NoiseModel(basis_gates=list(data["basis_gates"]))
    for name, error in data["default_quantum_errors"]:
        model.add_all_qubit_quantum_error(_to_quantum_error(error), name, warnings=False)
    for name, qubits, error in data["local_quantum_errors"]:
        model.add_quantum_error(_to_quantum_error(error), name, qubits, warnings=False)
    if data["default_readout_error"] is not None:
        model.add_all_qubit_readout_error(_to_readout_error(data["default_readout_error"]), warnings=False)
    for qubits, error in data["local_readout_errors"]:
        model.add_readout_error(_to_readout_error(error), qubits, warnings=False)
    model._custom_noise_passes.extend(_to_relaxation_pass(p) for p in data["passes"])
    model._basis_gates = set(data["basis_gates"])  # the adds above may only ever add to these
    model._noise_instructions = set(data["noise_instructions"])
    model._noise_qubits = set(data["noise_qubits"])
    return model


def _to_quantum_error(data: dict[str, Any]) -> Any:
    from qiskit_aer.noise import QuantumError

    import numpy as np

    probabilities = [_float(p) for p in data["probabilities"]]
    error = QuantumError([(_to_circuit(circuit), p) for circuit, p in zip(data["circuits"], probabilities)])
    error._probs = list(np.array(probabilities))  # as recorded: the constructor renormalises them
    return error


def _to_circuit(data: dict[str, Any]) -> Any:
    from qiskit import QuantumCircuit

    circuit = QuantumCircuit(data["num_qubits"])
    for op in data["ops"]:
        circuit.append(_to_operation(op), op["qubits"])
    return circuit


def _to_operation(op: dict[str, Any]) -> Any:
    from qiskit.circuit import Instruction, Reset
    from qiskit.circuit.library import PauliGate, UnitaryGate

    kind = op["kind"]
    if kind == "reset":
        return Reset()
    if kind == "pauli":
        return PauliGate(op["label"])
    if kind == "unitary":
        return UnitaryGate(_to_matrix(op["matrix"]), check_input=False)
    if kind == "gate":
        gate = _standard_gate(op["name"])
        if gate is None:
            raise NoiseModelError(f"unknown gate {op['name']!r}")
        params = [_float(p) for p in op["params"]]
        return type(gate)(*params) if params else gate
    if kind == "kraus":
        return Instruction("kraus", op["num_qubits"], 0, [_to_matrix(m) for m in op["matrices"]])
    raise NoiseModelError(f"unknown noise operation kind {kind!r}")


def _to_readout_error(data: dict[str, Any]) -> Any:
    from qiskit_aer.noise import ReadoutError

    return ReadoutError([[_float(p) for p in row] for row in data["probabilities"]])


def _to_relaxation_pass(data: dict[str, Any]) -> Any:
    from qiskit.circuit import Delay
    from qiskit_aer.noise.passes import RelaxationNoisePass

    if data.get("kind") != "relaxation" or data.get("op_types") != ["delay"]:
        raise NoiseModelError(f"unknown noise pass {data.get('kind')!r}")
    return RelaxationNoisePass(t1s=[_float(t) for t in data["t1s"]], t2s=[_float(t) for t in data["t2s"]],
                               dt=None if data["dt"] is None else _float(data["dt"]), op_types=Delay,
                               excited_state_populations=[_float(p) for p in data["excited_state_populations"]])


def _float(value: Any) -> float:
    return float(value)


def _to_matrix(data: dict[str, Any]) -> Any:
    import numpy as np

    return np.array(data["re"], dtype=float) + 1j * np.array(data["im"], dtype=float)

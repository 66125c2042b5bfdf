"""Turning what users give into an estimator task: ``EstimatorPub`` objects from Python (as
:class:`jobman.Estimator` makes them), or circuit files with ``--observables H.json`` (and
``--parameters``) from the shell.

An estimator task is a sweep (see :mod:`jobman.sweep`) whose PUBs carry observables: its
points are each PUB's parameter points, and a point's result is the expectation value of
every observable of its PUB there (see :mod:`jobman.pub_data` for how they are read back in
the PUB's broadcast shape). Every problem is a :class:`~jobman.exceptions.UsageError` raised
before the set is written.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Sequence

from jobman.exceptions import UsageError
from jobman.observables import Terms, read_observables_json
from jobman.sweep import check_values

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

    from jobman.inputs import CircuitSource


class Estimates:
    """An estimator PUB's observables: their array's ``shape``, each one's ``terms`` (flat, C
    order), the PUB's ``precision`` and the observables' ``names`` (or None)."""

    def __init__(self, shape: tuple[int, ...], terms: list[Terms], precision: float,
                 names: list[str] | None = None) -> None:
        self.shape, self.terms, self.precision, self.names = shape, terms, precision, names


def is_estimator_list(items: Sequence[Any]) -> bool:
    """Whether ``items`` are ``EstimatorPub`` objects."""
    from qiskit.primitives.containers.estimator_pub import EstimatorPub

    return bool(items) and isinstance(items[0], EstimatorPub)


def coerce_estimator_pubs(items: Sequence[Any]) -> tuple[list[Any], list["np.ndarray"], list[Estimates]]:
    """The circuits, values (shape ``S + (P,)``) and observables of ``EstimatorPub`` objects."""
    from qiskit.primitives.containers.estimator_pub import EstimatorPub

    circuits, values, estimates = [], [], []
    for number, pub in enumerate(items):
        if not isinstance(pub, EstimatorPub):
            raise UsageError(f"PUB {number}: give every PUB as an EstimatorPub (or use jobman.Estimator), "
                             f"not {type(pub).__name__}")
        circuits.append(pub.circuit)
        values.append(check_values(pub.parameter_values.as_array(pub.circuit.parameters), f"PUB {number}"))
        estimates.append(Estimates(tuple(pub.observables.shape), flat_terms(pub.observables),
                                   float(pub.precision or 0.0)))  # none given: exact, as qiskit-aer
    return circuits, values, estimates


def flat_terms(observables: Any) -> list[Terms]:
    """An ``ObservablesArray``'s observables in C order, each as its (pauli, coefficient) terms
    in the order qiskit-aer's ``EstimatorV2`` adds them up."""
    import numpy as np

    indices = list(np.ndindex(*observables.shape)) if observables.shape else [()]
    return [tuple((str(label), float(coeff)) for label, coeff in observables[index].items())
            for index in indices]


def observables_for_files(source: "CircuitSource", path: "str | os.PathLike[str]",
                          entries: list[tuple[int, "np.ndarray"]], precision: float) -> list[Estimates]:
    """The observables of ``--observables path`` for each PUB in ``entries`` (every circuit
    gets the same ones), checked against its circuit's width and values' shape."""
    import numpy as np
    from qiskit.primitives.containers.observables_array import ObservablesArray
    from qiskit.quantum_info import SparsePauliOp

    nested, names = read_observables_json(path)
    where = f"--observables {path}"
    try:
        array = ObservablesArray.coerce(_operators(nested, SparsePauliOp))
    except (ValueError, TypeError) as exc:
        raise UsageError(f"{where}: {' '.join(str(exc).split())}") from None
    terms, shape = flat_terms(array), tuple(array.shape)
    for index, values in entries:
        circuit = source.load(index, index + 1)[0]
        if _measures(circuit):
            raise UsageError(f"{where}: circuit {index} ({circuit.name}) measures; an estimator's circuits "
                             "must not (the observables say what is measured)")
        if array.num_qubits != circuit.num_qubits:
            raise UsageError(f"{where}: the observables act on {array.num_qubits} qubits, but circuit "
                             f"{index} ({circuit.name}) has {circuit.num_qubits}")
        try:
            np.broadcast_shapes(shape, values.shape[:-1])
        except ValueError:
            raise UsageError(f"{where}: observables of shape {shape} do not broadcast with the parameter "
                             f"values' shape {values.shape[:-1]} of circuit {index} ({_nesting_hint(values)})") from None
    return [Estimates(shape, terms, precision, names) for _ in entries]


def _operators(nested: Any, operator: Any) -> Any:
    if nested and isinstance(nested[0], tuple):  # one observable: its terms
        return operator.from_list(nested)
    return [_operators(item, operator) for item in nested]


def check_precision(value: Any, what: str = "precision") -> float:
    """A precision as qiskit-aer's EstimatorV2 takes it: a finite number, 0 or more."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < float("inf"):
        raise UsageError(f"{what} must be a finite number, 0 or more, not {value!r}")
    return float(value)


def check_no_measurements(circuits: Sequence[Any], where: str = "PUB") -> None:
    """An estimator's circuits must not measure (the observables say what is measured)."""
    for number, circuit in enumerate(circuits):
        if _measures(circuit):
            raise UsageError(f"{where} {number}: the circuit measures; an estimator's circuits must not "
                             "(the observables say what is measured)")


def _measures(circuit: Any) -> bool:
    for instruction in circuit.data:
        operation = instruction.operation
        if operation.name == "measure" or any(_measures(b) for b in getattr(operation, "blocks", ())):
            return True
    return False


def _nesting_hint(values: "np.ndarray") -> str:
    """How to nest a list of observables so that each one is taken at every point of ``values``."""
    depth = len(values.shape) - 1  # the values' leading (point) axes
    if depth == 0:
        return "one point: give one observable or any shape of them"
    wrapped = "obs1"
    for _ in range(depth):
        wrapped = f"[{wrapped}]"
    return f"nest the observables as [{wrapped}, ...] to get each one at every point"

"""Digests of a task's inputs that stay the same when a script runs again.

QPY bytes cannot serve: they hold each Parameter's random UUID, so the same script builds the
same circuit with other bytes each time it runs. :func:`circuit_digest` hashes what a circuit
*is* instead: its registers, its parameters by name, its global phase, its metadata and every
instruction (the operation's class, name, parameters, label, control state, duration, the
definition of a gate that is not a standard one, the blocks of control flow, the bits it acts
on by index). Two circuits with one digest run alike; something whose text is unstable (a
``repr`` holding an address) only makes two digests differ, never two circuits match.

:func:`task_digest` combines the circuits, each PUB's parameter values (their bytes and shape)
and whatever else decides the samples (shots, seed, backend and its options).
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import TYPE_CHECKING, Any, Iterable

if TYPE_CHECKING:  # pragma: no cover
    from qiskit import QuantumCircuit

#: Bumped when what the digests cover changes, so that old digests never match new ones.
DIGEST_VERSION = 1
#: The names Qiskit gives circuits built without one: left out of digests.
AUTO_NAME = re.compile(r"circuit-\d+")


def circuit_digest(circuit: "QuantumCircuit") -> str:
    """A hex SHA-256 of what ``circuit`` is (see the module's notes)."""
    digest = hashlib.sha256()
    _feed_circuit(digest, circuit, named=True)
    return digest.hexdigest()


def task_digest(circuits: Iterable["QuantumCircuit"], values: Iterable[Any], settings: dict[str, Any]) -> str:
    """A hex SHA-256 of a task: its circuits, each one's parameter values (an array, or None
    for a circuit run as it is) and ``settings`` (JSON-ready, e.g. shots, seed, backend)."""
    import numpy as np

    digest = hashlib.sha256()
    _feed(digest, ("task", DIGEST_VERSION, _json(settings)))
    for circuit, array in zip(circuits, values, strict=True):
        _feed(digest, ("pub", circuit_digest(circuit)))
        if array is not None:
            given = np.ascontiguousarray(array, dtype=np.float64)
            _feed(digest, ("values", given.shape))
            digest.update(given.tobytes())
    return digest.hexdigest()


def _feed(digest: Any, item: Any) -> None:
    text = repr(item).encode()
    digest.update(len(text).to_bytes(8, "big"))
    digest.update(text)


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=repr)


def _feed_circuit(digest: Any, circuit: "QuantumCircuit", named: bool = False) -> None:
    """The circuit's parts; its name only when ``named`` (a definition's or a block's name is
    made up afresh, ``circuit-42``, each time one is built)."""
    _feed(digest, ("circuit", _given_name(circuit) if named else None, circuit.num_qubits, circuit.num_clbits,
                   [(reg.name, reg.size) for reg in circuit.qregs],
                   [(reg.name, reg.size) for reg in circuit.cregs],
                   [str(param) for param in circuit.parameters], str(circuit.global_phase),
                   _json(circuit.metadata or {})))
    for instruction in circuit.data:
        operation = instruction.operation
        _feed(digest, ("op", type(operation).__qualname__, operation.name, operation.num_qubits,
                       operation.num_clbits, getattr(operation, "label", None),
                       getattr(operation, "ctrl_state", None), getattr(operation, "duration", None),
                       getattr(operation, "unit", None), _condition(operation),
                       [circuit.find_bit(bit).index for bit in instruction.qubits],
                       [circuit.find_bit(bit).index for bit in instruction.clbits]))
        for param in getattr(operation, "params", ()):
            _feed_param(digest, param)
        if _custom(operation):
            _feed(digest, "definition")
            _feed_circuit(digest, operation.definition)


def _given_name(circuit: "QuantumCircuit") -> str | None:
    """The circuit's name, None for one Qiskit made up (``circuit-46``: a counter of the process)."""
    return None if AUTO_NAME.fullmatch(circuit.name or "") else circuit.name


def _feed_param(digest: Any, param: Any) -> None:
    import numpy as np
    from qiskit import QuantumCircuit

    if isinstance(param, QuantumCircuit):  # a block of control flow
        _feed(digest, "block")
        _feed_circuit(digest, param)
    elif isinstance(param, np.ndarray):  # a unitary, an initial state: every byte (repr elides)
        _feed(digest, ("array", str(param.dtype), param.shape))
        digest.update(np.ascontiguousarray(param).tobytes())
    else:  # numbers, and parameter expressions by their text (names, not UUIDs)
        _feed(digest, ("param", type(param).__qualname__, str(param)))


def _condition(operation: Any) -> str | None:
    condition = getattr(operation, "condition", None)
    return None if condition is None else repr(condition)


def _custom(operation: Any) -> bool:
    """Whether the operation is a gate of the user's own (its definition says what it does)."""
    if getattr(operation, "_standard_gate", None) is not None or operation.name in ("measure", "barrier",
                                                                                      "reset", "delay"):
        return False
    try:
        return getattr(operation, "definition", None) is not None
    except Exception:  # a definition that cannot be built: the name and parameters say it all
        return False

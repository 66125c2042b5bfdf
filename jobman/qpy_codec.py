"""QPY that reloads as the circuits given: what jobman writes, and how it reads it back.

Qiskit 2.6's QPY drops the unit of a Delay: ``delay(16, "us")`` reloads as ``delay(16, "dt")``
and a delay of ``1.5e-6`` seconds fails to load. A delay whose duration is a constant
duration expression (``Delay(expr.lift(Duration.us(16)))``) survives, but Aer cannot run that
form. So jobman writes every delay with a unit other than ``dt`` in that form
(:func:`storable`) and, after every load, writes constant duration expressions back as a
duration with its unit (:func:`restore`): the circuit that runs is the one given.

:func:`dump` also checks that every circuit reloads equal to the one given; a circuit that
does not (or that QPY cannot write at all) is named with the reason, so that it fails alone
instead of running as something else. qiskit is imported inside functions only.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any, Sequence

from jobman.log import swallowed

if TYPE_CHECKING:  # pragma: no cover
    from qiskit import QuantumCircuit

#: Metadata key of the stand-in stored for a circuit QPY cannot hold: the reason it fails.
UNSTORABLE_KEY = "__jobman_unstorable__"
#: Circuits checked at a time by :func:`faithful` (bounds the memory of the check).
CHECK_BATCH = 1000
#: Units QPY keeps as they are.
KEPT_UNITS = ("dt", "expr")
#: Duration classes of ``qiskit.circuit.Duration`` by unit.
UNITS = ("dt", "ps", "ns", "us", "ms", "s")


def storable(circuit: "QuantumCircuit") -> "QuantumCircuit":
    """``circuit``, or a copy whose delays with a unit QPY drops are duration expressions."""
    return _rewrite(circuit, _to_expression)


def restore(circuit: "QuantumCircuit") -> "QuantumCircuit":
    """``circuit`` with delays of a constant duration expression written as a duration with
    its unit, in place (the circuit keeps its identity and its number of instructions)."""
    rewritten = _rewrite(circuit, _to_unit)
    if rewritten is not circuit:
        circuit.data = rewritten.data
    return circuit


def dumps(circuits: Sequence["QuantumCircuit"]) -> bytes:
    """QPY bytes of ``circuits``, delays in the form that keeps their units (no check)."""
    from qiskit import qpy

    buffer = io.BytesIO()
    qpy.dump([storable(circuit) for circuit in circuits], buffer)
    return buffer.getvalue()


def loads(data: bytes) -> list["QuantumCircuit"]:
    """Circuits of QPY bytes written by :func:`dumps` (or by anyone), delays restored."""
    from qiskit import qpy

    return [restore(circuit) for circuit in qpy.load(io.BytesIO(data))]


def problems(circuits: Sequence["QuantumCircuit"]) -> dict[int, str]:
    """Why circuits (by position) cannot be stored as QPY faithfully; empty when all can."""
    found: dict[int, str] = {}
    try:
        data = dumps(circuits)
    except Exception:
        if len(circuits) == 1:
            return {0: _cannot_write(circuits[0])}
        half = len(circuits) // 2
        found.update(problems(circuits[:half]))
        found.update({half + k: why for k, why in problems(circuits[half:]).items()})
        return found
    try:
        reloaded = loads(data)
    except Exception as error:
        return {k: f"QPY cannot store this circuit: it does not load back ({_text(error)})"
                for k in _unloadable(circuits)} or {0: f"QPY output does not load back: {_text(error)}"}
    for k, (given, back) in enumerate(zip(circuits, reloaded)):
        if not _same(given, back):
            found[k] = ("QPY cannot store this circuit faithfully (it loads back as a different "
                        "circuit); jobman runs only the circuit given")
    return found


def faithful(circuits: Sequence["QuantumCircuit"]) -> list["QuantumCircuit"]:
    """``circuits``, each one that QPY cannot hold faithfully replaced by a stand-in of the same
    name that carries the reason (:func:`stored_problem`), so that it fails alone."""
    from qiskit import QuantumCircuit

    kept = list(circuits)
    for start in range(0, len(kept), CHECK_BATCH):
        for k, reason in problems(kept[start:start + CHECK_BATCH]).items():
            name = kept[start + k].name
            kept[start + k] = QuantumCircuit(name=name if isinstance(name, str) else None,
                                             metadata={UNSTORABLE_KEY: reason})
    return kept


def stored_problem(circuit: Any) -> str | None:
    """The reason stored in a stand-in made by :func:`faithful`, or None for a real circuit."""
    metadata = getattr(circuit, "metadata", None)
    if isinstance(metadata, dict) and circuit.num_qubits == 0:
        reason = metadata.get(UNSTORABLE_KEY)
        return str(reason) if reason is not None else None
    return None


def _same(given: "QuantumCircuit", back: "QuantumCircuit") -> bool:
    try:
        expected = restore(given.copy()) if _has_expression_delay(given) else given
        return bool(back == expected) and back.metadata == given.metadata and back.name == given.name
    except Exception as error:
        swallowed(f"comparing circuit {given.name!r} with its QPY copy (taken as different)", error)
        return False


def _unloadable(circuits: Sequence["QuantumCircuit"]) -> list[int]:
    bad = []
    for k, circuit in enumerate(circuits):
        try:
            loads(dumps([circuit]))
        except Exception:
            bad.append(k)
    return bad


def _cannot_write(circuit: "QuantumCircuit") -> str:
    try:
        dumps([circuit])
    except Exception as error:
        return f"QPY cannot store this circuit: {_text(error)}"
    return "QPY cannot store this circuit"


def _text(error: BaseException) -> str:
    from jobman.qpy_index import one_line

    return f"{type(error).__name__}: {one_line(error)}"


# rewriting delays -------------------------------------------------------------------------
def _rewrite(circuit: "QuantumCircuit", change: Any) -> "QuantumCircuit":
    """``circuit`` with ``change(op)`` applied to every Delay (also inside control flow), or
    ``circuit`` itself when nothing changes."""
    data = None
    for position, instruction in enumerate(circuit.data):
        operation = instruction.operation
        if operation.name == "delay":
            new = change(operation)
        elif getattr(operation, "blocks", None):
            blocks = [_rewrite(block, change) for block in operation.blocks]
            changed = any(a is not b for a, b in zip(blocks, operation.blocks))
            new = operation.replace_blocks(blocks) if changed else None
        else:
            continue
        if new is not None:
            if data is None:
                data = list(circuit.data)
            data[position] = instruction.replace(operation=new)
    if data is None:
        return circuit
    copy = circuit.copy_empty_like()
    for instruction in data:
        copy._append(instruction)
    return copy


def _to_expression(delay: Any) -> Any:
    """A Delay with a unit QPY drops as a Delay of a constant duration expression; else None."""
    if delay.unit in KEPT_UNITS or not isinstance(delay.duration, (int, float)):
        return None
    from qiskit.circuit import Delay, Duration
    from qiskit.circuit.classical import expr

    value = getattr(Duration, delay.unit)(float(delay.duration))
    return Delay(expr.lift(value))


def _to_unit(delay: Any) -> Any:
    """A Delay of a constant duration expression as a Delay with that duration and unit."""
    if delay.unit != "expr":
        return None
    from qiskit.circuit import Delay
    from qiskit.circuit.classical import expr

    value = delay.duration
    if not isinstance(value, expr.Value):
        return None
    unit = type(value.value).__name__
    if unit not in UNITS:
        return None
    return Delay(_plain(value.value.value()), unit=unit)


def _plain(magnitude: Any) -> Any:
    """Whole numbers as ints, as they were most likely given (Delay keeps either)."""
    return int(magnitude) if isinstance(magnitude, float) and magnitude.is_integer() else magnitude


def _has_expression_delay(circuit: "QuantumCircuit") -> bool:
    for instruction in circuit.data:
        operation = instruction.operation
        if operation.name == "delay" and operation.unit == "expr":
            return True
        if any(_has_expression_delay(block) for block in getattr(operation, "blocks", None) or ()):
            return True
    return False

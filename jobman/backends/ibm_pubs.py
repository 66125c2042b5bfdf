"""A chunk as the PUBs of one Sampler job on IBM Quantum (and fake devices).

Circuits go as one PUB each (a Sampler's). The points of a sweep go as PUB slices: the consecutive points of
one PUB of the task become one ``(isa_circuit, values)`` PUB whose values have shape
``(points, parameters)``, so a job uploads each circuit once, not a bound copy per point, and
the service binds the values itself. The job's result then holds one SamplerPubResult of shape
``(points,)`` per slice, read back point by point in C order
(:func:`jobman.backends.sampler_adapter.outcomes`). An estimator task's points go the same way
to an Estimator, ``(isa_circuit, observables, values, precision)`` with the observables moved to
the device's qubits by the circuit's layout; its result's ``evs`` and ``stds`` have shape
``(observables, points)``.
"""

from __future__ import annotations

import json
from typing import Any, Sequence

from jobman.backends.sampler_adapter import with_clbit_register
from jobman.sweep import SweepPoint

#: JSON a PUB adds around its circuit and values (shots, brackets).
PUB_OVERHEAD_BYTES = 64


def sampler_pubs(items: Sequence[Any]) -> list[tuple[Any, ...]]:
    """The job's PUBs: ``(circuit,)`` per circuit, ``(circuit, values)`` per run of consecutive
    points of one PUB of the task (a point of a circuit without parameters goes alone)."""
    return [(with_clbit_register(circuit_of(members[0])),) if rows is None
            else (with_clbit_register(members[0].circuit), rows) for members, rows in _slices(items)]


def estimator_pubs(items: Sequence[SweepPoint]) -> list[tuple[Any, ...]]:
    """An estimator job's PUBs: per run of consecutive points of one PUB of the task,
    ``(circuit, observables, values, precision)`` with the observables on the circuit's qubits
    (its layout applied) as a ``(K, 1)`` array, so that the result's ``evs`` have shape
    ``(K, points)``; when the PUB pairs observables with points, the ``m`` each point takes, as
    an ``(m, points)`` array (no observable is estimated where the result does not use it). A
    point of a circuit without parameters goes alone, as ``(circuit, observables of shape (K,)
    or (m,), None, precision)``."""
    pubs: list[tuple[Any, ...]] = []
    for points, rows in _slices(items):
        first = points[0]
        operators = device_observables(first)
        if rows is None:
            chosen = operators if first.used is None else [operators[k] for k in first.used]
            pubs.append((first.circuit, chosen, None, first.precision))
        elif first.used is None:
            pubs.append((first.circuit, [[op] for op in operators], rows, first.precision))
        else:
            observables = [[operators[point.used[i]] for point in points] for i in range(len(first.used))]
            pubs.append((first.circuit, observables, rows, first.precision))
    return pubs


def is_estimate(items: Sequence[Any]) -> bool:
    """Whether the items are points of an estimator PUB (their job is an Estimator's)."""
    return bool(items) and isinstance(items[0], SweepPoint) and items[0].observables is not None


def job_pubs(items: Sequence[Any]) -> list[tuple[Any, ...]]:
    """The PUBs of the items' job: an Estimator's for estimator points, else a Sampler's."""
    return estimator_pubs(items) if is_estimate(items) else sampler_pubs(items)


def device_observables(point: SweepPoint) -> list[Any]:
    """The point's PUB's observables (flat) on its (transpiled) circuit's qubits."""
    from qiskit.quantum_info import SparsePauliOp

    circuit = point.circuit
    layout = getattr(circuit, "layout", None)
    return [SparsePauliOp.from_list(list(terms)).apply_layout(layout, num_qubits=circuit.num_qubits)
            for terms in point.observables or ()]


def _slices(items: Sequence[Any]) -> list[tuple[list[Any], Any]]:
    """``(points, values of shape (points, parameters))`` per run of consecutive points of one
    PUB with values; ``([item], None)`` for a circuit or a point without values."""
    import numpy as np

    slices: list[tuple[list[Any], Any]] = []
    key: tuple[int, int] | None = None  # (task PUB, id of its circuit) of the open slice
    for item in items:
        if isinstance(item, SweepPoint) and item.values:
            if (item.pub, id(item.circuit)) == key:
                slices[-1][0].append(item)
                continue
            key = (item.pub, id(item.circuit))
            slices.append(([item], True))
            continue
        key = None
        slices.append(([item], None))
    return [(members, None if rows is None else np.asarray([p.values for p in members], dtype=float))
            for members, rows in slices]


def pubs_payload_bytes(pubs: Sequence[tuple[Any, ...]]) -> int:
    """Bytes the PUBs take in a job's upload: each circuit and each values array as the
    client's ``RuntimeEncoder`` writes them into the JSON body, plus a little per PUB."""
    from qiskit_ibm_runtime.utils.json import RuntimeEncoder

    return sum(sum(len(json.dumps(part, cls=RuntimeEncoder)) for part in pub) + PUB_OVERHEAD_BYTES
               for pub in pubs)


def circuit_of(item: Any) -> Any:
    """The circuit an item runs: a circuit itself, or a point's (still parametrized) circuit."""
    return item.circuit if isinstance(item, SweepPoint) else item


def bound_circuit(item: Any) -> Any:
    """An item as one circuit that runs on its own (a point with its values assigned)."""
    return item.bound() if isinstance(item, SweepPoint) else item

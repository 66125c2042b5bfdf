"""A chunk as the PUBs of one Sampler job on IBM Quantum (and fake devices).

Circuits go as one PUB each. The points of a sweep go as PUB slices: the consecutive points of
one PUB of the task become one ``(isa_circuit, values)`` PUB whose values have shape
``(points, parameters)``, so a job uploads each circuit once, not a bound copy per point, and
the service binds the values itself. The job's result then holds one SamplerPubResult of shape
``(points,)`` per slice, read back point by point in C order
(:func:`jobman.backends.sampler_adapter.outcomes`).
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
    import numpy as np

    pubs: list[tuple[Any, ...]] = []
    slice_of: tuple[int, int] | None = None  # (task PUB, id of its circuit) of the open slice
    rows: list[tuple[float, ...]] = []
    for item in items:
        if isinstance(item, SweepPoint) and item.values:
            key = (item.pub, id(item.circuit))
            if key != slice_of:
                _close(pubs, rows)
                slice_of, rows = key, []
                pubs.append((with_clbit_register(item.circuit),))
            rows.append(item.values)
            continue
        _close(pubs, rows)
        slice_of, rows = None, []
        circuit = item.circuit if isinstance(item, SweepPoint) else item
        pubs.append((with_clbit_register(circuit),))
    _close(pubs, rows)
    return [pub if len(pub) == 1 else (pub[0], np.asarray(pub[1], dtype=float)) for pub in pubs]


def _close(pubs: list[tuple[Any, ...]], rows: list[tuple[float, ...]]) -> None:
    """Give the last PUB its values, when it is a slice of points."""
    if rows:
        pubs[-1] = (pubs[-1][0], rows)


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

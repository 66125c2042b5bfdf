"""Turning what users give into a sweep: SamplerV2-style PUBs from Python, or circuit files with
``--parameters values.npy`` (``.npz`` keyed by circuit name or index) from the shell.

Every problem with the values is a :class:`~jobman.exceptions.UsageError` raised before the
set is written: wrong number of parameters, pickled objects, non-finite values, shapes that do
not broadcast, per-PUB shots other than the task's.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from jobman.exceptions import UsageError
from jobman.sweep import PubRecord, SweepSource, check_values, read_values_file, save_values

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

    from jobman.estimator_input import Estimates
    from jobman.inputs import CircuitSource

#: One PUB before it is planned: (circuit index in the inputs, values of shape S + (P,)).
Entry = tuple[int, "np.ndarray"]


def is_pub_list(items: Sequence[Any]) -> bool:
    """Whether ``items`` are PUBs (some item is a tuple or list) rather than plain circuits."""
    return any(isinstance(item, (tuple, list)) for item in items)


def coerce_pubs(items: Sequence[Any], shots: int) -> tuple[list[Any], list["np.ndarray"]]:
    """The circuits and values of SamplerV2-style PUBs: a circuit, ``(circuit, values)`` or
    ``(circuit, values, shots)``, values as SamplerV2 takes them (an array of shape
    ``(..., num_parameters)`` or a dict of parameters to arrays). A PUB's shots must be the task's."""
    from qiskit import QuantumCircuit
    from qiskit.primitives.containers.sampler_pub import SamplerPub

    circuits, values = [], []
    for number, item in enumerate(items):
        what = f"PUB {number}"
        if isinstance(item, (tuple, list)) and not (item and isinstance(item[0], QuantumCircuit)):
            raise UsageError(f"{what}: a PUB is (circuit, values[, shots]), not {_kind(item)}")
        if not isinstance(item, (tuple, list, QuantumCircuit)):
            raise UsageError(f"{what}: give a QuantumCircuit or a (circuit, values[, shots]) tuple, "
                             f"not {type(item).__name__}")
        try:
            pub = SamplerPub.coerce(tuple(item) if isinstance(item, list) else item)
            pub.validate()
        except (ValueError, TypeError) as exc:
            raise UsageError(f"{what}: {' '.join(str(exc).split())}") from None
        if pub.shots is not None and pub.shots != shots:
            raise UsageError(f"{what} asks for {pub.shots} shots but the task runs {shots}: per-PUB "
                             f"shots are not supported; give shots={pub.shots} for the task, or run "
                             "PUBs of other shots as another set")
        array = pub.parameter_values.as_array(pub.circuit.parameters)
        circuits.append(pub.circuit)
        values.append(check_values(array, what))
    return circuits, values


def values_for_files(source: "CircuitSource", path: "str | os.PathLike[str]") -> list[Entry]:
    """One PUB per circuit of ``source`` with the values of ``--parameters path``: an ``.npy``
    array (a single circuit), or an ``.npz`` keyed by circuit name or index (circuits it does
    not name run once, unswept)."""
    import numpy as np

    given = read_values_file(path)
    count = len(source)
    if not isinstance(given, dict):
        if count != 1:
            raise UsageError(f"--parameters {path}: an .npy array is for one circuit, but the inputs hold "
                             f"{count}; give an .npz keyed by circuit name or index")
        return [(0, given)]
    keyed = _keys_to_indices(source, given, path)
    empty = np.zeros((0,), dtype=np.float64)
    return [(index, keyed.get(index, empty)) for index in range(count)]


def _keys_to_indices(source: "CircuitSource", given: dict[str, Any], path: Any) -> dict[int, Any]:
    names: dict[str, list[int]] | None = None
    keyed: dict[int, Any] = {}
    for key, array in given.items():
        if key.isdigit() and int(key) < len(source):
            index = int(key)
        else:
            if names is None:
                names = {}
                for i, name in enumerate(source.names(0, len(source))):
                    names.setdefault(name, []).append(i)
            found = names.get(key, [])
            if len(found) != 1:
                why = "no circuit has that name or index" if not found else f"{len(found)} circuits have it"
                raise UsageError(f"--parameters {path}: key {key!r}: {why}")
            index = found[0]
        if index in keyed:
            raise UsageError(f"--parameters {path}: circuit {index} is given values twice")
        keyed[index] = array
    return keyed


def check_entries(source: "CircuitSource", entries: list[Entry], where: str) -> None:
    """Each swept circuit has exactly as many parameters as its values' last axis."""
    for index, values in entries:
        if values.size == 0 and values.ndim == 1:
            continue  # unswept: run as it is (unbound parameters fail alone, as anywhere)
        circuit = source.load(index, index + 1)[0]
        wanted = circuit.num_parameters
        if values.shape[-1] != wanted:
            raise UsageError(f"{where}: circuit {index} ({circuit.name}) has {wanted} parameters, but its "
                             f"values have {values.shape[-1]} (shape {values.shape}, expected (..., {wanted}))")


def plan_sweep(source: "CircuitSource", entries: list[Entry], folder: Path,
               estimates: "Sequence[Estimates] | None" = None) -> tuple[SweepSource, dict[str, Any]]:
    """The sweep's source and its record (``SetRecord.sweep``), values written to ``folder``;
    with ``estimates`` (one per entry) an estimator task, its observables written beside them."""
    pubs: list[PubRecord] = []
    arrays: list[Any] = []
    start = 0
    for number, (index, values) in enumerate(entries):
        shape, parameters = tuple(int(n) for n in values.shape[:-1]), int(values.shape[-1])
        estimate = estimates[number] if estimates is not None else None
        pub = PubRecord(index, shape, parameters, start, None if estimate is None else estimate.shape,
                        None if estimate is None else estimate.precision)
        if pub.size == 0:
            raise UsageError(f"PUB {len(pubs)} (circuit {index}) has no points (values of shape "
                             f"{values.shape})")
        pubs.append(pub)
        arrays.append(values)
        start += pub.size
    record: dict[str, Any] = {"values": save_values(folder / "inputs" / "parameters.npz", arrays),
                              "pubs": [pub.to_dict() for pub in pubs]}
    observables = None
    if estimates is not None:
        from jobman.observables import OBSERVABLES_FILE, save_observables

        observables = [tuple(e.terms) for e in estimates]
        record["observables"] = save_observables(folder / OBSERVABLES_FILE, [e.terms for e in estimates],
                                                 [e.names for e in estimates])
    flat = [array.reshape(pub.size, pub.parameters) for pub, array in zip(pubs, arrays)]
    return SweepSource(source, pubs, flat, observables), record


def _kind(item: Any) -> str:
    return f"a {type(item).__name__} of {len(item)}" if isinstance(item, (tuple, list)) else type(item).__name__

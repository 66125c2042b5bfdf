"""Parameter sweeps: Sampler PUBs as a task of points.

A task made of PUBs (``(circuit, values)`` as ``SamplerV2.run`` takes them) has one *point* per
parameter set after broadcasting: a PUB of shape ``S`` holds ``prod(S)`` points, in C order,
and the task's points are the PUBs' points one PUB after the other. Point ``k`` is the task's
item ``k``: it is chunked, run, seeded and stored like circuit ``k`` of a task of bound
circuits (and with ``--seed`` gets the same samples as that bound circuit would).

The set keeps each circuit once (its input file) and each PUB's values once, in one ``.npz``
file inside the set (``inputs/parameters.npz``, read with ``allow_pickle=False``), recorded
with its digest so that resume refuses a changed file. No bound copy of a circuit is stored.

:class:`SweepSource` stands where a :class:`~jobman.inputs.CircuitSource` stands and loads
:class:`SweepPoint` objects: the PUB's circuit (one shared object per chunk) and one row of
values. This module imports numpy, never qiskit.
"""

from __future__ import annotations

import functools
import hashlib
import math
import os
from bisect import bisect_right
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

from jobman.exceptions import CircuitIndexError, InputError, UsageError

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    from qiskit import QuantumCircuit

    from jobman.inputs import CircuitSource, InputFile

#: Where a sweep's parameter values are kept inside the set folder.
VALUES_FILE = "inputs/parameters.npz"


@dataclass(frozen=True)
class PubRecord:
    """One PUB of a sweep: circuit ``circuit`` of the inputs, values of ``shape`` + (parameters,),
    its points at task indices ``start .. start + size - 1``."""

    circuit: int
    shape: tuple[int, ...]
    parameters: int
    start: int
    #: An estimator PUB's observables array shape (its observables are in the set's
    #: observables file, see :mod:`jobman.observables`); None for a Sampler PUB.
    observables: tuple[int, ...] | None = None
    #: An estimator PUB's precision (its ``stds``; with ``> 0`` evs get noise as qiskit-aer's).
    precision: float | None = None

    @property
    def size(self) -> int:
        """Its number of points (``prod(shape)``, 1 for shape ``()``)."""
        return math.prod(self.shape)

    @property
    def estimates(self) -> bool:
        """Whether this is an estimator PUB (expectation values, not samples)."""
        return self.observables is not None

    def result_shape(self) -> tuple[int, ...]:
        """The shape of its result: the values' shape, broadcast with the observables' for an
        estimator PUB (as ``EstimatorPub.shape``)."""
        if self.observables is None:
            return self.shape
        import numpy as np

        return tuple(int(n) for n in np.broadcast_shapes(self.observables, self.shape))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        data: dict[str, Any] = {"circuit": self.circuit, "shape": list(self.shape),
                                "parameters": self.parameters, "start": self.start}
        if self.observables is not None:
            data.update(observables=list(self.observables), precision=self.precision)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PubRecord:
        """Inverse of :meth:`to_dict`."""
        try:
            observables = data.get("observables")
            return cls(int(data["circuit"]), tuple(int(n) for n in data["shape"]), int(data["parameters"]),
                       int(data["start"]),
                       None if observables is None else tuple(int(n) for n in observables),
                       None if data.get("precision") is None else float(data["precision"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"invalid PUB record: {data!r}") from exc


@dataclass(frozen=True)
class SweepPoint:
    """Point ``position`` (an index into the PUB's shape) of PUB ``pub``: its circuit, shared by
    every point of the PUB, and the values of the circuit's parameters (in ``circuit.parameters``
    order, as SamplerV2 takes them)."""

    circuit: "QuantumCircuit"
    values: tuple[float, ...]
    pub: int
    position: tuple[int, ...]
    label: str
    #: An estimator PUB's observables, flattened: per observable its ``(pauli, coefficient)``
    #: terms (shared by every point of the PUB); None for a Sampler PUB's point.
    observables: "tuple[tuple[tuple[str, float], ...], ...] | None" = None
    #: An estimator PUB's precision (see :class:`PubRecord`).
    precision: float = 0.0
    #: The flat indices of the PUB's observables that its result takes at this point, when the
    #: observables pair with the points (a flat ``[obs1, obs2]`` against two points); None when
    #: every observable is taken at every point (see :func:`used_observables`).
    used: tuple[int, ...] | None = None

    @property
    def name(self) -> str:
        """The point's name: the circuit's, with its place in the PUB (``ansatz[2,7]``)."""
        return self.label

    @property
    def num_qubits(self) -> int:
        return int(self.circuit.num_qubits)

    @property
    def num_clbits(self) -> int:
        return int(self.circuit.num_clbits)

    def bound(self) -> "QuantumCircuit":
        """A copy of the circuit with this point's values assigned (for backends that run
        bound circuits only), named as the point."""
        if not self.values and not self.circuit.num_parameters:
            return self.circuit
        circuit = self.circuit.assign_parameters(list(self.values))
        circuit.name = self.label
        return circuit

    def shots(self, task_shots: int) -> int:
        """The shots the point takes: the task's; for an estimator point with a precision above
        0, ``ceil(1 / precision**2)`` per measurement basis, counting a basis per distinct
        non-identity Pauli string of the observables its result takes (at least as many as the
        qubit-wise commuting groups a runtime estimator measures: a budget never undercounts)."""
        if self.observables is None or self.precision <= 0:
            return task_shots
        taken = self.observables if self.used is None else [self.observables[k] for k in self.used]
        labels = {label for terms in taken for label, _ in terms if label.strip("I")}
        return math.ceil(1.0 / self.precision**2) * max(1, len(labels))

    def problem(self) -> str | None:
        """Why this point cannot run as given, or None (its values must fit its circuit)."""
        wanted = self.circuit.num_parameters
        if wanted and not self.values:
            shown = ", ".join(str(p) for p in list(self.circuit.parameters)[:3])
            return f"circuit has unbound parameters ({shown}); give values for them"
        if len(self.values) != wanted:
            return f"{len(self.values)} parameter values for a circuit of {wanted} parameters"
        return None


def share_prepared(items: list[Any], prepare: Callable[[list[Any]], list[Any]]) -> list[Any]:
    """``prepare(items)`` for circuits; for the points of a sweep, each distinct circuit
    prepared once and shared by its points.

    A prepared circuit that lost a parameter (an optimization removed the gate that used it)
    gets the values of the parameters it kept, matched by name: the values go to the very
    parameters they were given for.
    """
    if not any(isinstance(item, SweepPoint) for item in items):
        return prepare(items)
    templates = list({id(point.circuit): point.circuit for point in items}.values())
    prepared = {id(t): p for t, p in zip(templates, prepare(templates))}
    shared = []
    for point in items:
        circuit = prepared[id(point.circuit)]
        if circuit is point.circuit:
            shared.append(point)
            continue
        shared.append(replace(point, circuit=circuit, values=_kept_values(point, circuit)))
    return shared


def _kept_values(point: SweepPoint, prepared: "QuantumCircuit") -> tuple[float, ...]:
    """The point's values for the parameters ``prepared`` still has, in its order."""
    names = [parameter.name for parameter in point.circuit.parameters]
    kept = [parameter.name for parameter in prepared.parameters]
    if kept == names or len(point.values) != len(names) or not set(kept) <= set(names):
        return point.values  # a wrong count is the point's own problem, reported as such
    return tuple(point.values[names.index(name)] for name in kept)


@functools.lru_cache(maxsize=16)
def used_observables(observables: tuple[int, ...], shape: tuple[int, ...]
                     ) -> "tuple[tuple[int, ...], ...] | None":
    """Per point of a PUB of values ``shape`` (flat, C order), the flat indices of the
    observables (array shape ``observables``) that its broadcast result takes there, in order;
    None when every point takes every observable (the usual ``(K, 1)`` against ``(N,)``).

    Every point takes the same number of them, so a PUB slice can send them as one
    ``(m, points)`` array.
    """
    import numpy as np

    count, size = math.prod(observables), math.prod(shape)
    result = np.broadcast_shapes(observables, shape)
    if math.prod(result) == count * size:  # each point takes each observable once: no table to build
        return None
    rows = np.broadcast_to(np.arange(count).reshape(observables), result).ravel()
    cols = np.broadcast_to(np.arange(size).reshape(shape), result).ravel()
    table = np.sort(rows[np.argsort(cols, kind="stable")].reshape(size, -1), axis=1)
    if table.shape[1] == count:
        return None
    return tuple(tuple(int(k) for k in row) for row in table)


def point_name(name: str, position: tuple[int, ...]) -> str:
    """``name`` for a PUB of shape ``()``, else ``name[i,j,...]``."""
    return name if not position else f"{name}[{','.join(str(i) for i in position)}]"


class SweepSource:
    """The points of a sweep, by task index, over the circuits of ``circuits``.

    ``values[p]`` is PUB ``p``'s values as an array of shape ``(size, parameters)``;
    ``observables[p]`` an estimator PUB's flattened observables (see :class:`SweepPoint`).
    """

    def __init__(self, circuits: "CircuitSource", pubs: Sequence[PubRecord],
                 values: Sequence["np.ndarray"], observables: Sequence[Any] | None = None) -> None:
        self.circuits = circuits
        self.files: list[InputFile] = circuits.files
        self.pubs = list(pubs)
        self._values = list(values)
        self._observables = list(observables) if observables is not None else [None] * len(self.pubs)
        self._starts = [pub.start for pub in self.pubs]
        self._total = self.pubs[-1].start + self.pubs[-1].size if self.pubs else 0
        self._loaded: dict[int, Any] = {}  # circuit index -> circuit, for the last chunk only
        self._names: dict[int, str] = {}

    def __len__(self) -> int:
        return self._total

    def load(self, start: int, stop: int) -> list[SweepPoint]:
        """Points ``[start, stop)``; each PUB's circuit is loaded once per call."""
        loaded: dict[int, Any] = {}
        points: list[SweepPoint] = []
        for p, lo, hi in self._pieces(start, stop):
            pub = self.pubs[p]
            circuit = loaded.get(pub.circuit) or self._loaded.get(pub.circuit)
            if circuit is None:
                circuit = self.circuits.load(pub.circuit, pub.circuit + 1)[0]
            loaded[pub.circuit] = circuit
            name = circuit.name
            rows = self._values[p]
            observables, precision = self._observables[p], pub.precision or 0.0
            table = used_observables(pub.observables, pub.shape) if pub.observables is not None else None
            for j in range(lo, hi):
                position = _unravel(j, pub.shape)
                points.append(SweepPoint(circuit, tuple(rows[j].tolist()), p, position,
                                         point_name(name, position), observables, precision,
                                         None if table is None else table[j]))
        self._loaded = loaded
        return points

    def observables_used(self, index: int) -> tuple[int, tuple[int, ...] | None] | None:
        """For point ``index`` of an estimator PUB: how many observables the PUB has, and the
        ones its result takes at the point (None: all); None for a Sampler PUB's point."""
        p = bisect_right(self._starts, index) - 1
        pub = self.pubs[p]
        if pub.observables is None:
            return None
        table = used_observables(pub.observables, pub.shape)
        return math.prod(pub.observables), None if table is None else table[index - pub.start]

    def values(self, pub: int) -> "np.ndarray":
        """PUB ``pub``'s values, shape ``(size, parameters)``."""
        return self._values[pub]

    def names(self, start: int, stop: int) -> list[str]:
        """Point names ``[start, stop)``, reading circuit names only (not the circuits)."""
        return [point_name(self._circuit_name(self.pubs[p].circuit), _unravel(j, self.pubs[p].shape))
                for p, lo, hi in self._pieces(start, stop) for j in range(lo, hi)]

    def plan_names(self, start: int, stop: int) -> list[str] | None:
        """Point names where circuit names are cheap to read (see ``CircuitSource.plan_names``)."""
        for p, _, _ in self._pieces(start, stop):
            index = self.pubs[p].circuit
            if index not in self._names:
                found = self.circuits.plan_names(index, index + 1)
                if found is None:
                    return None
                self._names[index] = found[0]
        return self.names(start, stop)

    def pub_of(self, index: int) -> tuple[int, int]:
        """(PUB, flat position in it) of task point ``index``."""
        if not 0 <= index < len(self):
            raise CircuitIndexError(f"point {index} is outside 0..{len(self) - 1}")
        p = bisect_right(self._starts, index) - 1
        return p, index - self.pubs[p].start

    def close(self) -> None:
        """Close the circuits' source."""
        self.circuits.close()

    def __enter__(self) -> SweepSource:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _circuit_name(self, index: int) -> str:
        if index not in self._names:
            self._names[index] = self.circuits.names(index, index + 1)[0]
        return self._names[index]

    def _pieces(self, start: int, stop: int) -> list[tuple[int, int, int]]:
        """(PUB, first, last + 1 flat position) for each PUB that ``[start, stop)`` touches."""
        if not 0 <= start <= stop <= len(self):
            raise CircuitIndexError(f"point range {start}..{stop} is outside 0..{len(self)}")
        pieces = []
        p = bisect_right(self._starts, start) - 1 if start < stop else len(self.pubs)
        while start < stop:
            pub = self.pubs[p]
            end = min(stop, pub.start + pub.size)
            if end > start:
                pieces.append((p, start - pub.start, end - pub.start))
            start, p = end, p + 1
        return pieces


def _unravel(flat: int, shape: tuple[int, ...]) -> tuple[int, ...]:
    """The C-order position of flat index ``flat`` in ``shape``."""
    position = []
    for size in reversed(shape):
        flat, at = divmod(flat, size)
        position.append(at)
    return tuple(reversed(position))


# the values file -------------------------------------------------------------------------
def save_values(path: Path, values: Sequence["np.ndarray"]) -> dict[str, Any]:
    """Write the PUBs' values (each of shape ``S + (P,)``) as ``pub-<p>`` arrays of one ``.npz``;
    its record (``path`` relative to the set, ``sha256``, ``size``)."""
    import numpy as np

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        np.savez(handle, **{f"pub-{p}": np.ascontiguousarray(v, dtype=np.float64)
                            for p, v in enumerate(values)})
    sha256, size = _digest(path)
    return {"path": VALUES_FILE, "sha256": sha256, "size": size}


def load_values(path: Path, record: dict[str, Any], pubs: Sequence[PubRecord], *,
                verify: bool = True) -> list["np.ndarray"]:
    """The PUBs' values, each as ``(size, parameters)``; InputError if the file changed."""
    import numpy as np

    if not path.is_file():
        raise InputError(f"no such file: {path}")
    if verify and _digest(path) != (record.get("sha256"), record.get("size")):
        raise InputError(f"parameter values changed since the job set was created: {path}")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = [np.asarray(data[f"pub-{p}"], dtype=np.float64) for p in range(len(pubs))]
    except (KeyError, ValueError, OSError) as exc:
        raise InputError(f"cannot read parameter values {path}: {exc}") from None
    for pub, array in zip(pubs, arrays):
        if array.shape != (*pub.shape, pub.parameters):
            raise InputError(f"parameter values changed since the job set was created: {path}")
    return [array.reshape(pub.size, pub.parameters) for pub, array in zip(pubs, arrays)]


def _digest(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest(), os.path.getsize(path)


def open_sweep(circuits: "CircuitSource", sweep: dict[str, Any], folder: Path, *,
               verify: bool = True) -> SweepSource:
    """The sweep a set records (``SetRecord.sweep``) over its reopened circuits."""
    pubs = [PubRecord.from_dict(d) for d in sweep.get("pubs") or []]
    values = load_values(folder / VALUES_FILE, sweep.get("values") or {}, pubs, verify=verify)
    observables = None
    if sweep.get("observables") is not None:
        from jobman.observables import OBSERVABLES_FILE, load_observables

        observables = load_observables(folder / OBSERVABLES_FILE, sweep["observables"], pubs, verify=verify)
    return SweepSource(circuits, pubs, values, observables)


def check_values(array: Any, what: str) -> "np.ndarray":
    """Values as a finite float64 array with at least one axis, or a UsageError saying why."""
    import numpy as np

    try:
        values = np.asarray(array)
    except Exception as exc:
        raise UsageError(f"{what}: not an array of numbers ({exc})") from None
    if values.dtype == object or values.dtype.kind not in "biuf":
        raise UsageError(f"{what}: parameter values must be real numbers, not {values.dtype}")
    values = values.astype(np.float64)
    if values.ndim == 0:
        raise UsageError(f"{what}: parameter values need shape (..., num_parameters), not a scalar")
    if not np.isfinite(values).all():
        raise UsageError(f"{what}: parameter values must be finite (found NaN or infinity)")
    return values


def read_values_file(path: "str | os.PathLike[str]") -> "np.ndarray | dict[str, np.ndarray]":
    """An ``.npy`` array or the arrays of an ``.npz`` by key, never unpickling anything."""
    import numpy as np

    try:
        loaded = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise UsageError(f"--parameters: no such file: {path}") from None
    except ValueError as exc:
        if "allow_pickle" in str(exc):
            raise UsageError(f"--parameters {path}: holds pickled objects; give an array of numbers "
                             "(numpy.save of a float array)") from None
        raise UsageError(f"--parameters {path}: not a numpy .npy or .npz file ({exc})") from None
    except (OSError, EOFError) as exc:
        raise UsageError(f"--parameters {path}: cannot read it ({exc})") from None
    if isinstance(loaded, np.ndarray):
        return check_values(loaded, f"--parameters {path}")
    with loaded:
        try:
            return {key: check_values(loaded[key], f"--parameters {path} [{key}]") for key in loaded.files}
        except ValueError as exc:
            raise UsageError(f"--parameters {path}: holds pickled objects ({exc})") from None

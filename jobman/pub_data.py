"""A PUB's data read back from the store, in the PUB's shape, with numpy and json only (no
qiskit): what ``jobman result --pub`` prints and what ``to_primitive_result`` wraps.

A Sampler PUB's data is its points' counts, in the values' shape. An estimator PUB's is
``evs`` and ``stds`` in its broadcast shape (observables' shape against the values'), made as
qiskit-aer's ``EstimatorV2`` makes them: each point's stored values (one per observable of the
PUB) picked out by broadcasting; with a precision above 0, the evs then get normal noise of
that standard deviation from ``numpy.random.default_rng(seed)`` (the set's seed), drawn over the
PUB's whole array at once, as there (so the stored values stay the exact ones). A set whose
backend estimated by sampling (fake and IBM devices: ``"sampled": true`` in its sweep record)
stores the values that backend gave, and they are read as they are.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from jobman.exceptions import InputError, UsageError
from jobman.result import format_counts
from jobman.status import JobStatus
from jobman.sweep import PubRecord

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

    from jobman.store import SetStore


@dataclass
class PubData:
    """PUB ``pub`` of a set: its ``shape`` (the result's), ``status`` (DONE when every point
    is), its failed points (``errors``: task index, status, reason) and its data: ``counts``
    (nested lists of per-point counts, Sampler) or ``evs`` and ``stds`` (arrays, estimator)."""

    pub: int
    record: PubRecord
    name: str | None
    shape: tuple[int, ...]
    status: JobStatus
    errors: list[dict[str, Any]] = field(default_factory=list)
    counts: Any = None
    evs: "np.ndarray | None" = None
    stds: "np.ndarray | None" = None
    observables: list[str] | None = None  # the observables' names, where the JSON gave them

    @property
    def kind(self) -> str:
        """``"estimator"`` or ``"sampler"``."""
        return "estimator" if self.record.estimates else "sampler"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: pub, kind, circuit, name, shape, status, errors, and the data (counts, or
        evs and stds as nested lists; null while some point has no result)."""
        data: dict[str, Any] = {"pub": self.pub, "kind": self.kind, "circuit": self.record.circuit,
                                "name": self.name, "shape": list(self.shape), "status": self.status.value,
                                "points": self.record.size, "errors": self.errors}
        if self.record.estimates:
            data.update(observables_shape=list(self.record.observables or ()),
                        observables=self.observables, precision=self.record.precision,
                        evs=None if self.evs is None else self.evs.tolist(),
                        stds=None if self.stds is None else self.stds.tolist())
        else:
            data["counts"] = self.counts
        return data


def pub_records(set_store: "SetStore") -> list[PubRecord]:
    """The set's PUBs; a UsageError for a set of plain circuits."""
    sweep = set_store.record.sweep
    if sweep is None:
        raise UsageError(f"job set {set_store.id} holds circuits, not PUBs: use --circuit")
    return [PubRecord.from_dict(d) for d in sweep.get("pubs") or []]


def read_pub(set_store: "SetStore", number: int) -> PubData:
    """PUB ``number``'s data (see the module's notes)."""
    pubs = pub_records(set_store)
    if not 0 <= number < len(pubs):
        raise UsageError(f"--pub {number}: job set {set_store.id} has PUBs 0-{len(pubs) - 1}")
    pub = pubs[number]
    lines = point_lines(set_store, pub)
    errors = [{"index": pub.start + j, "status": line["status"] if line else JobStatus.PENDING.value,
               "error": (line or {}).get("error")}
              for j, line in enumerate(lines) if not line or line["status"] != JobStatus.DONE.value]
    status = JobStatus.DONE if not errors else _status(errors)
    names = set_store.read_names(pub.start // set_store.record.chunk_size) or []
    first = names[pub.start % set_store.record.chunk_size] if names else None
    data = PubData(number, pub, _base_name(first), pub.result_shape(), status, errors,
                   observables=observable_names(set_store, number) if pub.estimates else None)
    if errors:
        return data
    if pub.estimates:
        sampled = bool((set_store.record.sweep or {}).get("sampled"))
        data.evs, data.stds = estimator_arrays(pub, lines, set_store.record.options.get("seed"),
                                               add_noise=not sampled)
    else:
        data.counts = _nested([format_counts(line["counts"], line.get("num_clbits", 0), line.get("creg_sizes"))
                               for line in lines], pub.shape)
    return data


def point_lines(set_store: "SetStore", pub: PubRecord) -> list[dict[str, Any] | None]:
    """The result lines of the PUB's points, reading only the chunks that hold them (None for a
    point of a chunk without results)."""
    size = set_store.record.chunk_size
    lines: list[dict[str, Any] | None] = []
    stop = pub.start + pub.size
    for chunk in range(pub.start // size, (stop - 1) // size + 1):
        start, end = set_store.chunk_range(chunk)
        stored = set_store.read_results(chunk)
        for index in range(max(start, pub.start), min(end, stop)):
            lines.append(stored[index - start] if stored is not None and len(stored) == end - start else None)
    return lines


def estimator_arrays(pub: PubRecord, lines: list[Any], seed: int | None, add_noise: bool = True
                     ) -> tuple["np.ndarray", "np.ndarray"]:
    """An estimator PUB's ``evs`` and ``stds`` in its broadcast shape from its points' lines
    (every one DONE), as qiskit-aer's EstimatorV2 makes them (see the module's notes);
    ``add_noise=False`` for values a backend estimated by sampling (they are noisy already)."""
    import numpy as np

    observables = pub.observables or ()
    count = math.prod(observables)
    evs = np.array([line["evs"] for line in lines], dtype=float).reshape(pub.size, count).T
    stds = np.array([line["stds"] for line in lines], dtype=float).reshape(pub.size, count).T
    shape = pub.result_shape()
    rows = np.broadcast_to(np.arange(count).reshape(observables), shape)
    cols = np.broadcast_to(np.arange(pub.size).reshape(pub.shape), shape)
    picked, spread = evs[rows, cols], stds[rows, cols]
    precision = pub.precision or 0.0
    if precision > 0 and add_noise:
        picked = np.random.default_rng(seed).normal(picked, precision, picked.shape)
    return np.asarray(picked, dtype=float), np.asarray(spread, dtype=float)


def observable_names(set_store: "SetStore", number: int) -> list[str] | None:
    """The names the observables were given (the JSON object form), or None."""
    from jobman.observables import OBSERVABLES_FILE, read_observables_file

    record = (set_store.record.sweep or {}).get("observables")
    if record is None:
        return None
    try:
        data = read_observables_file(set_store.paths.folder / OBSERVABLES_FILE, record, verify=False)
        names = data["pubs"][number].get("names")
    except (KeyError, IndexError, TypeError, AttributeError, InputError):
        return None
    except Exception as error:  # names only label the output
        from jobman.log import swallowed

        swallowed("reading the observables' names", error)
        return None
    return [str(n) for n in names] if isinstance(names, list) else None


def _status(errors: list[dict[str, Any]]) -> JobStatus:
    statuses = {e["status"] for e in errors}
    for status in (JobStatus.ERROR, JobStatus.CANCELLED):
        if status.value in statuses:
            return status
    return JobStatus.PENDING


def _base_name(name: str | None) -> str | None:
    """A point's name without its place in the PUB (``ansatz[0,1]`` -> ``ansatz``)."""
    if name is None:
        return None
    return name.split("[", 1)[0] if name.endswith("]") else name


def _nested(items: list[Any], shape: tuple[int, ...]) -> Any:
    """A flat C-order list as nested lists of ``shape`` (the item itself for shape ``()``)."""
    if not shape:
        return items[0]
    step = math.prod(shape[1:])
    return [_nested(items[k * step:(k + 1) * step], shape[1:]) for k in range(shape[0])]


__all__ = ["PubData", "estimator_arrays", "point_lines", "pub_records", "read_pub"]

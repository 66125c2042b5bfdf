"""A finished set's result as Qiskit's own types, for code written against Qiskit.

* :func:`to_primitive_result`: a ``qiskit.primitives.PrimitiveResult`` of one
  ``SamplerPubResult`` per circuit (in index order), whose ``DataBin`` holds a ``BitArray``
  per classical register, named as the circuit names them, as ``SamplerV2`` gives them.
  A sweep's set (PUBs) gives one ``SamplerPubResult`` per PUB instead, its BitArrays in the
  PUB's shape, put back together from its points across chunks; an estimator task's set gives
  one ``PubResult`` (``evs``, ``stds``) per PUB, as qiskit-aer's ``EstimatorV2`` does.
* :func:`to_qiskit_result`: a ``qiskit.result.Result`` with one experiment per circuit, its
  counts and memory under the header Aer writes (``creg_sizes``, ``memory_slots``, the
  circuit's metadata), so ``get_counts`` formats outcomes exactly as Aer's result does.

Register names and layouts come from the set's stored circuits (read a chunk at a time). A
set run with ``--memory`` gives the shots in the order they were taken; without it a
``BitArray`` holds each outcome as often as it was counted, in outcome order (the order of
the shots was not stored). A circuit that did not end DONE has no such result: both raise
:class:`~jobman.exceptions.JobmanError` naming the failed circuits (``jobman retry``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterator

from jobman.exceptions import JobmanError

if TYPE_CHECKING:  # pragma: no cover
    from qiskit import QuantumCircuit
    from qiskit.primitives import PrimitiveResult
    from qiskit.result import Result

    from jobman.store import SetStore

Line = dict[str, Any]


def to_primitive_result(set_store: "SetStore") -> "PrimitiveResult":
    """The set's circuits as ``SamplerV2`` would return them (see the module's notes)."""
    from qiskit.primitives import BitArray, DataBin, PrimitiveResult, SamplerPubResult

    if set_store.record.is_estimator_task:
        return PrimitiveResult(_estimator_pubs(set_store), metadata={"version": 2, "job_set_id": set_store.id})
    if set_store.record.sweep is not None:
        return PrimitiveResult(list(_sweep_pubs(set_store)),
                               metadata={"version": 2, "job_set_id": set_store.id})
    pubs = []
    for circuit, line, shots in _circuits(set_store):
        samples = _samples(line, shots)
        data = {reg.name: BitArray.from_samples([_register_value(v, positions) for v in samples],
                                                num_bits=len(positions))
                for reg, positions in _registers(circuit)}
        pubs.append(SamplerPubResult(DataBin(**data, shape=()),
                                     metadata={"shots": len(samples), "circuit_metadata": circuit.metadata,
                                               "index": line["index"], "name": line.get("name")}))
    return PrimitiveResult(pubs, metadata={"version": 2, "job_set_id": set_store.id})


def to_qiskit_result(set_store: "SetStore") -> "Result":
    """The set's circuits as one ``qiskit.result.Result`` (see the module's notes)."""
    from qiskit.result import Result

    if set_store.record.is_estimator_task:
        raise JobmanError(f"job set {set_store.id} is an estimator task: it has expectation values, not "
                          "counts; use to_primitive_result()")
    experiments = []
    for circuit, line, shots in _circuits(set_store):
        data: dict[str, Any] = {"counts": dict(line["counts"])}
        if shots is not None:
            data["memory"] = list(shots)
        header = {"name": line.get("name") or circuit.name, "memory_slots": circuit.num_clbits,
                  "creg_sizes": [[reg.name, reg.size] for reg in circuit.cregs],
                  "metadata": circuit.metadata or {}}
        experiments.append({"shots": sum(line["counts"].values()), "success": True, "status": "DONE",
                            "data": data, "header": header})
    record = set_store.record
    return Result.from_dict({"backend_name": str(record.backend.get("name")), "backend_version": "jobman",
                             "qobj_id": "", "job_id": set_store.id, "success": True,
                             "results": experiments})


def _circuits(set_store: "SetStore") -> Iterator[tuple["QuantumCircuit", Line, "list[str] | None"]]:
    """Every circuit with its result line and shot memory (hex keys), a chunk at a time."""
    from jobman.manager import task_source

    _check_done(set_store)
    with task_source(set_store, verify=False) as source:
        for chunk in range(set_store.record.num_chunks):
            start, stop = set_store.chunk_range(chunk)
            lines = set_store.read_results(chunk) or []
            memory = set_store.read_memory(chunk) if set_store.record.options.get("memory") else None
            for pos, circuit in enumerate(source.load(start, stop)):
                circuit = getattr(circuit, "circuit", circuit)  # a sweep's point: its PUB's circuit
                yield circuit, lines[pos], memory[pos] if memory else None


def _sweep_pubs(set_store: "SetStore") -> Iterator[Any]:
    """One ``SamplerPubResult`` per PUB of a sweep, its BitArrays in the PUB's shape (the
    points' results put back together across chunks)."""
    from qiskit.primitives import SamplerPubResult

    pubs = [(int(p["circuit"]), tuple(p["shape"]), int(p["start"])) for p in set_store.record.sweep["pubs"]]
    at, points = 0, []
    for circuit, line, shots in _circuits(set_store):
        points.append((line, shots))
        _, shape, start = pubs[at]
        if len(points) == _size(shape):
            data = _pub_data(circuit, points, shape)
            yield SamplerPubResult(data, metadata={"shots": set_store.record.options["shots"],
                                                   "circuit_metadata": circuit.metadata,
                                                   "start": start, "name": circuit.name})
            at, points = at + 1, []


def _estimator_pubs(set_store: "SetStore") -> list[Any]:
    """One ``PubResult`` per estimator PUB: ``evs`` and ``stds`` in its broadcast shape, as
    qiskit-aer's ``EstimatorV2`` gives them (see :mod:`jobman.pub_data`)."""
    from qiskit.primitives import DataBin, PubResult

    from jobman.manager import task_source
    from jobman.pub_data import pub_records, read_pub

    _check_done(set_store)
    results = []
    with task_source(set_store, verify=False) as source:
        for number, record in enumerate(pub_records(set_store)):
            data = read_pub(set_store, number)
            circuit = source.circuits.load(record.circuit, record.circuit + 1)[0]
            results.append(PubResult(DataBin(evs=data.evs, stds=data.stds, shape=data.shape),
                                     metadata={"target_precision": record.precision,
                                               "circuit_metadata": circuit.metadata}))
    return results


def _pub_data(circuit: "QuantumCircuit", points: list[tuple[Line, "list[str] | None"]],
              shape: tuple[int, ...]) -> Any:
    """A PUB's ``DataBin``: per register, the points' BitArrays stacked into ``shape``."""
    import numpy as np
    from qiskit.primitives import BitArray, DataBin

    fields = {}
    for reg, positions in _registers(circuit):
        arrays = [BitArray.from_samples([_register_value(v, positions) for v in _samples(line, shots)],
                                        num_bits=len(positions)).array for line, shots in points]
        stacked = np.stack(arrays).reshape(*shape, *arrays[0].shape)
        fields[reg.name] = BitArray(stacked, num_bits=len(positions))
    return DataBin(**fields, shape=shape)


def _size(shape: tuple[int, ...]) -> int:
    size = 1
    for n in shape:
        size *= n
    return size


def _check_done(set_store: "SetStore") -> None:
    chunks = set_store.chunks()
    failed = [(start, stop) for chunk in chunks for start, stop, *_ in chunk.failed]
    unfinished = [c.index for c in chunks if c.status != "DONE"]
    if unfinished or failed:
        shown = ", ".join(str(a) if b == a + 1 else f"{a}-{b - 1}" for a, b in failed[:5])
        where = (f"circuits {shown}{', ...' if len(failed) > 5 else ''} did not end DONE" if failed
                 else f"chunks {', '.join(map(str, unfinished[:5]))} are not DONE")
        raise JobmanError(f"job set {set_store.id} has no result for every circuit ({where}); "
                          f"see `jobman status {set_store.id}`, then `jobman resume` or `jobman retry`")


def _samples(line: Line, shots: "list[str] | None") -> list[int]:
    """Each shot's outcome as an int over the circuit's clbits (clbit 0 the lowest bit)."""
    if shots is not None:
        return [int(key, 16) for key in shots]
    return [int(key, 16) for key, count in sorted(line["counts"].items(), key=lambda kv: int(kv[0], 16))
            for _ in range(count)]


def _registers(circuit: "QuantumCircuit") -> list[tuple[Any, list[int]]]:
    """Each classical register with the positions of its bits among the circuit's clbits."""
    return [(reg, [circuit.find_bit(bit).index for bit in reg]) for reg in circuit.cregs]


def _register_value(value: int, positions: list[int]) -> int:
    """The register's bits of a shot, bit j of the register as bit j of the result."""
    return sum(((value >> at) & 1) << j for j, at in enumerate(positions))

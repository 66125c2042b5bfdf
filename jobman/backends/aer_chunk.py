"""Aer's chunk function: what any executor runs for one piece of a job. Public.

The protocol is plain data both ways, so that any executor can carry it (jobman's own worker
processes, a ``concurrent.futures`` pool, Dask, Ray):

* in: the circuits as QPY bytes, a list of *runs* ``[count, run options]`` (one Aer run per
  range of global circuit indices, made by :func:`plan_runs`) and the simulator's options. A
  run whose options hold ``"sweep"`` (an array of ``count`` rows of parameter values, made by
  :func:`plan_items` for the points of a sweep) runs ONE circuit at those ``count`` points
  through Aer's ``parameter_binds`` (values in ``circuit.parameters`` order), without bound
  copies; any other run takes ``count`` circuits;
* out: the answer of :func:`run_chunk`, ``{"outcomes": [packed, ...], "seconds": s}`` with one
  packed outcome (a tuple of builtins, see :func:`pack_outcome`) per circuit in order and the
  seconds Aer took, or ``{"error": text}``
  when Aer itself failed. :func:`unpack_answer` turns it back into
  :class:`~jobman.backends.base.CircuitOutcome` objects.

Each run is seeded with :func:`chunk_seed` from the global index of its first circuit, so a
circuit's result depends only on ``--seed`` and its index: never on how circuits are cut into
chunks or pieces, on which process or node runs them, or in which order they finish. Aer seeds
the points of one ``parameter_binds`` run as it seeds the experiments of a run (point i gets
``seed_simulator + SEED_STRIDE * i``), so a point of a sweep gets the samples the bound circuit
would get at its index.

This module imports qiskit only inside the functions that need it; a worker that runs
:func:`run_chunk` needs jobman, qiskit and qiskit-aer installed.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any, Callable, Sequence

from jobman.backends.base import CircuitOutcome, RunOptions
from jobman.exceptions import BackendError
from jobman.status import JobStatus

if TYPE_CHECKING:  # pragma: no cover
    from qiskit import QuantumCircuit

__all__ = ["SEED_STRIDE", "Ranges", "Runs", "chunk_seed", "encode_circuits", "pack_outcome", "plan_items",
           "plan_runs", "preload", "run_chunk", "run_estimates", "split_ranges", "unpack_answer",
           "unpack_outcome"]

#: Aer gives experiment i of a run the seed ``seed_simulator + SEED_STRIDE * i``.
SEED_STRIDE = 2113

Ranges = list[tuple[int, int]]
#: One entry per Aer run: ``[number of circuits, run options]``.
Runs = list[tuple[int, dict[str, Any]]]
#: A packed :class:`CircuitOutcome`:
#: ``(status, num_clbits, counts, memory, error, metadata, creg_sizes, evs, stds)``.
Packed = tuple[Any, ...]


def chunk_seed(seed: int, start: int) -> int:
    """The run seed that gives circuit ``start`` the seed it would get in one big run."""
    return (seed + SEED_STRIDE * start) % (2**63)


def plan_runs(ranges: Sequence[tuple[int, int]], options: RunOptions,
              extra: dict[str, Any] | None = None) -> Runs:
    """One Aer run per range of global indices, each seeded from its first index."""
    runs: Runs = []
    for start, stop in ranges:
        run_options: dict[str, Any] = {"shots": options.shots, "memory": options.memory, **(extra or {})}
        if options.seed is not None:
            run_options["seed_simulator"] = chunk_seed(options.seed, start)
        runs.append((stop - start, run_options))
    return runs


def plan_items(ranges: Sequence[tuple[int, int]], items: Sequence[Any], options: RunOptions,
               extra: dict[str, Any] | None = None) -> tuple[list[Any], Runs]:
    """The circuits to encode and the runs for a job's items (global ``ranges``, in order):
    circuits as :func:`plan_runs` plans them; points of a sweep (see :mod:`jobman.sweep`) as one
    ``"sweep"`` run per stretch of points of one PUB, seeded from its first point's index."""
    from jobman.sweep import SweepPoint

    if not any(isinstance(item, SweepPoint) for item in items):
        return list(items), plan_runs(ranges, options, extra)
    circuits: list[Any] = []
    runs: Runs = []
    offset = 0
    for start, stop in ranges:
        for lo, hi in _stretches(items, offset, offset + stop - start):
            first = items[lo]
            index = start + lo - offset
            run = plan_runs([(index, index + hi - lo)], options, extra)[0]
            if first.observables is not None:  # an estimator PUB: its points' expectation values
                circuits.append(first.circuit)
                run[1].update(sweep=[item.values for item in items[lo:hi]], memory=False,
                              estimate={"observables": first.observables, "precision": first.precision})
            elif first.values:
                circuits.append(first.circuit)
                run[1]["sweep"] = [item.values for item in items[lo:hi]]
            else:  # nothing to bind: the circuit itself, once per point
                circuits.extend(item.circuit for item in items[lo:hi])
            runs.append(run)
        offset += stop - start
    return circuits, runs


def _stretches(items: Sequence[Any], lo: int, hi: int) -> list[tuple[int, int]]:
    """``[lo, hi)`` cut where the PUB (or its prepared circuit) changes."""
    cuts: list[tuple[int, int]] = []
    at = lo
    for k in range(lo + 1, hi + 1):
        if k == hi or items[k].pub != items[at].pub or items[k].circuit is not items[at].circuit:
            cuts.append((at, k))
            at = k
    return cuts


def split_ranges(ranges: Ranges, parts: int) -> list[Ranges]:
    """``ranges`` cut into at most ``parts`` pieces of nearly equal circuit counts, in order."""
    total = sum(stop - start for start, stop in ranges)
    parts = max(1, min(parts, total))
    sizes = [total // parts + (k < total % parts) for k in range(parts)]
    pieces: list[Ranges] = []
    queue = list(ranges)
    for size in sizes:
        piece: Ranges = []
        while size:
            start, stop = queue.pop(0)
            take = min(size, stop - start)
            piece.append((start, start + take))
            if start + take < stop:
                queue.insert(0, (start + take, stop))
            size -= take
        pieces.append(piece)
    return pieces


def encode_circuits(circuits: Sequence["QuantumCircuit"]) -> bytes:
    """The circuits as QPY: the bytes they were read from where possible (no second encoding)."""
    from jobman.qpy_index import encoded

    data = encoded(circuits)
    if data is not None:
        return data
    from jobman.qpy_codec import dumps

    return dumps(circuits)  # delays keep their units (run_chunk restores them)


def run_chunk(qpy_bytes: bytes, runs: Runs, simulator_options: dict[str, Any]) -> dict[str, Any]:
    """Decode the circuits, run them on Aer run by run, and answer with packed outcomes.

    Never raises for what Aer does: an Aer failure is answered ``{"error": text}`` (so an
    exception out of an executor means the executor failed, not the circuits).
    """
    try:
        from jobman.qpy_codec import loads

        quiet_aer_logs()
        circuits = loads(qpy_bytes)
        began = time.monotonic()
        outcomes = _run(_simulator(simulator_options), circuits, runs)
        return {"outcomes": outcomes, "seconds": round(time.monotonic() - began, 3)}
    except Exception as error:
        return {"error": f"{type(error).__name__}: {error}"}


def unpack_answer(answer: dict[str, Any]) -> list[CircuitOutcome]:
    """The outcomes of a :func:`run_chunk` answer; BackendError (not transient) for an error."""
    if "error" in answer:
        raise BackendError(f"Aer failed: {answer['error']}", transient=False)
    return [unpack_outcome(packed) for packed in answer["outcomes"]]


def pack_outcome(outcome: CircuitOutcome) -> Packed:
    """A :class:`CircuitOutcome` as a tuple of builtins (small and quick to pickle)."""
    return (outcome.status.value, outcome.num_clbits, outcome.counts, outcome.memory, outcome.error,
            outcome.metadata, outcome.creg_sizes, outcome.evs, outcome.stds)


def unpack_outcome(packed: Sequence[Any]) -> CircuitOutcome:
    """The inverse of :func:`pack_outcome`."""
    status, num_clbits, counts, memory, error, metadata, creg_sizes, evs, stds = packed
    return CircuitOutcome(JobStatus(status), num_clbits, counts=counts, memory=memory, error=error,
                          metadata=metadata, creg_sizes=creg_sizes, evs=evs, stds=stds)


_local = threading.local()  # one simulator per thread (executors may run chunks on threads)


def _simulator(options: dict[str, Any]) -> Any:
    """An ``AerSimulator`` with ``options``, kept for the next chunk with the same options."""
    cached = getattr(_local, "simulator", None)
    if cached is not None and (cached[0] is options or cached[0] == options):
        return cached[1]
    from qiskit_aer import AerSimulator

    simulator = AerSimulator(**options)
    _local.simulator = (options, simulator)
    return simulator


def preload() -> None:
    """Import what :func:`run_chunk` needs (qiskit's QPY, Aer) now, in a worker that is idle
    anyway, instead of in its first chunk."""
    import qiskit.qpy  # noqa: F401
    import qiskit_aer  # noqa: F401


def quiet_aer_logs() -> None:
    """Keep Aer's "Simulation failed" warnings off stderr: each circuit's reason is in its outcome."""
    import logging

    logging.getLogger("qiskit_aer").addHandler(logging.NullHandler())


def _run(simulator: Any, circuits: list, runs: Runs) -> list[Packed]:
    outcomes: list[Packed] = []
    offset = 0
    for count, run_options in runs:
        if "estimate" in run_options:
            options = dict(run_options)
            estimate = options.pop("estimate")
            batch = run_estimates(simulator, circuits[offset], options.pop("sweep"), estimate["observables"],
                                  estimate["precision"], options)
            offset += 1
        elif "sweep" in run_options:
            options = dict(run_options)
            batch = run_sweep(simulator, circuits[offset], options.pop("sweep"), options)
            offset += 1
        else:
            batch = run_isolating(simulator, circuits[offset:offset + count], run_options)
            offset += count
        outcomes.extend(pack_outcome(outcome) for outcome in batch)
    return outcomes


def run_sweep(simulator: Any, circuit: Any, values: Sequence[Sequence[float]],
              run_options: dict[str, Any]) -> list[CircuitOutcome]:
    """One Aer run of ``circuit`` at every row of ``values`` (``parameter_binds``); when Aer
    fails the run as a whole, each half of the points runs on its own (seeds shifted as in
    :func:`run_isolating`), so that only the points at fault fail, each with Aer's reason."""
    parameters = list(circuit.parameters)

    def run_once(values: Sequence[Sequence[float]], run_options: dict[str, Any]) -> Any:
        return _run_bound(simulator, circuit, parameters, values, run_options)

    def failed(_point: Any, error: Exception) -> CircuitOutcome:
        return CircuitOutcome(JobStatus.ERROR, getattr(circuit, "num_clbits", 0),
                              error=f"Aer cannot run this point: {_one_line(error)}")

    return _bisected(list(values), run_options, run_once, failed)


def _run_bound(simulator: Any, circuit: Any, parameters: list[Any], values: Sequence[Sequence[float]],
               run_options: dict[str, Any]) -> Any:
    """One Aer run of ``circuit`` at every row of ``values`` (``parameter_binds``); its result
    holds one experiment per row, or ValueError."""
    if any(len(row) != len(parameters) for row in values):
        raise ValueError(f"{len(parameters)} parameters, but values of another length")
    binds = [{param: [float(row[i]) for row in values] for i, param in enumerate(parameters)}]
    result = simulator.run([circuit], parameter_binds=binds, **run_options).result()
    if len(result.results) != len(values):
        raise ValueError(f"Aer returned {len(result.results)} results for {len(values)} points")
    return result


def run_estimates(simulator: Any, circuit: Any, values: Sequence[Sequence[float]],
                  observables: Sequence[Sequence[tuple[str, float]]], precision: float,
                  run_options: dict[str, Any]) -> list[CircuitOutcome]:
    """The expectation values of ``observables`` (each a list of (pauli, coefficient) terms)
    at every row of ``values``, as qiskit-aer's ``EstimatorV2`` computes them: one
    ``save_expectation_value`` per Pauli string over all the circuit's qubits, one Aer run with
    ``parameter_binds``, and per observable the sum of coefficient x value in its terms' order
    (so the floats are the same). ``stds`` are ``precision``, as there. Points at fault fail
    alone (halves run on their own, as in :func:`run_sweep`)."""
    from qiskit.quantum_info import Pauli

    measured = circuit.copy()
    labels = list(dict.fromkeys(label for terms in observables for label, _ in terms))
    for label in labels:
        measured.save_expectation_value(Pauli(label), qubits=range(circuit.num_qubits), label=label)
    parameters = list(circuit.parameters)

    def run_once(values: Sequence[Sequence[float]], run_options: dict[str, Any]) -> list[CircuitOutcome]:
        if not parameters:  # nothing to bind: every point has the circuit's own values
            result = simulator.run([measured], **run_options).result()
            return [_estimate(result.results[0], observables, precision)] * len(values)
        result = _run_bound(simulator, measured, parameters, values, run_options)
        return [_estimate(experiment, observables, precision) for experiment in result.results]

    def failed(_point: Any, error: Exception) -> CircuitOutcome:
        return CircuitOutcome(JobStatus.ERROR, 0, error=f"Aer cannot run this point: {_one_line(error)}")

    return _bisected(list(values), run_options, run_once, failed, estimated=True)


def _estimate(experiment: Any, observables: Sequence[Sequence[tuple[str, float]]],
              precision: float) -> CircuitOutcome:
    """One point's expectation values from its Aer experiment (see :func:`run_estimates`)."""
    if not experiment.success:
        return CircuitOutcome(JobStatus.ERROR, 0, error=str(experiment.status))
    saved = experiment.data.to_dict() if hasattr(experiment.data, "to_dict") else dict(experiment.data)
    evs = []
    for terms in observables:
        value = 0.0
        for label, coeff in terms:
            value += saved[label] * coeff
        evs.append(float(value))
    return CircuitOutcome(JobStatus.DONE, 0, counts={}, evs=evs, stds=[float(precision)] * len(evs))


def run_isolating(simulator: Any, circuits: list, run_options: dict[str, Any]) -> list[CircuitOutcome]:
    """One Aer run of ``circuits``; when Aer fails the run as a whole, each half runs on its own.

    Bisecting until the runs that fail hold one circuit fails only the circuits at fault, each
    with Aer's own reason; the others get the results they would have had in the whole run,
    since the second half's seed is shifted by :data:`SEED_STRIDE` per circuit left behind.
    """
    def failed(circuit: Any, error: Exception) -> CircuitOutcome:
        return CircuitOutcome(JobStatus.ERROR, getattr(circuit, "num_clbits", 0),
                              error=f"Aer cannot run this circuit: {_one_line(error)}")

    return _bisected(circuits, run_options, lambda items, options: simulator.run(items, **options).result(),
                     failed)


def _bisected(items: list, run_options: dict[str, Any], run_once: Callable[[list, dict[str, Any]], Any],
              failed: Callable[[Any, Exception], CircuitOutcome], estimated: bool = False
              ) -> list[CircuitOutcome]:
    """``run_once(items, run_options)``'s outcomes (its Result's experiments; the outcomes
    themselves when ``estimated``); when it raises, each half of ``items`` runs on its own, the
    second half's ``seed_simulator`` moved on by :data:`SEED_STRIDE` per item left behind, down
    to single items that fail with ``failed(item, error)``."""
    try:
        result = run_once(items, run_options)
    except Exception as error:
        if len(items) <= 1:
            return [failed(item, error) for item in items]
        half = len(items) // 2
        later = dict(run_options)
        if "seed_simulator" in later:
            later["seed_simulator"] = (later["seed_simulator"] + SEED_STRIDE * half) % (2**63)
        return (_bisected(items[:half], run_options, run_once, failed, estimated)
                + _bisected(items[half:], later, run_once, failed, estimated))
    return list(result) if estimated else [_outcome(experiment) for experiment in result.results]


def _one_line(error: BaseException) -> str:
    from jobman.qpy_index import one_line

    return f"{type(error).__name__}: {one_line(error)}"


def _outcome(experiment: Any) -> CircuitOutcome:
    """One Aer experiment result as a :class:`CircuitOutcome`."""
    header = getattr(experiment, "header", None)
    if not isinstance(header, dict):
        header = vars(header) if header is not None and hasattr(header, "__dict__") else {}
    num_clbits = int(header.get("memory_slots", 0) or 0)
    creg_sizes = [int(size) for _, size in header.get("creg_sizes") or []]
    metadata = header.get("metadata")  # the circuit's metadata, which Aer puts in the header
    metadata = dict(metadata) if isinstance(metadata, dict) else None
    if not experiment.success:
        return CircuitOutcome(JobStatus.ERROR, num_clbits, error=str(experiment.status),
                              creg_sizes=creg_sizes, metadata=metadata)
    data = experiment.data
    counts = getattr(data, "counts", None)
    memory = getattr(data, "memory", None)
    return CircuitOutcome(JobStatus.DONE, num_clbits, counts=dict(counts) if counts is not None else {},
                          memory=list(memory) if memory is not None else None, creg_sizes=creg_sizes,
                          metadata=metadata)

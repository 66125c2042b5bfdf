"""Transpiling circuits to a device's ISA: seeded, and in parallel across cores.

The same circuit, seed and optimization level always give the same ISA circuit, whatever the
chunk it is in and whichever worker transpiles it: every worker builds the same seeded
pass manager from the device's :class:`~qiskit.transpiler.Target`.

Qiskit runs its own process pool only when the user opts in (``QISKIT_PARALLEL``), so jobman
keeps one of its own: a ``forkserver`` pool (forking a process with live network threads is
unsafe) created on the first large chunk and reused until :meth:`Transpiler.close`.
Circuits go to the workers pickled and come back as QPY (faster for ISA circuits); nothing
is stored with pickle.
"""

from __future__ import annotations

import os
import secrets
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, Any, Sequence

if TYPE_CHECKING:  # pragma: no cover
    from qiskit import QuantumCircuit

#: Chunks smaller than this are transpiled in process: starting workers would cost more.
PARALLEL_MIN_CIRCUITS = 256

_WORKER_PASS_MANAGERS: dict[tuple[str, int], Any] = {}


#: generate_preset_pass_manager arguments that jobman sets itself, and the flag to use instead.
OWN_OPTIONS = {"target": "--backend", "backend": "--backend", "optimization_level": "-O",
               "seed_transpiler": "--seed"}


def pass_manager(target: Any, optimization_level: int, seed: int, options: dict[str, Any] | None = None
                 ) -> Any:
    """The preset pass manager for ``target``, seeded so that its output is reproducible, with
    the user's ``options`` (``--transpile-option``) for ``generate_preset_pass_manager``."""
    from qiskit.transpiler import generate_preset_pass_manager

    return generate_preset_pass_manager(target=target, optimization_level=optimization_level,
                                        seed_transpiler=seed, **(options or {}))


def check_options(target: Any, optimization_level: int, options: dict[str, Any]) -> dict[str, Any]:
    """``options`` when ``generate_preset_pass_manager`` takes them; UsageError otherwise."""
    import inspect

    from qiskit.transpiler import generate_preset_pass_manager

    from jobman.backends.aer_options import check_recordable
    from jobman.exceptions import UsageError

    known = {name for name in inspect.signature(generate_preset_pass_manager).parameters
             if not name.startswith("_")}
    for key in options:
        if key in OWN_OPTIONS:
            raise UsageError(f"transpile option {key!r} is set by jobman: use {OWN_OPTIONS[key]}")
        if key not in known:
            raise UsageError(f"unknown transpile option {key!r}: generate_preset_pass_manager takes "
                             f"{', '.join(sorted(known - set(OWN_OPTIONS)))}")
    check_recordable(options, "transpile option")
    try:
        pass_manager(target, optimization_level, 0, options)
    except Exception as error:
        text = " ".join(str(error).strip("'\" ").split()) or type(error).__name__
        raise UsageError(f"the transpiler refuses the transpile options: {text}") from None
    return dict(options)


def isa_problem(circuit: "QuantumCircuit", target: Any) -> str | None:
    """Why ``circuit`` is not an ISA circuit of ``target`` (as qiskit-ibm-runtime checks it:
    every instruction supported on its very qubits, inside control flow too), or None. A
    target without a qubit count (an ideal simulator's) takes any width."""
    if target.num_qubits is not None and circuit.num_qubits > target.num_qubits:
        return f"circuit has {circuit.num_qubits} qubits; the target has {target.num_qubits}"
    return _block_problem(circuit, target, {bit: i for i, bit in enumerate(circuit.qubits)})


def _block_problem(circuit: "QuantumCircuit", target: Any, qubit_map: dict) -> str | None:
    for item in circuit.data:
        name = item.operation.name
        qargs = tuple(qubit_map[bit] for bit in item.qubits)
        if name not in ("barrier", "store") and not target.instruction_supported(name, qargs):
            return f"{name} not supported on qubits {qargs}"
        for block in getattr(item.operation, "blocks", ()):
            problem = _block_problem(block, target, {inner: qubit_map[outer]
                                                     for outer, inner in zip(item.qubits, block.qubits)})
            if problem:
                return problem
    return None


def default_workers() -> int:
    """Worker processes to use: the cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not on Linux
        return max(1, os.cpu_count() or 1)


class Transpiler:
    """Transpiles lists of circuits for one target with one optimization level."""

    def __init__(self, target: Any, optimization_level: int, workers: int | None = None,
                 parallel_min: int = PARALLEL_MIN_CIRCUITS, options: dict[str, Any] | None = None) -> None:
        self.target = target
        self.optimization_level = optimization_level
        self.options = dict(options or {})
        self.workers = default_workers() if workers is None else max(1, workers)
        self.parallel_min = parallel_min
        self._managers: dict[int, Any] = {}
        self._pool: ProcessPoolExecutor | None = None
        self._token = secrets.token_hex(8)  # names this target in the workers' caches

    def run(self, circuits: Sequence["QuantumCircuit"], seed: int) -> list["QuantumCircuit"]:
        """ISA versions of ``circuits``, in order."""
        circuits = list(circuits)
        if self.workers < 2 or len(circuits) < max(2, self.parallel_min):
            return list(self._manager(seed).run(circuits))
        try:
            return self._run_parallel(circuits, seed)
        except BrokenProcessPool:  # workers could not start (e.g. an unguarded __main__): go on alone
            self.close()
            self.workers = 1
            return list(self._manager(seed).run(circuits))

    def close(self) -> None:
        """Stop the worker processes, if any were started."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def _manager(self, seed: int) -> Any:
        if seed not in self._managers:
            self._managers[seed] = pass_manager(self.target, self.optimization_level, seed, self.options)
        return self._managers[seed]

    def _run_parallel(self, circuits: list["QuantumCircuit"], seed: int) -> list["QuantumCircuit"]:
        if self._pool is None:
            import multiprocessing

            context = multiprocessing.get_context("forkserver")
            self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=context,
                                             initializer=_start_worker)
        size = -(-len(circuits) // self.workers)
        slices = [circuits[i:i + size] for i in range(0, len(circuits), size)]
        futures = [self._pool.submit(_transpile_slice, self._token, self.target, self.optimization_level,
                                     seed, piece, self.options) for piece in slices]
        return [circuit for future in futures for circuit in _from_qpy(future.result())]


def _start_worker() -> None:
    """Worker start: one thread each, as Qiskit does in its own pool (no oversubscription)."""
    os.environ["QISKIT_IN_PARALLEL"] = "TRUE"


def _transpile_slice(token: str, target: Any, optimization_level: int, seed: int,
                     circuits: list["QuantumCircuit"], options: dict[str, Any] | None = None) -> bytes:
    """Worker side: transpile one slice with a pass manager built once per target and seed.

    The result travels back as QPY: ISA circuits carry device-wide layouts that pickle
    several times slower than they transpile.
    """
    key = (token, seed)
    if key not in _WORKER_PASS_MANAGERS:
        _WORKER_PASS_MANAGERS[key] = pass_manager(target, optimization_level, seed, options)
    return _to_qpy(_WORKER_PASS_MANAGERS[key].run(circuits))


def _to_qpy(circuits: list["QuantumCircuit"]) -> bytes:
    from jobman.qpy_codec import dumps

    return dumps(circuits)  # delays keep their units


def _from_qpy(data: bytes) -> list["QuantumCircuit"]:
    from jobman.qpy_codec import loads

    return loads(data)

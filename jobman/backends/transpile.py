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


def pass_manager(target: Any, optimization_level: int, seed: int) -> Any:
    """The preset pass manager for ``target``, seeded so that its output is reproducible."""
    from qiskit.transpiler import generate_preset_pass_manager

    return generate_preset_pass_manager(target=target, optimization_level=optimization_level,
                                        seed_transpiler=seed)


def default_workers() -> int:
    """Worker processes to use: the cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not on Linux
        return max(1, os.cpu_count() or 1)


class Transpiler:
    """Transpiles lists of circuits for one target with one optimization level."""

    def __init__(self, target: Any, optimization_level: int, workers: int | None = None,
                 parallel_min: int = PARALLEL_MIN_CIRCUITS) -> None:
        self.target = target
        self.optimization_level = optimization_level
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
            self._managers[seed] = pass_manager(self.target, self.optimization_level, seed)
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
                                     seed, piece) for piece in slices]
        return [circuit for future in futures for circuit in _from_qpy(future.result())]


def _start_worker() -> None:
    """Worker start: one thread each, as Qiskit does in its own pool (no oversubscription)."""
    os.environ["QISKIT_IN_PARALLEL"] = "TRUE"


def _transpile_slice(token: str, target: Any, optimization_level: int, seed: int,
                     circuits: list["QuantumCircuit"]) -> bytes:
    """Worker side: transpile one slice with a pass manager built once per target and seed.

    The result travels back as QPY: ISA circuits carry device-wide layouts that pickle
    several times slower than they transpile.
    """
    key = (token, seed)
    if key not in _WORKER_PASS_MANAGERS:
        _WORKER_PASS_MANAGERS[key] = pass_manager(target, optimization_level, seed)
    return _to_qpy(_WORKER_PASS_MANAGERS[key].run(circuits))


def _to_qpy(circuits: list["QuantumCircuit"]) -> bytes:
    import io

    from qiskit import qpy

    buffer = io.BytesIO()
    qpy.dump(circuits, buffer)
    return buffer.getvalue()


def _from_qpy(data: bytes) -> list["QuantumCircuit"]:
    import io

    from qiskit import qpy

    return list(qpy.load(io.BytesIO(data)))

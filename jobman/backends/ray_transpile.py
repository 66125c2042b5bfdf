"""ISA transpilation of fake and IBM device chunks as Ray tasks: ``--executor ray`` on IBM backends.

Only the transpilation moves to the cluster: the jobman process (the Ray driver) keeps
submission, polling, sessions and the store. The device's :class:`~qiskit.transpiler.Target`
(from the fake device, or from the service for a real one) is put into Ray's object store once
per connection (pickled over Ray's wire only, never to disk); each task builds the same seeded
pass manager from it as a local run does (cached per worker process), so the ISA circuits are
exactly those of a local run. A chunk is cut into slices, one task per CPU of the cluster; the
circuits travel as QPY both ways, and each task says on which node (and worker pid) it ran.

A task that dies (its worker or node killed, out of memory, the cluster gone) loses nothing:
its slice is sent once more, and if that fails too it is transpiled here, with a logged reason.
An error of the transpiler itself is raised as a local run raises it. Tasks never retry by
themselves (``max_retries=0``).
"""

from __future__ import annotations

import os
import secrets
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, Sequence

from jobman.backends.ray_executor import RayExecutor
from jobman.backends.transpile import Transpiler, _from_qpy, _to_qpy, _transpile_slice
from jobman.log import log

if TYPE_CHECKING:  # pragma: no cover
    from qiskit import QuantumCircuit

__all__ = ["RETRIES", "SLICE_MIN", "RayTranspiler", "transpile_task"]

#: Times a slice whose task died is sent to the cluster again before it is transpiled here.
RETRIES = 1
#: Fewest circuits per task: smaller slices cost more in task overhead than they save.
SLICE_MIN = 16


def transpile_task(token: str, target: Any, optimization_level: int, seed: int, payload: bytes,
                   options: dict[str, Any]) -> dict[str, Any]:
    """Worker side: transpile the QPY ``payload`` for ``target``; the ISA circuits as QPY, and
    where it ran (``node``: the Ray node id, ``pid``: the worker process)."""
    import ray

    os.environ["QISKIT_IN_PARALLEL"] = "TRUE"  # one thread per task, as in jobman's local pool
    isa = _transpile_slice(token, target, optimization_level, seed, _from_qpy(payload), options)
    return {"qpy": isa, "node": ray.get_runtime_context().get_node_id(), "pid": os.getpid()}


class RayTranspiler:
    """Transpiles lists of circuits for one target as Ray tasks on the cluster at ``address``
    (None: Ray's own convention, ``RAY_ADDRESS``), with the interface of
    :class:`~jobman.backends.transpile.Transpiler`. ``placements`` lists where each slice ran."""

    def __init__(self, target: Any, optimization_level: int, options: dict[str, Any] | None = None,
                 address: str | None = None, executor: RayExecutor | None = None) -> None:
        self.target, self.optimization_level = target, optimization_level
        self.options = dict(options or {})
        self.executor = executor if executor is not None else RayExecutor(address)
        self.placements: list[dict[str, Any]] = []  # {"node", "pid", "circuits"} per slice
        self._token = secrets.token_hex(8)  # names this target in the workers' caches
        self._target_ref: Any = None
        self._local: Transpiler | None = None

    def connect(self) -> None:
        """Connect to the cluster now; BackendError (not transient) when it cannot be reached."""
        self.executor.connect()

    def run(self, circuits: Sequence["QuantumCircuit"], seed: int) -> list["QuantumCircuit"]:
        """ISA versions of ``circuits``, in order, transpiled on the cluster."""
        slices = self._slices(list(circuits))
        futures = [self._send(piece, seed) for piece in slices]
        return [circuit for piece, future in zip(slices, futures) for circuit in self._collect(piece, future, seed)]

    def close(self) -> None:
        """Disconnect from the cluster if this transpiler connected (the cluster stays up)."""
        self._target_ref = None
        if self._local is not None:
            self._local.close()
        self.executor.shutdown()

    def _slices(self, circuits: list["QuantumCircuit"]) -> list[list["QuantumCircuit"]]:
        if not circuits:
            return []
        try:
            slots = self.executor.slots()
        except Exception as error:  # the cluster is gone: one slice, which then goes local
            log.debug("cannot ask the Ray cluster its size: %s", error)
            slots = 1
        pieces = max(1, min(slots, len(circuits) // SLICE_MIN))
        size = -(-len(circuits) // pieces)
        return [circuits[i:i + size] for i in range(0, len(circuits), size)]

    def _send(self, piece: list["QuantumCircuit"], seed: int) -> "Future[dict[str, Any]]":
        """One task for ``piece``; a future holding the error when it cannot be sent."""
        try:
            return self.executor.submit(transpile_task, self._token, self._target(), self.optimization_level,
                                        seed, _to_qpy(piece), self.options)
        except Exception as error:
            failed: "Future[dict[str, Any]]" = Future()
            failed.set_exception(error)
            return failed

    def _target(self) -> Any:
        if self._target_ref is None:
            self._target_ref = self.executor.put(self.target)
        return self._target_ref

    def _collect(self, piece: list["QuantumCircuit"], future: "Future[dict[str, Any]]", seed: int) -> list["QuantumCircuit"]:
        """The slice's ISA circuits: from its task, from a resent one, or transpiled here."""
        from ray.exceptions import RayTaskError

        for attempt in range(RETRIES + 1):
            try:
                answer = future.result()
            except RayTaskError as error:  # the transpiler's own error: as a local run raises it
                raise (error.cause if isinstance(error.cause, BaseException) else error) from None
            except Exception as error:  # the task died, or could not be sent
                self._target_ref = None  # put the target again (the object may be lost with its node)
                reason = f"{type(error).__name__}: {' '.join(str(error).split())[:300]}"
                if attempt < RETRIES:
                    log.warning("a Ray task transpiling %d circuits failed (%s); sending it again",
                                len(piece), reason)
                    future = self._send(piece, seed)
                    continue
                log.warning("transpiling %d circuits here instead of on the Ray cluster: its task "
                            "failed %d times (last: %s)", len(piece), RETRIES + 1, reason)
                return self._local_transpiler().run(piece, seed)
            self.placements.append({"node": answer["node"], "pid": answer["pid"], "circuits": len(piece)})
            log.debug("transpiled %d circuits on Ray node %s (worker pid %s)", len(piece), answer["node"],
                      answer["pid"])
            return _from_qpy(answer["qpy"])
        raise AssertionError("unreachable")  # pragma: no cover

    def _local_transpiler(self) -> Transpiler:
        if self._local is None:
            self._local = Transpiler(self.target, self.optimization_level, workers=1, options=self.options)
        return self._local

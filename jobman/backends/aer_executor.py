"""Aer chunks on any ``concurrent.futures.Executor``: a process pool, Dask, Parsl, Ray.

Each job (one chunk) is one call ``executor.submit(run_chunk, qpy_bytes, runs, simulator_options)``
of the public chunk function :func:`jobman.backends.aer_chunk.run_chunk`: plain data in, packed
outcomes out. This process stays the coordinator and the only writer of the store; the
executor only computes. Seeds come from global indices, so results are identical to a local
run with the same ``--seed``, whatever the executor's size or the order in which calls finish.

An exception out of the executor (a worker or node that died, a lost connection) fails the
job *transiently*: jobman's own retry policy resubmits it (Aer's own failures come back inside
the answer and fail the circuits with their reason). Executors that retry by themselves
should be told not to (Ray: ``max_retries=0``; Dask: ``client.get_executor(pure=False)`` so a
resubmission is computed again rather than looked up).
"""

from __future__ import annotations

from concurrent.futures import Executor, Future, InvalidStateError
from typing import TYPE_CHECKING, Any, Sequence

from jobman.backends.aer import AerBase, usable_cores
from jobman.backends.aer_chunk import encode_circuits, plan_items, run_chunk, unpack_answer
from jobman.backends.base import ChunkJob, RunOptions
from jobman.exceptions import BackendError

if TYPE_CHECKING:  # pragma: no cover
    from qiskit import QuantumCircuit

__all__ = ["ExecutorAerBackend", "executor_slots"]


def executor_slots(executor: Executor) -> int:
    """How many chunks ``executor`` runs at once, as far as it says (else this machine's cores).

    Knows executors with a ``slots()`` method (jobman's Ray executor), ``_max_workers``
    (``ProcessPoolExecutor``, ``ThreadPoolExecutor``) and Dask's ``ClientExecutor``.
    """
    slots = getattr(executor, "slots", None)
    if callable(slots):
        return max(1, int(slots()))
    workers = getattr(executor, "_max_workers", None)
    if isinstance(workers, int) and workers > 0:
        return workers
    client = getattr(executor, "_client", None)
    if client is not None and hasattr(client, "nthreads"):
        try:
            return max(1, sum(client.nthreads().values()))
        except Exception:
            pass
    return usable_cores()


class ExecutorAerBackend(AerBase):
    """Runs each chunk as one :func:`~jobman.backends.aer_chunk.run_chunk` call on ``executor``.

    ``threads`` is Aer's ``max_parallel_threads`` inside a call (default 1: one call per slot).
    Jobs in flight default to the executor's slots plus one, so the next chunk is already waiting
    when a slot frees. The executor is the caller's: :meth:`close` cancels what is left of this
    backend's calls but never shuts the executor down.
    """

    runs_here = False  # a GPU may be on the executor's nodes only
    elastic_in_flight = True

    def __init__(self, executor: Executor, method: str = "automatic", device: str = "CPU",
                 threads: int = 1, noise_model: Any = None, **aer_options: Any) -> None:
        super().__init__(method, device, noise_model, threads=threads, **aer_options)
        self.executor = executor
        self._calls: dict[str, Future] = {}  # job id -> the executor's own future

    @property
    def default_max_in_flight(self) -> int:  # type: ignore[override]
        """The executor's slots plus one (asked again at every submission round)."""
        return executor_slots(self.executor) + 1

    def submit(self, job: ChunkJob, circuits: Sequence["QuantumCircuit"], options: RunOptions) -> str:
        items, runs = plan_items(job.ranges(), circuits, options)
        payload = encode_circuits(items)
        try:
            call = self.executor.submit(run_chunk, payload, runs, self._options)
        except BackendError:
            raise
        except Exception as error:  # e.g. the cluster went away: jobman's retry policy decides
            raise BackendError(f"the executor refused the chunk: {type(error).__name__}: {error}",
                               transient=True) from None
        job_id, outcome = self._new_job(job)
        with self._lock:
            self._calls[job_id] = call
        call.add_done_callback(lambda done: self._settle(job_id, outcome, done))
        return job_id

    def _settle(self, job_id: str, outcome: Future, call: Future) -> None:
        """Turn the executor's answer into outcomes, or into the error to report."""
        with self._lock:
            self._calls.pop(job_id, None)  # let the executor forget the call (Dask keys)
        try:
            if call.cancelled():
                outcome.cancel()
            elif call.exception() is not None:
                error = call.exception()
                outcome.set_exception(BackendError(
                    f"the executor failed to run the chunk: {type(error).__name__}: {error}",
                    transient=True))
            else:
                answer = call.result()
                if isinstance(answer, dict) and "seconds" in answer:
                    with self._lock:
                        self._usage[job_id] = answer["seconds"]
                try:
                    outcome.set_result(unpack_answer(answer))
                except BackendError as error:
                    outcome.set_exception(error)
        except InvalidStateError:  # cancelled meanwhile
            pass

    def _is_running(self, job_id: str) -> bool:
        call = self._calls.get(job_id)
        return call is not None and call.running()

    def cancel(self, job_id: str) -> None:
        outcome = self._futures.get(job_id)
        if outcome is not None:
            outcome.cancel()
        call = self._calls.get(job_id)
        if call is not None:
            call.cancel()

    def close(self) -> None:
        """Cancel this backend's calls still pending; the executor itself stays up."""
        self._closed = True
        for job_id in list(self._futures):
            self.cancel(job_id)

    def describe(self) -> dict[str, Any]:
        return dict(super().describe(), executor=type(self.executor).__name__)

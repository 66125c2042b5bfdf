"""The local Aer simulator, in process: the default backend.

Jobs run one after another on a worker thread (Aer already uses every core for one
job and releases the GIL), so the engine can load the next chunk and write the last
one's results while a chunk simulates.
"""

from __future__ import annotations

import itertools
import threading
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from typing import TYPE_CHECKING, Any, Sequence

from jobman.backends.base import Backend, BackendLimits, ChunkJob, CircuitOutcome, RunOptions
from jobman.exceptions import BackendError
from jobman.status import JobStatus

if TYPE_CHECKING:  # pragma: no cover
    from qiskit import QuantumCircuit

#: Aer gives experiment i of a run the seed ``seed_simulator + SEED_STRIDE * i``.
SEED_STRIDE = 2113


def chunk_seed(seed: int, start: int) -> int:
    """The run seed that gives circuit ``start`` the seed it would get in one big run."""
    return (seed + SEED_STRIDE * start) % (2**63)


class AerBackend(Backend):
    """Runs chunks with ``AerSimulator.run``; failures are reported per circuit."""

    name = "aer"
    reattachable = False
    default_max_in_flight = 2

    def __init__(self, method: str = "automatic", device: str = "CPU", **aer_options: Any) -> None:
        from qiskit_aer import AerSimulator

        self._simulator = AerSimulator(method=method, device=device, max_parallel_experiments=0,
                                       **aer_options)
        self._supported = frozenset(self._simulator.target.operation_names) | {"barrier"}
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="jobman-aer")
        self._futures: dict[str, Future] = {}
        self._running: set[str] = set()
        self._lock = threading.Lock()
        self._ids = itertools.count()

    def limits(self) -> BackendLimits:
        return BackendLimits(num_qubits=self._simulator.num_qubits)

    def validate(self, circuit: "QuantumCircuit") -> str | None:
        return None  # Aer picks a method per circuit and reports the ones it cannot run

    def prepare(self, circuits: list["QuantumCircuit"], options: RunOptions) -> list["QuantumCircuit"]:
        """Transpile only the circuits that use instructions Aer does not know (rare)."""
        supported = self._supported
        foreign = [i for i, c in enumerate(circuits)
                   if not supported.issuperset(c.count_ops())]
        if not foreign:
            return circuits
        from qiskit import transpile

        prepared = list(circuits)
        translated = transpile([circuits[i] for i in foreign], self._simulator, optimization_level=0)
        for i, circuit in zip(foreign, translated):
            prepared[i] = circuit
        return prepared

    def submit(self, job: ChunkJob, circuits: Sequence["QuantumCircuit"], options: RunOptions) -> str:
        job_id = f"aer-{job.chunk}-{job.attempt}-{next(self._ids)}"
        batches, offset = [], 0
        for start, stop in job.ranges():  # one Aer run per range keeps seeds tied to global indices
            run_options: dict[str, Any] = {"shots": options.shots, "memory": options.memory}
            if options.seed is not None:
                run_options["seed_simulator"] = chunk_seed(options.seed, start)
            batches.append((list(circuits[offset:offset + stop - start]), run_options))
            offset += stop - start
        future = self._pool.submit(self._simulate, job_id, batches)
        with self._lock:
            self._futures[job_id] = future
        return job_id

    def _simulate(self, job_id: str, batches: list[tuple[list, dict[str, Any]]]) -> list[CircuitOutcome]:
        with self._lock:
            self._running.add(job_id)
        try:
            outcomes: list[CircuitOutcome] = []
            for circuits, run_options in batches:
                result = self._simulator.run(circuits, **run_options).result()
                outcomes.extend(_outcome(experiment) for experiment in result.results)
            return outcomes
        finally:
            with self._lock:
                self._running.discard(job_id)

    def _future(self, job_id: str) -> Future:
        try:
            return self._futures[job_id]
        except KeyError:
            raise BackendError(f"unknown Aer job {job_id} (Aer jobs do not survive the process)") from None

    def status(self, job_id: str) -> JobStatus:
        future = self._future(job_id)
        if future.cancelled():
            return JobStatus.CANCELLED
        if future.done():
            return JobStatus.ERROR if future.exception() is not None else JobStatus.DONE
        return JobStatus.RUNNING if job_id in self._running else JobStatus.QUEUED

    def wait(self, job_ids: Sequence[str], timeout: float) -> dict[str, JobStatus]:
        futures = [self._future(job_id) for job_id in job_ids]
        wait_futures(futures, timeout=timeout, return_when=FIRST_COMPLETED)
        return {job_id: self.status(job_id) for job_id in job_ids}

    def result(self, job_id: str) -> list[CircuitOutcome]:
        future = self._futures.pop(job_id, None) or self._future(job_id)
        error = future.exception()
        if error is not None:
            raise BackendError(f"Aer failed: {error}", transient=False) from None
        return future.result()

    def job_error(self, job_id: str) -> BaseException | None:
        future = self._futures.get(job_id)
        if future is None or not future.done() or future.cancelled():
            return None
        return future.exception()

    def cancel(self, job_id: str) -> None:
        future = self._futures.get(job_id)
        if future is not None:
            future.cancel()  # a chunk already simulating runs to its end

    def close(self) -> None:
        for future in self._futures.values():
            future.cancel()
        self._pool.shutdown(wait=True)


def _outcome(experiment: Any) -> CircuitOutcome:
    """One Aer experiment result as a :class:`CircuitOutcome`."""
    header = getattr(experiment, "header", None)
    if isinstance(header, dict):
        num_clbits = int(header.get("memory_slots", 0))
    else:
        num_clbits = int(getattr(header, "memory_slots", 0) or 0)
    if not experiment.success:
        return CircuitOutcome(JobStatus.ERROR, num_clbits, error=str(experiment.status))
    data = experiment.data
    counts = getattr(data, "counts", None)
    memory = getattr(data, "memory", None)
    return CircuitOutcome(JobStatus.DONE, num_clbits, counts=dict(counts) if counts is not None else {},
                          memory=list(memory) if memory is not None else None)

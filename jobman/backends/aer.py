"""The local Aer simulator: the default backend.

Aer holds the GIL while it simulates (qiskit-aer 0.18), so no thread of this process can run
while a chunk simulates here; and on small circuits about 40% of Aer's time is Python code
that compiles and assembles circuits on one core. So chunks run in worker processes, one per
core (up to :data:`MAX_WORKERS`), each running Aer on one thread: a job is split into one
piece per worker (a small one, of fewer than :data:`MIN_PIECE` circuits a worker, is not), and
the pieces simulate side by side while this process loads the next chunk and writes the last
one's results. Jobs run side by side too, one thread of this process per worker taking the next
job and the workers it needs, so a worker never waits for another job's slower piece: small
chunks keep every worker busy. On two cores that is about 20% faster than one two-threaded
simulator. A job holding a circuit of :data:`WIDE_QUBITS` qubits or more is not split: it runs
on one worker with every thread, as one in-process simulator would run it.

Workers are plain ``python -c`` processes started with the backend (so they import Aer while
jobman reads its inputs), fed over pipes: each piece is the public chunk protocol of
:mod:`jobman.backends.aer_chunk` (QPY bytes and seeded runs in, packed outcomes out), which
other executors (:mod:`jobman.backends.aer_executor`, Ray) run too, so results are the same
wherever a chunk runs. Workers inherit no open files (the set's lock stays with jobman),
ignore Ctrl-C (jobman handles it) and end when jobman does.
"""

from __future__ import annotations

import itertools
import logging
import os
import pickle
import queue
import subprocess
import sys
import threading
import time
from concurrent.futures import Future, InvalidStateError
from typing import TYPE_CHECKING, Any, Sequence

from jobman.backends.aer_chunk import (SEED_STRIDE, Runs, chunk_seed, encode_circuits, plan_items,
                                       preload, quiet_aer_logs, run_chunk, split_ranges, unpack_answer)
from jobman.backends.base import (JOB_NOT_FOUND, Backend, BackendLimits, ChunkJob, CircuitOutcome,
                                  RunOptions)
from jobman.exceptions import BackendError
from jobman.status import JobStatus

if TYPE_CHECKING:  # pragma: no cover
    from qiskit import QuantumCircuit

__all__ = ["MAX_SHOTS", "MAX_WORKERS", "MIN_PIECE", "SEED_STRIDE", "WIDE_QUBITS", "AerBackend", "AerBase", "chunk_seed",
           "quiet_aer_logs", "split_ranges", "usable_cores"]

#: Most worker processes by default.
MAX_WORKERS = 4
#: Aer options whose default jobman does not record.
DEFAULTS = {"method": "automatic", "device": "CPU"}
#: Most shots per circuit: Aer counts shots in 64-bit integers (more fail inside Aer).
MAX_SHOTS = 2**63 - 1
#: From this width Aer parallelises one circuit's state updates: such jobs are not split.
WIDE_QUBITS = 14
#: How long close() waits for the backend's thread once the workers are stopped (seconds).
CLOSE_WAIT = 5.0
#: Fewest circuits a piece of a split job gets: smaller jobs run on one worker (each piece
#: costs Aer's fixed cost of a run, and other jobs keep the other workers busy).
MIN_PIECE = 8
LOG = logging.getLogger(__name__)

#: What one worker runs: QPY bytes of its circuits, and its seeded runs (see ``aer_chunk``).
Piece = tuple[bytes, Runs]


def usable_cores() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


class AerBase(Backend):
    """What every Aer backend shares, wherever its chunks run: checked and recorded options,
    limits, translation, and jobs followed as ``concurrent.futures.Future`` objects whose result
    is the list of outcomes. ``threads`` is each simulator's ``max_parallel_threads``."""

    name = "aer"
    reattachable = False
    durable_records = False  # a lost job costs nothing: it runs again on resume
    runs_sweeps = True  # a chunk's points of one circuit: one run with parameter_binds
    runs_estimates = True  # exact expectation values, as qiskit-aer's EstimatorV2 computes them
    exact_estimates = True  # precision 0: the exact values
    #: Whether chunks run on this machine (else its own simulator checks options on the CPU:
    #: a GPU may be on the executor's nodes only).
    runs_here = True

    def __init__(self, method: str = "automatic", device: str = "CPU", noise_model: Any = None,
                 threads: int = 1, **aer_options: Any) -> None:
        from jobman.backends.aer_options import check_options, noise_record, trial_run

        self._given = check_options(dict(aer_options, **{k: v for k, v in (("method", method),
                                    ("device", device)) if v != DEFAULTS[k]}))
        self._noise_record, noise = noise_record(noise_model)
        self._options = dict(method=method, device=device, max_parallel_experiments=0,
                             max_parallel_threads=threads)
        self._options.update(aer_options)
        if noise is not None:
            self._options["noise_model"] = noise
        here = self._options if self.runs_here else dict(self._options, device="CPU")
        self._simulator = trial_run(here, checked=bool(self._given))  # limits; bad options
        # What Aer runs as it is: a noiseless simulator's instructions (a noise model narrows the
        # target to its basis gates, but Aer's run() simulates the others too, without noise).
        self._supported = supported_instructions(here)
        self._futures: dict[str, Future] = {}
        self._usage: dict[str, float] = {}  # job id -> seconds it simulated
        self._lock = threading.Lock()
        self._ids = itertools.count()
        self._closed = False
        self._ended = threading.Event()  # set whenever one of this backend's jobs ends

    def options(self) -> dict[str, Any]:
        """What the set records: the Aer options given (``noise_model`` as its JSON record)."""
        recorded = dict(self._given)
        if self._noise_record is not None:
            recorded["noise_model"] = self._noise_record
        return recorded

    def limits(self) -> BackendLimits:
        return BackendLimits(num_qubits=self._simulator.num_qubits, max_shots=MAX_SHOTS)

    def validate(self, circuit: "QuantumCircuit") -> str | None:
        """Aer picks a method per circuit and reports the ones it cannot run; a circuit that goes
        to the workers as new QPY (not the bytes it was read from) must survive the trip."""
        if getattr(circuit, "_jobman_qpy", None) is not None:
            return None
        from jobman.qpy_codec import problems

        return problems([circuit]).get(0)

    def prepare(self, circuits: list[Any], options: RunOptions) -> list[Any]:
        """Transpile only the circuits that use instructions Aer does not know (rare); the
        points of a sweep share their prepared circuit."""
        from jobman.sweep import share_prepared

        return share_prepared(circuits, self._translate)

    def _translate(self, circuits: list["QuantumCircuit"]) -> list["QuantumCircuit"]:
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

    def _new_job(self, job: ChunkJob) -> tuple[str, Future]:
        """A new job's id and the future of its outcomes (its end wakes :meth:`wait`)."""
        job_id = f"aer-{job.chunk}-{job.attempt}-{next(self._ids)}"
        future: Future = Future()
        future.add_done_callback(lambda _: self._ended.set())
        with self._lock:
            self._futures[job_id] = future
        return job_id, future

    def _future(self, job_id: str) -> Future:
        try:
            return self._futures[job_id]
        except KeyError:
            raise BackendError(f"unknown Aer job {job_id} (Aer jobs do not survive the process)",
                               code=JOB_NOT_FOUND) from None

    def _is_running(self, job_id: str) -> bool:
        """Whether a job that is not done has started (else it is queued)."""
        return False

    def status(self, job_id: str) -> JobStatus:
        future = self._future(job_id)
        if future.cancelled():
            return JobStatus.CANCELLED
        if future.done():
            return JobStatus.ERROR if future.exception() is not None else JobStatus.DONE
        return JobStatus.RUNNING if self._is_running(job_id) else JobStatus.QUEUED

    def wait(self, job_ids: Sequence[str], timeout: float) -> dict[str, JobStatus]:
        # Not concurrent.futures.wait: Ctrl-C or SIGTERM raised while it takes the futures' locks
        # one by one leaves some of them held, and close() then hangs on them forever.
        if not any(self._future(job_id).done() for job_id in job_ids):
            self._ended.wait(timeout)
        self._ended.clear()  # an end after the check above is seen by the next call's check
        return {job_id: self.status(job_id) for job_id in job_ids}

    def result(self, job_id: str) -> list[CircuitOutcome]:
        future = self._futures.pop(job_id, None) or self._future(job_id)
        error = future.exception()
        if isinstance(error, BackendError):
            raise error
        if error is not None:
            raise BackendError(f"Aer failed: {error}", transient=False) from None
        return future.result()

    def job_usage(self, job_id: str) -> dict[str, Any] | None:
        """The job's simulation wall time (what ``--max-usage`` counts on Aer)."""
        with self._lock:
            seconds = self._usage.pop(job_id, None)
        return None if seconds is None else {"seconds": seconds, "source": "simulation wall time"}

    def job_error(self, job_id: str) -> BaseException | None:
        future = self._futures.get(job_id)
        if future is None or not future.done() or future.cancelled():
            return None
        return future.exception()


class AerBackend(AerBase):
    """Runs chunks with ``AerSimulator.run`` in local worker processes; failures are reported per
    circuit.

    ``workers`` is the number of worker processes (default: one per core, at most
    :data:`MAX_WORKERS`; one for a GPU). Up to ``workers`` jobs run at once, each on the idle
    workers it needs (all of them for a big one).
    """

    def __init__(self, method: str = "automatic", device: str = "CPU", workers: int | None = None,
                 noise_model: Any = None, **aer_options: Any) -> None:
        cores = usable_cores()
        workers = workers or (min(cores, MAX_WORKERS) if device == "CPU" else 1)
        super().__init__(method, device, noise_model, threads=max(1, cores // workers), **aer_options)
        self._cores, self.workers = cores, workers
        self._workers = [_Worker(self._options) for _ in range(self.workers)]  # importing Aer now
        self._idle = list(self._workers)
        self._pool = threading.Condition()  # guards _idle and _workers; notified as workers free up
        self._jobs: "queue.SimpleQueue[tuple[Future, str, list[Piece]] | None]" = queue.SimpleQueue()
        self._threads = [threading.Thread(target=self._run_jobs, name=f"jobman-aer-{n}", daemon=True)
                         for n in range(self.workers)]
        for thread in self._threads:
            thread.start()
        self._running: set[str] = set()

    @property
    def default_max_in_flight(self) -> int:  # type: ignore[override]
        """Two jobs per worker: one simulating and one loaded and waiting, so that a worker
        never waits for the next job while the main process records the one that ended
        (small chunks: 20,000 circuits at chunk size 10 ran 5% faster than with one spare)."""
        return 2 * self.workers

    def submit(self, job: ChunkJob, circuits: Sequence["QuantumCircuit"], options: RunOptions) -> str:
        wide = max((c.num_qubits for c in circuits), default=0) >= WIDE_QUBITS
        extra = {"max_parallel_threads": self._cores} if wide and "max_parallel_threads" not in self._given \
            else None
        pieces: list[Piece] = []
        offset = 0
        total = sum(stop - start for start, stop in job.ranges())
        parts = 1 if wide else max(1, min(self.workers, total // MIN_PIECE))
        for ranges in split_ranges(list(job.ranges()), parts):
            count = sum(stop - start for start, stop in ranges)
            encoded, runs = plan_items(ranges, circuits[offset:offset + count], options, extra)
            pieces.append((encode_circuits(encoded), runs))
            offset += count
        job_id, future = self._new_job(job)
        self._jobs.put((future, job_id, pieces))
        return job_id

    def _is_running(self, job_id: str) -> bool:
        return job_id in self._running

    def _run_jobs(self) -> None:
        """One of the backend's job threads (one per worker): jobs in the order they were
        submitted, each as soon as the workers it needs are idle.

        Daemon threads, not a ThreadPoolExecutor's: Ctrl-C or SIGTERM raised in the main
        thread at the wrong instant can leave a job's lock taken (CPython raises between a
        lock's acquire and the ``with`` that releases it), and this thread would then never
        end; the process must still exit.
        """
        while (item := self._jobs.get()) is not None:
            future, job_id, pieces = item
            if future.cancelled():
                continue
            try:
                outcomes = self._simulate(job_id, pieces)
            except _Cancelled:
                continue
            except BaseException as error:
                _settle(future, error=error)
            else:
                _settle(future, outcomes)

    def _simulate(self, job_id: str, pieces: list[Piece]) -> list[CircuitOutcome]:
        """Run a job's pieces side by side, each on a worker of its own (on a job thread)."""
        workers = self._take(len(pieces))
        if not self._future(job_id).set_running_or_notify_cancel():  # cancelled while it waited
            self._give_back(workers)
            raise _Cancelled
        with self._lock:
            self._running.add(job_id)
        began = time.monotonic()
        try:
            for worker, piece in zip(workers, pieces):
                worker.send(piece)
            answers = [worker.receive() for worker in workers]
        finally:
            with self._lock:
                self._running.discard(job_id)
                self._usage[job_id] = round(time.monotonic() - began, 3)
            self._give_back(workers)
        for answer in answers:
            if isinstance(answer, BaseException):
                raise answer
        return [outcome for answer in answers for outcome in unpack_answer(answer)]

    def _take(self, count: int) -> list["_Worker"]:
        """``count`` idle workers, all at once (so that two jobs never each hold a part of what
        they need); waits while fewer are idle."""
        with self._pool:
            while len(self._idle) < count and not self._closed:
                self._pool.wait(1.0)
            if self._closed:
                raise BackendError("the Aer backend was closed", transient=True)
            taken, self._idle = self._idle[:count], self._idle[count:]
            return taken

    def _give_back(self, workers: list["_Worker"]) -> None:
        """Workers idle again; one that died is replaced for the next job."""
        with self._pool:
            for worker in workers:
                if not worker.alive() and not self._closed:
                    fresh = _Worker(self._options)
                    self._workers[self._workers.index(worker)] = fresh
                    worker = fresh
                self._idle.append(worker)
            self._pool.notify_all()

    def cancel(self, job_id: str) -> None:
        future = self._futures.get(job_id)
        if future is not None:
            future.cancel()  # a chunk already simulating runs to its end

    def close(self) -> None:
        """Stop the workers at once (a job still simulating has been given up) and the thread."""
        self._closed = True
        for future in self._futures.values():
            future.cancel()
        with self._pool:
            workers = list(self._workers)
            self._pool.notify_all()
        for worker in workers:
            worker.stop()
        for _ in self._threads:
            self._jobs.put(None)
        deadline = time.monotonic() + CLOSE_WAIT
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        if any(thread.is_alive() for thread in self._threads):
            LOG.warning("the Aer backend's threads did not end within %ss; left behind", CLOSE_WAIT)


def supported_instructions(options: dict[str, Any]) -> frozenset[str]:
    """Instructions Aer simulates with these options, whatever the noise model."""
    from qiskit_aer import AerSimulator

    plain = AerSimulator(**{k: v for k, v in options.items() if k != "noise_model"})
    return frozenset(plain.target.operation_names) | {"barrier"}

def _settle(future: Future, outcomes: list[CircuitOutcome] | None = None,
            error: BaseException | None = None) -> None:
    """End a job's future, unless it was cancelled meanwhile (close() cancels what has not
    started; a job that was waiting for workers then ends with nothing to tell)."""
    try:
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(outcomes)
    except InvalidStateError:
        LOG.debug("an Aer job ended after its future was cancelled", exc_info=error)


class _Cancelled(Exception):
    """A job cancelled before it got its workers (nothing of it ran)."""


class _Worker:
    """One worker process: ``python -c`` running :func:`serve`, fed over its stdin and stdout.

    Messages are pickled (a pipe between two processes of one jobman, never a file): the Aer
    options first, then one :data:`Piece` at a time, answered by the answer of
    :func:`~jobman.backends.aer_chunk.run_chunk`. A worker ends when its stdin closes, so it
    never outlives jobman.
    """

    def __init__(self, options: dict[str, Any]) -> None:
        self.process = subprocess.Popen([sys.executable, "-c", _WORKER_CODE], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE,
                                        start_new_session=True)  # no Ctrl-C from the terminal
        self.sent = self._write(options)

    def send(self, piece: Piece) -> None:
        self.sent = self._write(piece)

    def receive(self) -> dict[str, Any] | BackendError:
        """The answer to the last piece sent, or the error to report for it."""
        try:
            answer = pickle.load(self.process.stdout) if self.sent else None
        except (OSError, EOFError, pickle.UnpicklingError):
            answer = None
        if answer is None:
            return BackendError(f"an Aer worker process died (exit code {self.process.poll()}: killed, "
                                "or out of memory?)", transient=True)
        return answer

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        for pipe in (self.process.stdin, self.process.stdout):
            try:
                pipe.close()
            except OSError:
                pass
        self.process.kill()
        self.process.wait()

    def _write(self, message: Any) -> bool:
        try:
            pickle.dump(message, self.process.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            self.process.stdin.flush()
            return True
        except OSError:  # the worker is gone; receive() says so
            return False


_WORKER_CODE = "from jobman.backends.aer import serve; serve()"


def serve() -> None:
    """The loop of a worker process (see :class:`_Worker`)."""
    stdin, stdout = sys.stdin.buffer, os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # whatever else writes to stdout (Aer's C++ too) goes to stderr, not the answers
    preload()  # now, while jobman reads its inputs
    quiet_aer_logs()

    simulator_options = pickle.load(stdin)
    while True:
        try:
            payload, runs = pickle.load(stdin)
        except EOFError:
            return
        answer = run_chunk(payload, runs, simulator_options)
        try:
            pickle.dump(answer, stdout, protocol=pickle.HIGHEST_PROTOCOL)
            stdout.flush()
        except BrokenPipeError:  # jobman is gone
            return

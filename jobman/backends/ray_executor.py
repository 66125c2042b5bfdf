"""Aer chunks as Ray tasks: ``jobman run ... --executor ray``.

Imported only when a set runs on Ray (``pip install "jobman[ray]"``); nothing else in jobman
imports ``ray`` (but :mod:`jobman.backends.ray_transpile`, which transpiles fake and IBM chunks
on the same executor). The jobman process is the Ray *driver*, the coordinator and the only writer
of the store. Each chunk is one task running :func:`jobman.backends.aer_chunk.run_chunk`:
its QPY bytes go into the object store with ``ray.put`` and the task returns the packed
outcomes. Tasks never retry by themselves (``max_retries=0``): a task whose worker or node
died raises out of Ray (``NodeDiedError``, ``WorkerCrashedError``, ...), the job fails
transiently, and jobman's retry policy and ledger decide what is resubmitted, so every circuit
ends exactly once. ``jobman cancel`` and Ctrl-C cancel the tasks with ``ray.cancel``.

If this process is killed, Ray ends its tasks with it (they belong to the driver's job);
``jobman resume`` submits the unfinished chunks again, on the cluster or, with
``--executor local``, on this machine.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from concurrent.futures import CancelledError, Executor, Future, InvalidStateError
from typing import Any, Callable

from jobman.backends.aer_chunk import preload
from jobman.backends.aer_executor import ExecutorAerBackend
from jobman.exceptions import BackendError, UsageError

__all__ = ["RayAerBackend", "RayExecutor", "connect_early"]

log = logging.getLogger(__name__)

#: Seconds a cluster's CPU count is trusted before asking Ray again.
SLOTS_TTL = 2.0
#: Seconds to wait for a TCP connection to an explicit ``host:port`` cluster address.
CONNECT_TIMEOUT = 5.0


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise UsageError('--executor ray needs Ray: pip install "jobman[ray]"') from None
    return ray


def task_slots(resources: dict[str, float], num_cpus: float, num_gpus: float) -> int:
    """Tasks of ``num_cpus`` CPUs (``num_gpus`` GPUs) that a cluster of ``resources`` runs at once (at least 1)."""
    if num_gpus:
        return max(1, int(resources.get("GPU", 0) // num_gpus))
    return max(1, int(resources.get("CPU", 0) // max(num_cpus, 1e-9)))


class _Connection:
    """A connection begun on a thread by :func:`connect_early`, for the executor to take over."""

    def __init__(self, address: str | None, num_cpus: float, num_gpus: float) -> None:
        self.address, self.num_cpus, self.num_gpus = address, num_cpus, num_gpus
        self.error: BaseException | None = None
        self.warming: list[Any] = []  # the warm-up tasks' refs (never waited for)
        self.thread = threading.Thread(target=self._connect, name="jobman-ray-connect", daemon=True)
        self.thread.start()

    def _connect(self) -> None:
        try:
            connect_to(self.address)
            ray = _ray()
            slots = task_slots(ray.cluster_resources(), self.num_cpus, self.num_gpus)
            warm = ray.remote(num_cpus=self.num_cpus, num_gpus=self.num_gpus, max_retries=0)(preload)
            self.warming = [warm.remote() for _ in range(slots)]
        except BaseException as error:  # raised again, in the main thread, by RayExecutor.connect
            self.error = error


_early: dict[str | None, _Connection] = {}


def connect_early(address: str | None, num_cpus: float = 1, num_gpus: float = 0) -> None:
    """Begin connecting to the running cluster at ``address`` (None: ``RAY_ADDRESS``, which
    the caller checked is set) now, on a thread, and start one
    task per slot that imports qiskit and Aer on its nodes, so that Ray's start-up and the
    workers' imports overlap this process's own (``jobman run`` calls it before it imports
    qiskit). The :class:`RayExecutor` for the same address takes the connection over in
    :meth:`~RayExecutor.connect` and raises there what it met; :func:`forget_early` drops it.

    Only for a cluster that is already up: a local Ray started on a thread by a process that
    then fails could be left running."""
    if address not in _early:
        _early[address] = _Connection(address, num_cpus, num_gpus)


def forget_early() -> None:
    """Drop the connections :func:`connect_early` began and no executor took (the run failed
    before it connected): wait for them and disconnect."""
    while _early:
        _, early = _early.popitem()
        early.thread.join(CONNECT_TIMEOUT)
        if early.error is None and _ray().is_initialized():
            _ray().shutdown()


def connect_to(address: str | None) -> None:
    """``ray.init`` to the cluster at ``address``; BackendError (not transient) when it cannot be reached."""
    ray = _ray()
    _check_reachable(address or os.environ.get("RAY_ADDRESS"))
    try:
        ray.init(address=address, log_to_driver=False, logging_level=logging.ERROR)
    except Exception as error:
        raise BackendError(f"cannot connect to the Ray cluster at {address or 'its default address'}: "
                           f"{error}; `jobman resume --executor local` carries on without it",
                           transient=False) from None


def _check_reachable(address: str | None) -> None:
    """Fail fast (instead of Ray's long reconnect loop) on a ``host:port`` that is gone."""
    host, _, port = (address or "").rpartition(":")
    if not host or "://" in host or not port.isdigit():
        return
    try:
        socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT).close()
    except OSError as error:
        raise BackendError(f"cannot reach the Ray cluster at {address}: {error.strerror or error}; "
                           "`jobman resume --executor local` carries on without it",
                           transient=False) from None


class RayExecutor(Executor):
    """A ``concurrent.futures.Executor`` whose calls are Ray tasks (``max_retries=0``).

    ``address`` follows ``ray.init`` (None: Ray's own convention, ``RAY_ADDRESS`` or a new local
    Ray); each task asks for ``num_cpus`` CPUs and ``num_gpus`` GPUs. Bytes arguments are put
    into the object store once and passed by reference. Connects on first use.
    """

    def __init__(self, address: str | None = None, num_cpus: float = 1, num_gpus: float = 0) -> None:
        self.address, self.num_cpus, self.num_gpus = address, num_cpus, num_gpus
        self._started = False  # whether this executor called ray.init (and so shuts it down)
        self._remotes: dict[Callable[..., Any], Any] = {}
        self._warming: list[Any] = []  # refs of the warm-up tasks of connect_early, kept until shutdown
        self._slots = (0, float("-inf"))  # (slots, when asked)
        self._lock = threading.Lock()

    def connect(self) -> None:
        """Connect to the cluster now (or wait for :func:`connect_early`'s connection to the same
        address); BackendError (not transient) when it cannot be reached."""
        ray = _ray()
        with self._lock:
            early = _early.pop(self.address, None)
            if early is not None:
                early.thread.join()
                if early.error is not None:
                    raise early.error
                self._started, self._warming = ray.is_initialized(), early.warming
            if ray.is_initialized():
                return
            connect_to(self.address)
            self._started = True

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        self.connect()
        ray = _ray()
        remote = self._remotes.get(fn)
        if remote is None:
            remote = ray.remote(num_cpus=self.num_cpus, num_gpus=self.num_gpus, max_retries=0,
                                retry_exceptions=False)(fn)
            self._remotes[fn] = remote
        refs = [ray.put(arg) if isinstance(arg, bytes) else arg for arg in args]
        return _RayFuture(remote.remote(*refs, **kwargs))

    def put(self, value: Any) -> Any:
        """``value`` in the cluster's object store (connecting first): a reference for tasks."""
        self.connect()
        return _ray().put(value)

    def slots(self) -> int:
        """Tasks the cluster runs at once now: its CPUs (GPUs) over those of one task."""
        count, asked = self._slots
        if time.monotonic() - asked < SLOTS_TTL:
            return count
        self.connect()
        count = task_slots(_ray().cluster_resources(), self.num_cpus, self.num_gpus)
        self._slots = (count, time.monotonic())
        return count

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Disconnect from the cluster if this executor connected (the cluster stays up)."""
        if self._started:
            self._started, self._warming = False, []
            _ray().shutdown()


class _RayFuture(Future):
    """A future for one Ray task: its result, its error, and ``cancel()`` that cancels the task."""

    def __init__(self, ref: Any) -> None:
        super().__init__()
        self.ref = ref
        ref.future().add_done_callback(self._copy)

    def _copy(self, done: Future) -> None:
        try:
            error = done.exception()
            if error is None:
                self.set_result(done.result())
            else:
                self.set_exception(error)
        except (CancelledError, InvalidStateError):  # cancelled by jobman meanwhile
            pass

    def cancel(self) -> bool:
        if self.done():
            return False
        try:
            _ray().cancel(self.ref, force=True)  # the worker is killed: its answer is not wanted
        except Exception:
            pass  # finished meanwhile, or the cluster is gone: nothing left to cancel
        return super().cancel()


class RayAerBackend(ExecutorAerBackend):
    """Aer chunks as Ray tasks on the cluster at ``ray_address``.

    Each task asks Ray for ``ray_num_cpus`` CPUs (default 1; Aer then uses as many threads)
    and, with ``device="GPU"``, ``ray_num_gpus`` GPUs (default 1). Jobs in flight follow the
    cluster: its CPUs over a task's, plus one queued (unless ``--max-in-flight`` says).
    """

    def __init__(self, method: str = "automatic", device: str = "CPU", ray_address: str | None = None,
                 ray_num_cpus: int | None = None, ray_num_gpus: float | None = None,
                 noise_model: Any = None, **aer_options: Any) -> None:
        if ray_num_cpus is not None and ray_num_cpus <= 0:
            raise UsageError(f"--ray-num-cpus must be a positive integer, not {ray_num_cpus}")
        num_gpus = ray_num_gpus if ray_num_gpus is not None else (1 if device == "GPU" else 0)
        executor = RayExecutor(ray_address, ray_num_cpus or 1, num_gpus)
        super().__init__(executor, method, device, threads=ray_num_cpus or 1, noise_model=noise_model,
                         **aer_options)
        self._recorded = {"executor": "ray", "ray_address": ray_address, "ray_num_cpus": ray_num_cpus,
                          "ray_num_gpus": ray_num_gpus}

    def connect(self) -> None:
        """Connect to the cluster now (before a set is driven; the CLI's ``run`` even before
        the set is made), so that a cluster that is gone changes nothing."""
        self.executor.connect()

    def options(self) -> dict[str, Any]:
        """How to rebuild this backend on resume: the Aer options, and the same cluster address
        and task sizes."""
        return dict(super().options(), **{key: value for key, value in self._recorded.items()
                                          if value is not None})

    def close(self) -> None:
        super().close()
        self.executor.shutdown()

"""The handle of a job set, like a Qiskit job: follow it, wait for it, cancel it, get its result.

Method names follow qiskit-ibm-runtime's ``RuntimeJobV2`` (``status()``, ``done()``,
``running()``, ``cancelled()``, ``in_final_state()``, ``cancel()``,
``wait_for_final_state(timeout)``, ``result()``, ``logs()``) where one exists. A handle from
``JobManager().run(..., wait=False)`` runs the set in a background thread of this process; any
other handle reads the store, so it follows a set that another process (``jobman run
--detach``, another terminal) runs.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Callable

from jobman.exceptions import JobSetTimeoutError, SetInterruptedError
from jobman.result import ManagedResult
from jobman.status import JobStatus, SetState
from jobman.summary import SetSummary, describe_failure, summarize

if TYPE_CHECKING:  # pragma: no cover
    from jobman.engine import Engine
    from jobman.manager import JobManager
    from jobman.store import SetStore

#: How long a set may stay INTERRUPTED before waiting for it gives up (a process may be starting).
INTERRUPTED_GRACE = 5.0


class ManagedJobSet:
    """A job set in the store: follow it, report on it, wait for it, get its merged result."""

    def __init__(self, set_store: "SetStore", engine: "Engine | None" = None,
                 manager: "JobManager | None" = None) -> None:
        self._set = set_store
        self.engine = engine
        self._manager = manager
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._outcome: SetSummary | None = None

    # identity and state -----------------------------------------------------------------
    def job_set_id(self) -> str:
        """The set's id (what ``jobman status ID`` takes)."""
        return self._set.id

    @property
    def name(self) -> str:
        """The set's name."""
        return self._set.record.name

    @property
    def set_store(self) -> "SetStore":
        """The set's files in the store."""
        return self._set

    def status(self) -> SetState:
        """The set's lifecycle state: PENDING, RUNNING, INTERRUPTED, DONE or CANCELLED."""
        return self.summary().status

    def statuses(self) -> list[JobStatus]:
        """The status of every chunk (one backend job each), in chunk order."""
        return [chunk.job_status for chunk in self._set.chunks()]

    def done(self) -> bool:
        """Whether the set is DONE (some circuits may have failed: see :meth:`summary`)."""
        return self.status() is SetState.DONE

    def running(self) -> bool:
        """Whether the set is RUNNING."""
        return self.status() is SetState.RUNNING

    def cancelled(self) -> bool:
        """Whether the set is CANCELLED."""
        return self.status() is SetState.CANCELLED

    def in_final_state(self) -> bool:
        """Whether the set is DONE or CANCELLED."""
        return self.status().is_final

    def is_running(self) -> bool:
        """Whether some process (or this one's background thread) holds the set now."""
        return self._set.is_locked()

    def driving(self) -> bool:
        """Whether this handle's background thread (``wait=False``) is still running the set."""
        return self._thread is not None and self._thread.is_alive()

    def background_error(self) -> BaseException | None:
        """The error that stopped this handle's background run, once it has stopped; else None."""
        return None if self.driving() else self._error

    def summary(self, detail: bool = False) -> SetSummary:
        """Totals per status, failures and facts about the set (``.to_dict()``: as JSON-ready data)."""
        return summarize(self._set, detail=detail)

    def outcome(self) -> SetSummary:
        """How the run this handle drove ended: the summary taken under the set's lock as the
        run let go of it (the current :meth:`summary` if this handle drove no run, or not yet).

        Asked after the lock is released, the lock could already belong to another process
        (``jobman cancel`` taking it to check there is nothing left to cancel), and the set
        would read RUNNING although this run ended.
        """
        return self._outcome if self._outcome is not None else self.summary()

    def _ended(self, outcome: SetSummary) -> "ManagedJobSet":
        self._outcome = outcome
        return self

    def report(self) -> str:
        """A short human-readable report of the set's state."""
        s = self.summary()
        lines = [f"Job set {s.id} ({s.name}): {s.status.value}",
                 f"  backend {s.backend}, {s.total} {s.unit}s in {s.num_chunks} chunks, "
                 f"{s.sampling()}",
                 f"  {s.unit}s: " + ", ".join(f"{k} {v}" for k, v in s.circuits.items())]
        for row in s.failures:
            lines.append(f"  {describe_failure(row)}")
        return "\n".join(lines)

    def logs(self) -> str:
        """The log of the set's detached runs (``jobman run --detach``); empty when none."""
        try:
            return self._set.paths.log_file.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    # results ------------------------------------------------------------------------------
    def results(self) -> ManagedResult:
        """The merged result now (circuits still running read as their chunk's status)."""
        return ManagedResult(self._set)

    def result(self, timeout: float | None = None) -> ManagedResult:
        """Wait for the final state (see :meth:`wait_for_final_state`), then the merged result."""
        self.wait_for_final_state(timeout)
        return self.results()

    # waiting and cancelling ---------------------------------------------------------------
    def wait_for_final_state(self, timeout: float | None = None, poll_interval: float = 0.2) -> None:
        """Block until the set is DONE or CANCELLED.

        Raises :class:`~jobman.exceptions.JobSetTimeoutError` after ``timeout`` seconds, the
        error that stopped this handle's background run, or
        :class:`~jobman.exceptions.SetInterruptedError` when the set stays INTERRUPTED (nobody
        runs it: resume it).
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                raise self._timed_out(timeout)
            if self._error is not None:
                raise self._error
        idle_since: float | None = None
        while True:
            state = self.status()
            if state.is_final:
                return
            now = time.monotonic()
            idle_since = (idle_since or now) if state is SetState.INTERRUPTED else None
            if idle_since is not None and now - idle_since >= INTERRUPTED_GRACE:
                raise SetInterruptedError(f"job set {self.job_set_id()} is INTERRUPTED: no process "
                                          f"is running it; resume it (`jobman resume "
                                          f"{self.job_set_id()}`)")
            if deadline is not None and now >= deadline:
                raise self._timed_out(timeout)
            time.sleep(poll_interval if deadline is None else max(0.0, min(poll_interval,
                                                                            deadline - now)))

    def _timed_out(self, timeout: float | None) -> JobSetTimeoutError:
        return JobSetTimeoutError(f"job set {self.job_set_id()} is not final after {timeout:g}s "
                                  f"({self.status()})")

    def cancel(self, wait: float = 0.0) -> None:
        """Cancel the set: ask the process (or thread) running it, or cancel it now if none does.

        Returns once the request is made (or after up to ``wait`` seconds for the run to stop);
        :meth:`wait_for_final_state` then sees it CANCELLED.
        """
        from jobman.manager import JobManager

        manager = self._manager or JobManager(self._set.paths.root)
        manager.cancel(self.job_set_id(), wait=wait)

    # the background run --------------------------------------------------------------------
    def _start(self, work: Callable[[], "ManagedJobSet"]) -> "ManagedJobSet":
        """Run ``work`` (which drives the set) in a background thread; return at once.

        The thread is not a daemon: a script that ends while the set runs waits for it.
        """
        def body() -> None:
            try:
                ended = work()
                self.engine, self._outcome = ended.engine, ended._outcome
            except BaseException as error:  # kept for wait_for_final_state() to raise
                self._error = error

        self._thread = threading.Thread(target=body, name=f"jobman-{self.job_set_id()}")
        self._thread.start()
        return self

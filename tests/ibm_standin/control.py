"""Observation and fault-injection methods of the stand-in (mixed into ``Registry``)."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from typing import Callable

from .records import (
    BACKEND_ERROR_CODE,
    PENDING,
    HttpFault,
    JobRecord,
    PlannedFailure,
    SessionRecord,
)


class ControlMixin:
    """What tests call on the stand-in besides HTTP: look at jobs/sessions, inject faults.

    Expects the attributes set up by ``Registry.__init__`` (``lock``, ``_jobs``, ...).
    """

    lock: threading.RLock
    http_log: list[tuple[str, str, int]]
    _jobs: dict[str, JobRecord]
    _sessions: dict[str, SessionRecord]
    _faults: list[HttpFault]
    _failures: list[PlannedFailure]
    _held: bool

    # ------------------------------------------------------------------ observation
    @property
    def jobs_created(self) -> int:
        """Number of jobs accepted so far."""
        with self.lock:
            return len(self._jobs)

    @property
    def jobs(self) -> list[JobRecord]:
        """Snapshots of all jobs, oldest first."""
        with self.lock:
            return [replace(j) for j in self._jobs.values()]

    def job(self, job_id: str) -> JobRecord:
        """Snapshot of one job (``KeyError`` when unknown)."""
        with self.lock:
            return replace(self._jobs[job_id])

    @property
    def sessions(self) -> list[SessionRecord]:
        """Snapshots of all sessions and batches, oldest first."""
        with self.lock:
            self._refresh_sessions()
            return [replace(s) for s in self._sessions.values()]

    def session(self, session_id: str) -> SessionRecord:
        with self.lock:
            self._refresh_sessions()
            return replace(self._sessions[session_id])

    def requests_to(self, method: str, path: str) -> int:
        """How many requests ``method path`` (normalised, e.g. ``POST /jobs``) were answered."""
        with self.lock:
            return sum(1 for m, p, _ in self.http_log if m == method and p == path)

    def wait_until(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        """Poll ``predicate`` until true; ``TimeoutError`` after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise TimeoutError("stand-in condition not reached")
            time.sleep(0.02)

    # ---------------------------------------------------------------- fault control
    def inject_http_error(
        self,
        status: int,
        count: int = 1,
        method: str | None = "POST",
        path: str | None = "/jobs",
        code: int | str | None = None,
        message: str | None = None,
        retry_after: int | None = None,
        after_create: int = 0,
    ) -> None:
        """Answer the next ``count`` requests matching ``method``/``path`` with ``status``.

        The first ``after_create`` of them are carried out all the same before the error is
        answered: ``POST /jobs`` then creates a job whose id the client never learns.

        ``path`` is the normalised runtime path (``/jobs``, ``/jobs/<id>``, ``/sessions``,
        ``/backends/<name>/status`` ..., or a glob such as ``/jobs/*``); ``None`` matches any
        method / path.  Each HTTP
        attempt counts, including the client's own internal retries (500/502/503/504 are
        retried up to 5 times with 0/1/2/4/8 s back-off).  ``retry_after`` (whole seconds)
        adds a ``Retry-After`` header, which replaces that back-off and also makes the
        client retry 413/429 answers to GET requests (never to POST).
        """
        with self.lock:
            self._faults.append(
                HttpFault(
                    status, count, method, path,
                    code if code is not None else status,
                    message or f"Injected HTTP {status} by the stand-in",
                    retry_after,
                    after_create,
                )
            )

    def fail_next_submissions(
        self, n: int = 1, status: int = 500, code: int | str | None = None, message: str | None = None,
        after_create: int = 0, retry_after: int | None = None,
    ) -> None:
        """Shortcut: the next ``n`` ``POST /jobs`` attempts answer HTTP ``status`` (the first
        ``after_create`` of them after creating the job)."""
        self.inject_http_error(status, n, "POST", "/jobs", code, message, retry_after, after_create)

    def clear_faults(self) -> None:
        """Drop pending HTTP faults and planned job failures."""
        with self.lock:
            self._faults.clear()
            self._failures.clear()

    def fail_next_jobs(
        self,
        n: int = 1,
        code: int = BACKEND_ERROR_CODE,
        message: str = "An error was returned at the backend level.",
        tag: str | None = None,
    ) -> None:
        """Make the next ``n`` created jobs (only those carrying ``tag`` if given) end in
        ``Failed`` with ``reason_code`` ``code`` (the client: ``RuntimeJobFailureError``
        ``"... Error code <code>; <message>"``; code 1305 ends ``Cancelled`` like a job that
        ran too long, and the client raises ``RuntimeJobMaxTimeoutError``)."""
        with self.lock:
            self._failures.append(PlannedFailure(code, message, n, tag))

    def fail_job(self, job_id: str, code: int = BACKEND_ERROR_CODE, message: str = "Job failed.") -> None:
        """Fail a job now (if not final yet), or when it reaches its end (if Running)."""
        with self.lock:
            job = self._jobs[job_id]
            if job.status == "Queued":
                self._finish(job, *self._failure_status(code, message))
            elif job.status == "Running":
                job.planned_failure = (code, message)

    def set_job_timing(
        self, job_id: str, queue_time: float | None = None, run_time: float | None = None
    ) -> None:
        """Change how long an existing job stays Queued / Running (e.g. ``run_time=0`` to let
        a deliberately slow job finish now)."""
        with self.lock:
            job = self._jobs[job_id]
            if queue_time is not None:
                job.queue_time = queue_time
            if run_time is not None:
                job.run_time = run_time

    def cancel_job(self, job_id: str) -> None:
        """Cancel a job from the server side (as if done in the web console)."""
        with self.lock:
            job = self._jobs[job_id]
            if job.status in PENDING:
                self._finish(job, "Cancelled")

    def expire_session(self, session_id: str) -> None:
        """Make a session's ``max_time`` run out now."""
        with self.lock:
            self._sessions[session_id].max_ttl = 0
            self._refresh_sessions()

    def hold(self) -> None:
        """Keep all jobs ``Queued`` until :meth:`release`."""
        with self.lock:
            self._held = True

    def release(self) -> None:
        """Let held jobs proceed."""
        with self.lock:
            self._held = False

    def set_backend_status(self, name: str, operational: bool = True, status_msg: str = "active") -> None:
        """What ``GET /backends/<name>/status`` and ``GET /backends`` report for ``name``."""
        with self.lock:
            self.backends[name].operational = operational
            self.backends[name].status_msg = status_msg


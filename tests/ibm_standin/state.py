"""In-memory model of an IBM Quantum Runtime instance: backends, jobs, sessions, faults.

Everything here is transport independent; :mod:`.server` maps HTTP requests onto the
``Registry`` methods and turns :class:`ApiError` into the error bodies the real
service sends (``{"errors": [{"code", "message", "more_info"}], "trace", "status_code"}``).

Job lifecycle (API status strings, as the service spells them)::

    Queued -> Running -> Completed | Failed
       \\________\\______-> Cancelled

Each job runs on its own daemon thread: it stays ``Queued`` while the registry is
held (:meth:`Registry.hold`), until ``queue_time`` has passed, and until one of the
``max_concurrent_jobs`` simulator slots is free; it then stays ``Running`` for
``run_time`` seconds and finally executes on Aer (see :mod:`.simulate`).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from qiskit_ibm_runtime.fake_provider import FakeManilaV2, FakeTorino

from .simulate import JobExecutionError, run_program, simulator_for

# Error codes of the IBM Quantum error registry (https://quantum.cloud.ibm.com/docs/errors).
PENDING_LIMIT_CODE = 3458
PENDING_LIMIT_MESSAGE = (
    "You have reached the limit of {limit} pending jobs. Please wait for a job to "
    "complete or cancel one before submitting anything new."
)
SESSION_CLOSED_CODE = 1217
SESSION_CLOSED_MESSAGE = "Session has been closed."
BACKEND_NOT_FOUND_CODE = 1007
VALIDATION_ERROR_CODE = 1002
BACKEND_ERROR_CODE = 1010  # "An error was returned at the backend level." (retryable)
RAN_TOO_LONG_CODE = 1305  # reported with status "Cancelled"; the client raises RuntimeJobMaxTimeoutError

KNOWN_PROGRAMS = {"sampler", "executor", "estimator", "noise-learner", "circuit-runner"}
PENDING = ("Queued", "Running")
FINAL = ("Completed", "Failed", "Cancelled")
DEFAULT_BACKENDS: dict[str, type] = {"ibm_fake_manila": FakeManilaV2, "ibm_fake_torino": FakeTorino}


class ApiError(Exception):
    """An HTTP error answer: ``status`` plus the IBM-style error ``code`` and ``message``."""

    def __init__(self, status: int, code: int | str, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = headers or {}


def iso(ts: float | None) -> str | None:
    """Format a POSIX timestamp the way the API does (UTC, millisecond precision, ``Z``)."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z"
    )


def _new_id() -> str:
    return "d" + uuid.uuid4().hex[:19]


@dataclass
class BackendEntry:
    """A served backend: configuration/properties JSON of a qiskit_ibm_runtime fake."""

    name: str
    fake_cls: type
    configuration: dict
    properties: dict
    operational: bool = True
    status_msg: str = "active"

    @classmethod
    def from_fake(cls, name: str, fake_cls: type) -> "BackendEntry":
        folder = Path(fake_cls.dirname)
        conf = json.loads((folder / fake_cls.conf_filename).read_text())
        props = json.loads((folder / fake_cls.props_filename).read_text())
        conf["backend_name"] = props["backend_name"] = name
        return cls(name, fake_cls, conf, props)


@dataclass
class JobRecord:
    """Server-side state of one job (snapshots of it are handed to tests)."""

    id: str
    program_id: str
    backend: str
    params_raw: str
    tags: list[str]
    session_id: str | None
    created_ts: float
    status: str = "Queued"
    reason: str | None = None
    reason_code: int | None = None
    started_ts: float | None = None
    finished_ts: float | None = None
    result_text: str | None = None
    cost: int | None = None
    private: bool = False
    queue_time: float = 0.0
    run_time: float = 0.0
    planned_failure: tuple[int, str] | None = field(default=None, repr=False)

    @property
    def client_status(self) -> str:
        """The status string the client reports (``QUEUED``, ``DONE``, ``ERROR``, ...)."""
        return {"Completed": "DONE", "Failed": "ERROR"}.get(self.status, self.status.upper())


@dataclass
class SessionRecord:
    """Server-side state of a session (``mode`` ``dedicated``) or batch (``mode`` ``batch``)."""

    id: str
    backend: str
    mode: str
    max_ttl: int
    created_ts: float
    state: str = "open"
    accepting_jobs: bool = True
    activated_ts: float | None = None
    closed_ts: float | None = None
    timestamps: list[dict] = field(default_factory=list)


@dataclass
class HttpFault:
    """An injected HTTP failure answered instead of the ``remaining`` next matching requests."""

    status: int
    remaining: int
    method: str | None
    path: str | None
    code: int | str
    message: str
    retry_after: float | None = None

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and (
            self.path is None or self.path == path
        )


@dataclass
class PlannedFailure:
    """Make the next ``remaining`` created jobs (optionally only those tagged ``tag``) fail."""

    code: int
    message: str
    remaining: int
    tag: str | None = None


class Registry:
    """State and behaviour of the stand-in service; thread safe (one lock)."""

    def __init__(
        self,
        backends: dict[str, type] | None = None,
        api_key: str = "standin-api-key",
        instance_crn: str = (
            "crn:v1:bluemix:public:quantum-computing:us-east:a/0000standin0000:"
            "00000000-0000-4000-8000-000000000000::"
        ),
        instance_name: str = "standin-instance",
        noisy: bool = False,
        seed: int | None = None,
        max_concurrent_jobs: int = 4,
    ):
        self.lock = threading.RLock()
        self.api_key = api_key
        self.instance_crn = instance_crn
        self.instance_name = instance_name
        self.backends = {
            name: BackendEntry.from_fake(name, cls)
            for name, cls in (backends or DEFAULT_BACKENDS).items()
        }
        self.noisy = noisy
        """Simulate with the fake backend's noise model instead of noiselessly."""
        self.seed = seed
        """Seed for Aer sampling (``None``: random)."""
        self.queue_time = 0.0
        """Minimum seconds every new job stays ``Queued``."""
        self.run_time = 0.0
        """Seconds every new job stays ``Running`` before it executes."""
        self.pending_limit: int | None = None
        """When set, a submission while this many jobs are Queued/Running fails (code 3458)."""
        self.pending_limit_status = 400
        """HTTP status of the 3458 answer."""
        self.usage_limit_reached = False
        self.http_log: list[tuple[str, str, int]] = []
        """Every request answered: ``(method, normalised path, status)``."""
        self._jobs: dict[str, JobRecord] = {}
        self._sessions: dict[str, SessionRecord] = {}
        self._faults: list[HttpFault] = []
        self._failures: list[PlannedFailure] = []
        self._held = False
        self._slots = threading.BoundedSemaphore(max_concurrent_jobs)
        self._stopping = threading.Event()

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
        retry_after: float | None = None,
    ) -> None:
        """Answer the next ``count`` requests matching ``method``/``path`` with ``status``.

        ``path`` is the normalised runtime path (``/jobs``, ``/jobs/<id>``, ``/sessions``,
        ``/backends/<name>/status`` ...); ``None`` matches any method / path.  Each HTTP
        attempt counts, including the client's own internal retries.
        """
        with self.lock:
            self._faults.append(
                HttpFault(
                    status, count, method, path,
                    code if code is not None else status,
                    message or f"Injected HTTP {status} by the stand-in",
                    retry_after,
                )
            )

    def fail_next_submissions(
        self, n: int = 1, status: int = 500, code: int | str | None = None, message: str | None = None
    ) -> None:
        """Shortcut: the next ``n`` ``POST /jobs`` attempts answer HTTP ``status``."""
        self.inject_http_error(status, n, "POST", "/jobs", code, message)

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
        with self.lock:
            self._held = False

    def set_backend_status(self, name: str, operational: bool = True, status_msg: str = "active") -> None:
        with self.lock:
            self.backends[name].operational = operational
            self.backends[name].status_msg = status_msg

    # ------------------------------------------------------------ request helpers
    def take_fault(self, method: str, path: str) -> HttpFault | None:
        """Consume one matching injected fault, if any."""
        with self.lock:
            for fault in self._faults:
                if fault.remaining > 0 and fault.matches(method, path):
                    fault.remaining -= 1
                    return fault
            return None

    def backend_entry(self, name: str) -> BackendEntry:
        try:
            return self.backends[name]
        except KeyError:
            raise ApiError(404, BACKEND_NOT_FOUND_CODE, f"Backend {name} not found.") from None

    def pending_count(self, backend: str | None = None) -> int:
        with self.lock:
            return sum(
                1 for j in self._jobs.values()
                if j.status in PENDING and (backend is None or j.backend == backend)
            )

    # ------------------------------------------------------------------- jobs API
    def create_job(self, body: dict) -> JobRecord:
        """``POST /jobs``: validate like the service does, then start the job."""
        program_id = body.get("program_id")
        if program_id not in KNOWN_PROGRAMS:
            raise ApiError(404, "not_found", f"Program {program_id} not found.")
        backend = body.get("backend")
        if backend not in self.backends:
            raise ApiError(400, BACKEND_NOT_FOUND_CODE, f"Backend {backend} not found.")
        with self.lock:
            self._refresh_sessions()
            session_id = body.get("session_id")
            if session_id:
                session = self._sessions.get(session_id)
                if session is None:
                    raise ApiError(404, "not_found", f"Session {session_id} not found.")
                if session.state == "closed" or not session.accepting_jobs:
                    raise ApiError(400, SESSION_CLOSED_CODE, SESSION_CLOSED_MESSAGE)
            if self.pending_limit is not None and self.pending_count() >= self.pending_limit:
                raise ApiError(
                    self.pending_limit_status,
                    PENDING_LIMIT_CODE,
                    PENDING_LIMIT_MESSAGE.format(limit=self.pending_limit),
                )
            tags = list(body.get("tags") or [])
            job = JobRecord(
                id=_new_id(),
                program_id=program_id,
                backend=backend,
                params_raw=json.dumps(body.get("params", {})),
                tags=tags,
                session_id=session_id,
                created_ts=time.time(),
                cost=body.get("cost"),
                private=bool(body.get("private", False)),
                queue_time=self.queue_time,
                run_time=self.run_time,
            )
            for plan in self._failures:
                if plan.remaining > 0 and (plan.tag is None or plan.tag in tags):
                    plan.remaining -= 1
                    job.planned_failure = (plan.code, plan.message)
                    break
            self._jobs[job.id] = job
        threading.Thread(target=self._run_job, args=(job,), daemon=True, name=f"standin-{job.id}").start()
        return job

    def get_job(self, job_id: str) -> JobRecord:
        with self.lock:
            self._refresh_sessions()
            try:
                return self._jobs[job_id]
            except KeyError:
                raise ApiError(404, "not_found", f"Job {job_id} not found.") from None

    def job_to_api(self, job: JobRecord, exclude_params: bool = True) -> dict[str, Any]:
        """The JSON document ``GET /jobs/{id}`` answers."""
        with self.lock:
            seconds = (
                round(job.finished_ts - job.started_ts, 3)
                if job.finished_ts and job.started_ts else 0
            )
            doc: dict[str, Any] = {
                "id": job.id,
                "backend": job.backend,
                "state": {"status": job.status, "reason": job.reason, "reason_code": job.reason_code},
                "status": job.status,
                "program": {"id": job.program_id},
                "created": iso(job.created_ts),
                "ended": iso(job.finished_ts),
                "runtime": "",
                "tags": list(job.tags),
                "session_id": job.session_id,
                "private": job.private,
                "cost": job.cost or 600,
                "user_id": "standin-user",
                "usage": {"quantum_seconds": seconds, "seconds": seconds},
                "estimated_running_time_seconds": 1.0,
            }
            if not exclude_params:
                doc["params"] = json.loads(job.params_raw)
            return doc

    def job_metrics(self, job: JobRecord) -> dict[str, Any]:
        """``GET /jobs/{id}/metrics``."""
        with self.lock:
            seconds = round(job.finished_ts - job.started_ts, 3) if job.finished_ts and job.started_ts else 0
            return {
                "timestamps": {
                    "created": iso(job.created_ts),
                    "running": iso(job.started_ts),
                    "finished": iso(job.finished_ts),
                },
                "bss": {"seconds": seconds},
                "usage": {
                    "quantum_seconds": seconds,
                    "seconds": seconds,
                    "qpu_charge_time_seconds": seconds,
                    "status": "final" if job.status in FINAL else "pending",
                },
                "qiskit_version": "standin",
            }

    def list_jobs(self, query: dict[str, list[str]]) -> dict[str, Any]:
        """``GET /jobs`` with the client's filters (``tags`` must all be present)."""
        def one(key: str) -> str | None:
            return query.get(key, [None])[0]

        def when(key: str) -> float | None:
            value = one(key)
            if not value:
                return None
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=timezone.utc)
            return parsed.timestamp()

        with self.lock:
            self._refresh_sessions()
            jobs = list(self._jobs.values())
            if one("backend"):
                jobs = [j for j in jobs if j.backend == one("backend")]
            if one("pending") is not None:
                wanted = PENDING if one("pending") == "true" else FINAL
                jobs = [j for j in jobs if j.status in wanted]
            if one("program"):
                jobs = [j for j in jobs if j.program_id == one("program")]
            tags = query.get("tags", [])
            jobs = [j for j in jobs if all(t in j.tags for t in tags)]
            if one("session_id"):
                jobs = [j for j in jobs if j.session_id == one("session_id")]
            after, before = when("created_after"), when("created_before")
            jobs = [
                j for j in jobs
                if (after is None or j.created_ts >= after) and (before is None or j.created_ts <= before)
            ]
            jobs.sort(key=lambda j: j.created_ts, reverse=one("sort") != "ASC")
            offset = int(one("offset") or 0)
            limit = int(one("limit") or 200)
            page = jobs[offset : offset + limit]
            exclude = one("exclude_params") != "false"
            return {
                "jobs": [self.job_to_api(j, exclude) for j in page],
                "count": len(jobs),
                "limit": limit,
                "offset": offset,
            }

    def job_results(self, job: JobRecord) -> str:
        """``GET /jobs/{id}/results``: result JSON, or the failure text of a failed job."""
        with self.lock:
            if job.status == "Completed":
                return job.result_text or ""
            if job.status in FINAL:
                return job.reason or ""
        raise ApiError(404, "not_found", f"Results for job {job.id} are not available yet.")

    def request_cancel(self, job: JobRecord) -> None:
        """``POST /jobs/{id}/cancel``: 409 when the job is already final."""
        with self.lock:
            if job.status in FINAL:
                raise ApiError(409, "conflict", f"Job {job.id} is in a final state ({job.status}).")
            self._finish(job, "Cancelled")

    def update_tags(self, job: JobRecord, tags: list[str]) -> None:
        with self.lock:
            job.tags = list(tags)

    def delete_job(self, job: JobRecord) -> None:
        with self.lock:
            if job.status in PENDING:
                self._finish(job, "Cancelled")
            self._jobs.pop(job.id, None)

    # --------------------------------------------------------------- sessions API
    def create_session(self, body: dict) -> SessionRecord:
        """``POST /sessions`` (``mode`` is ``dedicated`` for Session, ``batch`` for Batch)."""
        backend = body.get("backend")
        if backend not in self.backends:
            raise ApiError(400, BACKEND_NOT_FOUND_CODE, f"Backend {backend} not found.")
        mode = body.get("mode") or "dedicated"
        if mode not in ("dedicated", "batch"):
            raise ApiError(400, "bad_request", f"Invalid session mode {mode}.")
        with self.lock:
            now = time.time()
            session = SessionRecord(
                id=_new_id(), backend=backend, mode=mode,
                max_ttl=int(body.get("max_ttl") or 28800), created_ts=now,
                timestamps=[{"status": "open", "timestamp": iso(now)}],
            )
            self._sessions[session.id] = session
            return session

    def get_session(self, session_id: str) -> SessionRecord:
        with self.lock:
            self._refresh_sessions()
            try:
                return self._sessions[session_id]
            except KeyError:
                raise ApiError(404, "not_found", "unknown session") from None

    def session_to_api(self, session: SessionRecord) -> dict[str, Any]:
        with self.lock:
            jobs = [j for j in self._jobs.values() if j.session_id == session.id]
            started = [j.started_ts for j in jobs if j.started_ts]
            finished = [j.finished_ts for j in jobs if j.finished_ts and j.started_ts]
            elapsed = sum(j.finished_ts - j.started_ts for j in jobs if j.finished_ts and j.started_ts)
            return {
                "id": session.id,
                "backend_name": session.backend,
                "mode": session.mode,
                "max_ttl": session.max_ttl,
                "active_ttl": session.max_ttl,
                "interactive_ttl": 60,
                "state": session.state,
                "accepting_jobs": session.accepting_jobs,
                "started_at": iso(session.created_ts),
                "activated_at": iso(session.activated_ts),
                "closed_at": iso(session.closed_ts),
                "last_job_started": iso(max(started)) if started else None,
                "last_job_completed": iso(max(finished)) if finished else None,
                "elapsed_time": round(elapsed, 3),
                "user_id": "standin-user",
                "timestamps": list(session.timestamps),
            }

    def patch_session(self, session: SessionRecord, body: dict) -> None:
        """``PATCH /sessions/{id}`` with ``{"accepting_jobs": false}`` (``Session.close()``)."""
        with self.lock:
            if "accepting_jobs" in body:
                session.accepting_jobs = bool(body["accepting_jobs"])
            self._refresh_sessions()

    def cancel_session(self, session: SessionRecord) -> None:
        """``DELETE /sessions/{id}/close`` (``Session.cancel()``): cancel queued jobs, close."""
        with self.lock:
            for job in self._jobs.values():
                if job.session_id == session.id and job.status == "Queued":
                    self._finish(job, "Cancelled")
            self._close(session)

    # ------------------------------------------------------------------ internals
    def _close(self, session: SessionRecord) -> None:
        if session.state != "closed":
            session.state, session.accepting_jobs = "closed", False
            session.closed_ts = time.time()
            session.timestamps.append({"status": "closed", "timestamp": iso(session.closed_ts)})

    def _refresh_sessions(self) -> None:
        """Close sessions whose max time passed (failing their queued jobs, code 1217) and
        sessions that stopped accepting jobs and have nothing left to run."""
        now = time.time()
        for session in self._sessions.values():
            if session.state == "closed":
                continue
            pending = [j for j in self._jobs.values() if j.session_id == session.id and j.status in PENDING]
            if now >= session.created_ts + session.max_ttl:
                for job in pending:
                    if job.status == "Queued":
                        self._finish(job, "Failed", SESSION_CLOSED_CODE, SESSION_CLOSED_MESSAGE)
                self._close(session)
            elif not session.accepting_jobs and not pending:
                self._close(session)

    @staticmethod
    def _failure_status(code: int, message: str) -> tuple[str, int, str]:
        return ("Cancelled" if code == RAN_TOO_LONG_CODE else "Failed", code, message)

    def _finish(self, job: JobRecord, status: str, code: int | None = None, reason: str | None = None) -> None:
        job.status, job.reason_code, job.reason = status, code, reason
        job.finished_ts = time.time()

    def _wait(self, job: JobRecord, ready: Callable[[], bool], status: str) -> bool:
        """Sleep until ``ready()``; False when the job left ``status`` meanwhile."""
        while not self._stopping.is_set():
            with self.lock:
                self._refresh_sessions()
                if job.status != status:
                    return False
                if ready():
                    return True
            time.sleep(0.02)
        return False

    def _run_job(self, job: JobRecord) -> None:
        """Thread body: queue, acquire a simulator slot, run, simulate, finish."""
        if not self._wait(job, lambda: not self._held and time.time() >= job.created_ts + job.queue_time, "Queued"):
            return
        while not self._slots.acquire(timeout=0.05):
            with self.lock:
                if job.status != "Queued" or self._stopping.is_set():
                    return
        try:
            with self.lock:
                if job.status != "Queued":
                    return
                job.status, job.started_ts = "Running", time.time()
                session = self._sessions.get(job.session_id or "")
                if session and session.activated_ts is None:
                    session.state, session.activated_ts = "active", job.started_ts
                    session.timestamps.append({"status": "active", "timestamp": iso(job.started_ts)})
            deadline = job.started_ts + job.run_time
            if not self._wait(job, lambda: time.time() >= deadline, "Running"):
                return
            with self.lock:
                failure, entry = job.planned_failure, self.backends[job.backend]
                noisy, seed = self.noisy, self.seed
            if failure:
                outcome: tuple = self._failure_status(*failure)
            else:
                try:
                    text = run_program(job.program_id, job.params_raw, simulator_for(entry.fake_cls, noisy), seed)
                    outcome = ("Completed", None, None, text)
                except JobExecutionError as ex:
                    outcome = ("Failed", ex.code, ex.message)
                except Exception as ex:  # noqa: BLE001 - simulator crash = backend error
                    outcome = ("Failed", BACKEND_ERROR_CODE, f"Error during execution: {ex}")
            with self.lock:
                if job.status == "Running":
                    self._finish(job, *outcome[:3])
                    if len(outcome) > 3:
                        job.result_text = outcome[3]
        finally:
            self._slots.release()

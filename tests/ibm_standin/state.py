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
import logging
import threading
import time
from datetime import datetime, timezone
from typing import Any, Callable

from .control import ControlMixin
from .records import (
    BACKEND_ERROR_CODE,
    BACKEND_NOT_FOUND_CODE,
    DEFAULT_BACKENDS,
    FINAL,
    KNOWN_PROGRAMS,
    PENDING,
    PENDING_LIMIT_CODE,
    PENDING_LIMIT_MESSAGE,
    RAN_TOO_LONG_CODE,
    SESSION_CLOSED_CODE,
    SESSION_CLOSED_MESSAGE,
    ApiError,
    BackendEntry,
    HttpFault,
    JobRecord,
    PlannedFailure,
    SessionRecord,
    iso,
    new_id,
)
from .simulate import JobExecutionError, run_program, simulator_for

logger = logging.getLogger(__name__)


class Registry(ControlMixin):
    """State and behaviour of the stand-in service; thread safe (one lock).

    The methods tests call directly (observation, fault injection) come from
    :class:`~.control.ControlMixin`; the others serve the HTTP routes of :mod:`.server`.
    """

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
        self.finish_when: Callable[[JobRecord], bool] | None = None
        """When set, a ``Running`` job also executes as soon as this says so (called under the
        lock); ``run_time`` is then the longest it waits. Lets a test wait for an event
        instead of for real time."""
        self.pending_limit: int | None = None
        """When set, a submission while this many jobs are Queued/Running fails (code 3458)."""
        self.pending_limit_status = 400
        """HTTP status of the 3458 answer."""
        self.usage_limit_reached = False
        self.refused_session_modes: set[str] = set()
        """Session modes ``POST /sessions`` refuses with 403 (``{"dedicated"}``: the Open plan)."""
        self.usage_seconds: float | None = None
        """When set, the quantum seconds every job that ran reports (else its running time)."""
        self.usage_pending_reads = 0
        """Reads of a final job's metrics that still say its usage is ``pending``."""
        self.http_log: list[tuple[str, str, int]] = []
        """Every request answered: ``(method, normalised path, status)``."""
        self._jobs: dict[str, JobRecord] = {}
        self._sessions: dict[str, SessionRecord] = {}
        self._faults: list[HttpFault] = []
        self._failures: list[PlannedFailure] = []
        self._held = False
        self._slots = threading.BoundedSemaphore(max_concurrent_jobs)
        self._stopping = threading.Event()

    # ------------------------------------------------------------ request helpers
    def take_fault(self, method: str, path: str) -> HttpFault | None:
        """Consume one matching injected fault, if any."""
        with self.lock:
            for fault in self._faults:
                if fault.remaining > 0 and fault.matches(method, path):
                    fault.remaining -= 1
                    return fault
            return None

    def carry_out(self, fault: HttpFault) -> bool:
        """Whether a faulted request is still carried out before its error is answered."""
        with self.lock:
            if fault.after_create <= 0:
                return False
            fault.after_create -= 1
            return True

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
                id=new_id(),
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
            seconds = self.quantum_seconds(job) if job.finished_ts else 0
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

    def quantum_seconds(self, job: JobRecord) -> float:
        """The usage a job reports: ``usage_seconds`` for a job that ran (when set), else its
        running time; 0 for a job that never ran (as the service reports a job cancelled in
        its queue)."""
        if not job.started_ts:
            return 0
        if self.usage_seconds is not None:
            return self.usage_seconds
        return round((job.finished_ts or time.time()) - job.started_ts, 3)

    def job_metrics(self, job: JobRecord) -> dict[str, Any]:
        """``GET /jobs/{id}/metrics``: usage ``pending`` until the job is final and then for
        ``usage_pending_reads`` more reads (the service finalises usage after the job ends)."""
        with self.lock:
            seconds = self.quantum_seconds(job)
            final = job.status in FINAL
            if final and job.usage_reads < self.usage_pending_reads:
                job.usage_reads += 1
                final = False
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
                    "status": "final" if final else "pending",
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
        if mode in self.refused_session_modes:  # e.g. {"dedicated"}: the Open plan has no sessions
            what = "session" if mode == "dedicated" else "batch"
            raise ApiError(403, "forbidden", f"You are not authorized to run a {what} when using the open plan.")
        with self.lock:
            now = time.time()
            session = SessionRecord(
                id=new_id(), backend=backend, mode=mode,
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
        sessions that stopped accepting jobs and have nothing left to run.

        As on the real service the ``max_time`` clock starts when the first job starts
        running (activation); a session that never ran a job is timed from its creation.
        """
        now = time.time()
        for session in self._sessions.values():
            if session.state == "closed":
                continue
            pending = [j for j in self._jobs.values() if j.session_id == session.id and j.status in PENDING]
            if now >= (session.activated_ts or session.created_ts) + session.max_ttl:
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
        """Thread body; a bug in the stand-in fails the job instead of leaving it pending."""
        try:
            self._run_job_steps(job)
        except Exception as ex:  # noqa: BLE001
            logger.exception("stand-in job thread crashed")
            with self.lock:
                if job.status in PENDING:
                    self._finish(job, "Failed", BACKEND_ERROR_CODE, f"Stand-in failure: {ex!r}")

    def _run_job_steps(self, job: JobRecord) -> None:
        """Queue, acquire a simulator slot, run, simulate, finish."""
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
            if not self._wait(job, lambda: time.time() >= job.started_ts + job.run_time
                              or (self.finish_when is not None and self.finish_when(job)), "Running"):
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

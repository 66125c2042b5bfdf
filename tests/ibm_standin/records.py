"""Records of the IBM Quantum Runtime stand-in: error codes, jobs, sessions, faults."""

from __future__ import annotations

import json
from fnmatch import fnmatchcase
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from qiskit_ibm_runtime.fake_provider import FakeManilaV2, FakeTorino

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


def new_id() -> str:
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
    usage_reads: int = 0  # metrics reads after the job ended (see Registry.usage_pending_reads)

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
    retry_after: int | None = None
    after_create: int = 0
    """How many of the faulted requests are still carried out before the error is answered
    (e.g. the job is created, then a gateway answers 502)."""

    def matches(self, method: str, path: str) -> bool:
        """``path`` may be a glob (``/jobs/*``)."""
        return (self.method is None or self.method == method) and (
            self.path is None or fnmatchcase(path, self.path)
        )


@dataclass
class PlannedFailure:
    """Make the next ``remaining`` created jobs (optionally only those tagged ``tag``) fail."""

    code: int
    message: str
    remaining: int
    tag: str | None = None


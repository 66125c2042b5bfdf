"""What the store keeps about a job set and its chunks, as plain data.

These classes know how to become JSON-ready dicts and back; they never touch the disk.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

from jobman.status import JobStatus

#: Version of the on-disk format of new sets. Bump it when a reader of the old one would misread
#: the new one. 1: chunks and results as JSON files; 2: chunks and results in ``set.db`` (SQLite).
FORMAT_VERSION = 2
#: Formats this jobman reads and writes (a set keeps the format it was created with).
READABLE_FORMATS = (1, 2)
#: The format of a sweep's set (:attr:`SetRecord.sweep`), whatever ``JOBMAN_STORE_FORMAT`` says:
#: a jobman that reads only format 1 would take its points for circuits of its input files.
SWEEP_FORMAT_VERSION = 2


@dataclass
class SetRecord:
    """A job set: the task (inputs, backend, options) and its chunk plan."""

    id: str
    name: str
    created: float
    inputs: list[dict[str, Any]]
    backend: dict[str, Any]
    options: dict[str, Any]
    total: int
    chunk_size: int
    num_chunks: int
    format_version: int = FORMAT_VERSION
    cancel_requested: bool = False
    sessions: list[dict[str, Any]] = field(default_factory=list)
    #: Why the last run stopped submitting with work left (``{"reason": "max_usage", ...}``).
    stopped: dict[str, Any] | None = None
    #: The user's labels (``jobman run --tag KEY=VALUE``); sets written before tags have none.
    tags: dict[str, str] = field(default_factory=dict)
    #: A sweep's PUBs and its values file (see :mod:`jobman.sweep`); None for bound circuits.
    sweep: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def is_estimator_task(self) -> bool:
        """Whether the set's PUBs have observables (its points give evs and stds, not counts)."""
        return any(pub.get("observables") is not None for pub in (self.sweep or {}).get("pubs", []))

    @property
    def unit(self) -> str:
        """What the set's items are: ``"point"`` of a sweep's PUBs, else ``"circuit"``."""
        return "point" if self.sweep else "circuit"

    def estimator_precisions(self) -> list[float] | None:
        """An estimator task's distinct precisions (it takes no shots); None for a task that samples."""
        if not self.is_estimator_task:
            return None
        return sorted({float(pub.get("precision") or 0.0) for pub in (self.sweep or {}).get("pubs", [])
                       if pub.get("observables") is not None})

    def engine_options(self) -> "EngineOptions":
        """How the set's runs drive its backend (``options["engine"]``)."""
        return EngineOptions.from_dict(self.options.get("engine"))

    def set_engine_options(self, options: "EngineOptions") -> None:
        """Record how the set's runs drive its backend (the one writer of ``options["engine"]``)."""
        self.options["engine"] = options.to_dict()

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "SetRecord":
        known = {name for name in cls.__dataclass_fields__}
        return cls(**{key: value for key, value in data.items() if key in known})


@dataclass(frozen=True)
class EngineOptions:
    """How a set's runs drive its backend, stored as ``SetRecord.options["engine"]`` (a key
    that a set does not record reads as its default)."""

    max_in_flight: int | None = None  #: None: the backend's default (a cluster's: its size)
    max_retries: int = 3
    on_failure: str = "continue"
    max_usage: float | None = None  #: seconds of usage the set may use, None: no budget

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> "EngineOptions":
        known = {name for name in cls.__dataclass_fields__}
        return cls(**{key: value for key, value in (data or {}).items() if key in known})


#: The status of an attempt whose job is gone: the backend does not know it, or the process that
#: followed it died first (its circuits are submitted again). Not a :class:`JobStatus`: no chunk has it.
ATTEMPT_LOST = "LOST"
#: Attempt statuses after which the attempt's job is over.
ATTEMPT_FINAL = ("DONE", "ERROR", "CANCELLED", ATTEMPT_LOST)


@dataclass
class Attempt:
    """One submission of a chunk (or of part of it) to the backend.

    A submit call that failed is an attempt too: it has an ``error`` and no ``job_id``. Stored
    as a JSON object in the chunk's record (:meth:`to_dict`, :meth:`from_dict`); keys this
    version does not know (a newer writer's) are kept in :attr:`extra` and written back.
    """

    number: int
    runs: list[list[int]]  # global circuit ranges [start, stop) this attempt holds
    job_id: str | None = None
    submitted: float | None = None
    finished: float | None = None
    status: str = JobStatus.SUBMITTING.value  #: a JobStatus value, or ATTEMPT_LOST
    error: str | None = None
    #: Seconds the job was expected to take when submitted (``None``: no estimate).
    estimate_seconds: float | None = None
    #: The backend's session the job ran in (IBM Quantum sessions and batches).
    session_id: str | None = None
    #: The usage the backend reported for the job (``quantum_seconds`` or ``seconds``, ...).
    usage: dict[str, Any] | None = None
    #: The job was made outside jobman and taken over by ``jobman adopt``.
    adopted: bool = False
    #: Keys of the stored object that this version does not know, kept as they were.
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def is_final(self) -> bool:
        """Whether the attempt's job (or submit call) is over."""
        return self.status in ATTEMPT_FINAL

    def indices(self) -> list[int]:
        """The global circuit indices the attempt holds."""
        return [i for start, stop in self.runs for i in range(start, stop)]

    def covers(self, index: int) -> bool:
        """Whether the attempt holds circuit ``index``."""
        return any(start <= index < stop for start, stop in self.runs)

    def end(self, status: str, when: float, error: str | None = None) -> None:
        """The job (or submit call) ended at ``when`` with ``status`` (and why, when given)."""
        self.status = status
        if error is not None:
            self.error = error
        self.finished = when

    def update(self, details: dict[str, Any]) -> None:
        """Set the fields named in ``details`` (a backend's facts about a job, e.g.
        ``session_id``); names this version does not know go to :attr:`extra`."""
        for key, value in details.items():
            if key in _ATTEMPT_FIELDS:
                setattr(self, key, value)
            else:
                self.extra[key] = value

    def to_dict(self) -> dict[str, Any]:
        """The attempt as stored: the keys every attempt has, those of the optional fields that
        are set, then the unknown keys it was read with."""
        data: dict[str, Any] = {"number": self.number, "runs": [list(run) for run in self.runs],
                                "job_id": self.job_id, "submitted": self.submitted,
                                "finished": self.finished, "status": self.status, "error": self.error}
        for key in _OPTIONAL_ATTEMPT_KEYS:
            value = getattr(self, key)
            if value is not None and value is not False:
                data[key] = dict(value) if isinstance(value, dict) else value
        data.update((key, value) for key, value in self.extra.items() if key not in data)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Attempt":
        """An attempt from its stored object (of any jobman version: missing keys take their
        defaults, unknown ones go to :attr:`extra`)."""
        known = {key: value for key, value in data.items() if key in _ATTEMPT_FIELDS}
        known["runs"] = [[int(a), int(b)] for a, b in known.get("runs") or []]
        known["adopted"] = bool(known.get("adopted", False))
        extra = {key: value for key, value in data.items() if key not in _ATTEMPT_FIELDS}
        return cls(**known, extra=extra)


#: Attempt fields stored under their own name (``extra`` is not one: its keys are).
_ATTEMPT_FIELDS = frozenset(name for name in Attempt.__dataclass_fields__ if name != "extra")
#: Attempt keys written only when set (attempts written before them lack them).
_OPTIONAL_ATTEMPT_KEYS = ("estimate_seconds", "session_id", "usage", "adopted")


def new_attempt(number: int, runs: list[tuple[int, int]] | list[list[int]]) -> Attempt:
    """A fresh attempt of ``runs``, not yet submitted."""
    return Attempt(number=number, runs=[[int(a), int(b)] for a, b in runs])


def attempt_indices(attempt: Attempt) -> list[int]:
    """The global circuit indices an attempt holds (:meth:`Attempt.indices`)."""
    return attempt.indices()


@dataclass
class ChunkRecord:
    """One chunk: circuits ``[start, stop)``, its status, attempts and failed circuits."""

    index: int
    start: int
    stop: int
    status: str = JobStatus.PENDING.value
    attempts: list[Attempt] = field(default_factory=list)
    history: list[list[Any]] = field(default_factory=list)
    error: str | None = None
    #: Circuit ranges that ended in ERROR or CANCELLED: ``[start, stop, status, reason]``.
    failed: list[list[Any]] = field(default_factory=list)
    updated: float = 0.0

    @property
    def size(self) -> int:
        return self.stop - self.start

    @property
    def job_status(self) -> JobStatus:
        return JobStatus(self.status)

    def set_status(self, status: JobStatus, now: float | None = None) -> None:
        """Change status and remember when."""
        now = time.time() if now is None else now
        self.status = status.value
        self.updated = now
        self.history.append([status.value, round(now, 3)])

    def last_attempt(self) -> Attempt | None:
        """The newest attempt, if any."""
        return self.attempts[-1] if self.attempts else None

    def attempts_covering(self, index: int) -> int:
        """How many attempts (submit calls and jobs) included circuit ``index``."""
        return sum(1 for attempt in self.attempts if attempt.covers(index))

    def failed_count(self) -> int:
        return sum(stop - start for start, stop, *_ in self.failed)

    def to_dict(self) -> dict[str, Any]:
        """The record as stored (its attempts as JSON objects: :meth:`Attempt.to_dict`)."""
        return {name: [attempt.to_dict() for attempt in self.attempts] if name == "attempts"
                else _copied(getattr(self, name)) for name in self.__dataclass_fields__}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ChunkRecord":
        """A record from its stored object; unknown keys of the record itself are ignored, an
        attempt keeps its own (:meth:`Attempt.from_dict`)."""
        known = {name for name in cls.__dataclass_fields__}
        fields = {key: value for key, value in data.items() if key in known}
        fields["attempts"] = [Attempt.from_dict(attempt) for attempt in fields.get("attempts") or []]
        return cls(**fields)


def _copied(value: Any) -> Any:
    """A copy of JSON-like data (lists, tuples, dicts, scalars); cheaper than ``copy.deepcopy``
    on a record saved several times per chunk."""
    if isinstance(value, list):
        return [_copied(item) for item in value]
    if isinstance(value, tuple):
        return tuple(_copied(item) for item in value)
    if isinstance(value, dict):
        return {key: _copied(item) for key, item in value.items()}
    return value


def compress_ranges(indices_with_reason: list[tuple[int, str, str]]) -> list[list[Any]]:
    """Merge sorted ``(index, status, reason)`` triples into ``[start, stop, status, reason]`` runs."""
    runs: list[list[Any]] = []
    for index, status, reason in indices_with_reason:
        if runs and runs[-1][1] == index and runs[-1][2] == status and runs[-1][3] == reason:
            runs[-1][1] = index + 1
        else:
            runs.append([index, index + 1, status, reason])
    return runs


def parse_tags(given: "list[str] | None") -> dict[str, str]:
    """``["KEY=VALUE", ...]`` as a dict; a malformed or repeated key is a UsageError."""
    from jobman.exceptions import UsageError

    tags: dict[str, str] = {}
    for item in given or ():
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UsageError(f"--tag {item!r} is not KEY=VALUE")
        if key in tags:
            raise UsageError(f"--tag {key} is given twice")
        tags[key] = value
    return tags


def tags_match(tags: dict[str, str], wanted: dict[str, "str | None"]) -> bool:
    """Whether ``tags`` hold every wanted key (with that value, unless it is None)."""
    return all(key in tags and (value is None or tags[key] == value) for key, value in wanted.items())

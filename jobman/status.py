"""Status names for chunks, circuits and job sets, as Qiskit users know them."""

from __future__ import annotations

from enum import Enum


class JobStatus(str, Enum):
    """The state of one chunk (one backend job) or of one circuit.

    Plain strings, so they go straight into JSON and onto the screen.
    """

    PENDING = "PENDING"
    TRANSPILING = "TRANSPILING"
    SUBMITTING = "SUBMITTING"
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    RETRYING = "RETRYING"
    DONE = "DONE"
    ERROR = "ERROR"
    CANCELLED = "CANCELLED"

    def __str__(self) -> str:
        return self.value

    @property
    def is_final(self) -> bool:
        """True for DONE, ERROR and CANCELLED."""
        return self in JOB_FINAL_STATES


JOB_FINAL_STATES = (JobStatus.DONE, JobStatus.ERROR, JobStatus.CANCELLED)

#: Order used when listing totals per status.
STATUS_ORDER = tuple(JobStatus)


class SetState(str, Enum):
    """The lifecycle state of a whole job set, which scripts can rely on.

    ``PENDING``: a process holds the set but no chunk has started yet. ``RUNNING``: a live
    process holds the set's lock and works on it (until it lets go, even if all looks final). ``INTERRUPTED``: no process runs it and work
    is left (``jobman resume`` carries on). ``DONE``: every circuit is final; some may have
    failed (then the CLI exits 3). ``CANCELLED``: every circuit is final and some were
    cancelled (``jobman cancel``, ``--on-failure abort``, or the backend cancelled a job).
    """

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    INTERRUPTED = "INTERRUPTED"
    DONE = "DONE"
    CANCELLED = "CANCELLED"

    def __str__(self) -> str:
        return self.value

    @property
    def is_final(self) -> bool:
        """True for DONE and CANCELLED: the set will not change unless retried."""
        return self in SET_FINAL_STATES


SET_FINAL_STATES = (SetState.DONE, SetState.CANCELLED)

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

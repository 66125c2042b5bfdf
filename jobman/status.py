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


def set_status(chunk_statuses: list[JobStatus], failed_circuits: int = 0) -> JobStatus:
    """The overall status of a job set from the statuses of its chunks.

    A set is DONE when every chunk is DONE and no circuit failed, ERROR when all chunks
    are final and some failed, CANCELLED when all are final and some were cancelled,
    otherwise the least advanced active state.
    """
    if not chunk_statuses:
        return JobStatus.DONE
    if all(s.is_final for s in chunk_statuses):
        if JobStatus.CANCELLED in chunk_statuses:
            return JobStatus.CANCELLED
        if JobStatus.ERROR in chunk_statuses or failed_circuits:
            return JobStatus.ERROR
        return JobStatus.DONE
    for status in (JobStatus.RUNNING, JobStatus.QUEUED, JobStatus.SUBMITTING,
                   JobStatus.RETRYING, JobStatus.TRANSPILING):
        if status in chunk_statuses:
            return JobStatus.RUNNING if status is not JobStatus.QUEUED else JobStatus.QUEUED
    return JobStatus.PENDING

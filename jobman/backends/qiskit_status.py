"""One table from Qiskit job statuses to jobman's, shared by every backend that speaks them.

Qiskit backends report ``qiskit.providers.JobStatus`` enum members (``INITIALIZING``,
``QUEUED``, ``VALIDATING``, ``RUNNING``, ``CANCELLED``, ``DONE``, ``ERROR``); qiskit-ibm-runtime's
real jobs report the same names as strings, and some providers spell a few differently
(``COMPLETED``, ``FAILED``, ``CANCELED``). They are matched by name, so nothing here imports qiskit.
"""

from __future__ import annotations

from typing import Any

from jobman.status import JobStatus

__all__ = ["STATUS_TABLE", "map_status"]

#: Qiskit status names (enum member names or strings, upper case) -> jobman statuses.
STATUS_TABLE: dict[str, JobStatus] = {
    "INITIALIZING": JobStatus.QUEUED,
    "VALIDATING": JobStatus.QUEUED,
    "QUEUED": JobStatus.QUEUED,
    "RUNNING": JobStatus.RUNNING,
    "DONE": JobStatus.DONE,
    "COMPLETED": JobStatus.DONE,
    "ERROR": JobStatus.ERROR,
    "FAILED": JobStatus.ERROR,
    "CANCELLED": JobStatus.CANCELLED,
    "CANCELED": JobStatus.CANCELLED,
}


def map_status(status: Any) -> JobStatus:
    """A Qiskit status (a ``JobStatus`` enum member or its name as a string) as a jobman status;
    one the table does not know reads as QUEUED (not final: the job is asked again)."""
    name = getattr(status, "name", status)
    try:
        return STATUS_TABLE[str(name).upper()]
    except KeyError:
        return JobStatus.QUEUED

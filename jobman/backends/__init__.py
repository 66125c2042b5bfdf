"""Backends: where chunks run. ``get_backend(name)`` builds one from its name.

Names: ``aer`` (local simulator, the default); ``fake_<device>`` and ``ibm_<device>``
come with the IBM Runtime backend.
"""

from __future__ import annotations

from typing import Any

from jobman.backends.base import Backend, BackendLimits, ChunkJob, CircuitOutcome, RunOptions
from jobman.exceptions import UsageError

__all__ = ["Backend", "BackendLimits", "ChunkJob", "CircuitOutcome", "RunOptions", "backend_from_record",
           "get_backend"]


def get_backend(name: str, **options: Any) -> Backend:
    """Build the backend called ``name``; raise UsageError for an unknown one."""
    if name == "aer":
        from jobman.backends.aer import AerBackend

        return AerBackend(**options)
    if name.startswith(("fake_", "ibm_")):
        from jobman.backends.ibm import IBMBackend

        return IBMBackend(name, **options)
    raise UsageError(f"unknown backend {name!r}: use aer, fake_<device> (e.g. fake_manila) or "
                     "ibm_<device>; `jobman backends` lists them")


def backend_from_record(described: dict[str, Any]) -> Backend:
    """Build the backend a job set was created with, from its recorded ``describe()``: the same
    name and options (mode, account name, ...), so resume and retry run where the set began."""
    return get_backend(described["name"], **dict(described.get("options") or {}))

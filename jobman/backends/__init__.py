"""Backends: where chunks run. ``get_backend(name)`` builds one from its name.

Names: ``aer`` (local simulator, the default); ``fake_<device>`` and ``ibm_<device>``
come with the IBM Runtime backend.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from jobman.backends.base import Backend, BackendLimits, ChunkJob, CircuitOutcome, RunOptions
from jobman.exceptions import UsageError

__all__ = ["Backend", "BackendLimits", "ChunkJob", "CircuitOutcome", "RunOptions", "backend_from_record",
           "backend_record", "get_backend"]

#: Backend options too large for ``set.json``: kept as files in the set (see backend_record).
ATTACHED_OPTIONS = ("noise_model",)


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


def backend_record(backend: Backend) -> tuple[dict[str, Any], dict[str, bytes]]:
    """What a new set records about its backend (``describe()``), and the files to keep beside
    it: a large option (a noise model) is a JSON file in the set, named in the record with its
    sha256, so that reading ``set.json`` stays quick."""
    described = backend.describe()
    options = dict(described.get("options") or {})
    files: dict[str, bytes] = {}
    for key in ATTACHED_OPTIONS:
        if isinstance(options.get(key), dict):
            data = json.dumps(options[key], sort_keys=True, allow_nan=False).encode()
            name = f"backend/{key}.json"
            files[name] = data
            options[key] = {"file": name, "sha256": hashlib.sha256(data).hexdigest()}
    described["options"] = options
    return described, files


def backend_from_record(described: dict[str, Any], folder: Path | None = None) -> Backend:
    """Build the backend a job set was created with, from its recorded ``describe()``: the same
    name and options (mode, account name, noise model, ...), so resume and retry run exactly as
    the set began. Options kept in files are read from the set's ``folder``."""
    options = dict(described.get("options") or {})
    for key in ATTACHED_OPTIONS:
        reference = options.get(key)
        if isinstance(reference, dict) and "file" in reference:
            options[key] = _read_attached(folder, key, reference)
    return get_backend(described["name"], **options)


def _read_attached(folder: Path | None, key: str, reference: dict[str, Any]) -> Any:
    path = (folder or Path(".")) / str(reference["file"])
    try:
        data = path.read_bytes()
    except OSError as error:
        raise UsageError(f"the recorded {key} cannot be read ({path}: {error.strerror or error})") from None
    if hashlib.sha256(data).hexdigest() != reference.get("sha256"):
        raise UsageError(f"the recorded {key} ({path}) has changed since the set was created")
    return json.loads(data)

"""Backends: where chunks run. ``get_backend(name)`` builds one from its name.

Each kind of backend is a plug-in found through the ``jobman.backends`` entry-point group
(:mod:`jobman.backends.plugins`): ``aer`` (local simulator, the default; its chunks run where
``executor`` says, see :mod:`jobman.backends.aer_plugin`), ``fake_<device>`` and ``ibm_<device>``
(IBM Runtime, :mod:`jobman.backends.ibm_plugin`), and whatever else is installed.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from jobman.backends.aer_plugin import EXECUTOR_CHOICES, RAY_OPTIONS
from jobman.backends.base import Backend, BackendLimits, ChunkJob, CircuitOutcome, RunOptions
from jobman.backends.plugins import plugin_for
from jobman.exceptions import UsageError

__all__ = ["EXECUTOR_CHOICES", "RAY_OPTIONS", "Backend", "BackendLimits", "ChunkJob", "CircuitOutcome", "RunOptions",
           "backend_from_record", "backend_record", "get_backend"]

#: Backend options too large for ``set.json``: kept as files in the set (see backend_record).
ATTACHED_OPTIONS = ("noise_model",)


def get_backend(name: str, executor: Any = None, **options: Any) -> Backend:
    """Build the backend called ``name`` (by the plug-in that serves it) with these options;
    ``executor`` says where its chunks run (Aer only). UsageError for an unknown name."""
    return plugin_for(name).build(name, executor=executor, **options)


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


def backend_from_record(described: dict[str, Any], folder: Path | None = None, executor: Any = None,
                        **executor_options: Any) -> Backend:
    """Build the backend a job set was created with, from its recorded ``describe()``: the same
    name and options (mode, account name, noise model, executor, ...), so resume and retry run
    exactly as the set began. Options kept in files are read from the set's ``folder``.

    ``executor`` (with its ``executor_options``, e.g. ``ray_address``) replaces the recorded
    one: ``"local"`` carries on on this machine when the cluster is gone."""
    options = dict(described.get("options") or {})
    for key in ATTACHED_OPTIONS:
        reference = options.get(key)
        if isinstance(reference, dict) and "file" in reference:
            options[key] = _read_attached(folder, key, reference)
    return plugin_for(described["name"]).rebuild(described, options, executor, **executor_options)


def _read_attached(folder: Path | None, key: str, reference: dict[str, Any]) -> Any:
    path = (folder or Path(".")) / str(reference["file"])
    try:
        data = path.read_bytes()
    except OSError as error:
        raise UsageError(f"the recorded {key} cannot be read ({path}: {error.strerror or error})") from None
    if hashlib.sha256(data).hexdigest() != reference.get("sha256"):
        raise UsageError(f"the recorded {key} ({path}) has changed since the set was created")
    return json.loads(data)

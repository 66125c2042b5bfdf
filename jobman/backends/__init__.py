"""Backends: where chunks run. ``get_backend(name)`` builds one from its name.

Names: ``aer`` (local simulator, the default); ``fake_<device>`` and ``ibm_<device>``
come with the IBM Runtime backend.

Aer chunks run where ``executor`` says: ``None`` or ``"local"`` (worker processes of this
machine), ``"ray"`` (tasks on a Ray cluster, :mod:`jobman.backends.ray_executor`, imported only
then) or any ``concurrent.futures.Executor`` object (:mod:`jobman.backends.aer_executor`).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from jobman.backends.base import Backend, BackendLimits, ChunkJob, CircuitOutcome, RunOptions
from jobman.exceptions import UsageError

__all__ = ["EXECUTOR_CHOICES", "Backend", "BackendLimits", "ChunkJob", "CircuitOutcome", "RunOptions",
           "backend_from_record", "backend_record", "get_backend"]

#: Backend options too large for ``set.json``: kept as files in the set (see backend_record).
ATTACHED_OPTIONS = ("noise_model",)
#: Names of ``executor`` (besides an Executor object).
EXECUTOR_CHOICES = ("local", "ray")
#: Options that only the Ray executor takes.
RAY_OPTIONS = ("ray_address", "ray_num_cpus", "ray_num_gpus")


def get_backend(name: str, executor: Any = None, **options: Any) -> Backend:
    """Build the backend called ``name`` (its chunks run on ``executor``, see above); raise
    UsageError for an unknown one."""
    if name == "aer":
        return _aer_backend(executor, **options)
    if executor not in (None, "local"):
        raise UsageError(f"--executor {_executor_name(executor)}: only with the aer backend, not {name!r}")
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
    recorded = options.pop("executor", None) or "local"
    executor = executor if executor is not None else recorded
    if executor != recorded:  # another place: the recorded cluster's address does not apply
        for key in RAY_OPTIONS:
            options.pop(key, None)
    options.update(executor_options)
    return get_backend(described["name"], executor=executor, **options)


def _aer_backend(executor: Any, **options: Any) -> Backend:
    from concurrent.futures import Executor

    if executor in (None, "local"):
        stray = [key for key in RAY_OPTIONS if options.get(key) is not None]
        if stray:
            raise UsageError(f"--{stray[0].replace('_', '-')}: only with --executor ray")
        from jobman.backends.aer import AerBackend

        return AerBackend(**{k: v for k, v in options.items() if k not in RAY_OPTIONS})
    if executor == "ray":
        from jobman.backends.ray_executor import RayAerBackend

        return RayAerBackend(**options)
    if isinstance(executor, Executor):
        from jobman.backends.aer_executor import ExecutorAerBackend

        return ExecutorAerBackend(executor, **options)
    raise UsageError(f"unknown executor {_executor_name(executor)}: use "
                     f"{' or '.join(EXECUTOR_CHOICES)}, or give a concurrent.futures.Executor")


def _executor_name(executor: Any) -> str:
    return executor if isinstance(executor, str) else type(executor).__name__


def _read_attached(folder: Path | None, key: str, reference: dict[str, Any]) -> Any:
    path = (folder or Path(".")) / str(reference["file"])
    try:
        data = path.read_bytes()
    except OSError as error:
        raise UsageError(f"the recorded {key} cannot be read ({path}: {error.strerror or error})") from None
    if hashlib.sha256(data).hexdigest() != reference.get("sha256"):
        raise UsageError(f"the recorded {key} ({path}) has changed since the set was created")
    return json.loads(data)

"""The ``aer`` plug-in: the local Aer simulator, wherever its chunks run.

Chunks run where ``executor`` says: ``None`` or ``"local"`` (worker processes of this machine,
:mod:`jobman.backends.aer`), ``"ray"`` (tasks on a Ray cluster,
:mod:`jobman.backends.ray_executor`, imported only then) or any ``concurrent.futures.Executor``
object (:mod:`jobman.backends.aer_executor`). A set records the executor by name; resume may
move it (``--executor local`` carries on here when the cluster is gone).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from jobman.backends.plugins import BackendPlugin, Catalogue, CatalogueQuery
from jobman.exceptions import UsageError

if TYPE_CHECKING:  # pragma: no cover
    from jobman.backends.base import Backend

__all__ = ["EXECUTOR_CHOICES", "PLUGIN", "RAY_OPTIONS", "AerPlugin", "available_executors",
           "recorded_executor"]

#: Names of ``executor`` (besides an Executor object).
EXECUTOR_CHOICES = ("local", "ray")
#: Options that only the Ray executor takes.
RAY_OPTIONS = ("ray_address", "ray_num_cpus", "ray_num_gpus")


class AerPlugin(BackendPlugin):
    """``aer``: AerSimulator options from ``--backend-option``, ``--noise-model``, and the
    executor options (``--executor``, ``--ray-address``, ``--ray-num-cpus``)."""

    usage = "aer"
    kind = "the aer backend"
    flags = frozenset({"backend_option", "noise_model", "executor", "ray_address", "ray_num_cpus"})

    def serves(self, name: str) -> bool:
        return name == "aer"

    def build(self, name: str, executor: Any = None, **options: Any) -> "Backend":
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
        shown = executor if isinstance(executor, str) else type(executor).__name__
        raise UsageError(f"unknown executor {shown}: use {' or '.join(EXECUTOR_CHOICES)}, "
                         "or give a concurrent.futures.Executor")

    def options_from_flags(self, name: str, flags: dict[str, Any]) -> dict[str, Any]:
        options = dict(flags.get("backend_option") or {})
        if flags.get("noise_model") is not None:
            options["noise_model"] = flags["noise_model"]
        options.update({key: flags[key] for key in ("executor", "ray_address", "ray_num_cpus") if key in flags})
        return options

    def rebuild(self, described: dict[str, Any], options: dict[str, Any], executor: Any = None,
                **executor_options: Any) -> "Backend":
        """The recorded executor, unless ``executor`` (with its options, e.g. ``ray_address``)
        replaces it: then the recorded cluster's options do not apply."""
        executor, options = recorded_executor(options, executor, executor_options)
        return self.build(described["name"], executor=executor, **options)

    def catalogue(self, query: CatalogueQuery) -> Catalogue:
        executors = available_executors()
        return Catalogue([{"name": "aer", "source": "local", "num_qubits": None, "pending_jobs": None,
                           "operational": True, "status": f"local simulator; --executor {'|'.join(executors)}",
                           "max_executions": None, "max_payload_bytes": None, "executors": executors}])


def recorded_executor(options: dict[str, Any], executor: Any,
                      executor_options: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """Where a rebuilt set runs, and its options: the executor its ``options`` record unless
    ``executor`` replaces it (then the recorded cluster's options are dropped), with
    ``executor_options`` (e.g. ``ray_address``) on top."""
    options = dict(options)
    recorded = options.pop("executor", None) or "local"
    executor = executor if executor is not None else recorded
    if executor != recorded:
        for key in RAY_OPTIONS:
            options.pop(key, None)
    options.update(executor_options)
    return executor, options


def available_executors() -> list[str]:
    """Where Aer chunks can run from the CLI: ``local``, and ``ray`` when Ray is installed
    (found without importing it)."""
    from importlib.util import find_spec

    return ["local"] + (["ray"] if find_spec("ray") is not None else [])


PLUGIN = AerPlugin()

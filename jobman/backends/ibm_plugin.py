"""The ``ibm`` plug-in: ``ibm_<device>`` on IBM Quantum and ``fake_<device>`` offline, both through
qiskit-ibm-runtime (:mod:`jobman.backends.ibm`, imported only when one is built or listed)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from jobman.backends.plugins import BackendPlugin, Catalogue, CatalogueQuery
from jobman.exceptions import UsageError

if TYPE_CHECKING:  # pragma: no cover
    from jobman.backends.base import Backend

__all__ = ["IBM_FLAGS", "PLUGIN", "IBMPlugin"]

#: ``jobman run``'s IBM options, as keyword names of :class:`~jobman.backends.ibm.IBMBackend`.
IBM_FLAGS = ("mode", "max_time", "optimization_level", "skip_transpile", "sampler", "account", "instance",
             "max_payload")


class IBMPlugin(BackendPlugin):
    """``fake_<device>`` and ``ibm_<device>``: the IBM options of ``jobman run`` (``--mode``,
    ``--max-time``, ``-O``, ``--skip-transpile``, ``--transpile-option``, ``--sampler``,
    ``--account``, ``--instance``, ``--max-payload``), and ``--executor ray`` (``--ray-address``):
    chunks are then transpiled as Ray tasks on the cluster, and submitted from here."""

    usage = "fake_<device> (e.g. fake_manila) or ibm_<device>"
    kind = "fake_<device> and ibm_<device> backends"
    flags = frozenset(IBM_FLAGS + ("transpile_option", "executor", "ray_address"))
    refusal_hint = " (a fake device already simulates with its own noise model)"

    def serves(self, name: str) -> bool:
        return name.startswith(("fake_", "ibm_"))

    def build(self, name: str, executor: Any = None, **options: Any) -> "Backend":
        if executor not in (None, "local", "ray"):
            shown = executor if isinstance(executor, str) else type(executor).__name__
            raise UsageError(f"--executor {shown}: {name!r} takes local or ray (an Executor object "
                             "runs Aer chunks only)")
        stray = [key for key in ("ray_num_cpus", "ray_num_gpus") if options.pop(key, None) is not None]
        if stray:  # a transpile task is one process: its size is not the user's to set
            raise UsageError(f"--{stray[0].replace('_', '-')}: only for Aer chunks, not {name!r}")
        from jobman.backends.ibm import IBMBackend

        return IBMBackend(name, executor=executor, **options)

    def rebuild(self, described: dict[str, Any], options: dict[str, Any], executor: Any = None,
                **executor_options: Any) -> "Backend":
        """The recorded executor (``ray``: transpiled on the cluster), unless ``executor``
        replaces it: ``resume --executor local`` transpiles here."""
        from jobman.backends.aer_plugin import recorded_executor

        executor, options = recorded_executor(options, executor, executor_options)
        return self.build(described["name"], executor=executor, **options)

    def options_from_flags(self, name: str, flags: dict[str, Any]) -> dict[str, Any]:
        options = {key: flags[key] for key in IBM_FLAGS if key in flags}
        options.update({key: flags[key] for key in ("executor", "ray_address") if key in flags})
        if flags.get("transpile_option"):
            options["transpile_options"] = dict(flags["transpile_option"])
        return options

    def catalogue(self, query: CatalogueQuery) -> Catalogue:
        """The fake devices, then the account's devices (remembered for shell completion); an
        account that cannot be reached is a warning (an error when one was asked for)."""
        from jobman.backend_names import remember_account_devices
        from jobman.backends.ibm_service import account_rows_within, fake_rows
        from jobman.exceptions import JobmanError

        listing = Catalogue([row.to_dict() for row in fake_rows()])
        try:
            account_rows = account_rows_within(query.account, query.instance, query.timeout)
        except UsageError as error:  # no account: not an error unless one was asked for
            listing.warning = f"{error}; listing the local backends only"
            listing.failed = bool(query.account or query.instance)
            return listing
        except JobmanError as error:
            listing.warning, listing.failed = f"{error}; listing the local backends only", True
            return listing
        listing.rows += [row.to_dict() for row in account_rows]
        remember_account_devices(query.account, query.instance,
                                 [(row.name, row.num_qubits) for row in account_rows])
        return listing


PLUGIN = IBMPlugin()

"""The ``ibm`` plug-in: ``ibm_<device>`` on IBM Quantum and ``fake_<device>`` offline, both through
qiskit-ibm-runtime (:mod:`jobman.backends.ibm`, imported only when one is built or listed)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from jobman.backends.plugins import BackendPlugin, Catalogue, CatalogueQuery, refuse_executor

if TYPE_CHECKING:  # pragma: no cover
    from jobman.backends.base import Backend

__all__ = ["IBM_FLAGS", "PLUGIN", "IBMPlugin"]

#: ``jobman run``'s IBM options, as keyword names of :class:`~jobman.backends.ibm.IBMBackend`.
IBM_FLAGS = ("mode", "max_time", "optimization_level", "skip_transpile", "sampler", "account", "instance",
             "max_payload")


class IBMPlugin(BackendPlugin):
    """``fake_<device>`` and ``ibm_<device>``: the IBM options of ``jobman run`` (``--mode``,
    ``--max-time``, ``-O``, ``--skip-transpile``, ``--transpile-option``, ``--sampler``,
    ``--account``, ``--instance``, ``--max-payload``)."""

    usage = "fake_<device> (e.g. fake_manila) or ibm_<device>"
    kind = "fake_<device> and ibm_<device> backends"
    flags = frozenset(IBM_FLAGS + ("transpile_option",))
    refusal_hint = " (a fake device already simulates with its own noise model)"

    def serves(self, name: str) -> bool:
        return name.startswith(("fake_", "ibm_"))

    def build(self, name: str, executor: Any = None, **options: Any) -> "Backend":
        if executor not in (None, "local"):
            refuse_executor(name, executor)
        from jobman.backends.ibm import IBMBackend

        return IBMBackend(name, **options)

    def options_from_flags(self, name: str, flags: dict[str, Any]) -> dict[str, Any]:
        options = {key: flags[key] for key in IBM_FLAGS if key in flags}
        if flags.get("transpile_option"):
            options["transpile_options"] = dict(flags["transpile_option"])
        return options

    def catalogue(self, query: CatalogueQuery) -> Catalogue:
        """The fake devices, then the account's devices (remembered for shell completion); an
        account that cannot be reached is a warning (an error when one was asked for)."""
        from jobman.backend_names import remember_account_devices
        from jobman.backends.ibm_service import account_rows_within, fake_rows
        from jobman.exceptions import JobmanError, UsageError

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

"""Backend plug-ins: every backend is found through the ``jobman.backends`` entry-point group.

A backend is one module holding a :class:`BackendPlugin` object, named by one entry point::

    [project.entry-points."jobman.backends"]
    mine = "my_package.jobman_backend:PLUGIN"

The plug-in says which backend names it serves (:meth:`~BackendPlugin.serves`), how to build
one from a name and options (:meth:`~BackendPlugin.build`; the CLI's generic
``--backend-option KEY=VALUE`` arrive through :meth:`~BackendPlugin.options_from_flags`), its
lines for ``jobman backends`` (:meth:`~BackendPlugin.catalogue`) and how to rebuild itself from
a set's record (:meth:`~BackendPlugin.rebuild`). jobman's own backends (``aer``, the IBM
devices, ``provider:<module>:<callable>``) are plug-ins like any other.

Loading is lazy: nothing here runs until a backend is built or listed, and a plug-in module
should import its heavy dependencies (qiskit, a provider's client) only inside its methods.
A plug-in that cannot be loaded is skipped (logged; an unknown name says why).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from typing import TYPE_CHECKING, Any, Iterable

from jobman.exceptions import UsageError
from jobman.log import swallowed

if TYPE_CHECKING:  # pragma: no cover
    from jobman.backends.base import Backend

__all__ = ["BUILTIN", "GROUP", "BackendPlugin", "Catalogue", "CatalogueQuery", "flag_names", "load_plugins",
           "owners_of", "plugin_for", "refuse_executor", "refused_text"]

#: The entry-point group jobman looks backends up in.
GROUP = "jobman.backends"
#: jobman's own plug-ins, as its pyproject.toml declares them: used when the installed metadata
#: lacks them (a source checkout run without ``pip install -e .`` after they were added).
BUILTIN: dict[str, str] = {
    "aer": "jobman.backends.aer_plugin:PLUGIN",
    "ibm": "jobman.backends.ibm_plugin:PLUGIN",
}
#: How the CLI names the options of ``jobman run`` that plug-ins declare in ``flags``.
FLAG_NAMES = {"backend_option": "--backend-option", "transpile_option": "--transpile-option",
              "optimization_level": "--optimization-level"}


@dataclass(frozen=True)
class CatalogueQuery:
    """What ``jobman backends`` was asked: an account (``--account``/``--instance``) and how long
    a remote service may take to answer (``--timeout``)."""

    account: str | None = None
    instance: str | None = None
    timeout: float = 60.0


@dataclass
class Catalogue:
    """A plug-in's lines for ``jobman backends``: one JSON-ready row per backend (``name``,
    ``source``, ``num_qubits``, ``pending_jobs``, ``operational``, ``status``, ``max_executions``,
    ``max_payload_bytes``; more keys are kept in ``--json``), and a warning for what could not be
    listed. ``failed`` makes the command exit 1 (something asked for could not be listed)."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    warning: str | None = None
    failed: bool = False


class BackendPlugin:
    """One kind of backend, as the registry sees it. Subclass it and fill in :meth:`serves`,
    :meth:`build`, and whichever of the other methods apply."""

    #: How a user names this plug-in's backends, for the error about an unknown name.
    usage: str = "?"
    #: What this plug-in's backends are, for "only for ..." errors: ``"the aer backend"``.
    kind: str = "?"
    #: Whether ``jobman backends`` lists the names it serves (else it serves a pattern, and
    #: the error about an unknown name with a colon shows :attr:`usage` after the listed ones).
    listed: bool = True
    #: Options of ``jobman run`` this plug-in takes, by their keyword names: ``backend_option``
    #: (the generic ``--backend-option KEY=VALUE``), and the dedicated ones (``noise_model``,
    #: ``mode``, ``executor``, ...). Any other one given with its backend is a usage error.
    flags: frozenset[str] = frozenset({"backend_option"})
    #: Added to the error about options it does not take, e.g. why they make no sense here.
    refusal_hint: str = ""

    def serves(self, name: str) -> bool:
        """Whether ``name`` (the ``--backend`` value) is one of this plug-in's backends."""
        raise NotImplementedError

    def build(self, name: str, executor: Any = None, **options: Any) -> "Backend":
        """The backend called ``name`` with these keyword options; UsageError for bad ones.
        ``executor`` is where chunks run (only plug-ins that take ``executor`` use it)."""
        raise NotImplementedError

    def options_from_flags(self, name: str, flags: dict[str, Any]) -> dict[str, Any]:
        """The keyword options for :meth:`build` from the run options given (only those in
        :attr:`flags`; ``backend_option`` is a dict of the ``--backend-option`` pairs)."""
        return dict(flags.get("backend_option") or {})

    def rebuild(self, described: dict[str, Any], options: dict[str, Any], executor: Any = None,
                **executor_options: Any) -> "Backend":
        """The backend a set was created with, from its recorded ``describe()`` and its
        ``options`` (files they refer to already read): the same name and options, so resume
        and retry run exactly as the set began."""
        if executor not in (None, "local") or executor_options:
            refuse_executor(described["name"], executor if executor is not None else "local")
        return self.build(described["name"], **options)

    def catalogue(self, query: CatalogueQuery) -> Catalogue:
        """This plug-in's lines for ``jobman backends`` (none by default)."""
        return Catalogue()


def load_plugins() -> list[tuple[str, BackendPlugin]]:
    """Every plug-in that loads, as ``(entry point name, plug-in)``: jobman's own first (in
    :data:`BUILTIN` order), then the others by name. Nothing is cached: a plug-in installed
    meanwhile is seen by the next call."""
    plugins = []
    _FAILED.clear()  # what did not load this time (a plug-in removed meanwhile is forgotten)
    for point in _entry_points():
        plugin = _load(point)
        if plugin is not None:
            plugins.append((point.name, plugin))
    return plugins


def plugin_for(name: str) -> BackendPlugin:
    """The plug-in that serves the backend called ``name``; UsageError when none does."""
    if not isinstance(name, str):
        raise UsageError(f"a backend name must be text, not {type(name).__name__}")
    plugins = [plugin for _, plugin in load_plugins()]
    for plugin in plugins:
        if plugin.serves(name):
            return plugin
    raise UsageError(_unknown(name, plugins))


def owners_of(flag: str) -> list[BackendPlugin]:
    """The plug-ins that take the run option ``flag``."""
    return [plugin for _, plugin in load_plugins() if flag in plugin.flags]


def refused_text(flags: Iterable[str], name: str, plugin: BackendPlugin, label: Any = None,
                 terse: bool = False) -> str:
    """``"--mode, --sampler: only for fake_<device> and ibm_<device> backends, not 'aer'"``:
    the error for run options that ``plugin`` (serving ``name``) does not take. ``label``
    turns a flag's keyword name into what the user typed (default: the CLI's ``--flag``);
    ``terse`` (the library's wording) leaves out the plug-in's hint and a kind's "the "."""
    flags = list(flags)
    owners: list[BackendPlugin] = []
    for flag in flags:
        owners += [owner for owner in owners_of(flag) if owner not in owners]
    kinds = " or ".join(owner.kind.removeprefix("the ") if terse else owner.kind for owner in owners)
    shown = ", ".join((label or flag_names)(flag) for flag in flags)
    return f"{shown}: only for {kinds or 'no backend'}, not {name!r}{'' if terse else plugin.refusal_hint}"


def flag_names(flag: str) -> str:
    """The CLI's name of a run option: ``mode`` -> ``--mode``."""
    return FLAG_NAMES.get(flag, "--" + flag.replace("_", "-"))


def refuse_executor(name: str, executor: Any) -> None:
    """Raise the UsageError for an ``executor`` given with a backend that runs none."""
    shown = executor if isinstance(executor, str) else type(executor).__name__
    kinds = " or ".join(owner.kind for owner in owners_of("executor")) or "no backend"
    raise UsageError(f"--executor {shown}: only with {kinds}, not {name!r}")


def _entry_points() -> list[EntryPoint]:
    """The group's entry points, jobman's own ones filled in from :data:`BUILTIN` when the
    installed metadata lacks them; one per name (the first found)."""
    found: dict[str, EntryPoint] = {}
    for point in entry_points(group=GROUP):
        found.setdefault(point.name, point)
    for name, value in BUILTIN.items():
        found.setdefault(name, EntryPoint(name=name, value=value, group=GROUP))
    own = [found.pop(name) for name in BUILTIN]
    return own + [found[name] for name in sorted(found)]


_FAILED: dict[str, str] = {}  # entry point name -> why it did not load (for the unknown-name error)


def _load(point: EntryPoint) -> BackendPlugin | None:
    try:
        plugin = point.load()
        if isinstance(plugin, type):
            plugin = plugin()
    except Exception as error:
        swallowed(f"loading the backend plug-in {point.name} ({point.value})", error)
        _FAILED[point.name] = f"{type(error).__name__}: {error}"
        return None
    if not all(callable(getattr(plugin, attr, None)) for attr in ("serves", "build")):
        _FAILED[point.name] = f"{point.value} is not a backend plug-in (it has no serves/build)"
        return None
    return plugin  # type: ignore[no-any-return]


def _unknown(name: str, plugins: list[BackendPlugin]) -> str:
    named = ", ".join(plugin.usage for plugin in plugins if plugin.listed)
    text = f"unknown backend {name!r}: use {named}; `jobman backends` lists them"
    if ":" in name:  # it looks like a pattern: say which patterns plug-ins serve
        text += "".join(f"; or {plugin.usage}" for plugin in plugins if not plugin.listed)
    if _FAILED:
        text += "; plug-ins that did not load: " + ", ".join(f"{k} ({v})" for k, v in sorted(_FAILED.items()))
    return text

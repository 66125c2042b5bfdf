"""Any Qiskit ``BackendV2`` from an installed provider: ``--backend provider:<module>:<callable>``.

``<callable>`` (a function or class of ``<module>``, dotted for an attribute:
``pkg.mod:Provider.get``) is called with the ``--backend-option`` pairs jobman does not take
itself as keyword arguments and must return a ``qiskit.providers.BackendV2``, e.g.
``provider:qiskit_braket_provider:BraketLocalBackend``. The set records the name and those
options (never secrets: a provider's credentials stay in its own configuration), so resume
rebuilds the same backend.

Circuits are transpiled to the backend's ``Target`` (seeded; circuits already ISA run as given;
``skip_transpile=true`` runs them untouched), jobs hold at most its ``max_circuits`` circuits,
job statuses go through the shared Qiskit table, and a job is re-attached after a crash
through the backend's ``retrieve_job`` (or its provider's ``retrieve_job``/``get_job``) where
there is one; without one, unfinished jobs are cancelled when jobman stops and their circuits
run again on resume. A job that fails as a whole is split until the circuit at fault fails
alone; counts are the backend's own, and a result that does not say which clbits its bits
are (fewer bits than the circuit has clbits) fails that circuit with the reason.

This module is the whole backend: this one file, its entry point in ``pyproject.toml`` and
``tests/test_backends_provider.py``. It imports qiskit and the provider only when a backend
is built.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Callable, Sequence

from jobman.backends.base import Backend, BackendLimits, ChunkJob, CircuitOutcome, JOB_NOT_FOUND, RunOptions
from jobman.backends.plugins import BackendPlugin, Catalogue, CatalogueQuery, refuse_executor
from jobman.backends.qiskit_status import map_status
from jobman.exceptions import BackendError, UsageError
from jobman.status import JobStatus

if TYPE_CHECKING:  # pragma: no cover
    from qiskit import QuantumCircuit

    from jobman.backends.transpile import Transpiler

__all__ = ["PLUGIN", "PREFIX", "ProviderBackend", "ProviderPlugin", "load_backend", "parse_name"]

PREFIX = "provider:"
#: ``--backend-option`` keys jobman takes itself (the others go to the callable), with defaults.
OWN_OPTIONS: dict[str, Any] = {"optimization_level": 1, "skip_transpile": False, "max_circuits": None}
#: Job ``j`` starting at circuit ``s`` is seeded ``seed + SEED_STRIDE * s`` where the backend
#: takes ``seed_simulator`` (as jobman seeds Aer).
SEED_STRIDE = 2113
#: Words in an error that say a retry may help (a provider's own exception classes are unknown).
TRANSIENT_WORDS = ("timed out", "timeout", "temporar", "unavailable", "throttl", "rate exceeded",
                   "too many requests", "connection", "429", "502", "503", "504")
#: Words that say nothing will help: refused access (no circuit is at fault, nothing to split).
DENIED_WORDS = ("unauthori", "forbidden", "access denied", "accessdenied", "credential", "401", "403")
#: Known offline backends listed by ``jobman backends`` when their module is installed.
KNOWN = (("qiskit", "provider:qiskit.providers.basic_provider:BasicSimulator",
          "Qiskit's BasicSimulator (offline, noiseless)"),
         ("qiskit_braket_provider", "provider:qiskit_braket_provider:BraketLocalBackend",
          "Amazon Braket's local simulator (offline)"))


def parse_name(name: str) -> tuple[str, str]:
    """``provider:<module>:<callable>`` as ``(module, callable)``; UsageError otherwise."""
    parts = name[len(PREFIX):].split(":") if name.startswith(PREFIX) else []
    if len(parts) != 2 or not all(part and all(p.isidentifier() for p in part.split(".")) for part in parts):
        raise UsageError(f"--backend {name!r}: a provider backend is named provider:<module>:<callable>, "
                         "e.g. provider:qiskit_braket_provider:BraketLocalBackend")
    return parts[0], parts[1]


def load_backend(module: str, attribute: str, arguments: dict[str, Any]) -> Any:
    """``module.attribute(**arguments)``, checked to be a ``BackendV2``."""
    import importlib

    from qiskit.providers import BackendV2

    where = f"{module}:{attribute}"
    try:
        target: Any = importlib.import_module(module)
    except ImportError as error:
        raise UsageError(f"cannot import {module!r} for provider:{where} ({error}); is its provider "
                         "installed?") from None
    for part in attribute.split("."):
        target = getattr(target, part, None)
    if not callable(target):
        raise UsageError(f"provider:{where}: {module} has no callable {attribute!r}")
    try:
        backend = target(**arguments)
    except TypeError as error:
        raise UsageError(f"provider:{where} refuses the backend options {sorted(arguments)}: {error}") from None
    except Exception as error:
        raise BackendError(f"provider:{where} gave no backend: {_text(error)}", transient=_transient(error)) from None
    if not isinstance(backend, BackendV2):
        raise UsageError(f"provider:{where} returned a {type(backend).__name__}, not a qiskit.providers.BackendV2")
    return backend


class ProviderBackend(Backend):
    """Runs chunks as jobs of a Qiskit ``BackendV2`` (``backend.run(circuits, shots=...)``).

    ``name`` is ``provider:<module>:<callable>``; ``arguments`` go to the callable. ``backend``
    gives the ``BackendV2`` object itself instead (it is not recorded: such a set cannot be
    resumed by name unless the callable builds the same one). ``max_circuits`` lowers the
    backend's own limit; ``optimization_level`` and ``skip_transpile`` say how to transpile.
    """

    default_max_in_flight = 2

    def __init__(self, name: str, *, optimization_level: int = 1, skip_transpile: bool = False,
                 max_circuits: int | None = None, backend: Any = None, transpile_workers: int | None = None,
                 **arguments: Any) -> None:
        from jobman.backends.aer_options import check_recordable

        module, attribute = parse_name(name)
        if optimization_level not in (0, 1, 2, 3) or isinstance(optimization_level, bool):
            raise UsageError(f"backend option optimization_level must be 0-3, not {optimization_level!r}")
        if max_circuits is not None and (not isinstance(max_circuits, int) or max_circuits < 1):
            raise UsageError(f"backend option max_circuits must be a positive integer, not {max_circuits!r}")
        self.name = name
        self._arguments = check_recordable(arguments, "backend option")
        self._own: dict[str, Any] = {"optimization_level": optimization_level, "skip_transpile": bool(skip_transpile),
                     "max_circuits": max_circuits}
        self.device = backend if backend is not None else load_backend(module, attribute, self._arguments)
        self._retrieve = _retriever(self.device)
        self.reattachable = self._retrieve is not None
        self.poll_interval = 0.5
        self._transpile_workers = transpile_workers
        self._transpiler: Transpiler | None = None
        self._jobs: dict[str, Any] = {}
        self._layouts: dict[str, list[Layout]] = {}
        self._lock = threading.Lock()

    # what the set records -------------------------------------------------------------
    def options(self) -> dict[str, Any]:
        own = {key: value for key, value in self._own.items() if value != OWN_OPTIONS[key]}
        return dict(self._arguments, **own)

    def describe(self) -> dict[str, Any]:
        return dict(super().describe(), device=str(getattr(self.device, "name", "") or ""),
                    reattachable=self.reattachable)

    def limits(self) -> BackendLimits:
        own, theirs = self._own["max_circuits"], _positive(getattr(self.device, "max_circuits", None))
        return BackendLimits(max_circuits=min((n for n in (own, theirs) if n), default=None),
                             num_qubits=_positive(getattr(self.device, "num_qubits", None)))

    # circuits -------------------------------------------------------------------------
    @property
    def keep_prepared(self) -> bool:  # type: ignore[override]
        return not self._own["skip_transpile"]

    def validate(self, circuit: "QuantumCircuit") -> str | None:
        reason = super().validate(circuit)
        if reason or not self._own["skip_transpile"]:
            return reason
        from jobman.backends.transpile import isa_problem

        problem = isa_problem(circuit, self.device.target)
        return f"circuit is not ISA for {self.name} ({problem}); run without skip_transpile" if problem else None

    def prepare(self, circuits: list["QuantumCircuit"], options: RunOptions) -> list["QuantumCircuit"]:
        """Transpile to the backend's target, seeded (``--seed``, else 0); ISA circuits run as given."""
        if self._own["skip_transpile"]:
            return circuits
        from jobman.backends.transpile import Transpiler, isa_problem

        target = self.device.target
        todo = [i for i, circuit in enumerate(circuits) if isa_problem(circuit, target)]
        if not todo:
            return circuits
        if self._transpiler is None:
            self._transpiler = Transpiler(target, self._own["optimization_level"], self._transpile_workers)
        prepared = list(circuits)
        seed = options.seed if options.seed is not None else 0
        for i, circuit in zip(todo, self._transpiler.run([circuits[i] for i in todo], seed)):
            prepared[i] = circuit
        return prepared

    # jobs -----------------------------------------------------------------------------
    def submit(self, job: ChunkJob, circuits: Sequence["QuantumCircuit"], options: RunOptions) -> str:
        run_options: dict[str, Any] = {"shots": options.shots}
        if options.memory and _takes(self.device, "memory"):
            run_options["memory"] = True
        if options.seed is not None and _takes(self.device, "seed_simulator"):
            run_options["seed_simulator"] = (options.seed + SEED_STRIDE * job.start) % 2**31
        try:
            qiskit_job = self.device.run(list(circuits), **run_options)
            job_id = str(qiskit_job.job_id())
        except Exception as error:
            raise _translate(self.name, "submit", error) from None
        with self._lock:
            self._jobs[job_id] = qiskit_job
            self._layouts[job_id] = [Layout.of(circuit) for circuit in circuits]
        return job_id

    def status(self, job_id: str) -> JobStatus:
        qiskit_job = self._job(job_id)
        try:
            return map_status(qiskit_job.status())
        except Exception as error:
            raise _translate(self.name, "status", error) from None

    def result(self, job_id: str) -> list[CircuitOutcome]:
        qiskit_job = self._job(job_id)
        try:
            experiments = list(qiskit_job.result().results)
        except Exception as error:
            raise _translate(self.name, "job", error) from None
        with self._lock:
            self._jobs.pop(job_id, None)
            layouts = self._layouts.pop(job_id, None)
        return [outcome(experiment, layouts[i] if layouts and i < len(layouts) else None)
                for i, experiment in enumerate(experiments)]

    def job_error(self, job_id: str) -> BaseException | None:
        """Why a job ended in ERROR: always a failure the engine splits (a circuit may be at fault)."""
        qiskit_job = self._jobs.get(job_id)
        if qiskit_job is None:
            return None
        try:
            qiskit_job.result()
        except Exception as error:
            return _translate(self.name, "job", error)
        return BackendError(f"job {job_id} on {self.name} ended in ERROR", code="circuit")

    def cancel(self, job_id: str) -> None:
        try:
            self._job(job_id).cancel()
        except Exception as error:  # already final, or gone: nothing left to cancel
            if _transient(error):
                raise _translate(self.name, "cancel", error) from None

    def _job(self, job_id: str) -> Any:
        qiskit_job = self._jobs.get(job_id)
        if qiskit_job is not None:
            return qiskit_job
        if self._retrieve is None:
            raise BackendError(f"unknown job {job_id} ({self.name} cannot look jobs up again: they do not "
                               "survive the process)", code=JOB_NOT_FOUND)
        try:
            qiskit_job = self._retrieve(job_id)
        except Exception as error:
            if _transient(error):
                raise _translate(self.name, "find job", error) from None
            raise BackendError(f"{self.name} does not find job {job_id}: {_text(error)}", code=JOB_NOT_FOUND) from None
        with self._lock:
            self._jobs[job_id] = qiskit_job
        return qiskit_job

    # errors -----------------------------------------------------------------------------
    def wants_split(self, error: BaseException) -> bool:
        """Split a job that failed as a whole: halves until the circuit at fault fails alone."""
        return isinstance(error, BackendError) and error.code == "circuit"

    def close(self) -> None:
        if self._transpiler is not None:
            self._transpiler.close()


class Layout:
    """What a result needs of the circuit it came from: its clbits, registers and metadata."""

    __slots__ = ("num_clbits", "creg_sizes", "metadata")

    def __init__(self, num_clbits: int, creg_sizes: list[int] | None, metadata: dict[str, Any] | None) -> None:
        self.num_clbits, self.creg_sizes, self.metadata = num_clbits, creg_sizes, metadata

    @classmethod
    def of(cls, circuit: "QuantumCircuit") -> "Layout":
        metadata = circuit.metadata if isinstance(circuit.metadata, dict) else {}
        return cls(circuit.num_clbits, [register.size for register in circuit.cregs], dict(metadata))

    @classmethod
    def from_header(cls, experiment: Any) -> "Layout | None":
        """The layout a result's header gives (Aer and BasicSimulator write one), if any."""
        header = _quietly_attr(experiment, "header")
        if header is not None and not isinstance(header, dict):
            header = vars(header) if hasattr(header, "__dict__") else None
        if not header or header.get("memory_slots") is None:
            return None
        sizes = [int(size) for _, size in header.get("creg_sizes") or []] or None
        metadata = header.get("metadata")
        return cls(int(header["memory_slots"]), sizes, dict(metadata) if isinstance(metadata, dict) else None)


def outcome(experiment: Any, layout: Layout | None) -> CircuitOutcome:
    """One experiment of a ``qiskit.result.Result`` as a :class:`CircuitOutcome`: counts exactly
    as the backend returned them, keyed by hex over all the circuit's clbits."""
    layout = layout or Layout.from_header(experiment)
    width = layout.num_clbits if layout is not None else None
    made = CircuitOutcome(JobStatus.ERROR, width or 0, creg_sizes=layout.creg_sizes if layout else None,
                          metadata=layout.metadata if layout else None)
    if not getattr(experiment, "success", False):
        status = " ".join(str(getattr(experiment, "status", "") or "no reason given").split())
        made.error = f"the backend failed this circuit: {status}"
        return made
    data = getattr(experiment, "data", None)
    raw_counts, raw_memory = getattr(data, "counts", None), getattr(data, "memory", None)
    try:
        if raw_counts is None:
            raise ValueError("the result holds no counts")
        width = width if width is not None else _bit_width(raw_counts)
        counts: dict[str, int] = {}
        for key, count in dict(raw_counts).items():
            hex_key = _hex(key, width)
            counts[hex_key] = counts.get(hex_key, 0) + int(count)
        memory = [_hex(shot, width) for shot in raw_memory] if raw_memory is not None else None
    except ValueError as error:
        made.error = f"cannot read the backend's result: {error}"
        return made
    made.status, made.num_clbits, made.counts, made.memory = JobStatus.DONE, width or 0, counts, memory
    return made


def _hex(key: Any, width: int | None) -> str:
    """A Qiskit outcome (``"0x5"``, or a bitstring such as ``"10 1"``) as hex over ``width`` clbits;
    ValueError when it cannot be one of them (a bitstring of another length says the backend
    reports other bits than the circuit's clbits, e.g. only the measured ones)."""
    text = str(key).replace(" ", "")
    if text.startswith("0x"):
        value = int(text, 16)
    elif text.startswith("0b") or (text and set(text) <= {"0", "1"}):
        bits = text[2:] if text.startswith("0b") else text
        if width is not None and not text.startswith("0b") and len(bits) != width:
            raise ValueError(f"outcome {key!r} has {len(bits)} bits, the circuit {width} clbits (the backend "
                             "does not say which clbits they are: measure every clbit)")
        value = int(bits or "0", 2)
    else:
        raise ValueError(f"outcome {key!r} is neither hex nor a bitstring")
    if width is None:
        raise ValueError("the backend's result does not say how many clbits the circuit has")
    if value >> width:
        raise ValueError(f"outcome {key!r} does not fit the circuit's {width} clbits")
    return hex(value)


def _bit_width(counts: Any) -> int | None:
    """The width that bitstring keys share (a result without a header, of a re-attached job)."""
    widths = {len(str(key).replace(" ", "")) for key in dict(counts) if not str(key).startswith("0x")}
    return widths.pop() if len(widths) == 1 else None


def _takes(device: Any, option: str) -> bool:
    """Whether ``device.run`` declares the run option ``option`` (in ``BackendV2.options``)."""
    return hasattr(_quietly_attr(device, "options"), option)


def _retriever(device: Any) -> Callable[[str], Any] | None:
    """How to look a job up by id: the backend's ``retrieve_job``, else its provider's
    ``retrieve_job`` or ``get_job``; None when neither has one."""
    for owner, method in ((device, "retrieve_job"), (_quietly_attr(device, "provider"), "retrieve_job"),
                          (_quietly_attr(device, "provider"), "get_job")):
        found = getattr(owner, method, None) if owner is not None else None
        if callable(found):
            return found  # type: ignore[no-any-return]
    return None


def _quietly_attr(owner: Any, name: str) -> Any:
    try:
        return getattr(owner, name, None)
    except Exception:  # a property that raises (e.g. a provider that is not set)
        return None


def _positive(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _chain(error: BaseException) -> list[BaseException]:
    found: list[BaseException] = []
    item: BaseException | None = error
    while item is not None and len(found) < 10:
        found.append(item)
        item = item.__cause__ or item.__context__
    return found


def _transient(error: BaseException) -> bool:
    """Whether retrying may help: a network error (``OSError``: connections, timeouts; requests'
    errors are ones) anywhere in the chain, or a message that says so."""
    chain = _chain(error)
    if any(isinstance(item, (OSError, TimeoutError)) for item in chain):
        return True
    return any(word in _text(item).lower() for item in chain for word in TRANSIENT_WORDS)


def _translate(name: str, action: str, error: BaseException) -> BackendError:
    """A provider's error as jobman's: transient (retried), refused access (permanent), or
    anything else, which a circuit of the job may have caused (the job is split)."""
    if isinstance(error, BackendError):
        return error
    text = f"{action} failed on {name}: {_text(error)}"
    if _transient(error):
        return BackendError(text, transient=True)
    denied = isinstance(error, PermissionError) or any(word in _text(error).lower() for word in DENIED_WORDS)
    return BackendError(text, code="permanent" if denied else "circuit")


def _text(error: BaseException) -> str:
    message = getattr(error, "message", None)
    text = message if isinstance(message, str) else str(error)
    return f"{type(error).__name__}: {' '.join(text.split())}" if text.strip() else type(error).__name__


class ProviderPlugin(BackendPlugin):
    """``provider:<module>:<callable>``: options from ``--backend-option`` (``optimization_level``,
    ``skip_transpile``, ``max_circuits`` for jobman; the others for the callable)."""

    usage = "provider:<module>:<callable> (any installed Qiskit BackendV2)"
    kind = "provider:<module>:<callable> backends"
    listed = False

    def serves(self, name: str) -> bool:
        return name.startswith(PREFIX)

    def build(self, name: str, executor: Any = None, **options: Any) -> Backend:
        if executor not in (None, "local"):
            refuse_executor(name, executor)
        return ProviderBackend(name, **options)

    def catalogue(self, query: CatalogueQuery) -> Catalogue:
        """The known offline backends whose provider is installed (found without importing it)."""
        from importlib.util import find_spec

        return Catalogue([{"name": name, "source": "qiskit", "num_qubits": None, "pending_jobs": None,
                           "operational": True, "status": what, "max_executions": None,
                           "max_payload_bytes": None} for module, name, what in KNOWN if find_spec(module)])


PLUGIN = ProviderPlugin()

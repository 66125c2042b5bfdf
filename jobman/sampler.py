"""jobman as a Qiskit primitive: :class:`Sampler` implements ``qiskit.primitives.BaseSamplerV2``.

Code written for V2 samplers gets jobman underneath by changing one line::

    sampler = jobman.Sampler(backend="aer", name="vqe-step", seed=7)
    job = sampler.run([(ansatz, values)], shots=1000)   # returns at once
    job.job_id()                                        # the job set's id (`jobman status ID`)
    job.result()[0].data.meas.get_counts(3)             # a PrimitiveResult, as SamplerV2 gives

``run`` makes a job set (``JobManager.run(pubs, wait=False)``) that a background thread runs:
every chunk is persisted, retried and resumable as in any set. :class:`SamplerJob` is its handle
as a ``BasePrimitiveJob``.

**Running again.** With a ``name``, each ``run`` first looks for a set of that name whose inputs
have the same digest (:mod:`jobman.fingerprint`: the circuits, the parameter values, the shots,
the seed, the backend and its options, ``memory``): a DONE set is returned as it is, an
unfinished one (its process died) is resumed, a cancelled one has its cancelled circuits
retried, one that a live process runs is followed. Nothing that ran is run again. Other inputs
under the same name start a new set of that name (a loop that calls ``run`` many times, as an
optimizer does, gets one set per distinct call). Without a name, every ``run`` starts a new set.
Without a ``seed`` the set draws one and records it, so a script run again still picks its set
up (its digest holds "no seed given") and gets the samples of that set.

**Shots.** A PUB's own shots win over ``run``'s, which win over ``default_shots``, as in any V2
sampler. A set runs one number of shots: PUBs that come to different shots in one ``run`` are
refused (:class:`~jobman.exceptions.UsageError`); run them in separate calls.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable

from qiskit.primitives import BasePrimitiveJob, BaseSamplerV2, PrimitiveResult, SamplerPubResult
from qiskit.primitives.containers.sampler_pub import SamplerPub
from qiskit.providers import JobStatus as QiskitJobStatus

from jobman.exceptions import SetLockedError, UsageError
from jobman.fingerprint import task_digest
from jobman.status import SetState

if TYPE_CHECKING:  # pragma: no cover
    from jobman.job_set import ManagedJobSet
    from jobman.manager import JobManager
    from jobman.store import Store

#: The tag under which a Sampler's set records the digest of its inputs.
DIGEST_TAG = "jobman.sampler.inputs"
#: What affects samples besides the PUBs, among the options ``Sampler`` passes to ``JobManager.run``.
SAMPLE_OPTIONS = ("noise_model", "backend_options", "transpile_options")


class SamplerJob(BasePrimitiveJob[PrimitiveResult[SamplerPubResult], QiskitJobStatus]):
    """A :class:`Sampler` run: one job set. ``job_id()`` is the set's id."""

    def __init__(self, job_set: "ManagedJobSet", picked_up: bool = False) -> None:
        super().__init__(job_set.job_set_id(), picked_up=picked_up)
        self._job_set = job_set

    @property
    def job_set(self) -> "ManagedJobSet":
        """The job set behind this job (``report()``, ``summary()``, ``results()``)."""
        return self._job_set

    @property
    def picked_up(self) -> bool:
        """Whether ``run`` found this set from an earlier run with the same name and inputs."""
        return bool(self.metadata["picked_up"])

    def status(self) -> QiskitJobStatus:
        """The set's state as Qiskit's ``JobStatus``: QUEUED (created, no chunk started),
        RUNNING, DONE (every circuit DONE), ERROR (some circuit failed, the run stopped on an
        error, or the set was left unfinished with nobody running it), CANCELLED."""
        if self._job_set.background_error() is not None:
            return QiskitJobStatus.ERROR
        summary = self._job_set.summary()
        state = summary.status
        if state is SetState.DONE:
            return QiskitJobStatus.ERROR if summary.failed else QiskitJobStatus.DONE
        if state is SetState.INTERRUPTED and not self._job_set.driving():
            return QiskitJobStatus.ERROR
        return _STATES[state]

    def done(self) -> bool:
        """Whether the set finished with every circuit DONE."""
        return self.status() is QiskitJobStatus.DONE

    def running(self) -> bool:
        """Whether the set is RUNNING."""
        return self.status() is QiskitJobStatus.RUNNING

    def cancelled(self) -> bool:
        """Whether the set was CANCELLED."""
        return self.status() is QiskitJobStatus.CANCELLED

    def in_final_state(self) -> bool:
        """Whether the status is DONE, ERROR or CANCELLED."""
        return self.status() in (QiskitJobStatus.DONE, QiskitJobStatus.ERROR, QiskitJobStatus.CANCELLED)

    def cancel(self) -> None:
        """Cancel the set (circuits that finished keep their results; ``run`` again retries it)."""
        self._job_set.cancel()

    def error_message(self) -> str | None:
        """Why the job ended in ERROR (the run's error, or the failed circuits), else None."""
        error = self._job_set.background_error()
        if error is not None:
            return str(error)
        if self.status() is not QiskitJobStatus.ERROR:
            return None
        return self._job_set.report()

    def wait_for_final_state(self, timeout: float | None = None) -> None:
        """Block until the set is final (see :meth:`ManagedJobSet.wait_for_final_state`)."""
        self._job_set.wait_for_final_state(timeout)

    def result(self, timeout: float | None = None) -> PrimitiveResult[SamplerPubResult]:
        """Wait for the set, then its ``PrimitiveResult``: one ``SamplerPubResult`` per PUB, a
        ``BitArray`` per classical register in the PUB's shape. Raises
        :class:`~jobman.exceptions.JobmanError` naming the circuits that did not end DONE."""
        from jobman.qiskit_types import to_primitive_result

        self.wait_for_final_state(timeout)
        return to_primitive_result(self._job_set.set_store)


_STATES = {SetState.PENDING: QiskitJobStatus.QUEUED, SetState.RUNNING: QiskitJobStatus.RUNNING,
           SetState.INTERRUPTED: QiskitJobStatus.QUEUED, SetState.CANCELLED: QiskitJobStatus.CANCELLED}


class Sampler(BaseSamplerV2):
    """A V2 sampler whose every ``run`` is a jobman job set (see the module's notes).

    ``backend`` is a backend name as ``JobManager.run`` takes it (``"aer"``, ``"fake_manila"``,
    ``"ibm_..."``, ``"provider:module:callable"``); ``store`` the store's folder (``$JOBMAN_HOME`` by default) or
    ``manager`` a :class:`~jobman.manager.JobManager`. ``memory`` (default True) keeps each
    shot, so BitArrays hold the shots in the order they were taken, as SamplerV2's do; with
    False only counts are stored and a BitArray holds each outcome as often as it was counted,
    in outcome order. Other keyword options go to ``JobManager.run`` (``max_in_flight``,
    ``max_retries``, ``on_failure``, ``noise_model``, ``backend_options``,
    ``transpile_options``, ``tags``, ``executor``, ...).
    """

    def __init__(self, backend: str = "aer", *, name: str | None = None,
                 store: "Store | str | None" = None, default_shots: int = 1024, shots: int | None = None,
                 seed: int | None = None, chunk_size: int | None = None, memory: bool = True,
                 manager: "JobManager | None" = None, **options: Any) -> None:
        from jobman.manager import JobManager

        if shots is not None and default_shots not in (1024, shots):
            raise UsageError("give shots or default_shots, not both")
        if manager is not None and store is not None:
            raise UsageError("give a store or a manager, not both")
        if not isinstance(backend, str):  # a Backend object is closed when one set's run ends
            raise UsageError(f"backend: give a backend name ('aer', 'fake_manila', 'ibm_...', "
                             f"'provider:module:callable'), not {type(backend).__name__}: a Sampler "
                             "opens the backend afresh for each run")
        self.backend = backend
        self.name = name
        self.default_shots = shots if shots is not None else default_shots
        self.seed = seed
        self.chunk_size = chunk_size
        self.memory = memory
        self.options = dict(options)
        self.manager = manager or JobManager(store)
        self._qiskit_backend: Any = None

    def run(self, pubs: Iterable[Any], *, shots: int | None = None) -> SamplerJob:
        """Run the PUBs as one job set (or pick up the set of an earlier, identical run) and
        return its job at once; bad input raises here."""
        coerced = _coerce(pubs)
        task_shots = _task_shots(coerced, shots, self.default_shots)
        items = [_item(pub) for pub in coerced]
        digest = self._digest(coerced, task_shots)
        if self.name is not None:
            found = self._find(digest)
            if found is not None:
                return SamplerJob(self._pick_up(found), picked_up=True)
        options = dict(self.options, tags={**(self.options.get("tags") or {}), DIGEST_TAG: digest})
        job_set = self.manager.run(items, self.backend, wait=False, shots=task_shots, seed=self.seed,
                                   chunk_size=self.chunk_size, name=self.name or "sampler",
                                   memory=self.memory, **options)
        return SamplerJob(job_set)

    @property
    def qiskit_backend(self) -> Any:
        """The Qiskit backend the sampler's jobs run on, for code that transpiles for it
        (qiskit-experiments reads it as ``sampler._backend``): an ``AerSimulator`` for ``"aer"``,
        the fake device for ``"fake_*"``; else None."""
        if self._qiskit_backend is None:
            self._qiskit_backend = _qiskit_backend(self.backend)
        return self._qiskit_backend

    @property
    def _backend(self) -> Any:  # what qiskit-experiments' BaseExperiment.run reads from a sampler
        return self.qiskit_backend

    def _digest(self, pubs: list[SamplerPub], shots: int) -> str:
        settings = {"shots": shots, "seed": self.seed, "memory": self.memory, "backend": self.backend,
                    **{key: _described(self.options.get(key)) for key in SAMPLE_OPTIONS}}
        return task_digest([pub.circuit for pub in pubs], [_values(pub) for pub in pubs], settings)

    def _find(self, digest: str) -> "ManagedJobSet | None":
        """The newest set of this sampler's name and the same inputs, if any."""
        for job_set in self.manager.job_sets():  # newest first; names compared exactly
            record = job_set.set_store.record
            if record.name == self.name and record.tags.get(DIGEST_TAG) == digest:
                return job_set
        return None

    def _pick_up(self, job_set: "ManagedJobSet") -> "ManagedJobSet":
        """Carry on with an earlier run's set: follow it, return it, resume or retry it."""
        if job_set.is_running():
            return job_set  # a live process (or thread) runs it: follow it
        state = job_set.status()
        try:
            if state is SetState.DONE:
                return job_set
            if state is SetState.CANCELLED:
                return self.manager.retry(job_set.job_set_id(), wait=False)
            return self.manager.resume(job_set.job_set_id(), wait=False)
        except SetLockedError:  # another process took it meanwhile: follow it
            return job_set


def _coerce(pubs: Iterable[Any]) -> list[SamplerPub]:
    """The PUBs as ``SamplerPub`` objects, each checked; a UsageError names a bad one."""
    if isinstance(pubs, (SamplerPub, tuple)) or hasattr(pubs, "num_qubits"):
        raise UsageError("run() takes a list of PUBs (circuits or (circuit, values[, shots]) tuples), "
                         "not a single one")
    coerced = []
    for number, pub in enumerate(pubs):
        try:
            item = SamplerPub.coerce(tuple(pub) if isinstance(pub, list) else pub)
            item.validate()
        except (ValueError, TypeError) as exc:
            raise UsageError(f"PUB {number}: {' '.join(str(exc).split())}") from None
        coerced.append(item)
    if not coerced:
        raise UsageError("no PUBs given")
    return coerced


def _task_shots(pubs: list[SamplerPub], shots: int | None, default: int) -> int:
    """The one number of shots the PUBs come to (a PUB's own, else ``shots``, else ``default``)."""
    wanted = [pub.shots if pub.shots is not None else shots if shots is not None else default for pub in pubs]
    if len(set(wanted)) > 1:
        other = next(i for i, n in enumerate(wanted) if n != wanted[0])
        raise UsageError(f"PUB 0 comes to {wanted[0]} shots and PUB {other} to {wanted[other]}: a jobman "
                         "Sampler runs one number of shots per run(); run PUBs of other shots in another call")
    return wanted[0]


def _item(pub: SamplerPub) -> Any:
    """What ``JobManager.run`` takes for a PUB: its circuit alone, or (circuit, values)."""
    values = _values(pub)
    return pub.circuit if values is None else (pub.circuit, values)


def _values(pub: SamplerPub) -> Any:
    """The PUB's values as one array of shape ``(..., num_parameters)``; None for a circuit
    without parameters run once."""
    if pub.circuit.num_parameters == 0 and pub.parameter_values.shape == ():
        return None
    return pub.parameter_values.as_array(pub.circuit.parameters)


def _described(value: Any) -> Any:
    """An option as JSON-ready data for the digest (a NoiseModel by its contents)."""
    to_dict = getattr(value, "to_dict", None)
    return to_dict() if callable(to_dict) else value


def _qiskit_backend(backend: str) -> Any:
    """The Qiskit backend behind a jobman backend name (see Sampler.qiskit_backend)."""
    if backend == "aer":
        from qiskit_aer import AerSimulator

        return AerSimulator()
    if backend.startswith("fake_"):
        from jobman.backends.ibm_service import fake_backend

        return fake_backend(backend)
    return None

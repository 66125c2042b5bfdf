"""jobman as a Qiskit estimator: :class:`Estimator` implements ``qiskit.primitives.BaseEstimatorV2``.

**Two paths.** On ``aer`` (the default) each ``run`` is an estimator task: a job set whose
points are the PUBs' parameter points, and Aer computes the exact expectation values of each
PUB's observables there (``save_expectation_value`` per Pauli string, ``parameter_binds``), so
the values are those of qiskit-aer's ``EstimatorV2`` on the same PUBs, in the same broadcast
shape: ``stds`` are the precision, and a precision above 0 adds normal noise of that size from
``numpy.random.default_rng(seed)``, as there (``EstimatorV2(options={"run_options":
{"seed_simulator": seed}})`` gives the same numbers). The default precision is then 0.0, as
qiskit-aer's. Each circuit, its values and its observables (as JSON) are stored once; chunks
are persisted, retried and resumable as in any set, and a PUB's point that Aer cannot run
fails alone with Aer's reason.

On fake and IBM devices a ``run`` is the same kind of task, whose jobs go to qiskit-ibm-runtime's
``EstimatorV2`` as PUB slices (each chunk's points of one PUB: the transpiled circuit once, the
observables moved to the device's qubits by its layout, the rows of values, the PUB's
precision): the values are the runtime estimator's, with its own shots, grouping and error
mitigation, and the default precision is the runtime's, 0.015625 (0 is refused there).

On every other backend (and with ``by_measurement=True``) the Estimator measures, on top of
:class:`~jobman.sampler.Sampler` (as qiskit's ``BackendEstimatorV2``):

For each PUB ``(circuit, observables, parameter_values, precision)`` the Pauli terms of its
observables are put in qubit-wise commuting groups; each group is one measured copy of the
circuit (basis rotations, then a ``basis`` register) run as a Sampler PUB with the PUB's values.
All of a ``run``'s groups are one job set, so everything :class:`Sampler` does holds: chunks
persisted, retried, resumable; with a ``name``, a script run again picks its set up.

An expectation value is the sum over groups of the mean of that group's part of the observable
per shot; its standard error (``stds``) is ``sqrt(sum of the groups' variances / shots)``.
Shots come from the precision as in ``BackendEstimatorV2``: ``ceil(1 / precision**2)``, so the
values carry shot noise of about ``precision`` (qiskit-aer's ``EstimatorV2`` computes exact
values instead). One run runs one number of shots: PUBs of other precisions are refused.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Iterable

from qiskit.primitives import BaseEstimatorV2, BasePrimitiveJob, PrimitiveResult, PubResult
from qiskit.primitives.containers.estimator_pub import EstimatorPub
from qiskit.providers import JobStatus as QiskitJobStatus

from jobman.exceptions import UsageError
from jobman.fingerprint import task_digest
from jobman.sampler import DIGEST_TAG, SAMPLE_OPTIONS, Sampler, SamplerJob, _described

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    from qiskit import QuantumCircuit

#: BackendEstimatorV2's default precision (4096 shots).
DEFAULT_PRECISION = 0.015625
#: The register a group's measurements go to.
BASIS_REGISTER = "basis"


class _Plan:
    """One PUB's measurement plan: its groups (qubit -> basis letter) and its observables."""

    def __init__(self, pub: EstimatorPub) -> None:
        from qiskit.quantum_info import PauliList

        self.pub = pub
        self.terms = [pub.observables[index] for index in _indices(pub.observables.shape)]
        labels = sorted({label for term in self.terms for label in term if set(label) != {"I"}})
        groups = PauliList(labels).group_qubit_wise_commuting() if labels else []
        self.bases: list[dict[int, str]] = []
        self.group_of: dict[str, int] = {}
        for number, group in enumerate(groups):
            basis: dict[int, str] = {}
            for label in group.to_labels():
                self.group_of[label] = number
                basis.update(_letters(label))
            self.bases.append(basis)

    def sampler_pubs(self) -> list[tuple["QuantumCircuit", Any]]:
        """One Sampler PUB per group: the circuit measured in the group's basis, the PUB's values."""
        values = self.pub.parameter_values
        return [(_measured(self.pub.circuit, basis), values) for basis in self.bases]

    def result(self, measured: list[Any], shots: int) -> PubResult:
        """The PUB's ``evs`` and ``stds`` from its groups' BitArrays."""
        import numpy as np
        from qiskit.primitives import DataBin

        value_shape = self.pub.parameter_values.shape
        evs = np.zeros((len(self.terms), math.prod(value_shape)))
        variances = np.zeros_like(evs)
        for row, term in enumerate(self.terms):
            for label, coeff in term.items():
                if set(label) == {"I"}:
                    evs[row] += np.real(coeff)
            for number, basis in enumerate(self.bases):
                part = {label: coeff for label, coeff in term.items() if self.group_of.get(label) == number}
                if part:
                    mean, variance = _moments(measured[number], part, sorted(basis))
                    evs[row] += mean.reshape(-1)
                    variances[row] += variance.reshape(-1)
        shape = self.pub.shape
        rows = np.broadcast_to(np.arange(len(self.terms)).reshape(self.pub.observables.shape), shape)
        cols = np.broadcast_to(np.arange(math.prod(value_shape)).reshape(value_shape), shape)
        data = DataBin(evs=evs[rows, cols], stds=np.sqrt(variances[rows, cols] / shots), shape=shape)
        return PubResult(data, metadata={"target_precision": self.pub.precision, "shots": shots,
                                         "circuit_metadata": self.pub.circuit.metadata})


class EstimatorJob(BasePrimitiveJob[PrimitiveResult[PubResult], QiskitJobStatus]):
    """An :class:`Estimator` run: one job set (``job_id()`` its id), read as expectation values."""

    def __init__(self, sampled: SamplerJob, plans: list[_Plan] | None = None, shots: int = 0) -> None:
        super().__init__(sampled.job_id(), picked_up=sampled.picked_up)
        self._sampled, self._plans, self._shots = sampled, plans, shots

    @property
    def sampler_job(self) -> SamplerJob:
        """The job of the set behind this one (its ``job_set``): on Aer the estimator task's own,
        by measurement the Sampler job that measures the groups."""
        return self._sampled

    def status(self) -> QiskitJobStatus:
        """As :meth:`SamplerJob.status`."""
        return self._sampled.status()

    def done(self) -> bool:
        """Whether every group's circuit ended DONE."""
        return self._sampled.done()

    def running(self) -> bool:
        """Whether the set is RUNNING."""
        return self._sampled.running()

    def cancelled(self) -> bool:
        """Whether the set was CANCELLED."""
        return self._sampled.cancelled()

    def in_final_state(self) -> bool:
        """Whether the status is DONE, ERROR or CANCELLED."""
        return self._sampled.in_final_state()

    def cancel(self) -> None:
        """Cancel the set (``run`` again with the same name retries it)."""
        self._sampled.cancel()

    def result(self, timeout: float | None = None) -> PrimitiveResult[PubResult]:
        """Wait for the set, then one ``PubResult`` (``evs``, ``stds`` in the PUB's shape) per PUB."""
        if self._plans is None:  # an estimator task: its set reads back as PubResults
            return self._sampled.result(timeout)
        measured = self._sampled.result(timeout)
        pubs, at = [], 0
        for plan in self._plans:
            groups = [measured[at + k].data[BASIS_REGISTER] for k in range(len(plan.bases))]
            at += len(plan.bases)
            pubs.append(plan.result(groups, self._shots))
        return PrimitiveResult(pubs, metadata={"version": 2, "job_set_id": self.job_id()})


class Estimator(BaseEstimatorV2):
    """A V2 estimator whose every ``run`` is a jobman job set (see the module's notes).

    Options are :class:`~jobman.sampler.Sampler`'s (``backend``, ``name``, ``store`` or
    ``manager``, ``seed``, ``chunk_size``, and ``JobManager.run``'s), with
    ``default_precision`` instead of shots (0.0 on Aer, exact values; 0.015625 elsewhere).
    ``by_measurement`` (default: on backends that compute no expectation values, every one
    but ``aer`` and fake and IBM devices) estimates by measuring.
    """

    def __init__(self, backend: Any = "aer", *, default_precision: float | None = None,
                 by_measurement: bool | None = None, **options: Any) -> None:
        native, exact = _estimates(backend)
        self.by_measurement = not native if by_measurement is None else bool(by_measurement)
        if default_precision is None:
            default_precision = 0.0 if exact and not self.by_measurement else DEFAULT_PRECISION
        self._check(default_precision, "default_precision")
        self.default_precision = default_precision
        self.sampler = Sampler(backend, memory=False, **options)

    def run(self, pubs: Iterable[Any], *, precision: float | None = None) -> EstimatorJob:
        """Run the PUBs as one job set (or pick up an earlier identical run's) and return its job
        at once; bad input raises here."""
        if precision is not None:
            self._check(precision, "precision")
        coerced = _coerce(pubs, precision if precision is not None else self.default_precision)
        if not self.by_measurement:
            return self._run_exact(coerced)
        plans = [_Plan(pub) for pub in coerced]
        shots = _shots(plans)
        sampler_pubs = [item for plan in plans for item in plan.sampler_pubs()]
        if not sampler_pubs:
            raise UsageError("the observables are all identity: nothing to measure")
        return EstimatorJob(self.sampler.run(sampler_pubs, shots=shots), plans, shots)

    def _run_exact(self, pubs: list[EstimatorPub]) -> EstimatorJob:
        """The PUBs as one estimator task on the backend (or an earlier identical run's set)."""
        sampler = self.sampler
        digest = self._digest(pubs)
        if sampler.name is not None:
            found = sampler._find(digest)
            if found is not None:
                return EstimatorJob(SamplerJob(sampler._pick_up(found), picked_up=True))
        options = dict(sampler.options, tags={**(sampler.options.get("tags") or {}), DIGEST_TAG: digest})
        job_set = sampler.manager.run(pubs, sampler.backend, wait=False, shots=sampler.default_shots,
                                      seed=sampler.seed, chunk_size=sampler.chunk_size,
                                      name=sampler.name or "estimator", **options)
        return EstimatorJob(SamplerJob(job_set))

    def _digest(self, pubs: list[EstimatorPub]) -> str:
        from jobman.estimator_input import flat_terms

        sampler = self.sampler
        settings = {"kind": "estimator", "seed": sampler.seed, "backend": sampler.backend,
                    "shots": sampler.default_shots,
                    "observables": [[list(pub.observables.shape), flat_terms(pub.observables)] for pub in pubs],
                    "precision": [pub.precision for pub in pubs],
                    **{key: _described(sampler.options.get(key)) for key in SAMPLE_OPTIONS}}
        return task_digest([pub.circuit for pub in pubs],
                           [pub.parameter_values.as_array(pub.circuit.parameters) for pub in pubs], settings)

    def _check(self, value: Any, what: str) -> None:
        if self.by_measurement:
            _check_precision(value, what)
        else:
            from jobman.estimator_input import check_precision

            check_precision(value, what)


def _estimates(backend: Any) -> tuple[bool, bool]:
    """Whether ``backend`` (a name or a Backend) computes expectation values itself, and
    whether exactly (precision 0); a name is judged without building the backend."""
    if isinstance(backend, str):
        return backend == "aer" or backend.startswith(("fake_", "ibm_")), backend == "aer"
    return bool(getattr(backend, "runs_estimates", False)), bool(getattr(backend, "exact_estimates", False))


def _coerce(pubs: Iterable[Any], precision: float) -> list[EstimatorPub]:
    if isinstance(pubs, (EstimatorPub, tuple)):
        raise UsageError("run() takes a list of PUBs ((circuit, observables[, values[, precision]]) "
                         "tuples), not a single one")
    coerced = []
    for number, pub in enumerate(pubs):
        try:
            item = EstimatorPub.coerce(tuple(pub) if isinstance(pub, list) else pub, precision)
            item.validate()
        except (ValueError, TypeError) as exc:
            raise UsageError(f"PUB {number}: {' '.join(str(exc).split())}") from None
        if any(instruction.operation.name == "measure" for instruction in item.circuit.data):
            raise UsageError(f"PUB {number}: the circuit measures; an estimator's circuits must not "
                             "(the observables say what is measured)")
        coerced.append(item)
    if not coerced:
        raise UsageError("no PUBs given")
    return coerced


def _shots(plans: list[_Plan]) -> int:
    wanted = [math.ceil(1.0 / plan.pub.precision**2) for plan in plans]
    if len(set(wanted)) > 1:
        other = next(i for i, n in enumerate(wanted) if n != wanted[0])
        raise UsageError(f"PUB 0 asks for precision {plans[0].pub.precision} and PUB {other} for "
                         f"{plans[other].pub.precision}: a jobman Estimator runs one precision per run(); "
                         "run PUBs of other precisions in another call")
    return wanted[0]


def _check_precision(value: Any, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < math.inf:
        raise UsageError(f"{what} must be a positive number, not {value!r} (shots = ceil(1 / precision**2))")


def _indices(shape: tuple[int, ...]) -> list[tuple[int, ...]]:
    import numpy as np

    return list(np.ndindex(*shape)) if shape else [()]


def _letters(label: str) -> dict[int, str]:
    """Qubit -> Pauli letter of a label (qubit 0 is the rightmost letter), identities left out."""
    return {qubit: letter for qubit, letter in enumerate(reversed(label)) if letter != "I"}


def _measured(circuit: "QuantumCircuit", basis: dict[int, str]) -> "QuantumCircuit":
    """The circuit with its ``basis`` qubits rotated to Z and measured, in qubit order, into a
    ``basis`` register."""
    from qiskit import ClassicalRegister

    measured = circuit.copy()
    qubits = sorted(basis)
    register = ClassicalRegister(len(qubits), BASIS_REGISTER)
    measured.add_register(register)
    for bit, qubit in enumerate(qubits):
        if basis[qubit] == "Y":
            measured.sdg(qubit)
        if basis[qubit] in "XY":
            measured.h(qubit)
        measured.measure(qubit, register[bit])
    return measured


def _moments(bits: Any, part: dict[str, Any], qubits: list[int]) -> tuple["np.ndarray", "np.ndarray"]:
    """Mean and variance per shot of a group's part of an observable, from its BitArray (bit j
    measured qubit ``qubits[j]``): each term a Z string over the bits."""
    import numpy as np
    from qiskit.quantum_info import SparsePauliOp

    width = len(qubits)
    labels = []
    for label in part:
        support = _letters(label)
        labels.append("".join("Z" if qubits[j] in support else "I" for j in reversed(range(width))))
    diagonal = SparsePauliOp(labels, np.real(np.array(list(part.values()), dtype=complex)))
    mean = np.asarray(bits.expectation_values(diagonal))
    square = np.asarray(bits.expectation_values(diagonal.compose(diagonal).simplify()))
    return mean, np.maximum(np.real(square) - mean**2, 0.0)

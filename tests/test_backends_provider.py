"""``provider:<module>:<callable>``: any Qiskit BackendV2 (jobman/backends/provider.py).

Real backends throughout: qiskit's BasicSimulator and GenericBackendV2, ``Lab`` below (a BackendV2
of this module over BasicSimulator whose jobs can be looked up again, fail as a whole, fail one
experiment, or report only some bits, as real providers do), and Amazon Braket's local simulator
when qiskit-braket-provider is installed (the ``braket`` extra).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from qiskit import QuantumCircuit
from qiskit.providers import BackendV2, JobStatus as QiskitJobStatus, JobV1, Options
from qiskit.providers.basic_provider import BasicSimulator
from qiskit.result import Result
from qiskit.result.models import ExperimentResult, ExperimentResultData

from cli_support import invoke
from conftest import write_qpy
from jobman import JobManager
from jobman.backends import ChunkJob, RunOptions, backend_from_record, get_backend
from jobman.backends.provider import ProviderBackend
from jobman.exceptions import BackendError, UsageError
from jobman.inputs import make_basis_circuits
from jobman.status import JobStatus

BASIC = "provider:qiskit.providers.basic_provider:BasicSimulator"
LAB = "provider:test_backends_provider:Lab"
GENERIC = "provider:qiskit.providers.fake_provider:GenericBackendV2"


def _installed() -> bool:
    from importlib.metadata import entry_points

    return any(point.name == "provider" for point in entry_points(group="jobman.backends"))


pytestmark = pytest.mark.skipif(not _installed(), reason="jobman's installed metadata predates the provider "
                                "entry point: run `pip install -e .` again")
#: Lab's jobs, as a service keeps them: any Lab instance (any process of this test) finds them.
JOBS: dict[str, "LabJob"] = {}


class LabJob(JobV1):
    """A job of :class:`Lab`: final at once, or ERROR when a circuit named ``poison`` is in it."""

    def __init__(self, backend: BackendV2, job_id: str, result: Result | None, statuses: list) -> None:
        super().__init__(backend, job_id)
        self._result, self._statuses = result, statuses
        self.cancelled_it = False

    def submit(self) -> None:  # pragma: no cover - jobs are run by Lab.run
        raise NotImplementedError

    def status(self) -> QiskitJobStatus:
        return self._statuses.pop(0) if len(self._statuses) > 1 else self._statuses[0]

    def result(self) -> Result:
        if self._result is None:
            raise RuntimeError("the job failed: a circuit of it poisoned the device")
        return self._result

    def cancel(self) -> None:
        self.cancelled_it = True


class Lab(BackendV2):
    """BasicSimulator behind a provider's habits: ``limit`` circuits per job (its ``max_circuits``), jobs found again by
    id (``retrieve_job``, unless ``retrievable`` is false), and circuits named ``poison`` (the job
    fails), ``bad`` (its experiment fails) or ``narrow`` (its result has one bit too few, and no
    header, as Braket reports only the measured qubits). ``statuses`` scripts each job's states."""

    def __init__(self, limit: int | None = None, retrievable: bool = True,
                 statuses: list[str] | None = None) -> None:
        super().__init__(name="lab")
        self._simulator = BasicSimulator()
        self._max = limit
        self._statuses = statuses or ["DONE"]
        self.submitted: list[int] = []
        if retrievable:
            self.retrieve_job = self._retrieve

    @property
    def target(self):
        return self._simulator.target

    @property
    def max_circuits(self):
        return self._max

    @classmethod
    def _default_options(cls) -> Options:
        return Options(shots=1024, seed_simulator=None, memory=False)

    def run(self, circuits, **options) -> LabJob:
        circuits = list(circuits)
        if self._max is not None and len(circuits) > self._max:
            raise ValueError(f"{len(circuits)} circuits is over max_circuits {self._max}")
        self.submitted.append(len(circuits))
        job_id = str(uuid.uuid4())
        if any(c.name == "poison" for c in circuits):
            job = LabJob(self, job_id, None, [QiskitJobStatus.ERROR])
        else:
            result = self._simulator.run(circuits, **options).result()
            result.results = [self._shape(c, e) for c, e in zip(circuits, result.results)]
            job = LabJob(self, job_id, result, [QiskitJobStatus[s] for s in self._statuses])
        JOBS[job_id] = job
        return job

    @staticmethod
    def _shape(circuit: QuantumCircuit, experiment: ExperimentResult) -> ExperimentResult:
        if circuit.name == "bad":
            experiment.success, experiment.status = False, "ERROR: the device refused this circuit"
        if circuit.name == "narrow":
            counts = {format(int(k, 16), f"0{circuit.num_clbits - 1}b")[-(circuit.num_clbits - 1):]: n
                      for k, n in experiment.data.counts.items()}
            return ExperimentResult(shots=experiment.shots, success=True, status="DONE",
                                    data=ExperimentResultData(counts=counts))
        return experiment

    def _retrieve(self, job_id: str) -> LabJob:
        if job_id not in JOBS:
            raise ValueError(f"no job {job_id}")
        return JOBS[job_id]


def named(circuit: QuantumCircuit, name: str) -> QuantumCircuit:
    circuit.name = name
    return circuit


def basis(n: int, width: int = 3) -> list[QuantumCircuit]:
    return make_basis_circuits(n, width)


def test_counts_are_exactly_the_backends_own(store_dir):
    """The same circuits run on BasicSimulator directly, job by job with the seeds jobman gives."""
    from qiskit.circuit.random import random_circuit

    circuits = [random_circuit(3, 4, measure=True, seed=i) for i in range(7)]
    job_set = JobManager(store_dir).run(circuits, BASIC, shots=200, seed=11, chunk_size=3)
    assert job_set.summary().circuits == {"DONE": 7}
    result = job_set.result()
    for start in (0, 3, 6):
        chunk = circuits[start:start + 3]
        direct = BasicSimulator().run(chunk, shots=200, seed_simulator=11 + 2113 * start).result()
        for i in range(len(chunk)):
            assert result.get_counts(start + i) == direct.get_counts(i)
    assert job_set.set_store.record.backend["name"] == BASIC


def test_jobs_hold_at_most_max_circuits_and_statuses_go_through_the_qiskit_table(store_dir):
    backend = ProviderBackend(LAB, max_circuits=3, statuses=["INITIALIZING", "VALIDATING", "QUEUED",
                                                             "RUNNING", "DONE"])
    assert backend.limits().max_circuits == 3 and backend.options() == {"max_circuits": 3, "statuses": [
        "INITIALIZING", "VALIDATING", "QUEUED", "RUNNING", "DONE"]}
    job_id = backend.submit(ChunkJob("s", 0, 0, 2, 1), basis(2), RunOptions(shots=5))
    seen = [backend.status(job_id) for _ in range(5)]
    assert seen == [JobStatus.QUEUED] * 3 + [JobStatus.RUNNING, JobStatus.DONE]
    job_set = JobManager(store_dir).run(basis(8), LAB, shots=10, backend_options={"max_circuits": 3})
    assert job_set.summary().circuits == {"DONE": 8}
    assert job_set.set_store.record.chunk_size == 3
    assert [job_set.result().get_counts(i) for i in (0, 5)] == [{"000": 10}, {"101": 10}]
    assert ProviderBackend(LAB, limit=5).limits().max_circuits == 5  # the backend's own limit
    assert ProviderBackend(LAB, limit=5, max_circuits=7).limits().max_circuits == 5  # the lower one
    job_set = JobManager(store_dir).run(basis(7), LAB, shots=4, backend_options={"limit": 2})
    assert job_set.summary().circuits == {"DONE": 7} and job_set.set_store.record.chunk_size == 2


def test_circuits_are_transpiled_to_the_target_unless_already_isa(store_dir):
    """GenericBackendV2 (a line of cx, with id/rz/sx/x): the callable's arguments come from the
    backend options and are recorded, so resume builds the same device."""
    ghz = QuantumCircuit(3, name="ghz")
    ghz.h(0)
    ghz.cx(0, 1)
    ghz.cx(0, 2)
    ghz.measure_all()
    options = {"num_qubits": 5, "seed": 3, "noise_info": False}
    job_set = JobManager(store_dir).run([ghz, named(basis(2)[1], "one")], GENERIC, shots=100, seed=2,
                                        backend_options=options)
    assert job_set.summary().circuits == {"DONE": 2}
    counts = job_set.result().get_counts(0)
    assert set(counts) <= {"000", "111"} and sum(counts.values()) == 100
    stored = job_set.set_store.load_transpiled(0)
    target = get_backend(GENERIC, **options).device.target
    assert set(stored[0].count_ops()) <= set(target.operation_names) | {"barrier"}
    recorded = job_set.set_store.record.backend
    assert recorded["options"] == options and recorded["device"] == "generic_backend_5q"
    again = backend_from_record(json.loads(json.dumps(recorded)))
    assert again.device.target.num_qubits == 5


def test_a_failed_circuit_fails_alone_with_the_backends_reason(store_dir):
    circuits = basis(8)
    circuits[2] = named(circuits[2], "poison")
    circuits[5] = named(circuits[5], "bad")
    job_set = JobManager(store_dir).run(circuits, LAB, shots=10, chunk_size=8)
    summary = job_set.summary()
    assert summary.circuits == {"DONE": 6, "ERROR": 2}
    result = list(job_set.result())
    assert [result[i].status for i in range(8)] == ["DONE", "DONE", "ERROR", "DONE", "DONE", "ERROR",
                                                     "DONE", "DONE"]
    assert "a circuit of it poisoned the device" in result[2].error
    assert result[5].error == "the backend failed this circuit: ERROR: the device refused this circuit"
    assert result[7].counts == {"111": 10}


def test_a_result_that_does_not_say_which_clbits_its_bits_are_fails_that_circuit(store_dir):
    circuits = [named(c, "narrow") if i == 1 else c for i, c in enumerate(basis(3))]
    job_set = JobManager(store_dir).run(circuits, LAB, shots=10)
    result = list(job_set.result())
    assert [result[i].status for i in range(3)] == ["DONE", "ERROR", "DONE"]
    assert "outcome '01' has 2 bits, the circuit 3 clbits" in result[1].error


def test_jobs_are_found_again_by_id_where_the_provider_can(tmp_path):
    first = ProviderBackend(LAB)
    job_id = first.submit(ChunkJob("s", 0, 0, 2, 1), basis(2), RunOptions(shots=7, memory=True))
    later = ProviderBackend(LAB)  # another process: only the id is known
    assert later.reattachable and later.status(job_id) is JobStatus.DONE
    outcomes = later.result(job_id)
    assert [o.counts for o in outcomes] == [{"0x0": 7}, {"0x1": 7}]
    assert outcomes[1].num_clbits == 3 and outcomes[1].memory == ["0x1"] * 7
    with pytest.raises(BackendError) as missing:
        later.status("no-such-job")
    assert later.is_missing(missing.value)
    lone = ProviderBackend(LAB, retrievable=False)
    assert not lone.reattachable
    with pytest.raises(BackendError) as unknown:
        lone.status(job_id)
    assert lone.is_missing(unknown.value) and "cannot look jobs up again" in str(unknown.value)


def test_a_set_resumes_with_the_recorded_backend(store_dir):
    manager = JobManager(store_dir)
    job_set, held = manager.create(basis(5), LAB, shots=9, chunk_size=2,
                                   backend_options={"max_circuits": 2, "retrievable": False})
    held.close()
    resumed = manager.resume(job_set.job_set_id())
    assert resumed.summary().circuits == {"DONE": 5}
    assert resumed.set_store.record.backend["options"] == {"max_circuits": 2, "retrievable": False}
    assert resumed.result().get_counts(4) == {"100": 9}


def test_the_cli_runs_a_provider_backend_and_refuses_what_it_cannot(store_dir, tmp_path):
    circuits = write_qpy(tmp_path / "basis.qpy", basis(4))
    run = invoke("run", str(circuits), "--backend", GENERIC, "--backend-option", "num_qubits=4",
                 "--backend-option", "noise_info=false", "--backend-option", "optimization_level=2",
                 "--shots", "16", "--seed", "5")
    assert run.exit_code == 0, run.stderr
    record = json.loads((store_dir / run.stdout.strip() / "set.json").read_text())
    assert record["backend"]["options"] == {"num_qubits": 4, "noise_info": False, "optimization_level": 2}
    for args, message in (
            (["--backend", "provider:nope"], "a provider backend is named provider:<module>:<callable>"),
            (["--backend", "provider:no_such_module:x"], "cannot import 'no_such_module'"),
            (["--backend", "provider:json:nothing"], "json has no callable 'nothing'"),
            (["--backend", "provider:json:dumps"], "refuses the backend options"),
            (["--backend", "provider:builtins:dict"], "returned a dict, not a qiskit.providers.BackendV2"),
            (["--backend", BASIC, "-O", "2"], "--optimization-level: only for fake_<device> and ibm_<device>"),
            (["--backend", BASIC, "--backend-option", "optimization_level=7"], "optimization_level must be 0-3"),
            (["--backend", BASIC, "--executor", "ray"], "--executor: only for the aer backend")):
        refused = invoke("run", str(circuits), *args)
        assert refused.exit_code == 2, (args, refused.stderr)
        assert refused.stderr.startswith("Error: ") and message in refused.stderr, refused.stderr
        assert refused.stderr.count("\n") == 1


def test_pyproject_declares_the_provider_entry_point():
    tomllib = pytest.importorskip("tomllib")
    declared = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())
    assert declared["project"]["entry-points"]["jobman.backends"]["provider"] == "jobman.backends.provider:PLUGIN"


def test_unknown_names_say_how_to_name_a_provider_backend():
    with pytest.raises(UsageError, match="; or provider:<module>:<callable> \\(any installed Qiskit BackendV2\\)"):
        get_backend("qiskit_braket_provider:BraketLocalBackend")  # the prefix forgotten


def test_the_module_imports_no_qiskit_until_a_backend_is_built():
    code = ("import sys, jobman.backends.provider as p\n"
            "from jobman.backends.plugins import CatalogueQuery\n"
            "rows = p.PLUGIN.catalogue(CatalogueQuery()).rows\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'qiskit'), rows[0]['name'])\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["[]", BASIC]


@pytest.fixture
def braket():
    if os.environ.get("JOBMAN_REQUIRE_BRAKET"):  # .ci/run's Braket environment: a skip would hide a gap
        import qiskit_braket_provider
        return qiskit_braket_provider
    return pytest.importorskip("qiskit_braket_provider", reason="qiskit-braket-provider is not installed "
                               "(pip install -e '.[braket]')")


BRAKET = "provider:qiskit_braket_provider:BraketLocalBackend"


def test_braket_local_simulator_runs_a_set_and_fails_only_what_it_cannot_run_exactly(braket, store_dir):
    """Amazon Braket's local simulator, offline: exact basis states, a Bell pair, a circuit it
    refuses (a qubit measured twice) and one whose result would be wrong (a clbit it does not
    report), each failing alone with the reason."""
    bell = QuantumCircuit(2, name="bell")
    bell.h(0)
    bell.cx(0, 1)
    bell.measure_all()
    twice = QuantumCircuit(1, 2, name="twice")
    twice.x(0)
    twice.measure(0, 0)
    twice.measure(0, 1)
    partial = QuantumCircuit(2, 2, name="partial")
    partial.x(0)
    partial.measure(0, 1)  # clbit 0 is never measured: Braket reports one bit, not two
    circuits = basis(4) + [bell, twice, partial]
    job_set = JobManager(store_dir).run(circuits, BRAKET, shots=50, chunk_size=7)
    result, listed = job_set.result(), list(job_set.result())
    assert [result.get_counts(i) for i in range(4)] == [{"000": 50}, {"001": 50}, {"010": 50}, {"011": 50}]
    assert set(result.get_counts(4)) <= {"00", "11"} and sum(result.get_counts(4).values()) == 50
    assert listed[5].status == "ERROR" and "Cannot measure previously measured qubit" in listed[5].error
    assert listed[6].status == "ERROR" and "has 1 bits, the circuit 2 clbits" in listed[6].error
    assert job_set.summary().circuits == {"DONE": 5, "ERROR": 2}
    assert job_set.set_store.record.backend["reattachable"] is False  # local tasks die with the process


def test_a_backend_object_at_hand_runs_under_the_name_that_rebuilds_it(store_dir):
    device = Lab(limit=2)
    job_set = JobManager(store_dir).run(basis(3), ProviderBackend(LAB, backend=device), shots=6)
    assert job_set.summary().circuits == {"DONE": 3} and device.submitted == [2, 1]
    assert job_set.set_store.record.backend["name"] == LAB

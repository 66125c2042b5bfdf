"""The Aer backend: per-circuit failures, seeds tied to global indices, translation."""

from qiskit import QuantumCircuit
from qiskit_aer import AerSimulator

from jobman.backends.aer import MIN_PIECE, WIDE_QUBITS, AerBackend, chunk_seed, split_ranges
from jobman.backends.base import ChunkJob, RunOptions
from jobman.exceptions import BackendError
from jobman.inputs import make_basis_circuits
from jobman.status import JobStatus


def run(backend: AerBackend, circuits, options: RunOptions, start: int = 0, runs=()):
    job = ChunkJob("s", 0, start, start + len(circuits), 1, tuple(runs))
    job_id = backend.submit(job, backend.prepare(list(circuits), options), options)
    states = backend.wait([job_id], timeout=60)
    assert states[job_id] is JobStatus.DONE
    return backend.result(job_id)


def random_like(n: int) -> list[QuantumCircuit]:
    circuits = []
    for i in range(n):
        circuit = QuantumCircuit(3, name=f"h{i}")
        circuit.h(range(3))
        circuit.measure_all()
        circuits.append(circuit)
    return circuits


def test_counts_are_exact_and_hex_keyed():
    backend = AerBackend()
    try:
        outcomes = run(backend, make_basis_circuits(6, 3), RunOptions(shots=50))
    finally:
        backend.close()
    assert [o.counts for o in outcomes] == [{hex(i): 50} for i in range(6)]
    assert all(o.num_clbits == 3 and o.status is JobStatus.DONE for o in outcomes)


def test_results_depend_on_seed_and_global_index_only():
    circuits = random_like(12)
    options = RunOptions(shots=200, seed=11, memory=True)
    backend = AerBackend()
    try:
        whole = run(backend, circuits, options)
        first = run(backend, circuits[:5], options, start=0)
        second = run(backend, circuits[5:], options, start=5)
        split = run(backend, circuits[:3] + circuits[7:], options,
                    runs=((0, 3), (7, 12)))
    finally:
        backend.close()
    assert [o.counts for o in first + second] == [o.counts for o in whole]
    assert [o.memory for o in first + second] == [o.memory for o in whole]
    assert [o.counts for o in split] == [o.counts for o in whole[:3] + whole[7:]]
    assert len({str(o.counts) for o in whole}) > 1  # the circuits really are random


def test_chunk_seed_matches_aers_stride():
    assert chunk_seed(5, 0) == 5
    assert chunk_seed(5, 3) == 5 + 3 * 2113


def with_classical_var() -> QuantumCircuit:
    """A circuit that Aer 0.18 fails as a whole run (it cannot convert classical variables)."""
    circuit = QuantumCircuit(1, 1, name="var")
    circuit.add_var("flag", True)
    circuit.h(0)
    circuit.measure(0, 0)
    return circuit


def test_a_circuit_that_fails_aers_whole_run_fails_alone_and_the_others_keep_their_seeds():
    circuits = random_like(3) + [with_classical_var()] + random_like(4)
    options = RunOptions(shots=100, seed=7, memory=True)
    backend = AerBackend(workers=1)
    try:
        outcomes = run(backend, circuits, options, start=20)
    finally:
        backend.close()
    assert [o.status for o in outcomes] == [JobStatus.DONE] * 3 + [JobStatus.ERROR] + [JobStatus.DONE] * 4
    assert outcomes[3].error.startswith("Aer cannot run this circuit: AttributeError")
    simulator = AerSimulator()
    for k in (0, 1, 2, 4, 5, 6, 7):  # what Aer gives each circuit alone with its global seed
        alone = simulator.run(circuits[k], shots=100, seed_simulator=chunk_seed(7, 20 + k)).result()
        assert outcomes[k].counts == alone.results[0].data.counts, k
    assert len({str(o.counts) for o in outcomes if o.counts}) > 1


def test_one_failing_circuit_keeps_the_others(capfd):
    too_big = QuantumCircuit(40, name="too-big")
    too_big.h(range(40))
    too_big.t(range(40))  # not Clifford, so it needs a 40-qubit statevector
    too_big.measure_all()
    circuits = make_basis_circuits(3, 2) + [too_big] + make_basis_circuits(2, 2)
    backend = AerBackend()
    try:
        outcomes = run(backend, circuits, RunOptions(shots=10))
    finally:
        backend.close()
    assert [o.status for o in outcomes] == [JobStatus.DONE] * 3 + [JobStatus.ERROR] + [JobStatus.DONE] * 2
    assert "memory" in outcomes[3].error.lower()
    assert outcomes[4].counts == {"0x0": 10}
    assert "Simulation failed" not in capfd.readouterr().err  # the reason is in the outcome only


def test_instructions_aer_lacks_are_translated():
    circuit = QuantumCircuit(2, name="dcx")
    circuit.x(0)
    circuit.dcx(0, 1)
    circuit.measure_all()
    backend = AerBackend()
    try:
        outcomes = run(backend, [circuit], RunOptions(shots=20))
    finally:
        backend.close()
    assert outcomes[0].counts == {"0x2": 20}  # dcx: x0 -> q1 = q0 ^ q1 ... then q0 = q0 ^ q1


def test_jobs_are_split_across_workers_without_changing_results():
    circuits = random_like(9)
    options = RunOptions(shots=100, seed=3, memory=True)
    one, three = AerBackend(workers=1), AerBackend(workers=3)
    try:
        alone = run(one, circuits, options, runs=((0, 4), (10, 15)))
        split = run(three, circuits, options, runs=((0, 4), (10, 15)))
    finally:
        one.close()
        three.close()
    assert [(o.counts, o.memory) for o in split] == [(o.counts, o.memory) for o in alone]


def test_split_ranges_cuts_in_order_into_nearly_equal_pieces():
    assert split_ranges([(0, 10)], 2) == [[(0, 5)], [(5, 10)]]
    assert split_ranges([(0, 3), (7, 12)], 3) == [[(0, 3)], [(7, 10)], [(10, 12)]]
    assert split_ranges([(0, 3), (7, 12)], 2) == [[(0, 3), (7, 8)], [(8, 12)]]
    assert split_ranges([(5, 6)], 4) == [[(5, 6)]]


def test_wide_circuits_and_small_jobs_run_unsplit_on_one_worker(monkeypatch):
    seen = []
    real = AerBackend._simulate

    def spy(self, job_id, pieces):
        seen.append(len(pieces))
        return real(self, job_id, pieces)

    monkeypatch.setattr(AerBackend, "_simulate", spy)
    wide = make_basis_circuits(3, WIDE_QUBITS)
    backend = AerBackend(workers=2)
    try:
        outcomes = run(backend, wide + make_basis_circuits(3, 2), RunOptions(shots=10))
        run(backend, make_basis_circuits(2 * MIN_PIECE, 2), RunOptions(shots=10))  # split in two
        run(backend, make_basis_circuits(2 * MIN_PIECE - 1, 2), RunOptions(shots=10))  # too small to split
    finally:
        backend.close()
    assert seen == [1, 2, 1]
    assert outcomes[1].counts == {"0x1": 10}


def test_a_dead_worker_fails_its_job_transiently_and_is_replaced():
    backend = AerBackend(workers=2)
    try:
        backend._workers[1].process.kill()
        options = RunOptions(shots=10)
        job = ChunkJob("s", 0, 0, 2 * MIN_PIECE, 1)  # split: a piece on each worker
        job_id = backend.submit(job, make_basis_circuits(2 * MIN_PIECE, 2), options)
        assert backend.wait([job_id], timeout=60)[job_id] is JobStatus.ERROR
        error = backend.job_error(job_id)
        assert isinstance(error, BackendError) and error.transient and "died" in str(error)
        outcomes = run(backend, make_basis_circuits(4, 2), options)
        assert [o.counts for o in outcomes] == [{hex(i): 10} for i in range(4)]
    finally:
        backend.close()


def test_close_stops_the_worker_processes():
    backend = AerBackend(workers=2)
    processes = [worker.process for worker in backend._workers]
    run(backend, make_basis_circuits(2, 2), RunOptions(shots=5))
    backend.close()
    assert all(process.poll() is not None for process in processes)


def test_a_noise_model_runs_as_aer_runs_it_and_is_recorded_as_json():
    import json

    from qiskit_aer import AerSimulator

    from jobman.backends.noise import from_device

    circuits = random_like(4)  # h gates: outside the noise model's basis, Aer runs them as they are
    backend = AerBackend(noise_model="fake_manila", max_parallel_threads=1)
    try:
        options = RunOptions(shots=300, seed=9)
        prepared = backend.prepare(circuits, options)
        outcomes = run(backend, circuits, options)
        recorded = json.loads(json.dumps(backend.options(), allow_nan=False))
    finally:
        backend.close()
    assert prepared is circuits
    reference = AerSimulator(noise_model=from_device("fake_manila")).run(
        circuits, shots=300, seed_simulator=9).result()
    assert [o.counts for o in outcomes] == [reference.data(i)["counts"] for i in range(4)]
    assert recorded["max_parallel_threads"] == 1 and recorded["noise_model"]["source"] == "fake_manila"
    again = AerBackend(**recorded)  # what resume builds
    try:
        assert again.options() == recorded
    finally:
        again.close()


def test_close_ends_even_when_an_interrupted_wait_left_a_jobs_lock_taken(monkeypatch):
    """Ctrl-C or SIGTERM raised between a lock's acquire and its ``with`` (CPython can) leaves
    the lock taken; close() and the process's exit must not wait for it (jobman hung in CI)."""
    import threading

    gate = threading.Event()
    real = AerBackend._simulate
    monkeypatch.setattr(AerBackend, "_simulate",
                        lambda self, *args: (gate.wait(60), real(self, *args))[1])
    monkeypatch.setattr("jobman.backends.aer.CLOSE_WAIT", 0.5)
    backend = AerBackend()
    job_id = backend.submit(ChunkJob("s", 0, 0, 2, 1, ()), make_basis_circuits(2, 2),
                            RunOptions(shots=10))
    backend.wait([job_id], timeout=0.01)
    backend._futures[job_id]._condition.acquire()  # what the interrupted wait left behind
    gate.set()
    backend.close()  # in the thread that left the lock taken, as in jobman's cleanup
    assert all(thread.daemon for thread in backend._threads)  # they cannot hold the process's exit either
    assert all(not w.alive() for w in backend._workers)


def test_jobs_run_side_by_side_on_idle_workers_and_a_cancelled_waiting_job_never_runs(monkeypatch):
    import threading

    started, release = [], threading.Event()
    real = AerBackend._simulate

    def held(self, job_id, pieces):
        started.append(job_id)
        release.wait(60)
        return real(self, job_id, pieces)

    monkeypatch.setattr(AerBackend, "_simulate", held)
    backend = AerBackend(workers=2)
    try:
        options = RunOptions(shots=10)
        ids = [backend.submit(ChunkJob("s", k, 4 * k, 4 * k + 4, 1), make_basis_circuits(4, 2), options)
               for k in range(3)]
        for _ in range(600):  # two small jobs start at once, one per job thread; the third waits
            if len(started) == 2:
                break
            threading.Event().wait(0.01)
        assert sorted(started) == sorted(ids[:2])
        backend.cancel(ids[2])
        release.set()
        statuses = backend.wait(ids[:2], timeout=60)
        while any(status is not JobStatus.DONE for status in statuses.values()):
            statuses = backend.wait(ids[:2], timeout=60)
        assert backend.status(ids[2]) is JobStatus.CANCELLED
        assert [o.counts for o in backend.result(ids[1])] == [{hex(i): 10} for i in range(4)]
        assert len(started) == 2  # the cancelled one never simulated
    finally:
        backend.close()

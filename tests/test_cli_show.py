"""``jobman show``: the task, plan, timing and failures of one set."""

from __future__ import annotations

import json

from cli_support import ALPHA, BETA, GAMMA, invoke, demo_store  # noqa: F401,F811


def test_show_text_lists_inputs_plan_and_failures(demo_store):
    result = invoke("show", BETA, store=demo_store)
    assert result.exit_code == 0 and result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines[:6] == [
        f"id        {BETA}",
        "name      beta.qpy",
        "status    CANCELLED",
        "backend   aer (num_qubits 30)",
        "options   shots 100, seed 7, memory false",
        "engine    max_in_flight 2, max_retries 3, on_failure continue",
    ]
    assert lines[6] == "input     /data/demo.qpy  qpy  10 circuits  2.0 KiB  sha256 " + "ab" * 32
    assert lines[7] == "plan      10 circuits in 3 chunks of up to 4"
    assert [line.split()[0] for line in lines[8:12]] == ["created", "started", "finished", "elapsed"]
    assert lines[11] == "elapsed   6.0s"
    assert lines[-2:] == ["failures  circuit 5 failed (chunk 1, 1 attempt): boom: bad gate",
                          "          circuit 9 was cancelled (chunk 2, 1 attempt): cancelled by request"]


def test_show_json_has_the_task_and_timing(demo_store):
    details = json.loads(invoke("show", ALPHA, "--json", store=demo_store).stdout)
    assert details["inputs"][0]["sha256"] == "ab" * 32
    assert details["plan"] == {"total": 10, "chunk_size": 4, "num_chunks": 3, "unit": "circuit", "estimator": False}
    assert details["options"]["shots"] == 100 and details["engine"]["max_retries"] == 3
    timing = details["timing"]
    assert timing["started"] - timing["created"] == 1.0 and timing["elapsed"] == 6.0


def test_show_of_an_unfinished_set_has_no_finish(demo_store):
    details = json.loads(invoke("show", GAMMA, "--json", store=demo_store).stdout)
    assert details["timing"]["finished"] is None and details["status"] == "INTERRUPTED"
    assert "finished  -" in invoke("show", GAMMA, store=demo_store).stdout


def test_a_run_without_seed_records_the_seed_it_picked(tmp_path):
    from jobman.manager import JobManager
    from qiskit import QuantumCircuit

    circuit = QuantumCircuit(2, 2)
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.measure([0, 1], [0, 1])
    manager = JobManager(tmp_path)
    first = manager.run([circuit] * 3, shots=50)
    details = json.loads(invoke("show", first.job_set_id(), "--json", store=tmp_path).stdout)
    seed = details["options"]["seed"]
    from jobman.backends.aer import MAX_WORKERS, usable_cores

    workers = min(usable_cores(), MAX_WORKERS)  # a job per worker simulating, one more waiting
    assert isinstance(seed, int) and details["engine"]["max_in_flight"] == 2 * workers
    again = manager.run([circuit] * 3, shots=50, seed=seed)
    assert [c.counts for c in again.results()] == [c.counts for c in first.results()]
    shown = invoke("show", first.job_set_id(), store=tmp_path).stdout
    assert f"seed {seed}," in shown

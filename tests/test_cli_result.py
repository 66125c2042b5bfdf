"""``jobman result``: circuits by index, range, list or name."""

from __future__ import annotations

import json

from cli_support import BETA, GAMMA, invoke, make_set, demo_store  # noqa: F401,F811


def test_result_text_and_exit_3_for_a_failed_circuit(demo_store):
    result = invoke("result", BETA, "-c", "4-5", store=demo_store)
    assert result.exit_code == 3
    assert result.stdout == "circuit 4 (c4): DONE\n  00100 100\ncircuit 5 (c5): ERROR: boom: bad gate\n"


def test_result_json_lines_by_name(demo_store):
    result = invoke("result", BETA, "--circuit", "c7", "--json", store=demo_store)
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"index": 7, "name": "c7", "status": "DONE",
                                         "counts": {"00111": 100}, "error": None, "metadata": None}


def test_result_out_of_range_says_the_range(demo_store):
    result = invoke("result", BETA, "-c", "10", store=demo_store)
    assert result.exit_code == 1
    assert result.stderr == "Error: circuit index 10 is out of range: this job set has circuits 0-9\n"


def test_memory_of_a_set_run_without_memory_is_an_error(demo_store):
    result = invoke("result", BETA, "--circuit", "1", "--memory", store=demo_store)
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr == (f"Error: job set {BETA} was run without --memory: no per-shot outcomes "
                             "were kept (run it again with --memory)\n")


def test_top_open_range_and_ambiguous_names(tmp_path, first_format):
    set_store = make_set(tmp_path, "20260110-000000-jjjjjj", total=6, chunk_size=3)
    names = set_store.paths.names_file(1)
    names.write_text('["c3", "c0", "c5"]')  # circuit 4 is also called c0
    result = invoke("result", "--circuit", "c0", store=tmp_path)
    assert result.exit_code == 1
    assert result.stderr == "Error: circuit name 'c0' is ambiguous: 2 circuits have it (0, 4); give an index\n"
    lines = invoke("result", "--circuit", "4-", "--top", "1", store=tmp_path).stdout.splitlines()
    assert lines == ["circuit 4 (c4): DONE", "  00100 100", "circuit 5 (c5): DONE", "  00101 100"]


def test_a_set_name_two_sets_share_is_ambiguous(tmp_path):
    make_set(tmp_path, "20260111-000000-kkkkkk", name="twin")
    make_set(tmp_path, "20260112-000000-llllll", name="twin")
    result = invoke("status", "twin", store=tmp_path)
    assert result.exit_code == 1
    assert result.stderr == ("Error: job set name 'twin' is ambiguous: 2 sets have it "
                             "(20260112-000000-llllll, 20260111-000000-kkkkkk); give an id\n")


def test_a_circuit_that_has_not_run_is_found_by_name_and_pending(demo_store):
    result = invoke("result", GAMMA, "--circuit", "c5", store=demo_store)  # chunk 1 never ran
    assert (result.exit_code, result.stdout) == (3, "circuit 5 (c5): PENDING\n")
    listed = [json.loads(line) for line in invoke("result", GAMMA, "-c", "3-4", "--json",
                                                  store=demo_store).stdout.splitlines()]
    assert [(row["name"], row["status"]) for row in listed] == [("c3", "DONE"), ("c4", "PENDING")]


def test_a_set_from_before_names_were_recorded_at_creation_still_works(tmp_path, first_format):
    set_store = make_set(tmp_path, "20260105-000000-eeeeee", total=8, unfinished={1})
    set_store.paths.names_file(1).unlink()  # as an earlier jobman left it
    assert invoke("result", "-c", "c2", store=tmp_path).stdout == "circuit 2 (c2): DONE\n  00010 100\n"
    assert invoke("result", "-c", "5", store=tmp_path).stdout == "circuit 5: PENDING\n"
    missing = invoke("result", "-c", "c5", store=tmp_path)
    assert missing.exit_code == 1 and missing.stderr == (
        "Error: no circuit named 'c5' in this job set (this set does not record the names of circuits "
        "that have not run yet; they are known once they run)\n")


def test_a_sweep_s_pub_by_pub_and_what_is_refused(tmp_path):
    import numpy as np
    from qiskit import QuantumCircuit
    from qiskit.circuit import Parameter

    from jobman.manager import JobManager

    theta, circuit = Parameter("t"), QuantumCircuit(1, name="flip")
    circuit.rx(theta, 0)
    circuit.measure_all()
    JobManager(tmp_path).run([(circuit, np.array([[[0.0], [np.pi]]]))], shots=10, seed=1)
    shown = invoke("result", "--pub", "0", "--json", store=tmp_path)
    data = json.loads(shown.stdout)
    assert (shown.exit_code, data["kind"], data["shape"], data["counts"]) == (0, "sampler", [1, 2],
                                                                              [[{"0": 10}, {"1": 10}]])
    text = invoke("result", "--pub", "0", store=tmp_path).stdout
    assert text == "pub 0 (flip): DONE, sampler, shape (1, 2), 2 points\n  [0, 0]: 0:10\n  [0, 1]: 1:10\n"
    for args, message in ((["--pub", "1"], "--pub 1: job set "), ([], "Missing option '--circuit' / '-c' (or"),
                          (["--pub", "0", "-c", "0"], "Give --circuit or --pub, not both.\nTry 'jobman result")):
        refused = invoke("result", *args, store=tmp_path)
        assert refused.exit_code == 2 and refused.stderr.startswith(f"Error: {message}")


def test_pub_of_a_set_of_plain_circuits_is_refused(demo_store):
    refused = invoke("result", BETA, "--pub", "0", store=demo_store)
    assert refused.exit_code == 2 and refused.stderr == f"Error: job set {BETA} holds circuits, not PUBs: use --circuit\n"

"""Usage recorded per attempt as the service reports it, and the totals status/show/jobs/export give."""

from __future__ import annotations

import json

import pytest

from cli_support import invoke
from ibm_support import ibm_account, ibm_backend, ibm_standin, manager, no_account  # noqa: F401
from jobman.estimate import attempt_cost, format_seconds, total_usage
from jobman.inputs import make_basis_circuits
from jobman.records import Attempt

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_ibm_usage_is_recorded_per_attempt_as_the_service_reports_it(store_dir, ibm_account):
    ibm_account.usage_seconds = 1.5
    job_set = manager(store_dir).run(make_basis_circuits(12, 3), backend=ibm_backend(), shots=20,
                                     chunk_size=5, seed=1)
    chunks = job_set._set.chunks()
    for chunk, _job in zip(chunks, ibm_account.jobs):
        [attempt] = chunk.attempts
        usage = attempt.usage
        assert usage["quantum_seconds"] == 1.5 and usage["status"] == "final"
        assert usage["running"].endswith("Z") and usage["finished"] >= usage["running"]
        assert attempt.estimate_seconds > 2.0  # the baseline formula: 2 s + shots x ...
    summary = job_set.summary()
    assert summary.usage["seconds"] == 4.5 and summary.usage["jobs_reported"] == 3
    assert summary.usage["kind"] == "qpu"
    status = invoke("status", job_set.job_set_id(), store=store_dir)
    assert "usage: 4.5 s QPU reported by 3 jobs (estimated " in status.stdout
    assert "usage     4.5 s QPU reported by 3 jobs" in invoke("show", store=store_dir).stdout
    rows = [json.loads(line) for line in invoke("jobs", "--json", store=store_dir).stdout.splitlines()]
    assert [row["usage_seconds"] for row in rows] == [1.5, 1.5, 1.5]
    assert rows[0]["usage"][0]["job_id"] == ibm_account.jobs[0].id
    exported = json.loads(invoke("export", "--format", "json", store=store_dir).stdout)
    assert exported["usage"]["seconds"] == 4.5
    assert [c["usage_seconds"] for c in exported["usage"]["chunks"]] == [1.5, 1.5, 1.5]


def test_usage_still_pending_counts_at_least_the_estimate(store_dir, ibm_account):
    ibm_account.usage_seconds = 0.25
    ibm_account.usage_pending_reads = 100  # the service has not finalised usage yet
    job_set = manager(store_dir).run(make_basis_circuits(4, 3), backend=ibm_backend(), shots=20, seed=1)
    [attempt] = job_set._set.chunks()[0].attempts
    assert attempt.usage["status"] == "pending" and attempt.usage["quantum_seconds"] == 0.25
    assert attempt_cost(attempt) == attempt.estimate_seconds > 0.25


def test_aer_records_simulation_wall_time(store_dir, small_qpy):
    job_set = manager(store_dir).run(small_qpy, shots=10, chunk_size=20, max_in_flight=1)
    usages = [c.attempts[0].usage for c in job_set._set.chunks()]
    assert all(u["source"] == "simulation wall time" and u["seconds"] >= 0 for u in usages)
    assert job_set.summary().usage["kind"] == "simulation"
    assert job_set._set.chunks()[1].attempts[0].estimate_seconds is not None  # from chunk 0's rate


def test_totals_and_formatting():
    attempts = [{"job_id": "a", "usage": {"quantum_seconds": 2.0, "status": "final"}, "estimate_seconds": 3.0},
                {"job_id": "b", "estimate_seconds": 4.0},  # in flight or never reported
                {"job_id": None, "error": "submit failed"}]
    totals = total_usage(Attempt.from_dict(dict(a, number=1, runs=[[0, 1]])) for a in attempts)
    assert totals == {"seconds": 2.0, "jobs_reported": 1, "kind": "qpu", "estimated_seconds": 7.0,
                      "counted_seconds": 6.0}
    assert [format_seconds(s) for s in (0.004, 12.34, 125, 7300, None)] == \
        ["0.004 s", "12.3 s", "2 min 5 s", "2 h 1 min", "-"]

"""``--max-usage``: submitting stops before the budget would pass; resume with more carries on."""

from __future__ import annotations

import json

import pytest

from cli_support import invoke
from conftest import expected_counts
from ibm_support import account_env, ibm_account, ibm_backend, ibm_standin, manager, no_account  # noqa: F401
from jobman.cli.run import parse_duration
from jobman.exceptions import UsageError
from jobman.inputs import make_basis_circuits

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_durations_parse_and_bad_budgets_are_usage_errors(tmp_path, small_qpy):
    assert [parse_duration(t, "--max-usage") for t in ("90s", "10m", "2h", "45")] == [90, 600, 7200, 45]
    for bad in ("0", "-5m", "soon", "inf"):
        with pytest.raises(UsageError, match="--max-usage"):
            parse_duration(bad, "--max-usage")
    result = invoke("run", str(small_qpy), "--max-usage", "soon", store=tmp_path / "s")
    assert result.exit_code == 2 and result.stderr.startswith("Error: --max-usage must be")
    assert not (tmp_path / "s").exists()


def test_aer_budget_bounds_simulation_time_and_resume_carries_on(store_dir, small_qpy):
    stopped = invoke("run", str(small_qpy), "-k", "5", "--shots", "10", "--max-in-flight", "1",
                     "--max-usage", "0.001", store=store_dir)  # the first chunk alone uses more
    assert stopped.exit_code == 4, stopped.stderr
    set_id = stopped.stdout.strip()
    status = invoke("status", set_id, store=store_dir).stdout
    summary = json.loads(invoke("status", set_id, "--json", store=store_dir).stdout)
    assert summary["circuits"] == {"DONE": 5, "PENDING": 35}
    assert "stopped at the usage budget (--max-usage 0.001 s)" in status
    assert f"run `jobman resume {set_id} --max-usage <more>` to carry on" in status
    resumed = invoke("resume", set_id, "--max-usage", "1h", store=store_dir)
    assert resumed.exit_code == 0, resumed.stderr
    final = invoke("status", set_id, "--json", store=store_dir)
    assert '"stopped":null' in final.stdout and '"max_usage":3600' in final.stdout
    result = invoke("result", set_id, "--circuit", "0-39", "--json", store=store_dir).stdout
    assert result.count('"status":"DONE"') == 40


def test_ibm_budget_counts_reported_usage_plus_jobs_in_flight(store_dir, tmp_path, ibm_account):
    ibm_account.usage_seconds = 2.0  # every job reports 2 QPU seconds; each is estimated ~2.03 s
    circuits = make_basis_circuits(12, 3)
    job_set = manager(store_dir).run(circuits, backend=ibm_backend(), shots=20, chunk_size=5, seed=1,
                                     max_usage=5.0)
    # job 0 (est. 2.03) and job 1 (2.03 in flight or 2.0 reported + 2.03) fit; job 2 would pass 5 s
    assert ibm_account.jobs_created == 2
    summary = job_set.summary()
    assert summary.stopped["max_usage"] == 5.0 and summary.stopped["next_job"] > 2.0
    assert summary.circuits == {"DONE": 10, "PENDING": 2}
    resumed = invoke("resume", job_set.job_set_id(), "--max-usage", "30s", store=store_dir,
                     env=account_env(ibm_account))
    assert resumed.exit_code == 0, resumed.stderr
    assert ibm_account.jobs_created == 3
    result = manager(store_dir).job_set(job_set.job_set_id()).results()
    for i in range(12):
        assert result.get_counts(i) == expected_counts(i, 20, 3)
    assert manager(store_dir).job_set(job_set.job_set_id()).summary().usage["seconds"] == 6.0

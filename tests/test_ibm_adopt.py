"""``jobman adopt``: jobs submitted elsewhere (here: the real client, by hand) tracked as a set."""

from __future__ import annotations

import json
import threading

import pytest
from qiskit.circuit import Parameter
from qiskit.transpiler import generate_preset_pass_manager

from cli_support import invoke
from conftest import expected_counts
from ibm_standin.fixtures import make_runtime_service
from ibm_support import account_env, ibm_account, ibm_standin, no_account  # noqa: F401
from jobman.inputs import make_basis_circuits

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def submit_elsewhere(standin, tag, circuits_per_job=(3, 2), sweep=False, executor=False):
    """What a user's own script does: transpile, open a Batch, run tagged Sampler jobs."""
    from qiskit_ibm_runtime import Batch, SamplerV2
    from qiskit_ibm_runtime.executor_sampler import Sampler as ExecutorSampler

    service = make_runtime_service(standin)
    device = service.backend("ibm_fake_manila")
    isa = generate_preset_pass_manager(backend=device, optimization_level=1, seed_transpiler=0).run(
        make_basis_circuits(sum(circuits_per_job), 3))
    batch = Batch(backend=device)
    start = 0
    for count in circuits_per_job:
        sampler = SamplerV2(mode=batch)
        sampler.options.environment.job_tags = [tag]
        sampler.run(isa[start:start + count], shots=25)
        start += count
    if executor:
        sampler = ExecutorSampler(mode=batch)
        sampler.options.environment.job_tags = [tag]
        sampler.run(isa[:1], shots=25)
    if sweep:
        theta = Parameter("t")
        swept = isa[0].copy()
        swept.rz(theta, 0)
        sampler = SamplerV2(mode=batch)
        sampler.options.environment.job_tags = [tag]
        sampler.run([(swept, [[0.1], [0.2]])], shots=25)
    return batch.session_id


def test_adopt_by_tag_tracks_merges_and_exports_jobs_run_elsewhere(store_dir, ibm_account):
    submit_elsewhere(ibm_account, "exp1", sweep=True, executor=True)
    result = invoke("adopt", "--tag", "exp1", store=store_dir, env=account_env(ibm_account))
    assert result.exit_code == 0, result.stderr
    set_id = result.stdout.strip()
    assert result.stderr.count("not adopted") == 2 and "a sweep" in result.stderr  # and the executor job
    assert "executor inputs" in result.stderr
    rows = [json.loads(line) for line in invoke("export", set_id, store=store_dir).stdout.splitlines()]
    assert len(rows) == 5  # 3 + 2 circuits of the SamplerV2 jobs
    expected = [expected_counts(i, 25, 3) for i in range(5)]
    assert [row["counts"] for row in rows] == expected
    jobs = [json.loads(line) for line in invoke("jobs", set_id, "--json", store=store_dir).stdout.splitlines()]
    assert [len(j["job_ids"]) for j in jobs] == [1, 1] and ibm_account.jobs_created == 4  # none resubmitted
    shown = json.loads(invoke("show", set_id, "--json", store=store_dir).stdout)
    assert shown["options"]["adopted"]["tag"] == "exp1" and len(shown["options"]["adopted"]["skipped"]) == 2


def test_adopt_by_session_follows_jobs_still_queued(store_dir, ibm_account):
    ibm_account.hold()
    session_id = submit_elsewhere(ibm_account, "exp2")
    threading.Timer(1.0, ibm_account.release).start()
    result = invoke("adopt", "--session", session_id, store=store_dir, env=account_env(ibm_account))
    assert result.exit_code == 0, result.stderr
    rows = [json.loads(line) for line in invoke("export", store=store_dir).stdout.splitlines()]
    assert [row["counts"] for row in rows] == [expected_counts(i, 25, 3) for i in range(5)]


def test_nothing_to_adopt_is_an_error(store_dir, ibm_account):
    assert invoke("adopt", store=store_dir, env=account_env(ibm_account)).exit_code == 2
    result = invoke("adopt", "--tag", "nobody", store=store_dir, env=account_env(ibm_account))
    assert result.exit_code == 2 and result.stderr.startswith("Error: nothing to adopt (no jobs match)")
    assert not store_dir.exists()

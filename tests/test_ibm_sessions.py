"""Today's service: the tested client range, session ids verified after submission, the Open
plan's missing sessions, and ``--max-payload``; all against the stand-in."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

import jobman.backends.ibm as ibm_module
from cli_support import invoke
from conftest import expected_counts, write_qpy
from ibm_support import account_env, ibm_account, ibm_backend, ibm_standin, manager, no_account  # noqa: F401
from jobman.exceptions import JobmanWarning
from jobman.inputs import make_basis_circuits

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def run_set(store, backend, n=6, chunk_size=3):
    return manager(store).run(make_basis_circuits(n, 3), backend=backend, shots=20, seed=2,
                              chunk_size=chunk_size)


def test_installed_client_is_in_the_declared_tested_range():
    from importlib.metadata import version

    from packaging.requirements import Requirement

    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    project = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    [runtime] = [Requirement(r) for r in project["project"]["dependencies"]
                 if r.startswith("qiskit-ibm-runtime")]
    assert str(runtime.specifier) and version("qiskit-ibm-runtime") in runtime.specifier


def test_a_job_that_does_not_report_its_session_is_cancelled_and_fails_its_chunk(
        store_dir, ibm_account, monkeypatch):
    ibm_account.queue_time = 30  # the stray job would wait in the queue: it must be cancelled
    real = ibm_module.make_sampler

    def drops_the_mode(kind, mode, tags):  # as 0.49's executor sampler did with a Session/Batch
        return real(kind, getattr(mode, "_backend", mode), tags)

    monkeypatch.setattr(ibm_module, "make_sampler", drops_the_mode)
    job_set = run_set(store_dir, ibm_backend(), n=3, chunk_size=3)
    [job] = ibm_account.jobs
    assert job.session_id is None and job.status == "Cancelled"
    [attempt] = job_set._set.chunks()[0].attempts
    assert attempt.job_id == job.id and attempt.status == "ERROR"
    [failure] = job_set.summary().failures
    assert failure["circuits"] == "0-2" and "reports no session (job mode); it was cancelled" in \
        failure["reason"]


def test_open_plan_without_sessions_falls_back_to_batch_with_one_warning(store_dir, ibm_account):
    ibm_account.refused_session_modes = {"dedicated"}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", JobmanWarning)
        job_set = run_set(store_dir, ibm_backend(mode="session"))
    notes = [str(w.message) for w in caught if issubclass(w.category, JobmanWarning)]
    assert len(notes) == 1 and "refused a session" in notes[0] and "batch mode instead" in notes[0]
    [batch] = job_set._set.record.sessions
    assert batch["mode"] == "batch" and {j.session_id for j in ibm_account.jobs} == {batch["id"]}
    result = job_set.results()
    assert all(result.get_counts(i) == expected_counts(i, 20, 3) for i in range(6))


def test_without_batches_either_jobs_run_in_job_mode(tmp_path, store_dir, ibm_account):
    ibm_account.refused_session_modes = {"dedicated", "batch"}
    path = write_qpy(tmp_path / "c.qpy", make_basis_circuits(4, 3))
    result = invoke("run", str(path), "-b", "ibm_fake_manila", "--mode", "batch", "--shots", "20",
                    store=store_dir, env=account_env(ibm_account))
    assert result.exit_code == 0, result.stderr
    assert result.stderr.count("Warning: IBM Quantum refused a batch") == 1
    assert "running in job mode instead" in result.stderr
    assert [j.session_id for j in ibm_account.jobs] == [None]


def test_max_payload_sizes_chunks_and_is_bounded_by_the_documented_limit(tmp_path, ibm_account):
    path = write_qpy(tmp_path / "c.qpy", make_basis_circuits(40, 3))
    env, store = account_env(ibm_account), tmp_path / "s"
    small = invoke("run", str(path), "-b", "ibm_fake_manila", "--max-payload", "10kB", "--dry-run",
                   "--json", store=store, env=env)
    assert small.exit_code == 0, small.stderr
    plan = json.loads(small.stdout)
    assert plan["max_payload_bytes"] == 10_000 and 1 < plan["chunk_size"] < 40
    assert all(job["upload_bytes"] <= 10_000 for job in plan["jobs"])
    too_big = invoke("run", str(path), "-b", "ibm_fake_manila", "--max-payload", "400MB", store=store,
                     env=env)
    assert too_big.exit_code == 2 and "documented input limit of 300 MB" in too_big.stderr
    assert invoke("run", str(path), "--max-payload", "1MB", store=store).exit_code == 2  # aer
    assert invoke("run", str(path), "-b", "ibm_fake_manila", "--max-payload", "lots", store=store,
                  env=env).exit_code == 2
    assert ibm_account.jobs_created == 0 and not store.exists()

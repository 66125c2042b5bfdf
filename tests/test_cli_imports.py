"""Read-only commands never import qiskit, the IBM runtime, Aer, Ray, Dask, tenacity or the engine
(nor, drawing text, matplotlib); the engine and the backends never import Ray or Dask unless a set
runs on them."""

from __future__ import annotations

import json
import subprocess
import sys

from cli_support import ALPHA, BETA, subprocess_env, demo_store  # noqa: F401,F811

READ_ONLY = [
    ["status"], ["status", BETA, "--json", "--chunks"], ["status", ALPHA, "--watch"],
    ["result", "--circuit", "5"], ["result", BETA, "-c", "0-9", "--json"],
    ["list"], ["list", "--json", "--status", "DONE"], ["show"], ["show", BETA, "--json"],
    ["jobs"], ["jobs", BETA, "--json"], ["export", BETA], ["export", ALPHA, "-f", "csv"],
    ["export", ALPHA, "-f", "json", "--memory"], ["wait", ALPHA], ["completions", "bash"],
    ["completions", "zsh"], ["completions", "fish"], ["__complete-sets", "--describe"],
    ["plot", ALPHA, "-c", "1-3"], ["plot", BETA, "--timeline"], ["plot", "--help"],
    ["__complete-backends", "--describe"],
    ["--help"], ["status", "--help"], ["run", "--help"], ["resume", "--help"], ["backends", "--help"],
]
HEAVY = ("qiskit", "qiskit_ibm_runtime", "qiskit_aer", "tenacity", "jobman.engine", "jobman.manager",
         "jobman.backends", "jobman.inputs", "matplotlib", "ray", "dask", "distributed")

PROBE = """
import io, json, sys
from contextlib import redirect_stderr, redirect_stdout
from jobman.cli import run_cli
heavy = tuple(sys.argv[1].split(","))
report = []
for args in json.loads(sys.argv[2]):
    with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
        code = run_cli(args)
    loaded = sorted(m for m in sys.modules if m in heavy or m.startswith(tuple(h + "." for h in heavy)))
    report.append({"args": args, "code": code, "loaded": loaded})
print(json.dumps(report))
"""


def test_read_only_commands_import_nothing_heavy(demo_store):
    done = subprocess.run([sys.executable, "-c", PROBE, ",".join(HEAVY), json.dumps(READ_ONLY)],
                          capture_output=True, text=True, env=subprocess_env(demo_store), timeout=60)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert [row["code"] for row in report if row["code"] not in (0, 3)] == []
    first_heavy = next((row for row in report if row["loaded"]), None)
    assert first_heavy is None, f"`jobman {' '.join(first_heavy['args'])}` imported {first_heavy['loaded'][:5]}"


def test_importtime_of_status_shows_no_qiskit(demo_store):
    """The same, seen from outside: `python -X importtime -m jobman status`."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "jobman", "status"],
                          capture_output=True, text=True, env=subprocess_env(demo_store), timeout=60)
    assert done.returncode == 0
    imported = {line.split("|")[-1].strip() for line in done.stderr.splitlines() if "|" in line}
    assert not {name for name in imported if name.split(".")[0] in ("qiskit", "tenacity", "qiskit_aer")}
    assert "jobman.summary" in imported


def test_the_engine_and_a_local_run_never_import_ray_or_dask(tmp_path):
    """Ray and Dask are imported only by a set that runs on them (jobman.backends.ray_executor)."""
    code = ("import sys\n"
            "import jobman.engine, jobman.manager, jobman.backends.aer_executor\n"
            "from jobman import JobManager\n"
            "from jobman.inputs import make_basis_circuits\n"
            f"JobManager({str(tmp_path)!r}).run(make_basis_circuits(3, 2), shots=5)\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('ray', 'dask', 'distributed')))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"

"""The codebase's own rules, checked with the tests: lint (ruff), types (mypy, strict on the
engine, the store and the log) and the import contract (the engine and the store import no
CLI, terminal or network code)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: Modules that must not import the terminal, the CLI or a network client.
CORE = ("jobman.engine", "jobman.bookkeeping", "jobman.submitter", "jobman.store", "jobman.ledger",
        "jobman.recovery", "jobman.records", "jobman.summary", "jobman.plan", "jobman.retry", "jobman.log", "jobman.histogram", "jobman.timeline")
#: What CORE must not pull in.
OUTSIDE = ("typer", "click", "rich", "qiskit_ibm_runtime", "ray", "requests", "jobman.cli", "matplotlib")
#: Checked by mypy --strict.
STRICT = ("jobman/engine.py", "jobman/bookkeeping.py", "jobman/submitter.py", "jobman/recovery.py",
          "jobman/ledger.py", "jobman/records.py", "jobman/summary.py", "jobman/chunk_digest.py",
          "jobman/store.py", "jobman/set_db.py", "jobman/set_tally.py", "jobman/set_files.py",
          "jobman/catalogue.py", "jobman/fsio.py", "jobman/paths.py", "jobman/log.py")


def _tool(module: str) -> None:
    if subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True).returncode:
        pytest.skip(f"{module} is not installed (pip install -e '.[test]')")


def test_ruff_finds_nothing():
    _tool("ruff")
    done = subprocess.run([sys.executable, "-m", "ruff", "check", "jobman", "tests"], cwd=ROOT,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_strict_on_the_engine_and_the_store():
    _tool("mypy")
    done = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--ignore-missing-imports",
                           "--follow-imports=silent", "--no-incremental", *STRICT], cwd=ROOT,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def _outside_imports(module: str) -> list[str]:
    code = (f"import sys, {module}; "
            f"print(' '.join(sorted(m for m in sys.modules "
            f"if any(m == o or m.startswith(o + '.') for o in {OUTSIDE!r}))))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return done.stdout.split()


@pytest.mark.parametrize("module", CORE)
def test_the_core_imports_no_cli_terminal_or_network_code(module):
    assert _outside_imports(module) == []


def test_the_import_contract_sees_an_import_when_there_is_one():
    assert "typer" in _outside_imports("jobman.cli.app")

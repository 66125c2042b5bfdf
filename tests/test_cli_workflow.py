"""The whole workflow from a shell script, with real processes and the Aer simulator."""

from __future__ import annotations

import csv
import io
import subprocess

from cli_support import subprocess_env
from conftest import BASIS_QUBITS, expected_counts, write_qpy

SCRIPT = """
set -euo pipefail
SET=$(jobman run "$1" --chunk-size 8 --shots 64 --seed 3)
jobman wait "$SET"
jobman export "$SET" --format csv > "$2"
jobman result "$SET" --circuit c5 --json
"""


def _bash(script: str, *args: str, store) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", script, "workflow", *args], capture_output=True, text=True,
                          env=subprocess_env(store), timeout=120)


def test_run_wait_export_without_parsing_text(small_qpy, tmp_path):
    out = tmp_path / "out.csv"
    done = _bash(SCRIPT, str(small_qpy), str(out), store=tmp_path / "store")
    assert done.returncode == 0, done.stderr
    assert done.stdout == '{"index":5,"name":"c5","status":"DONE","counts":{"00101":64},"error":null,"metadata":{}}\n'
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert len(rows) == 40
    assert all({row["outcome"]: int(row["count"])} == expected_counts(int(row["index"]), 64, BASIS_QUBITS)
               for row in rows)
    assert "DONE (DONE 40)" in done.stderr


def test_failed_circuits_give_exit_3_everywhere(tmp_path):
    from qiskit import QuantumCircuit

    good = QuantumCircuit(1, 1, name="good")
    good.measure(0, 0)
    path = write_qpy(tmp_path / "mixed.qpy", [good, QuantumCircuit(1, name="no-measure")])
    script = """
jobman run "$1" -q > id.txt; echo "run $?"
jobman wait "$(cat id.txt)" -q; echo "wait $?"
jobman export "$(cat id.txt)" -q | wc -l; echo "export $?"
"""
    done = subprocess.run(["bash", "-c", script, "x", str(path)], capture_output=True, text=True,
                          env=subprocess_env(tmp_path / "store"), cwd=tmp_path, timeout=120)
    assert done.stdout.split("\n")[:4] == ["run 3", "wait 3", "2", "export 0"]
    assert "Warning: 1 of 2 circuits have no counts" in done.stderr

"""The benchmark's smallest mode runs end to end and prints its table (a smoke test, not a timing)."""

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("psutil")

BENCH = Path(__file__).resolve().parents[1] / "bench" / "run_bench.py"
ROWS = ("1  overhead", "2a memory", "2b memory", "3  status on", "3  result on", "4  throughput")


def test_smoke_mode_measures_every_target_and_prints_the_table(tmp_path):
    done = subprocess.run([sys.executable, str(BENCH), "--smoke", "--scale", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    rows = [line for line in done.stdout.splitlines() if line.startswith(ROWS)]
    assert [row[:12] for row in rows] == ["1  overhead:", "2a memory: p", "2b memory: p",
                                          "3  status on", "3  status on", "3  result on",
                                          "3  result on", "4  throughput"[:12]]
    assert all(row.rstrip().endswith(("PASS", "FAIL")) for row in rows), done.stdout  # none skipped
    assert list(tmp_path.glob("bench-smoke-*.json"))  # the figures are kept
    assert not list(tmp_path.glob("store-*"))  # the job sets are not

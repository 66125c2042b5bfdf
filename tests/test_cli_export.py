"""``jobman export``: the whole merged result as JSON Lines, CSV or JSON, streamed chunk by chunk."""

from __future__ import annotations

import csv
import io
import json

from cli_support import ALPHA, BETA, GAMMA, invoke, make_set, demo_store  # noqa: F401,F811
from jobman.cli import export
from jobman.cli.output import Terminal
from jobman.store import SetStore


def test_jsonl_has_one_line_per_circuit(demo_store):
    result = invoke("export", BETA, store=demo_store)
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [row["index"] for row in rows] == list(range(10))
    assert rows[4] == {"index": 4, "name": "c4", "status": "DONE", "counts": {"00100": 100}, "error": None,
                       "metadata": None}
    assert rows[5] == {"index": 5, "name": "c5", "status": "ERROR", "counts": None,
                       "error": "boom: bad gate", "metadata": None}
    assert result.exit_code == 0
    assert result.stderr == f"Warning: 2 of 10 circuits have no counts (see `jobman status {BETA}`)\n"


def test_csv_has_a_row_per_circuit_and_outcome(demo_store):
    result = invoke("export", BETA, "--format", "csv", store=demo_store)
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0] == ["index", "name", "status", "outcome", "count", "error"]
    assert rows[1] == ["0", "c0", "DONE", "00000", "100", ""]
    assert rows[6] == ["5", "c5", "ERROR", "", "", "boom: bad gate"]
    assert rows[10] == ["9", "c9", "CANCELLED", "", "", "cancelled by request"]
    assert len(rows) == 11


def test_json_is_one_document(demo_store):
    document = json.loads(invoke("export", ALPHA, "-f", "json", store=demo_store).stdout)
    assert (document["id"], document["name"], document["total"]) == (ALPHA, "alpha", 10)
    assert [c["counts"] for c in document["circuits"]][3] == {"00011": 100}


def test_unfinished_circuits_carry_their_chunk_status(demo_store):
    rows = [json.loads(line) for line in invoke("export", GAMMA, store=demo_store).stdout.splitlines()]
    assert [row["status"] for row in rows] == ["DONE"] * 4 + ["PENDING"] * 4


def test_memory_adds_per_shot_outcomes(demo_store):
    result = invoke("export", ALPHA, "--memory", store=demo_store)
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert rows[6]["memory"] == ["00110"] * 3


def test_memory_of_a_set_run_without_it_warns(demo_store):
    result = invoke("export", BETA, "--memory", store=demo_store)
    assert json.loads(result.stdout.splitlines()[0])["memory"] is None
    assert "was run without --memory" in result.stderr


def test_memory_with_csv_is_a_usage_error(demo_store):
    result = invoke("export", ALPHA, "--memory", "-f", "csv", store=demo_store)
    assert result.exit_code == 2
    assert result.stderr == "Error: --memory needs --format jsonl or json; CSV has one row per outcome\n"


def test_unknown_format_is_a_usage_error(demo_store):
    result = invoke("export", "-f", "xml", store=demo_store)
    assert result.exit_code == 2 and "'xml' is not one of" in result.stderr


def test_output_file_is_written_whole(demo_store, tmp_path):
    target = tmp_path / "out.csv"
    result = invoke("export", ALPHA, "-f", "csv", "-o", str(target), store=demo_store)
    assert result.exit_code == 0 and result.stdout == ""
    assert target.read_text().count("\n") == 11
    assert result.stderr == f"wrote 10 circuits to {target}\n"


def test_output_file_is_untouched_when_export_fails(demo_store, tmp_path, monkeypatch):
    target = tmp_path / "out.jsonl"
    target.write_text("old\n")

    def broken(stream, set_store, circuits):
        stream.write("half")
        raise RuntimeError("disk on fire")

    monkeypatch.setitem(export.WRITERS, "jsonl", broken)
    result = invoke("export", ALPHA, "-o", str(target), store=demo_store)
    assert isinstance(result.exception, RuntimeError)
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jsonl"]


def test_output_into_a_missing_folder_is_an_error(demo_store, tmp_path):
    result = invoke("export", ALPHA, "-o", str(tmp_path / "no" / "x.csv"), store=demo_store)
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: cannot write ") and "No such file" in result.stderr


def test_export_streams_one_chunk_at_a_time(tmp_path, monkeypatch):
    """Chunk k's rows are written before chunk k+1's results are read."""
    make_set(tmp_path, "20260110-000000-aaaaaa", total=50, chunk_size=5)
    written_at_read: list[int] = []
    real_read = SetStore.read_results
    out = io.StringIO()

    def spy(self, chunk):
        written_at_read.append(out.getvalue().count("\n"))
        return real_read(self, chunk)

    monkeypatch.setattr(SetStore, "read_results", spy)
    monkeypatch.setattr(Terminal, "out", property(lambda self: out))
    assert invoke("export", store=tmp_path).exit_code == 0
    assert written_at_read == [5 * k for k in range(10)]


def test_output_into_a_fifo_is_streamed_and_the_fifo_stays(demo_store, tmp_path):
    import os
    import stat
    import threading

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text()))
    reader.start()
    result = invoke("export", ALPHA, "-o", str(fifo), store=demo_store)
    reader.join(timeout=30)
    assert result.exit_code == 0, result.stderr
    assert len(received[0].splitlines()) == 10
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_output_into_a_character_device_stays_a_device(demo_store, tmp_path):
    import os
    import stat

    import pytest

    device = tmp_path / "null"
    try:  # a private /dev/null: the real one is never put at risk by a test
        os.mknod(device, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("creating a device needs root")
    result = invoke("export", ALPHA, "-o", str(device), store=demo_store)
    assert result.exit_code == 0, result.stderr
    assert stat.S_ISCHR(os.lstat(device).st_mode)
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_output_onto_a_link_is_refused_and_nothing_changes(demo_store, tmp_path):
    target = tmp_path / "target.jsonl"
    target.write_text("old\n")
    link = tmp_path / "link.jsonl"
    link.symlink_to(target)
    result = invoke("export", ALPHA, "-o", str(link), store=demo_store)
    assert result.exit_code == 1
    assert result.stderr == (f"Error: {link} is a symbolic link; export never replaces a link nor "
                             "writes through one: give the path it points to\n")
    assert link.is_symlink() and target.read_text() == "old\n"


def test_output_replaces_a_regular_file_atomically_keeping_its_mode(demo_store, tmp_path):
    import os
    import stat

    out = tmp_path / "out.jsonl"
    out.write_text("old\n")
    os.chmod(out, 0o640)
    assert invoke("export", ALPHA, "-o", str(out), store=demo_store).exit_code == 0
    assert len(out.read_text().splitlines()) == 10 and stat.S_IMODE(os.stat(out).st_mode) == 0o640
    assert invoke("export", ALPHA, "-o", str(tmp_path), store=demo_store).exit_code == 1


def test_parquet_export_writes_the_csv_table_to_a_file(demo_store, tmp_path):
    pq = __import__("pytest").importorskip("pyarrow.parquet")
    path = tmp_path / "beta.parquet"
    result = invoke("export", BETA, "--format", "parquet", "-o", str(path), store=demo_store)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "" and result.stderr == f"wrote 10 circuits (10 rows) to {path}\n"
    rows = pq.read_table(path).to_pylist()
    assert rows[0] == {"index": 0, "name": "c0", "status": "DONE", "outcome": "00000", "count": 100,
                       "error": None}
    assert rows[5] == {"index": 5, "name": "c5", "status": "ERROR", "outcome": None, "count": None,
                       "error": "boom: bad gate"}
    assert [name for name in tmp_path.iterdir()] == [path]  # no temporary file left


def test_parquet_needs_a_file_and_no_memory(demo_store):
    to_stdout = invoke("export", BETA, "--format", "parquet", store=demo_store)
    assert (to_stdout.exit_code, to_stdout.stderr) == (
        2, "Error: --format parquet needs --output FILE (a Parquet file is not a stream)\n")
    memory = invoke("export", BETA, "--format", "parquet", "--memory", "-o", "x.parquet", store=demo_store)
    assert memory.exit_code == 2 and "--memory needs --format jsonl or json" in memory.stderr

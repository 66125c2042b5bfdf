"""The live progress display: what it counts, when it is drawn, and a real run on a pty."""

from __future__ import annotations

import io
import os
import pty
import select
import subprocess
import sys
import time

from cli_support import make_set, subprocess_env
from jobman.cli.output import Terminal
from jobman.cli.progress import RunProgress, Snapshot, Tally, summary_snapshot, RateMeter, follow
from jobman.records import Attempt, ChunkRecord


def _chunk(index: int, status: str, size: int = 10, failed: int = 0, attempts: int = 1) -> ChunkRecord:
    record = ChunkRecord(index=index, start=index * size, stop=(index + 1) * size, status=status)
    record.failed = [[record.start, record.start + failed, "ERROR", "x"]] if failed else []
    record.attempts = [Attempt(n + 1, []) for n in range(attempts)]
    return record


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_tally_counts_done_failed_and_retries():
    clock = _Clock()
    tally = Tally(total=50, num_chunks=5, chunks=[_chunk(0, "DONE")], clock=clock)
    clock.now += 2
    tally.update(_chunk(1, "DONE", failed=3, attempts=3))
    tally.update(_chunk(2, "RUNNING"))
    snap = tally.snapshot("run x")
    assert (snap.done, snap.failed, snap.retries) == (17, 3, 2)
    assert snap.chunks == {"DONE": 2, "RUNNING": 1, "PENDING": 2}
    assert snap.rate == 3.5  # 7 circuits this session in 2 s (chunk 0 was done before)
    assert round(snap.eta, 3) == round(30 / 3.5, 3)


def test_snapshot_lines():
    snap = Snapshot("run x", total=2000, done=1230, failed=10,
                    chunks={"PENDING": 4, "DONE": 12, "RUNNING": 2}, elapsed=3.0, rate=410.0, retries=1)
    assert snap.lines() == (
        "1,230/2,000 circuits done (62%), 10 failed",
        "chunks DONE 12 · RUNNING 2 · PENDING 4 | 410.0 circuits/s | ETA 1.9s | elapsed 3.0s | retries 1")
    assert Snapshot("x", 10, 0, 0, {}, 0.0, 0.0).eta is None
    assert Snapshot("x", 10, 10, 0, {}, 1.0, 0.0).eta == 0.0


#: A big run as the display shows it: a long label, counts, five chunk states, retries.
BIG = Snapshot("run 20261121-094512-5073fa9", total=1_000_000, done=123_456, failed=1_234,
               chunks={"PENDING": 870, "DONE": 123, "RUNNING": 3, "QUEUED": 2, "RETRYING": 1},
               elapsed=3723.0, rate=1234.5, retries=12)


def _drawn(snapshot: Snapshot, width: int) -> list[str]:
    """The display's lines as a rich Console of ``width`` columns draws them."""
    from rich.console import Console

    from jobman.cli.progress import render

    console = Console(file=io.StringIO(), width=width, color_system=None, force_terminal=False)
    console.print(render(snapshot))
    return console.file.getvalue().rstrip("\n").split("\n")


def test_the_display_fits_80_and_120_columns_and_keeps_eta_with_its_time():
    for width in (80, 120):
        lines = _drawn(BIG, width)
        assert max(len(line.rstrip()) for line in lines) <= width, lines
        assert [line for line in lines if "ETA" in line][0].find("ETA 0:11:49") >= 0
        assert sum("20261121-094512-5073fa9" in line for line in lines) == 1  # the id is never cut
        assert any("123,456/1,000,000 circuits done (12%), 1,234 failed" in line for line in lines)
    wide, narrow = _drawn(BIG, 120), _drawn(BIG, 80)
    assert wide[0].startswith("run 20261121-094512-5073fa9 ━") and len(wide) == 3
    assert narrow == [
        "run 20261121-094512-5073fa9",
        narrow[1][:28] + " 123,456/1,000,000 circuits done (12%), 1,234 failed",
        "chunks DONE 123 · RUNNING 3 · QUEUED 2 · RETRYING 1 · PENDING 870",
        "1,234.5 circuits/s | ETA 0:11:49 | elapsed 1:02:03 | retries 12"]
    assert narrow[1].startswith("━━━")


def test_the_display_never_wraps_even_on_a_very_narrow_terminal():
    for width in (30, 40, 60):
        lines = _drawn(BIG, width)
        assert max(len(line.rstrip()) for line in lines) <= width, lines
        assert any(line.startswith("1,234.5 circuits/s") or "ETA 0:11:49" in line for line in lines)
        assert all(part in " ".join(lines) for part in ("ETA 0:11:49", "elapsed 1:02:03", "PENDING 870"))


def test_pack_moves_whole_parts_and_splits_only_a_part_wider_than_the_line():
    from jobman.cli.progress import pack

    groups = [["chunks DONE 1", "RUNNING 2"], ["9.0 circuits/s"], ["ETA 1.0s"]]
    assert pack(groups, 100) == ["chunks DONE 1 · RUNNING 2 | 9.0 circuits/s | ETA 1.0s"]
    assert pack(groups, 30) == ["chunks DONE 1 · RUNNING 2", "9.0 circuits/s | ETA 1.0s"]
    assert pack(groups, 16) == ["chunks DONE 1", "RUNNING 2", "9.0 circuits/s", "ETA 1.0s"]


def test_summary_snapshot_counts_failures_only_when_final():
    from dataclasses import replace

    from cli_support import summary_of
    from jobman.status import SetState

    summary = summary_of(status="CANCELLED", total=10, circuits={"DONE": 8, "ERROR": 1, "CANCELLED": 1},
                         chunks={"DONE": 3})
    assert summary_snapshot(summary, RateMeter(), "w").failed == 2
    assert summary_snapshot(replace(summary, status=SetState.RUNNING), RateMeter(), "w").failed == 0


class _TTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def _terminal(monkeypatch, tty: bool, **flags) -> tuple[Terminal, io.StringIO]:
    err = _TTY() if tty else io.StringIO()
    monkeypatch.setattr(Terminal, "err", property(lambda self: err))
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    return Terminal(**flags), err


def test_nothing_is_shown_off_a_terminal_or_when_quiet(monkeypatch, tmp_path):
    terminal, err = _terminal(monkeypatch, tty=False)
    assert RunProgress(terminal, "run").on_change is None
    terminal, err = _terminal(monkeypatch, tty=True, quiet=True, verbose=True)
    assert RunProgress(terminal, "run").on_change is None


def test_verbose_off_a_terminal_logs_finished_chunks(monkeypatch):
    terminal, err = _terminal(monkeypatch, tty=False, verbose=True)
    progress = RunProgress(terminal, "run")
    progress.on_change(_chunk(3, "RUNNING"))
    progress.on_change(_chunk(3, "DONE", failed=2))
    assert err.getvalue() == "chunk 3 (circuits 30-39): DONE, 2 failed\n"


def test_live_display_draws_and_goes_away(monkeypatch, tmp_path):
    set_store = make_set(tmp_path, "20260113-000000-aaaaaa", total=8, unfinished={0, 1})
    terminal, err = _terminal(monkeypatch, tty=True)
    with follow(terminal, "run") as progress:
        progress.start(set_store)
        progress.on_change(_chunk(0, "DONE", size=4))
        time.sleep(0.3)
    drawn = err.getvalue()
    assert f"run {set_store.id}" in drawn and "4/8 circuits done (50%)" in drawn
    assert "chunks DONE 1 · PENDING 1" in drawn


def test_real_run_on_a_pty_shows_progress_then_the_report(small_qpy, tmp_path):
    """`jobman run` with stderr on a pseudo-terminal, as a person at a terminal sees it."""
    env = subprocess_env(tmp_path / "store")
    env.pop("NO_COLOR")
    env.update(TERM="xterm-256color", COLUMNS="120")
    leader, follower = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "jobman", "run", str(small_qpy), "-k", "5",
                                "--max-in-flight", "1"], stdout=subprocess.PIPE, stderr=follower,
                               env=env)
    os.close(follower)
    seen = b""
    while True:
        ready, _, _ = select.select([leader], [], [], 60)
        try:
            chunk = os.read(leader, 65536) if ready else b""
        except OSError:  # the child closed the pty
            chunk = b""
        if not chunk:
            break
        seen += chunk
    set_id = process.stdout.read().decode().strip()
    assert process.wait(timeout=60) == 0
    os.close(leader)
    text = seen.decode(errors="replace")
    assert f"run {set_id}" in text and "circuits done" in text and "chunks " in text
    assert f"job set {set_id}: DONE (DONE 40)" in text


def test_watch_elapsed_counts_from_the_sets_start():
    from cli_support import summary_of
    from jobman.cli.progress import set_elapsed

    meter = RateMeter(clock=lambda: 5.0)
    assert set_elapsed(summary_of(started=100.0, finished=None), meter, now=lambda: 160.0) == 60.0
    assert set_elapsed(summary_of(started=100.0, finished=130.0), meter, now=lambda: 999.0) == 30.0
    assert set_elapsed(summary_of(started=None, finished=None), meter) == 0.0

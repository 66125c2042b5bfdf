"""``jobman status``: text, --json, --chunks, and --watch following a set to its end."""

from __future__ import annotations

import json

import pytest

from cli_support import ALPHA, BETA, GAMMA, finish_chunk, invoke, make_set, demo_store  # noqa: F401,F811
from jobman.cli.polling import SetStalled, WaitTimeout, changes, poll_set


def test_status_text_names_failures(demo_store):
    result = invoke("status", BETA, store=demo_store)
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        f"{BETA}  beta.qpy  CANCELLED",
        "backend aer, 10 circuits, 3 chunks of up to 4, 100 shots",
        "circuits: DONE 8, ERROR 1, CANCELLED 1",
        "chunks:   DONE 3",
        "circuit 5 failed (chunk 1, 1 attempt): boom: bad gate",
        "circuit 9 was cancelled (chunk 2, 1 attempt): cancelled by request",
    ]
    assert result.stderr == ""


def test_status_defaults_to_newest_and_finds_names_with_dots(demo_store):
    assert invoke("status", store=demo_store).stdout.startswith(GAMMA)
    assert invoke("status", "beta.qpy", store=demo_store).stdout.startswith(BETA)


def test_status_json_is_one_document_with_timing(demo_store):
    summary = json.loads(invoke("status", ALPHA, "--json", store=demo_store).stdout)
    assert summary["status"] == "DONE" and summary["circuits"] == {"DONE": 10}
    assert summary["started"] < summary["finished"]
    assert summary["running"] is False


def test_status_chunks_lists_every_chunk(demo_store):
    lines = invoke("status", ALPHA, "-c", store=demo_store).stdout.splitlines()
    assert [line.split()[:4] for line in lines[-3:]] == [
        ["chunk", "0", "0-3", "DONE"], ["chunk", "1", "4-7", "DONE"], ["chunk", "2", "8-9", "DONE"]]


def test_unknown_set_suggests_list(demo_store):
    result = invoke("status", "nope", store=demo_store)
    assert result.exit_code == 1
    assert result.stderr == "Error: no job set matches 'nope'; run `jobman list`\n"


def test_empty_store_suggests_run(tmp_path):
    result = invoke("status", store=tmp_path / "empty")
    assert result.exit_code == 1
    assert "run `jobman run INPUT` first" in result.stderr


def test_watch_of_a_final_set_prints_one_line_and_its_code(demo_store):
    result = invoke("status", BETA, "--watch", store=demo_store)
    assert result.exit_code == 3
    (line,) = result.stdout.splitlines()
    assert line.endswith("CANCELLED 8/10 circuits done; circuits DONE 8, ERROR 1, CANCELLED 1; chunks DONE 3")


def test_watch_follows_a_running_set_line_per_change(tmp_path, monkeypatch):
    import jobman.cli.polling as polling

    set_store = make_set(tmp_path, "20260105-000000-eeeeee", total=8, unfinished={0, 1})
    pending = set_store.chunks()
    real_poll = polling.poll_set

    held = set_store.acquire_lock()  # as the running process does, until it has finished

    def finish_next(seconds: float) -> None:  # each poll's pause: the running process finishes a
        if pending:                           # chunk, then lets go of the set
            finish_chunk(set_store, pending.pop(0))
        else:
            held.close()

    monkeypatch.setattr(polling, "poll_set", lambda *args, **kwargs: real_poll(*args, **kwargs,
                                                                                sleep=finish_next))
    result = invoke("status", "--watch", "--interval", "0.05", "--json", store=tmp_path)
    assert result.exit_code == 0, result.stderr
    summaries = [json.loads(line) for line in result.stdout.splitlines()]
    assert [s["circuits"].get("DONE", 0) for s in summaries] == [0, 4, 8, 8]
    assert [s["status"] for s in summaries] == ["PENDING", "RUNNING", "RUNNING", "DONE"]
    assert summaries[0]["running"] is True and summaries[-1]["running"] is False


def test_watch_gives_up_on_a_set_nobody_runs(demo_store, monkeypatch):
    monkeypatch.setattr("jobman.cli.polling.STALL_GRACE", 0.0)
    result = invoke("status", GAMMA, "--watch", "--interval", "0.05", store=demo_store)
    assert result.exit_code == 1
    assert result.stderr == (f"Error: job set {GAMMA} is INTERRUPTED: no process is running it and work is left; "
                             f"run `jobman resume {GAMMA}` to carry on\n")


class _Clock:
    """A fake monotonic clock that sleeping advances."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_poll_times_out_on_the_deadline(tmp_path):
    set_store = make_set(tmp_path, "20260106-000000-ffffff", unfinished={0})
    clock = _Clock()
    with set_store.lock(), pytest.raises(WaitTimeout, match="timed out after 2.5s") as caught:
        list(poll_set(set_store, 1.0, timeout=2.5, clock=clock, sleep=clock.sleep))
    assert clock.sleeps == [1.0, 1.0, 0.5] and caught.value.exit_code == 124


def test_poll_stalls_only_after_the_grace(tmp_path):
    set_store = make_set(tmp_path, "20260107-000000-ababab", unfinished={0})
    clock = _Clock()
    with pytest.raises(SetStalled, match="jobman resume 20260107-000000-ababab"):
        list(poll_set(set_store, 1.0, grace=3.0, clock=clock, sleep=clock.sleep))
    assert clock.now == 3.0


def test_changes_drops_repeats():
    from dataclasses import replace

    from cli_support import summary_of

    same = summary_of(status="RUNNING", circuits={"DONE": 1}, chunks={"DONE": 1})
    other = replace(same, circuits={"DONE": 2})
    assert list(changes(iter([same, replace(same), other, other]))) == [same, other]


def test_status_of_many_failures_fits_a_screen_and_lists_all_on_request(tmp_path):
    odd = {i: "boom: bad gate" for i in range(1, 2000, 2)}
    make_set(tmp_path, "20260106-000000-ffffff", total=2000, chunk_size=1000, failed=odd)
    lines = invoke("status", store=tmp_path).stdout.splitlines()
    assert lines[4:] == [
        "circuits 1,3,5,7,9,11,13,15,... (1,000 circuits in 1,000 ranges) failed (chunks 0-1, 1 attempt): "
        "boom: bad gate",
        "(every failed range: jobman status 20260106-000000-ffffff --failures)"]
    full = invoke("status", "--failures", store=tmp_path).stdout.splitlines()
    assert len(full) == 4 + 1000 and full[-1] == "circuit 1999 failed (chunk 1, 1 attempt): boom: bad gate"
    summary = json.loads(invoke("status", "--json", store=tmp_path).stdout)
    assert len(summary["failures"]) == 1000
    assert summary["failure_groups"][0]["count"] == 1000


def test_status_after_a_cancel_is_one_line(tmp_path):
    make_set(tmp_path, "20260107-000000-gggggg", total=300, chunk_size=10, cancelled=range(30, 300))
    lines = invoke("status", store=tmp_path).stdout.splitlines()
    assert lines[4:] == ["circuits 30-299 were cancelled (chunks 3-29, 1 attempt): cancelled by request"]


def test_status_chunks_columns_line_up(tmp_path):
    make_set(tmp_path, "20260113-000000-mmmmmm", total=1200, chunk_size=100, unfinished={11})
    lines = [line for line in invoke("status", "-c", store=tmp_path).stdout.splitlines()
             if line.startswith("  chunk")]
    assert len(lines) == 12 and len({line.index("attempts") for line in lines}) == 1

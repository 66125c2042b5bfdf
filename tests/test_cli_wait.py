"""``jobman wait``: block until a set is final and exit with its code."""

from __future__ import annotations

import json
import threading
import time

from cli_support import ALPHA, BETA, GAMMA, finish_chunk, invoke, make_set, demo_store  # noqa: F401,F811


def test_wait_on_a_done_set_exits_0_with_nothing_on_stdout(demo_store):
    result = invoke("wait", ALPHA, store=demo_store)
    assert (result.exit_code, result.stdout) == (0, "")
    assert result.stderr == f"job set {ALPHA}: DONE (DONE 10)\n"


def test_wait_on_a_set_with_failures_exits_3_and_says_so_even_with_q(demo_store):
    result = invoke("wait", BETA, "-q", store=demo_store)
    assert (result.exit_code, result.stdout) == (3, "")
    assert result.stderr.splitlines() == [
        f"job set {BETA}: CANCELLED (DONE 8, ERROR 1, CANCELLED 1)",
        "circuit 5 failed (chunk 1, 1 attempt): boom: bad gate",
        "circuit 9 was cancelled (chunk 2, 1 attempt): cancelled by request"]


def test_wait_json_prints_the_final_summary(demo_store):
    result = invoke("wait", BETA, "--json", store=demo_store)
    summary = json.loads(result.stdout)
    assert summary["status"] == "CANCELLED" and summary["circuits"]["ERROR"] == 1 and summary["failed"] == 2


def test_wait_returns_when_the_running_set_finishes(tmp_path):
    set_store = make_set(tmp_path, "20260108-000000-cdcdcd", total=8, unfinished={0, 1})

    def work() -> None:
        time.sleep(0.2)
        for chunk in set_store.chunks():
            finish_chunk(set_store, chunk, failed={6: "lost"} if chunk.index else None)

    held = set_store.acquire_lock()  # as the running process does, until it has finished

    def run_and_let_go() -> None:
        work()
        held.close()

    worker = threading.Thread(target=run_and_let_go)
    worker.start()
    started = time.monotonic()
    result = invoke("wait", "--interval", "0.05", store=tmp_path)
    worker.join()
    assert result.exit_code == 3, result.stderr
    assert time.monotonic() - started >= 0.2


def test_wait_timeout_exits_124_and_says_how_to_go_on(tmp_path):
    set_store = make_set(tmp_path, "20260109-000000-efefef", unfinished={0})
    with set_store.lock():
        result = invoke("wait", "--timeout", "0.2", "--interval", "0.05", store=tmp_path)
    assert result.exit_code == 124
    assert result.stderr.startswith("Error: timed out after 0.2s; job set 20260109-000000-efefef is RUNNING")
    assert result.stderr.endswith("wait again with `jobman wait 20260109-000000-efefef`\n")


def test_wait_on_a_set_nobody_runs_says_resume(demo_store, monkeypatch):
    monkeypatch.setattr("jobman.cli.polling.STALL_GRACE", 0.0)
    result = invoke("wait", GAMMA, store=demo_store)
    assert result.exit_code == 1
    assert f"run `jobman resume {GAMMA}` to carry on" in result.stderr

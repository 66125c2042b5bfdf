"""``jobman jobs``: the chunk table."""

from __future__ import annotations

import json

from cli_support import BETA, GAMMA, invoke, make_set, demo_store  # noqa: F401,F811


def test_jobs_table(demo_store):
    result = invoke("jobs", BETA, store=demo_store)
    assert result.stdout.splitlines() == [
        " CHUNK  CIRCUITS        STATUS      ATTEMPTS  JOB IDS",
        "     0  0-3             DONE               1  fake-0-1",
        "     1  4-7             DONE               1  fake-1-1  (1 failed: boom: bad gate)",
        "     2  8-9             DONE               1  fake-2-1  (1 failed: cancelled by request)",
    ]


def test_jobs_json_lines_filtered_by_status(demo_store):
    result = invoke("jobs", GAMMA, "--json", "--status", "pending", store=demo_store)
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert rows == [{"chunk": 1, "start": 4, "stop": 8, "status": "PENDING", "attempts": 0,
                     "job_ids": [], "session_ids": [], "failed": 0, "error": None,
                     "usage_seconds": None, "usage": [],
                     "reasons": []}]


def test_jobs_unknown_status_names_the_known_ones(demo_store):
    result = invoke("jobs", "-s", "FINE", store=demo_store)
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: unknown chunk status 'FINE'; use one of PENDING, ")


def test_jobs_names_every_reason_of_a_chunk(tmp_path):
    make_set(tmp_path, "20260108-000000-hhhhhh", total=4, chunk_size=4, failed={0: "a", 1: "b", 2: "a"})
    (line,) = invoke("jobs", store=tmp_path).stdout.splitlines()[1:]
    assert line.endswith("(3 failed: a; b)")
    assert json.loads(invoke("jobs", "--json", store=tmp_path).stdout)["reasons"] == ["a", "b"]

"""``jobman list``: newest first, with --status, --name and --limit."""

from __future__ import annotations

import json

from cli_support import ALPHA, BETA, GAMMA, invoke, demo_store  # noqa: F401,F811
from jobman.cli.listing import name_matches


def _ids(*args: str, store) -> list[str]:
    result = invoke("list", "--json", *args, store=store)
    assert result.exit_code == 0, result.stderr
    return [json.loads(line)["id"] for line in result.stdout.splitlines()]


def test_list_is_newest_first(demo_store):
    assert _ids(store=demo_store) == [GAMMA, BETA, ALPHA]


def test_list_text_has_a_header_and_a_row_per_set(demo_store):
    lines = invoke("list", store=demo_store).stdout.splitlines()
    assert lines[0].split() == ["ID", "STATUS", "DONE/TOTAL", "BACKEND", "CREATED", "NAME"]
    assert lines[2].split()[:4] == [BETA, "CANCELLED", "8/10", "aer"] and lines[2].endswith("  beta.qpy")


def test_list_filters(demo_store):
    assert _ids("--status", "done", "-s", "CANCELLED", store=demo_store) == [BETA, ALPHA]
    assert _ids("--status", "interrupted", store=demo_store) == [GAMMA]
    assert _ids("--name", "*.qpy", store=demo_store) == [BETA]
    assert _ids("--name", "amm", store=demo_store) == [GAMMA]
    assert _ids("--limit", "2", store=demo_store) == [GAMMA, BETA]
    assert _ids("--status", "DONE", "--limit", "1", store=demo_store) == [ALPHA]


def test_list_says_when_nothing_matches(demo_store, tmp_path):
    result = invoke("list", "--name", "zeta", store=demo_store)
    assert result.stderr == "no job sets match these filters\n"
    empty = invoke("list", "--json", store=tmp_path / "none")
    assert empty.stdout == "" and "run `jobman run INPUT` to make one" in empty.stderr


def test_list_rejects_bad_filters(demo_store):
    assert invoke("list", "--limit", "0", store=demo_store).exit_code == 2
    bad = invoke("list", "--status", "SOON", store=demo_store)
    assert bad.exit_code == 2 and "unknown set status 'SOON'" in bad.stderr


def test_name_matches():
    assert name_matches("bell-3.qpy", "bell*") and not name_matches("a-bell", "bell*")
    assert name_matches("a-bell", "bell") and not name_matches("Bell", "bell")

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


def test_run_tags_a_set_and_list_show_and_json_find_it(tmp_path, small_qpy):
    store = tmp_path / "store"
    tagged = invoke("run", str(small_qpy), "--shots", "5", "--tag", "project=qv", "--tag", "owner=ana",
                    "-q", store=store)
    other = invoke("run", str(small_qpy), "--shots", "5", "--tag", "project=t1", "-q", store=store)
    assert tagged.exit_code == other.exit_code == 0, tagged.stderr + other.stderr
    qv, t1 = tagged.stdout.strip(), other.stdout.strip()
    assert _ids("--tag", "project=qv", store=store) == [qv]
    assert _ids("--tag", "project", store=store) == [t1, qv]
    assert _ids("--tag", "project", "--tag", "owner=ana", store=store) == [qv]
    assert _ids("--tag", "owner=bob", store=store) == []
    rows = [json.loads(line) for line in invoke("list", "--json", store=store).stdout.splitlines()]
    assert [row["tags"] for row in rows] == [{"project": "t1"}, {"project": "qv", "owner": "ana"}]
    shown = invoke("show", qv, store=store).stdout.splitlines()
    assert "tags      project=qv owner=ana" in shown
    assert json.loads(invoke("show", qv, "--json", store=store).stdout)["tags"] == {"project": "qv",
                                                                                  "owner": "ana"}


def test_bad_tags_are_usage_errors_and_nothing_is_made(tmp_path, small_qpy):
    store = tmp_path / "store"
    for args, said in ((["--tag", "novalue"], "Error: --tag 'novalue' is not KEY=VALUE\n"),
                       (["--tag", "a=1", "--tag", "a=2"], "Error: --tag a is given twice\n"),
                       (["--tag", "=x"], "Error: --tag '=x' is not KEY=VALUE\n")):
        result = invoke("run", str(small_qpy), *args, store=store)
        assert (result.exit_code, result.stderr) == (2, said)
    assert not store.exists() or not any(p for p in store.iterdir() if not p.name.startswith("."))
    assert invoke("list", "--tag", "=", store=store).exit_code == 2

"""Output manners: data on stdout, the rest on stderr; colour only on a terminal; -q and -v."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest

from cli_support import ALPHA, invoke, make_set, subprocess_env, demo_store  # noqa: F401,F811
from jobman.cli.errors import run_guarded
from jobman.cli.output import Terminal, stream_is_interactive


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def streams(monkeypatch):
    out, err = FakeTTY(), FakeTTY()
    monkeypatch.setattr(Terminal, "out", property(lambda self: out))
    monkeypatch.setattr(Terminal, "err", property(lambda self: err))
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    return out, err


def test_data_goes_to_stdout_messages_to_stderr(streams):
    out, err = streams
    terminal = Terminal()
    terminal.data("42")
    terminal.json_lines([{"a": 1}, {"b": 2}])
    terminal.info("hello")
    terminal.detail("hidden")
    assert out.getvalue() == '42\n{"a":1}\n{"b":2}\n'
    assert err.getvalue() == "hello\n"


def test_quiet_hides_info_but_not_warnings_or_errors(streams, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    terminal = Terminal(quiet=True, verbose=True)
    terminal.info("a")
    terminal.detail("b")
    terminal.warn("c")
    terminal.error("d")
    assert streams[1].getvalue() == "Warning: c\nError: d\n"


def test_colour_only_on_a_terminal_without_no_color_or_dumb(streams, monkeypatch):
    terminal = Terminal()
    assert terminal.interactive and terminal.live
    terminal.error("x")
    assert streams[1].getvalue() == "\x1b[1;31mError:\x1b[0m x\n"
    with monkeypatch.context() as patch:
        patch.setenv("TERM", "dumb")
        assert not stream_is_interactive(streams[1])
    with monkeypatch.context() as patch:  # no-color.org: colour goes, the live display stays
        patch.setenv("NO_COLOR", "1")
        assert stream_is_interactive(streams[1]) and terminal.live
        terminal.error("y")
        assert streams[1].getvalue().endswith("\nError: y\n")
    assert not stream_is_interactive(io.StringIO())
    assert not Terminal(quiet=True).live


def test_verbose_and_quiet_work_before_and_after_the_command(demo_store):
    for args in (("-v", "list"), ("list", "-v"), ("list", "--verbose")):
        result = invoke(*args, store=demo_store)
        assert f"store: {demo_store}\n" == result.stderr, args
    for args in (("-q", "wait", ALPHA), ("wait", ALPHA, "--quiet")):
        assert invoke(*args, store=demo_store).stderr == ""
    assert invoke("-q", "list", "-v", store=demo_store).stderr == ""


def test_each_invocation_starts_loud_and_plain(demo_store):
    invoke("-q", "list", store=demo_store)
    assert invoke("wait", ALPHA, store=demo_store).stderr != ""


def test_usage_errors_say_where_help_is(demo_store):
    result = invoke("result", store=demo_store)
    assert result.exit_code == 2
    assert result.stderr == ("Error: Missing option '--circuit' / '-c' (or '--pub').\n"
                             "Try 'jobman result --help' for help.\n")
    unknown = invoke("frobnicate")
    assert unknown.stderr == "Error: No such command 'frobnicate'.\nTry 'jobman --help' for help.\n"


def test_broken_pipe_is_quiet(monkeypatch):
    silenced = []
    monkeypatch.setattr("jobman.cli.errors._silence_stdout", lambda: silenced.append(True))

    def write_to_closed_reader():
        raise BrokenPipeError

    assert run_guarded(write_to_closed_reader) == 141 and silenced == [True]


def test_export_into_head_ends_without_noise(demo_store):
    """`jobman export | head -1`: no traceback, no 'Exception ignored' on stderr."""
    shell = f"{sys.executable} -m jobman export {ALPHA} | head -1"
    done = subprocess.run(["bash", "-o", "pipefail", "-c", shell], capture_output=True, text=True,
                          env=subprocess_env(demo_store), timeout=60)
    assert done.stdout.startswith('{"index":0,')
    assert done.stderr == ""


def test_library_warnings_reach_stderr_as_warning_lines_even_with_quiet(capsys):
    import logging

    from jobman.cli.app import terminal

    terminal.quiet = True
    try:
        logging.getLogger("jobman").warning("cannot read job d1 of chunk 0 (HTTP 502); it is kept")
    finally:
        terminal.reset()
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.endswith("Warning: cannot read job d1 of chunk 0 (HTTP 502); it is kept\n")


def test_closed_pipe_exits_141_quietly(tmp_path):
    """More output than a pipe holds, so the reader surely goes away before the end."""
    make_set(tmp_path, "20260109-000000-iiiiii", total=3000, chunk_size=1000)
    shell = f"{sys.executable} -m jobman export | head -1"
    done = subprocess.run(["bash", "-o", "pipefail", "-c", shell], capture_output=True, text=True,
                          env=subprocess_env(tmp_path), timeout=60)
    assert (done.returncode, done.stderr) == (141, "")
    assert done.stdout.startswith('{"index":0,')


def test_quiet_run_still_names_its_failures(tmp_path):
    qasm = tmp_path / "bare.qasm"
    qasm.write_text('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[1];\nh q[0];\n')
    result = invoke("-q", "run", str(qasm), "--shots", "10", store=tmp_path / "store")
    assert result.exit_code == 3
    lines = result.stderr.splitlines()
    assert len(lines) == 2 and lines[0].endswith("(ERROR 1)")
    assert lines[1].startswith("circuit 0 failed (chunk 0, not submitted): ")

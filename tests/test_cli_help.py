"""Help that teaches: every command has a summary, an example and grouped options."""

from __future__ import annotations

import pytest
import typer

from cli_support import invoke
from jobman.cli import app

COMMON = {"quiet", "verbose"}
#: Options not (yet) in a help panel; each entry names its owner.
UNGROUPED: set[tuple[str, str]] = set()


def _commands() -> dict:
    group = typer.main.get_command(app)
    return {name: cmd for name, cmd in group.commands.items() if not cmd.hidden}


@pytest.mark.parametrize("name", sorted(_commands()))
def test_every_command_has_a_summary_and_an_example(name):
    command = _commands()[name]
    help_text = command.help or ""
    summary = help_text.strip().splitlines()[0]
    assert summary.endswith(".") and len(summary) <= 75, summary
    example = [line for line in help_text.splitlines() if "Example: jobman " in line]
    assert example and f"jobman {name}" in example[0], f"{name} has no `Example: jobman {name} ...`"


@pytest.mark.parametrize("name", sorted(_commands()))
def test_every_parameter_has_help_and_every_option_a_panel(name):
    for param in _commands()[name].params:
        assert param.help, f"{name}: {param.name} has no help"
        if param.param_type_name == "option" and param.name not in COMMON \
                and (name, param.name) not in UNGROUPED:
            assert param.rich_help_panel, f"{name}: --{param.name} is in no rich_help_panel"


@pytest.mark.parametrize("name", sorted(_commands()))
def test_help_renders_with_the_example(name):
    result = invoke(name, "--help")
    assert result.exit_code == 0 and "Example: jobman" in result.stdout
    assert "Usage: jobman " + name in result.stdout


def test_app_help_lists_commands_and_exit_codes():
    result = invoke("--help")
    assert result.exit_code == 0
    text = " ".join(result.stdout.split())
    for name in _commands():
        assert f" {name} " in text
    assert "Exit codes: 0 success; 1 error; 2 usage error" in text and "124" in text and "130" in text
    assert "__complete-sets" not in text


def test_no_arguments_shows_help_and_exits_2():
    result = invoke()
    assert result.exit_code == 2 and "Usage: jobman" in result.stderr


def test_version():
    from importlib.metadata import version

    result = invoke("--version")
    assert (result.exit_code, result.stdout) == (0, f"jobman {version('jobman')}\n")


@pytest.mark.parametrize("name", sorted(_commands()))
def test_help_shows_no_python_types_and_flags_as_flags(name):
    text = invoke(name, "--help").stdout
    for python in ("<bool>", "<int>", "<str>", "<float>", "list[", "<Path>", "{", "Value error"):
        assert python not in text, f"{name} --help shows {python!r}"


def test_run_help_reads_well():
    text = invoke("run", "--help").stdout
    assert "Usage: jobman run [OPTIONS] INPUT..." in text
    words = " ".join(text.replace("│", " ").split())
    assert "--memory Keep" in words and "(default: 1000;" in words and "(default: two per worker on aer, 3 on IBM)" in words
    assert "--shots        -s      N " in text


def test_unknown_option_suggests_only_close_ones():
    assert invoke("--bogus").stderr.splitlines()[0] == "Error: No such option: --bogus"
    assert "(Possible options: --json)" in invoke("status", "--jsn").stderr

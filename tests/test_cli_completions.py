"""Shell completion: the checked-in scripts match the app, and bash (zsh, fish if present) complete."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from cli_support import ALPHA, BETA, GAMMA, invoke, make_set, subprocess_env, demo_store  # noqa: F401,F811
from jobman.backend_names import FAKE_DEVICES, remember_account_devices
from jobman.cli import app
from jobman.cli.completions.__main__ import main as regenerate, write_scripts
from jobman.cli.completions.scripts import FILE_NAMES, render_script
from jobman.cli.completions.tree import BACKENDS, FAKES, FILES, SETS, WORDS, command_tree

FOLDER = Path(__file__).resolve().parent.parent / "completions"
REGENERATE = "python -m jobman.cli.completions completions/"


@pytest.mark.parametrize("shell", sorted(FILE_NAMES))
def test_checked_in_script_matches_the_app(shell):
    path = FOLDER / FILE_NAMES[shell]
    assert path.read_text() == render_script(shell, app), f"{path} is stale: run `{REGENERATE}`"


@pytest.mark.parametrize("shell", sorted(FILE_NAMES))
def test_completions_command_prints_the_script(shell):
    result = invoke("completions", shell)
    assert result.exit_code == 0 and result.stdout == render_script(shell, app)


def test_regenerating_writes_and_checks(tmp_path):
    assert regenerate(["--check", str(tmp_path)]) == 1
    assert regenerate([str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(FILE_NAMES.values())
    assert write_scripts(tmp_path, check=True) == []


def test_tree_knows_what_values_complete_to():
    _, commands = command_tree(app)
    by_name = {c.name: c for c in commands}
    assert "__complete-sets" not in by_name
    export = {o.names[0]: o for o in by_name["export"].options}
    assert (export["--format"].values, export["--format"].words) == (WORDS, ("jsonl", "csv", "json", "parquet"))
    assert export["--output"].values == FILES and not export["--memory"].takes_value
    assert by_name["status"].arguments[0].values == SETS
    assert by_name["run"].arguments[0].values == FILES and by_name["run"].arguments[0].many
    run = {o.names[0]: o for o in by_name["run"].options}
    assert (run["--backend"].values, run["--noise-model"].values) == (BACKENDS, FAKES)
    assert {"-q", "--quiet", "-v", "--verbose", "-h", "--help"} <= {
        n for o in by_name["status"].options for n in o.names}


NAMES = ["gamma", "beta.qpy", "alpha"]  # the demo sets' names, newest first


def test_complete_sets_lists_ids_then_names_newest_first(demo_store):
    assert invoke("__complete-sets", store=demo_store).stdout.split() == [GAMMA, BETA, ALPHA] + NAMES
    described = invoke("__complete-sets", "--describe", store=demo_store).stdout.splitlines()
    assert described[1] == f"{BETA}\tbeta.qpy" and described[4] == f"beta.qpy\t{BETA}"
    assert invoke("__complete-sets", store=demo_store / "missing").stdout == ""


def test_complete_sets_offers_only_names_that_resolve_to_one_set(tmp_path):
    root = tmp_path / "store"
    for set_id, name in [("20260101-000000-aaaaaa", "twice"), ("20260102-000000-bbbbbb", "twice"),
                         ("20260103-000000-cccccc", "2026"), ("20260104-000000-dddddd", "my run")]:
        make_set(root, set_id, name=name, total=2)
    (root / "20260105-000000-eeeeee").mkdir()
    (root / "20260105-000000-eeeeee" / "set.json").write_text("{")  # damaged: its id still completes
    assert invoke("__complete-sets", store=root).stdout.splitlines() == [
        "20260105-000000-eeeeee", "20260104-000000-dddddd", "20260103-000000-cccccc",
        "20260102-000000-bbbbbb", "20260101-000000-aaaaaa", "my run"]
    described = invoke("__complete-sets", "--describe", store=root).stdout.splitlines()
    assert described[0] == "20260105-000000-eeeeee\tdamaged" and described[-1] == "my run\t20260104-000000-dddddd"
    assert _bash_complete(["jobman", "show", "my"], root) == ["my\\ run"]  # quoted for the shell


def test_complete_backends_lists_aer_the_fake_devices_and_remembered_ones(tmp_path):
    root = tmp_path / "store"
    assert invoke("__complete-backends", store=root).stdout.split() == ["aer"] + list(FAKE_DEVICES)
    assert invoke("__complete-backends", "--fake", store=root).stdout.split() == list(FAKE_DEVICES)
    remember_account_devices("work", None, [("ibm_torino", 133)], root)
    described = invoke("__complete-backends", "--describe", store=root).stdout.splitlines()
    assert described[-1] == "ibm_torino\tIBM device (account work, 133 qubits)"


def _bash_complete(words: list[str], store: Path) -> list[str]:
    """COMPREPLY of the checked-in bash script for a command line ending in ``words[-1]``."""
    quoted = " ".join(f"'{w}'" for w in words)
    script = (f"source '{FOLDER / 'jobman.bash'}'; COMP_WORDS=({quoted}); "
              f"COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 )); _jobman; printf '%s\\n' \"${{COMPREPLY[@]}}\"")
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True,
                          env=subprocess_env(store), timeout=30)
    assert done.returncode == 0, done.stderr
    return [line for line in done.stdout.splitlines() if line]


def test_bash_completes_commands_options_values_and_set_ids(demo_store, tmp_path):
    assert _bash_complete(["jobman", ""], demo_store)[:5] == ["adopt", "backends", "cancel", "check", "completions"]
    assert _bash_complete(["jobman", "-q", "st"], demo_store) == ["status"]
    assert _bash_complete(["jobman", "export", "--f"], demo_store) == ["--format"]
    assert _bash_complete(["jobman", "export", "--format", ""], demo_store) == ["jsonl", "csv", "json", "parquet"]
    assert _bash_complete(["jobman", "list", "-s", "CAN"], demo_store) == ["CANCELLED"]
    assert _bash_complete(["jobman", "status", "--shots"], demo_store) == []
    assert _bash_complete(["jobman", "completions", "z"], demo_store) == ["zsh"]
    assert _bash_complete(["jobman", "status", ""], demo_store) == [GAMMA, BETA, ALPHA] + NAMES
    assert _bash_complete(["jobman", "wait", "20260102"], demo_store) == [BETA]
    assert _bash_complete(["jobman", "delete", ALPHA, "be"], demo_store) == ["beta.qpy"]
    other = tmp_path / "other"
    other.mkdir()
    assert _bash_complete(["jobman", "show", "--store", str(demo_store), "2026010"],
                          other) == [GAMMA, BETA, ALPHA]
    (tmp_path / "circuits.qpy").write_text("")
    assert _bash_complete(["jobman", "run", str(tmp_path / "circ")], demo_store) == [
        str(tmp_path / "circuits.qpy")]
    assert _bash_complete(["jobman", "export", "--store", str(tmp_path / "ot")], demo_store) == [
        str(other)]


def test_bash_completes_backends(tmp_path):
    root = tmp_path / "store"
    assert _bash_complete(["jobman", "run", "c.qpy", "--backend", ""], root)[:3] == [
        "aer", "fake_aachen", "fake_algiers"]
    assert _bash_complete(["jobman", "run", "c.qpy", "-b", "fake_mani"], root) == ["fake_manila"]
    assert _bash_complete(["jobman", "run", "c.qpy", "--backend", "=", "fake_mani"], root) == ["fake_manila"]
    assert _bash_complete(["jobman", "run", "c.qpy", "--noise-model", "a"], root) == []
    assert _bash_complete(["jobman", "run", "c.qpy", "--backend", "ibm_"], root) == []
    remember_account_devices("work", None, [("ibm_torino", 133), ("ibm_fez", 156)], root)
    assert _bash_complete(["jobman", "run", "c.qpy", "--backend", "ibm_"], root) == ["ibm_torino", "ibm_fez"]


@pytest.mark.skipif(shutil.which("fish") is None, reason="fish is not installed")
def test_fish_completes(demo_store):
    script = (f"source '{FOLDER / 'jobman.fish'}'; complete -C 'jobman st'; echo ---; "
              f"complete -C 'jobman wait '; echo ---; complete -C 'jobman export --format '")
    done = subprocess.run(["fish", "--no-config", "-c", script], capture_output=True, text=True,
                          env=subprocess_env(demo_store), timeout=30)
    commands, sets, formats = done.stdout.split("---\n")
    assert commands.startswith("status\t")
    assert sets.splitlines() == [f"{ALPHA}\talpha", f"{BETA}\tbeta.qpy", f"{GAMMA}\tgamma",
                                 f"alpha\t{ALPHA}", f"beta.qpy\t{BETA}", f"gamma\t{GAMMA}"]
    assert [line.split("\t")[0] for line in formats.splitlines()] == ["csv", "json", "jsonl", "parquet"]


@pytest.mark.skipif(shutil.which("fish") is None, reason="fish is not installed")
def test_fish_completes_backends(tmp_path):
    root = tmp_path / "store"
    remember_account_devices("work", None, [("ibm_torino", 133)], root)
    script = (f"source '{FOLDER / 'jobman.fish'}'; complete -C 'jobman run c.qpy --backend fake_mani'; "
              "echo ---; complete -C 'jobman run c.qpy -b ibm'; echo ---; "
              "complete -C 'jobman run c.qpy --noise-model '")
    done = subprocess.run(["fish", "--no-config", "-c", script], capture_output=True, text=True,
                          env=subprocess_env(root), timeout=30)
    fakes, account, noise = done.stdout.split("---\n")
    assert fakes.splitlines() == ["fake_manila\tfake device, 5 qubits"]
    assert account.splitlines() == ["ibm_torino\tIBM device (account work, 133 qubits)"]
    assert [line.split("\t")[0] for line in noise.splitlines()] == sorted(FAKE_DEVICES)


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed")
def test_zsh_script_loads_and_defines_the_completer():
    script = (f"autoload -U compinit; compinit -u -D; source '{FOLDER / '_jobman'}' 2>&1; "
              f"(( $+functions[_jobman] )) && (( $+functions[_jobman_sets] )) && print ok")
    done = subprocess.run(["zsh", "-f", "-c", script], capture_output=True, text=True, timeout=30)
    assert done.stdout.strip().endswith("ok"), done.stdout + done.stderr


#: Drives an interactive zsh on a pseudo-terminal, presses TAB, prints what compadd was given.
ZSH_CAPTURE = r'''
zmodload zsh/zpty
zpty z zsh -f -i
zpty -w z "PROMPT=''; RPROMPT=''"
zpty -w z "fpath=($1 \$fpath); autoload -U compinit; compinit -u -D"
zpty -w z 'compadd () { local -a h; builtin compadd -O h "$@"; (( $#h )) && print -r -l -- "<"HIT">"${^h}; builtin compadd "$@"; }'
zpty -w z '_capture_done() { print "<"DONE">"; exit }; comppostfuncs=(_capture_done)'
zpty -n -w z "$2"$'\t'
local line
while zpty -r z line; do
  [[ $line == *"<DONE>"* ]] && break
  [[ $line == *"<HIT>"* ]] && print -r -- "${${line#*<HIT>}%%$'\r'*}"
done
zpty -d z
'''


def _zsh_complete(line: str, store: Path) -> list[str]:
    done = subprocess.run(["zsh", "-f", "-c", ZSH_CAPTURE, "capture", str(FOLDER), line],
                          capture_output=True, text=True, env=subprocess_env(store), timeout=30)
    return list(dict.fromkeys(done.stdout.split()))  # compadd may be called twice per match


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed")
def test_zsh_completes(demo_store):
    assert _zsh_complete("jobman st", demo_store) == ["status"]
    assert _zsh_complete("jobman export --format ", demo_store) == ["jsonl", "csv", "json", "parquet"]
    assert set(_zsh_complete("jobman wait ", demo_store)) == {GAMMA, BETA, ALPHA, *NAMES}
    assert _zsh_complete("jobman wait be", demo_store) == ["beta.qpy"]


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed")
def test_zsh_completes_backends(tmp_path):
    root = tmp_path / "store"
    remember_account_devices("work", None, [("ibm_torino", 133)], root)
    assert _zsh_complete("jobman run c.qpy --backend fake_mani", root) == ["fake_manila"]
    assert _zsh_complete("jobman run c.qpy -b ibm_", root) == ["ibm_torino"]
    assert _zsh_complete("jobman run c.qpy --noise-model fake_ma", root) == [
        "fake_manhattan", "fake_manila", "fake_marrakesh"]

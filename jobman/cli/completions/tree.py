"""The app's command tree as the static completion scripts need it.

The scripts (:mod:`jobman.cli.completions.scripts`) list every command and option themselves,
so a TAB costs no Python, except where the answer lives in the store or a table: job set ids
and names come from ``jobman __complete-sets``, backend names from ``jobman __complete-backends``.

What an option's value completes to follows from its metavar or type:
``SET``/``SET...`` job set ids and names, ``--backend`` backend names (aer, the fake devices,
the account's devices ``jobman backends`` listed), ``fake_<device>`` the fake devices, ``DIR`` directories, ``FILE`` and path types files,
``STATUS`` job statuses, ``STATE`` set states, ``a|b|c`` and ``Literal`` types those words;
anything else nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

SETS, DIRS, FILES, WORDS, NOTHING = "sets", "dirs", "files", "words", "nothing"
BACKENDS, FAKES = "backends", "fakes"
HELP_NAMES = ("-h", "--help")
_CHOICE_METAVAR = re.compile(r"^[a-z0-9_-]+(\|[a-z0-9_-]+)+$")


@dataclass(frozen=True)
class Param:
    """An option or argument as the completion scripts need it."""

    names: tuple[str, ...]  # ("--shots", "-s"); an argument's metavar
    help: str
    takes_value: bool
    values: str = NOTHING  # what the value (or argument) completes to
    words: tuple[str, ...] = ()
    many: bool = False  # repeatable option or variadic argument
    required: bool = False

    @property
    def long(self) -> list[str]:
        return [n for n in self.names if n.startswith("--")]

    @property
    def short(self) -> list[str]:
        return [n for n in self.names if not n.startswith("--")]


@dataclass(frozen=True)
class Command:
    """A command with its one-line help, options and positional arguments."""

    name: str
    help: str
    options: tuple[Param, ...]
    arguments: tuple[Param, ...]


def _one_line(text: str | None) -> str:
    return (text or "").strip().split("\n")[0].strip()


def _values(param: Any) -> tuple[str, tuple[str, ...]]:
    """What a parameter's value completes to (see the module docstring)."""
    from jobman.status import JobStatus, SetState

    metavar = (param.metavar or "").rstrip(".")
    desc = param.type_descriptor
    if metavar == "SET":
        return SETS, ()
    if "--backend" in getattr(param, "opts", ()):
        return BACKENDS, ()
    if metavar == "fake_<device>":
        return FAKES, ()
    if metavar == "DIR":
        return DIRS, ()
    if metavar == "STATUS":
        return WORDS, tuple(status.value for status in JobStatus)
    if metavar == "STATE":
        return WORDS, tuple(state.value for state in SetState)
    if desc.is_choice and desc.choices:
        return WORDS, tuple(str(choice) for choice in desc.choices)
    if _CHOICE_METAVAR.match(metavar):
        return WORDS, tuple(metavar.split("|"))
    if metavar == "FILE" or desc.is_path or desc.is_file or _is_path_list(desc.annotation):
        return FILES, ()
    return NOTHING, ()


def _is_path_list(annotation: Any) -> bool:
    """``List[Path]`` and the like."""
    from pathlib import PurePath
    from typing import get_args

    return any(isinstance(arg, type) and issubclass(arg, PurePath) for arg in get_args(annotation))


def _param(param: Any) -> Param:
    is_argument = param.param_type_name == "argument"
    flag = bool(getattr(param, "is_flag", False) or getattr(param, "count", False))  # -vv counts
    values, words = _values(param) if not flag else (NOTHING, ())
    names = (param.metavar or param.name.upper(),) if is_argument else \
        tuple(param.opts + param.secondary_opts)
    many = param.nargs == -1 if is_argument else bool(getattr(param, "multiple", False))
    return Param(names, _one_line(getattr(param, "help", "")), not flag, values, words, many,
                 bool(param.required))


def command_tree(app: Any) -> tuple[tuple[Param, ...], tuple[Command, ...]]:
    """The app's global options and its visible commands, sorted by name."""
    import typer

    group = typer.main.get_command(app)
    help_param = Param(HELP_NAMES, "Show the help and exit.", False)
    global_options = tuple(_param(p) for p in group.params) + (help_param,)
    commands = []
    for name in sorted(group.commands):
        command = group.commands[name]
        if command.hidden:
            continue
        params = [_param(p) for p in command.params if not getattr(p, "hidden", False)]
        commands.append(Command(name, _one_line(command.help),
                                tuple(p for p in params if p.names[0].startswith("-")) + (help_param,),
                                tuple(p for p in params if not p.names[0].startswith("-"))))
    return global_options, tuple(commands)

"""The one place where errors become an ``Error: ...`` line and an exit code."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Any, Callable, Iterator

from typer.core import TyperGroup

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_FAILED_CIRCUITS = 3
EXIT_DAMAGED = 5  # `jobman check` found damage
EXIT_INTERRUPTED = 130
#: The reader of stdout went away (`jobman export | head -1`): 128 + SIGPIPE, as a shell reports
#: a tool that SIGPIPE ended; nothing is printed.
EXIT_BROKEN_PIPE = 141

HELP_OPTION_NAMES = ["-h", "--help"]


def _click_exceptions() -> Any:
    """Click's exception classes as typer uses them (newer typer vendors click)."""
    try:
        from typer._click import exceptions
    except ImportError:  # pragma: no cover - typer before it vendored click
        from click import exceptions
    return exceptions


class ClosedPipe(Exception):
    """stdout's reader went away; not an OSError, so click does not turn it into exit 1."""


def run_guarded(call: Callable[[], Any]) -> int:
    """Run a click/typer invocation and turn every outcome into an exit code."""
    import typer

    from jobman.cli.app import terminal
    from jobman.exceptions import JobmanError

    click = _click_exceptions()
    try:
        with _warnings_to(terminal):
            result = call()
    except (typer.Exit, getattr(click, "Exit", typer.Exit)) as stop:
        return stop.exit_code
    except click.NoArgsIsHelpError as error:
        help_to_stderr(error.ctx)
        return EXIT_USAGE
    except click.ClickException as error:
        _keep_close_suggestions(error)
        terminal.error(error.format_message().replace("Value error, ", ""))  # pydantic's prefix
        context = getattr(error, "ctx", None)
        if context is not None:
            terminal.info(f"Try '{context.command_path} --help' for help.")
        return error.exit_code
    except (typer.Abort, getattr(click, "Abort", typer.Abort), KeyboardInterrupt) as stop:
        name = getattr(stop, "name", None)  # SIGTERM or SIGHUP (jobman.signals)
        terminal.error(f"stopped by {name}" if name else "interrupted")
        return getattr(stop, "exit_code", EXIT_INTERRUPTED)
    except JobmanError as error:
        terminal.error(str(error))
        return error.exit_code
    except (BrokenPipeError, ClosedPipe):
        _silence_stdout()  # the reader went away (`jobman export | head`): not an error to show
        return EXIT_BROKEN_PIPE
    except MemoryError:
        terminal.error("out of memory; try a smaller --chunk-size")
        return EXIT_ERROR
    return result if isinstance(result, int) else EXIT_OK


@contextmanager
def _warnings_to(terminal: Any) -> Iterator[None]:
    """jobman's own warnings (:class:`~jobman.exceptions.JobmanWarning`) become ``Warning:`` lines."""
    import warnings

    from jobman.exceptions import JobmanWarning

    shown = warnings.showwarning

    def show(message: Any, category: Any, *args: Any, **kwargs: Any) -> None:
        if issubclass(category, JobmanWarning):
            terminal.warn(str(message))
        else:
            shown(message, category, *args, **kwargs)

    with warnings.catch_warnings():  # restores the filters and showwarning afterwards
        warnings.simplefilter("always", JobmanWarning)
        warnings.showwarning = show
        yield


def _keep_close_suggestions(error: Any) -> None:
    """``--bogus`` should not suggest ``--verbose``: keep only options close to the typed one."""
    from difflib import SequenceMatcher

    typed, possible = getattr(error, "option_name", None), getattr(error, "possibilities", None)
    if typed and possible:
        error.possibilities = [p for p in possible if SequenceMatcher(None, typed, p).ratio() >= 0.75]


def help_to_stderr(context: Any) -> None:
    """Show a command's help on stderr, as the answer to a usage error."""
    from contextlib import redirect_stdout

    with redirect_stdout(sys.stderr):  # typer's rich help prints itself on "stdout"
        text = context.get_help()
    if text:
        sys.stderr.write(text + "\n")


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's last flush cannot fail again."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


def _add_verbosity(command: Any) -> None:
    """Give ``command`` the app's -q/--quiet and -v/--verbose (unless it uses those names)."""
    from jobman.cli.app import verbosity_params

    taken = {name for param in command.params for name in getattr(param, "opts", ())}
    command.params.extend(p for p in verbosity_params() if not taken & set(p.opts))


def _untyped_help_option(command: Any) -> None:
    """Show ``-h/--help`` in help screens without a ``<bool>`` type, like the other flags."""
    from typer._click import Context

    context = Context(command, help_option_names=HELP_OPTION_NAMES)
    option = command.get_help_option(context)
    if option is not None:
        option.metavar = ""


def reflow(text: str | None) -> str | None:
    """Docstring paragraphs as one line each, so help wraps at the terminal's width, not the
    source's (typer keeps line breaks inside a paragraph)."""
    if not text:
        return text
    import inspect

    paragraphs = inspect.cleandoc(text).split("\n\n")
    return "\n\n".join(" ".join(line.strip() for line in p.splitlines()) for p in paragraphs)


def _plain_metavars(command: Any) -> None:
    """Help without Python types: flags show no value, ``--shots N``, ``--name NAME``, ``a|b``."""
    from typing import Literal, get_args, get_origin

    for param in command.params:
        if param.param_type_name == "argument":
            _plain_argument(param)
            continue
        if param.metavar:
            continue
        kind = getattr(getattr(param, "type_descriptor", None), "annotation", None)
        if getattr(param, "is_flag", False) or getattr(param, "count", False) or kind is bool:
            param.metavar = ""
        elif kind is int:
            param.metavar = "N"
        elif get_origin(kind) is Literal:
            param.metavar = "|".join(str(choice) for choice in get_args(kind))
        elif param.opts:
            param.metavar = max(param.opts, key=len).lstrip("-").replace("-", "_").upper()


def _plain_argument(param: Any) -> None:
    """``INPUT...`` and ``[SET]`` in usage lines, and no ``<list[Path]>`` type column."""
    name = param.metavar or param.name.upper()
    if param.nargs != 1 and not name.endswith("..."):
        name += "..."
    usage = name if param.required else f"[{name}]"
    param.metavar = name
    param._usage_display_name = lambda: usage
    param.display_type_rich = lambda ctx: None


class JobmanGroup(TyperGroup):
    """The top-level command group: every invocation ends through :func:`run_guarded`.

    It also gives every command the app's ``-q/--quiet`` and ``-v/--verbose``, so they work
    before or after the command name.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _untyped_help_option(self)
        for command in self.commands.values():
            _add_verbosity(command)
            _untyped_help_option(command)
            _plain_metavars(command)
            command.help = reflow(command.help)

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if not args and self.no_args_is_help and not ctx.resilient_parsing:
            import typer

            help_to_stderr(ctx)  # before click builds (and prints) the help on stdout
            raise typer.Exit(EXIT_USAGE)
        return super().parse_args(ctx, args)

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            raise ClosedPipe() from None

    def main(self, args: Any = None, prog_name: Any = None, complete_var: Any = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        from jobman.cli.app import terminal

        from jobman.signals import like_ctrl_c

        terminal.reset()
        with like_ctrl_c():  # SIGTERM (batch time limits) and SIGHUP (a closed terminal)
            code = run_guarded(lambda: super(JobmanGroup, self).main(
                args, prog_name, complete_var, standalone_mode=False, **extra))
        if standalone_mode:
            try:
                sys.stdout.flush()
            except BrokenPipeError:  # the last of the data met a closed pipe
                _silence_stdout()
                code = EXIT_BROKEN_PIPE
            sys.exit(code)
        return code

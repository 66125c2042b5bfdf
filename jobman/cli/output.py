"""All terminal output goes through one :class:`Terminal`: data to stdout, the rest to stderr.

Colour and live displays appear only on an interactive terminal, never with ``TERM=dumb``;
``NO_COLOR`` takes the colour away and keeps the live display (no-color.org).
"""

from __future__ import annotations

import json
import logging
import os
import sys
from typing import Any, Iterable, TextIO

_RED = "\x1b[1;31m"
_YELLOW = "\x1b[1;33m"
_RESET = "\x1b[0m"


def colour_allowed() -> bool:
    """False when the user asked for no colour (``NO_COLOR`` set and not empty, as no-color.org
    says) or the terminal cannot show it (``TERM=dumb``)."""
    return not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def stream_is_interactive(stream: TextIO) -> bool:
    """A terminal that may get live displays: a tty, and not ``TERM=dumb`` (``NO_COLOR`` only
    takes the colour away)."""
    if os.environ.get("TERM") == "dumb":
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def to_json(value: Any) -> str:
    """Compact JSON, the one way jobman writes JSON on stdout."""
    return json.dumps(value, separators=(",", ":"))


class Terminal:
    """Where jobman writes: ``data`` on stdout; ``info``/``detail``/``warn``/``error`` on stderr.

    ``quiet`` hides ``info`` and ``detail`` (data, warnings, errors and failure summaries stay);
    ``verbose`` shows ``detail``.
    """

    def __init__(self, quiet: bool = False, verbose: bool = False) -> None:
        self.quiet = quiet
        self.verbose = verbose
        self.debugging = False

    def reset(self) -> None:
        """Back to the defaults (each invocation starts here)."""
        self.quiet = False
        self.verbose = False
        self.debug(False)

    def debug(self, on: bool) -> None:
        """With ``-vv``: also print what the library logs and ignores (``debug:`` lines)."""
        self.debugging = on
        logging.getLogger("jobman").setLevel(logging.DEBUG if on else logging.NOTSET)  # NOTSET: as logging is configured

    @property
    def out(self) -> TextIO:
        return sys.stdout

    @property
    def err(self) -> TextIO:
        return sys.stderr

    @property
    def interactive(self) -> bool:
        """Whether stderr is a terminal for live progress and colour."""
        return stream_is_interactive(self.err)

    @property
    def live(self) -> bool:
        """Whether a live display may be drawn now (interactive and not quiet)."""
        return self.interactive and not self.quiet

    def data(self, text: str) -> None:
        """One line (or block) of data on stdout."""
        self.out.write(text + "\n")

    def json(self, value: Any) -> None:
        """One JSON document on stdout."""
        self.data(to_json(value))

    def json_lines(self, values: Iterable[Any]) -> None:
        """JSON Lines on stdout: one compact object a line."""
        write = self.out.write
        for value in values:
            write(to_json(value) + "\n")

    def info(self, text: str) -> None:
        """A message for people; hidden by -q."""
        if not self.quiet:
            self.err.write(text + "\n")

    def failure(self, text: str) -> None:
        """A line of a failure summary: on stderr even with -q (as errors are)."""
        self.err.write(text + "\n")

    def detail(self, text: str) -> None:
        """Shown only with -v/--verbose."""
        if self.verbose and not self.quiet:
            self.err.write(text + "\n")

    def warn(self, text: str) -> None:
        self.err.write(f"{self._paint('Warning:', _YELLOW)} {text}\n")

    def error(self, text: str) -> None:
        self.err.write(f"{self._paint('Error:', _RED)} {text}\n")
        self.err.flush()

    def confirm(self, question: str) -> bool:
        """Ask a yes/no question on stderr and read the answer from stdin (no answer: no)."""
        self.err.write(f"{question} [y/N] ")
        self.err.flush()
        answer = sys.stdin.readline()
        if not answer.endswith("\n"):
            self.err.write("\n")
        return answer.strip().lower() in ("y", "yes")

    def warnings_handler(self) -> logging.Handler:
        """A logging handler that prints the library's warnings as ``Warning: ...`` lines, and
        with ``-vv`` its debug records (errors it ignored, with their traceback) as ``debug:``."""
        terminal = self

        class _Warnings(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                if record.levelno >= logging.WARNING:
                    terminal.warn(record.getMessage())
                elif terminal.debugging:
                    terminal.err.write(f"debug: {record.getMessage()}\n")
                    if record.exc_info and record.exc_info[2] is not None:
                        trace = logging.Formatter().formatException(record.exc_info)
                        terminal.err.write("".join(f"  {line}\n" for line in trace.splitlines()))

        return _Warnings(logging.DEBUG)

    def _paint(self, text: str, colour: str) -> str:
        return f"{colour}{text}{_RESET}" if self.interactive and colour_allowed() else text

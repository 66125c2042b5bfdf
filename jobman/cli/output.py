"""All terminal output goes through one :class:`Terminal`: data to stdout, the rest to stderr."""

from __future__ import annotations

import json
import os
import sys
from typing import Any, Iterable, TextIO


def stream_is_interactive(stream: TextIO) -> bool:
    """A terminal that may get colour and live displays (never with NO_COLOR or TERM=dumb)."""
    if os.environ.get("NO_COLOR") is not None or os.environ.get("TERM") == "dumb":
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class Terminal:
    """Where jobman writes: ``data`` on stdout; ``info``/``warn``/``error`` on stderr."""

    def __init__(self, quiet: bool = False, verbose: bool = False) -> None:
        self.quiet = quiet
        self.verbose = verbose

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

    def data(self, text: str) -> None:
        """One line (or block) of data on stdout."""
        self.out.write(text + "\n")

    def json(self, value: Any) -> None:
        """One JSON document on stdout."""
        self.data(json.dumps(value, separators=(",", ":")))

    def json_lines(self, values: Iterable[Any]) -> None:
        """JSON Lines on stdout: one compact object a line."""
        write = self.out.write
        for value in values:
            write(json.dumps(value, separators=(",", ":")) + "\n")

    def info(self, text: str) -> None:
        if not self.quiet:
            self.err.write(text + "\n")

    def detail(self, text: str) -> None:
        """Shown only with -v/--verbose."""
        if self.verbose and not self.quiet:
            self.err.write(text + "\n")

    def warn(self, text: str) -> None:
        self.err.write(f"Warning: {text}\n")

    def error(self, text: str) -> None:
        self.err.write(f"Error: {text}\n")
        self.err.flush()

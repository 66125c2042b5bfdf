"""Option values typer cannot check alone: finite seconds, ``KEY=VALUE`` options."""

from __future__ import annotations

import json
import math
from typing import Any, Optional

import typer

from jobman.exceptions import UsageError


def finite(value: Optional[float]) -> Optional[float]:
    """A typer callback: refuse ``nan`` and ``inf`` for a number of seconds (exit 2)."""
    if value is not None and not math.isfinite(value):
        raise typer.BadParameter(f"must be a finite number of seconds, not {value}")
    return value


def parse_assignments(values: Optional[list[str]], flag: str) -> dict[str, Any]:
    """``KEY=VALUE`` items as a dict. A value that reads as JSON (``2``, ``0.5``, ``true``,
    ``null``, ``[0, 1]``) is that value; any other is the text itself (``method=statevector``)."""
    options: dict[str, Any] = {}
    for item in values or []:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key.isidentifier():
            raise UsageError(f"{flag} takes KEY=VALUE (e.g. {EXAMPLES.get(flag, 'key=value')}), not {item!r}")
        if key in options:
            raise UsageError(f"{flag} {key} is given twice")
        options[key] = _value(text.strip())
    return options


#: An example per option, for messages.
EXAMPLES = {"--backend-option": "method=density_matrix", "--transpile-option": "scheduling_method=alap"}


def _value(text: str) -> Any:
    try:
        value = json.loads(text, parse_constant=_no_constant)
    except ValueError:
        return text
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a usable value")

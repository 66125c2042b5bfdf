"""Checks of option values that typer's own ranges let through (``nan``, ``inf``)."""

from __future__ import annotations

import math
from typing import Optional

import typer


def finite(value: Optional[float]) -> Optional[float]:
    """A typer callback: refuse ``nan`` and ``inf`` for a number of seconds (exit 2)."""
    if value is not None and not math.isfinite(value):
        raise typer.BadParameter(f"must be a finite number of seconds, not {value}")
    return value

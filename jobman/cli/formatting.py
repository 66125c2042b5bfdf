"""Small text helpers shared by the commands' human-readable output."""

from __future__ import annotations

import time


def timestamp(moment: float | None) -> str:
    """``2026-11-21 09:45:12`` in local time, or ``-``."""
    if moment is None:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(moment))


def clock_time(moment: float) -> str:
    """``09:45:12`` in local time."""
    return time.strftime("%H:%M:%S", time.localtime(moment))


def duration(seconds: float | None) -> str:
    """``4.2s`` under a minute, ``1:02:03`` from then on, ``-`` when unknown."""
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f}s"
    whole = int(seconds)
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"


def totals(counts: dict[str, int]) -> str:
    """``DONE 12, RUNNING 3`` (in the order given), or ``none``."""
    return ", ".join(f"{status} {count}" for status, count in counts.items()) or "none"


def byte_size(size: int | None) -> str:
    """``1.0 MiB``."""
    if size is None:
        return "-"
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"  # pragma: no cover


def plural(count: int, word: str) -> str:
    """``1 circuit``, ``2 circuits``, ``1,000 chunks``."""
    return f"{count:,} {word}{'' if count == 1 else 's'}"

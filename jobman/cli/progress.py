"""A live progress display on stderr, shown only when stderr is an interactive terminal."""

from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Any, Callable, Iterator

from jobman.cli.output import Terminal


@contextmanager
def follow(terminal: Terminal, verb: str) -> Iterator[Callable[[Any], None] | None]:
    """Yield an ``on_change`` callback that drives a live display, or None when not interactive."""
    if not terminal.interactive or terminal.quiet:
        yield None
        return
    from rich.console import Console
    from rich.live import Live

    state = _State()
    console = Console(stderr=True)
    with Live(state.render(), console=console, refresh_per_second=4, transient=True) as live:
        def on_change(record: Any) -> None:
            state.update(record)
            live.update(state.render())

        yield on_change


class _State:
    """Chunk statuses seen so far, turned into one status line."""

    def __init__(self) -> None:
        self.chunks: dict[int, tuple[str, int, int]] = {}
        self.started = time.monotonic()
        self.total_done = 0

    def update(self, record: Any) -> None:
        self.chunks[record.index] = (record.status, record.size, record.failed_count())

    def render(self) -> Any:
        from rich.text import Text

        done = sum(size - failed for status, size, failed in self.chunks.values() if status == "DONE")
        failed = sum(failed for _, _, failed in self.chunks.values())
        counts: dict[str, int] = {}
        for status, _, _ in self.chunks.values():
            counts[status] = counts.get(status, 0) + 1
        elapsed = time.monotonic() - self.started
        rate = done / elapsed if elapsed > 0 else 0.0
        parts = " ".join(f"{k} {v}" for k, v in sorted(counts.items()))
        return Text(f"circuits done {done}, failed {failed} | chunks {parts} | {rate:,.0f} circuits/s")

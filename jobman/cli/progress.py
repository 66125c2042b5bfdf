"""Live progress on stderr, drawn only on an interactive terminal (never with -q or TERM=dumb;
without colour under NO_COLOR).

``run``, ``resume`` and ``retry`` feed a :class:`Tally` from the engine's ``on_change``
callback; ``status --watch`` and ``wait`` build a :class:`Snapshot` from polled summaries.
Both are drawn by :func:`render`.
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

from jobman.cli.formatting import duration
from jobman.cli.output import Terminal
from jobman.spec import format_range

if TYPE_CHECKING:  # pragma: no cover
    from jobman.summary import SetSummary

#: Chunk statuses in the order the display lists them.
_ORDER = ("DONE", "RUNNING", "QUEUED", "SUBMITTING", "TRANSPILING", "RETRYING", "PENDING", "ERROR",
          "CANCELLED")
_FAILED = ("ERROR", "CANCELLED")


@dataclass
class Snapshot:
    """What the progress display shows at one moment."""

    label: str
    total: int
    done: int
    failed: int
    chunks: dict[str, int]
    elapsed: float
    rate: float
    retries: int | None = None

    @property
    def eta(self) -> float | None:
        """Seconds left at the current rate (None while unknown)."""
        remaining = self.total - self.done - self.failed
        if remaining <= 0:
            return 0.0
        return remaining / self.rate if self.rate > 0 else None

    def lines(self) -> tuple[str, str]:
        """The two text lines of the display (without the bar), unwrapped."""
        return self.counts(), " | ".join(" · ".join(group) for group in self.groups())

    def counts(self) -> str:
        """``1,230/2,000 circuits done (62%), 10 failed``."""
        share = 100 * (self.done + self.failed) / self.total if self.total else 100.0
        first = f"{self.done:,}/{self.total:,} circuits done ({share:.0f}%)"
        return first + (f", {self.failed:,} failed" if self.failed else "")

    def groups(self) -> list[list[str]]:
        """The second line's parts: chunks by status, rate, ETA, elapsed, retries. A part is
        never split over two lines; the chunk counts may be, between statuses."""
        chunks = [f"{s} {self.chunks[s]}" for s in _ORDER if self.chunks.get(s)] or ["none"]
        chunks[0] = f"chunks {chunks[0]}"
        groups = [chunks, [f"{self.rate:,.1f} circuits/s"], [f"ETA {duration(self.eta)}"],
                  [f"elapsed {duration(self.elapsed)}"]]
        return groups + ([[f"retries {self.retries}"]] if self.retries is not None else [])


#: The bar's width, at most and at least (narrower terminals put it on a line of its own).
BAR_WIDTH, MIN_BAR_WIDTH = 30, 10


def pack(groups: list[list[str]], width: int) -> list[str]:
    """Lay ``groups`` out as lines of at most ``width`` characters: groups apart by `` | ``,
    items of a group by `` · ``; a group moves to the next line whole where it fits there, and
    is split between its items only where it is wider than a line on its own."""
    lines: list[str] = []
    line = ""
    for group in groups:
        whole = " · ".join(group)
        if line and len(line) + 3 + len(whole) <= width:
            line += " | " + whole
            continue
        if line:
            lines.append(line)
        line = ""
        for item in group:
            if line and len(line) + 3 + len(item) > width:
                lines.append(line)
                line = item
            else:
                line = f"{line} · {item}" if line else item
    return lines + ([line] if line else [])


class ProgressView:
    """The display of a snapshot, laid out for the console's width: no line wraps (a line too
    long for a very narrow terminal ends in an ellipsis)."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot

    def __rich_console__(self, console: Any, options: Any) -> Iterator[Any]:
        from rich.progress_bar import ProgressBar
        from rich.table import Table
        from rich.text import Text

        snap, width = self.snapshot, options.max_width
        label, counts = snap.label, snap.counts()

        def bar(size: int) -> Any:
            return ProgressBar(total=max(snap.total, 1), completed=snap.done + snap.failed, width=size)

        def row(*cells: Any) -> Any:
            grid = Table.grid(padding=(0, 1))
            grid.add_row(*cells)
            return grid

        room = width - len(label) - len(counts) - 2
        if room >= MIN_BAR_WIDTH:
            yield row(Text(label, style="bold"), bar(min(BAR_WIDTH, room)), Text(counts))
        else:
            yield Text(label, style="bold", no_wrap=True, overflow="ellipsis")
            room = width - len(counts) - 1
            if room >= MIN_BAR_WIDTH:
                yield row(bar(min(BAR_WIDTH, room)), Text(counts))
            else:
                yield row(bar(max(1, min(BAR_WIDTH, width))))
                yield Text(counts, no_wrap=True, overflow="ellipsis")
        for line in pack(snap.groups(), width):
            yield Text(line, style="dim", no_wrap=True, overflow="ellipsis")


def render(snapshot: Snapshot) -> Any:
    """The rich renderable of a snapshot: label, bar and counts, then chunks, rate and ETA, laid
    out for the terminal's width (:class:`ProgressView`)."""
    return ProgressView(snapshot)


class RateMeter:
    """Circuits per second since the display started."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.started = clock()
        self.base: int | None = None

    def elapsed(self) -> float:
        return self.clock() - self.started

    def rate(self, done: int) -> float:
        """Rate of circuits done since the first call (which sets the base)."""
        if self.base is None:
            self.base = done
        elapsed = self.elapsed()
        return (done - self.base) / elapsed if elapsed > 0 else 0.0


class Tally:
    """Per-chunk counts from the engine's records; safe to read from the display's thread."""

    def __init__(self, total: int, num_chunks: int, chunks: Iterable[Any] = (),
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.total = total
        self.num_chunks = num_chunks
        self._lock = threading.Lock()
        self._chunks: dict[int, tuple[str, int, int, int]] = {}
        for record in chunks:
            self.update(record)
        self.meter = RateMeter(clock)
        self.meter.rate(self._sums()[0])

    def update(self, record: Any) -> None:
        """Take a chunk's new record (a :class:`~jobman.records.ChunkRecord`)."""
        final = record.job_status.is_final
        failed = record.failed_count()
        done = record.size - failed if final or record.failed else 0
        row = (record.status, done, failed if final else 0, max(0, len(record.attempts) - 1))
        with self._lock:
            self._chunks[record.index] = row

    def _sums(self) -> tuple[int, int, int, dict[str, int]]:
        with self._lock:
            rows = list(self._chunks.values())
        counts: dict[str, int] = {}
        for status, *_ in rows:
            counts[status] = counts.get(status, 0) + 1
        if len(rows) < self.num_chunks:
            counts["PENDING"] = counts.get("PENDING", 0) + self.num_chunks - len(rows)
        return (sum(r[1] for r in rows), sum(r[2] for r in rows), sum(r[3] for r in rows), counts)

    def snapshot(self, label: str) -> Snapshot:
        done, failed, retries, counts = self._sums()
        return Snapshot(label, self.total, done, failed, counts, self.meter.elapsed(),
                        self.meter.rate(done), retries)


def summary_snapshot(summary: "SetSummary", meter: RateMeter, label: str) -> Snapshot:
    """A snapshot from a polled summary (see :func:`jobman.summary.summarize`)."""
    circuits = summary.circuits
    done = circuits.get("DONE", 0)
    final = summary.status.is_final
    failed = sum(circuits.get(status, 0) for status in _FAILED) if final else 0
    return Snapshot(label, summary.total, done, failed, dict(summary.chunks),
                    set_elapsed(summary, meter), meter.rate(done))


def set_elapsed(summary: "SetSummary", meter: RateMeter, now: Callable[[], float] = time.time) -> float:
    """Seconds since the set started (to its end once finished); the display's own time before."""
    started, finished = summary.started, summary.finished
    if started is None:
        return meter.elapsed()
    return max(0.0, (finished if finished is not None else now()) - started)


@contextmanager
def live(terminal: Terminal, draw: Callable[[], Any]) -> Iterator[bool]:
    """Redraw ``draw()`` on stderr four times a second while inside; yields whether it draws."""
    if not terminal.live:
        yield False
        return
    from rich.console import Console
    from rich.live import Live

    from jobman.cli.output import colour_allowed

    console = Console(file=terminal.err, force_terminal=True, no_color=not colour_allowed())
    with Live(get_renderable=draw, console=console, refresh_per_second=4, transient=True,
              redirect_stdout=False, redirect_stderr=True):
        yield True


class RunProgress:
    """Progress of a run, resume or retry: a live display, or with -v a line per finished chunk."""

    def __init__(self, terminal: Terminal, verb: str) -> None:
        self.terminal = terminal
        self.verb = verb
        self.tally: Tally | None = None
        self.label = verb
        self._live: Any = None

    @property
    def on_change(self) -> Callable[[Any], None] | None:
        """The callback to give the engine (None when nothing would be shown)."""
        if self.terminal.live:
            return self._changed
        return self._log if self.terminal.verbose and not self.terminal.quiet else None

    def start(self, set_store: Any, fresh: bool = False) -> None:
        """Begin showing ``set_store``; ``fresh``: its chunks are all PENDING (skip reading them)."""
        if self.on_change is None:
            return
        record = set_store.record
        chunks = () if fresh else set_store.chunks()
        self.tally = Tally(record.total, record.num_chunks, chunks)
        self.label = f"{self.verb} {record.id}"
        if self.terminal.live and self._live is None:
            self._live = live(self.terminal, lambda: render(self.tally.snapshot(self.label)))
            self._live.__enter__()

    def close(self) -> None:
        """Remove the display (it is transient: the final report replaces it)."""
        if self._live is not None:
            live_display, self._live = self._live, None
            live_display.__exit__(None, None, None)

    def _changed(self, record: Any) -> None:
        if self.tally is not None:
            self.tally.update(record)

    def _log(self, record: Any) -> None:
        if record.job_status.is_final or record.status == "RETRYING":
            failed = record.failed_count()
            self.terminal.detail(f"chunk {record.index} (circuits {format_range(record.start, record.stop)})"
                                 f": {record.status}" + (f", {failed} failed" if failed else ""))


@contextmanager
def follow(terminal: Terminal, verb: str) -> Iterator[RunProgress]:
    """A :class:`RunProgress` for a run, resume or retry; its display ends with the block."""
    progress = RunProgress(terminal, verb)
    try:
        yield progress
    finally:
        progress.close()


"""Histograms and timelines drawn as text: Unicode bars that fit the terminal's width.

Colour only on a terminal that allows it (see :func:`jobman.cli.output.colour_allowed`);
elsewhere plain text, the same characters. Where stdout cannot encode block characters,
ASCII ``#`` bars.
"""

from __future__ import annotations

from typing import TextIO

from jobman.cli.formatting import clock_time, duration, plural
from jobman.histogram import Histogram, Series
from jobman.timeline import CANCELLED, DONE, ERROR, OUTCOMES, RETRIED, UNFINISHED, Timeline

#: Eighths of a cell, for bars that end between two characters.
_EIGHTHS = " ▏▎▍▌▋▊▉"
_FULL = "█"
#: A column of a side-by-side histogram needs room for a bar of at least this many cells.
_MIN_BAR = 8
#: The timeline's glyph for a running attempt by outcome; ``queued`` before it ran.
GLYPHS = {DONE: "█", RETRIED: "r", ERROR: "X", CANCELLED: "/", UNFINISHED: ">"}
QUEUED = "·"
#: Where attempts share a character, the rarer event shows (a retry is never hidden).
_PRIORITY = {ERROR: 5, RETRIED: 4, CANCELLED: 3, UNFINISHED: 2, DONE: 1}
_ANSI = {DONE: "32", RETRIED: "33", ERROR: "31", CANCELLED: "90", UNFINISHED: "34"}
#: Rows a text timeline shows; the rest is counted.
MAX_ROWS = 40


def unicode_ok(stream: TextIO) -> bool:
    """Whether ``stream`` can write block characters."""
    try:
        (_FULL + _EIGHTHS + QUEUED).encode(getattr(stream, "encoding", None) or "ascii")
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def bar(fraction: float, cells: int, unicode: bool = True) -> str:
    """A bar ``fraction`` (0-1) of ``cells`` long, to an eighth of a cell; a non-zero value
    shows at least a sliver."""
    eighths = round(max(0.0, min(1.0, fraction)) * cells * 8)
    if fraction > 0 and eighths == 0:
        eighths = 1
    if not unicode:
        return "#" * max(eighths // 8, 1 if fraction > 0 else 0)
    return _FULL * (eighths // 8) + (_EIGHTHS[eighths % 8] if eighths % 8 else "")


def histogram_text(histogram: Histogram, width: int, unicode: bool = True) -> list[str]:
    """Circuits side by side in columns when they fit in ``width``, else one block each."""
    if len(histogram.series) > 1:
        columns = _columns(histogram, width, unicode)
        if columns is not None:
            return columns
    lines: list[str] = []
    for series in histogram.series:
        lines.extend(_block(histogram, series, width, unicode))
    return lines


def _scale(histogram: Histogram) -> float:
    """The tallest probability: a full-width bar (so circuits compare)."""
    return max((s.probability(o) for s in histogram.series for o in histogram.outcomes), default=0.0) or 1.0


def _cell_width(histogram: Histogram) -> int:
    return len(str(max((n for s in histogram.series for n in s.counts.values()), default=0)))


def _block(histogram: Histogram, series: Series, width: int, unicode: bool) -> list[str]:
    """``circuit 42 (c42): 1,000 shots`` and a line per outcome: key, bar, probability, count."""
    keys = max(len(o) for o in histogram.outcomes)
    counts = _cell_width(histogram)
    cells = max(_MIN_BAR, width - 2 - keys - 1 - 1 - 5 - 2 - counts)
    scale = _scale(histogram)
    lines = [f"{series.label}: {series.shots:,} shots"]
    for outcome in (o for o in histogram.outcomes if series.counts.get(o)):  # its own outcomes
        share = series.probability(outcome)
        lines.append(f"  {outcome:<{keys}} {bar(share / scale, cells, unicode):<{cells}} {share:.3f}  "
                     f"{series.counts.get(outcome, 0):>{counts}}".rstrip())
    return lines


def _columns(histogram: Histogram, width: int, unicode: bool) -> list[str] | None:
    """Outcomes down, one column per circuit; None when the columns do not fit."""
    keys = max(len(o) for o in histogram.outcomes)
    counts = _cell_width(histogram)
    column = (width - keys - 2) // len(histogram.series) - 2
    cells = column - 1 - 5 - 1 - counts
    if cells < _MIN_BAR:
        return None
    scale = _scale(histogram)
    indent = " " * (keys + 2)
    lines = [(indent + "  ".join(_fit(text, column).ljust(column) for text in texts)).rstrip()
             for texts in ([s.label for s in histogram.series],
                           [f"{s.shots:,} shots" for s in histogram.series])]
    for outcome in histogram.outcomes:
        parts = []
        for series in histogram.series:
            share, count = series.probability(outcome), series.counts.get(outcome, 0)
            parts.append(f"{bar(share / scale, cells, unicode):<{cells}} {share:.3f} {count:>{counts}}"
                         if count else " " * column)  # no bar where a circuit never gave it
        lines.append((f"{outcome:<{keys}}  " + "  ".join(parts)).rstrip())
    return lines


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[:max(width - 1, 0)] + "…"


def timeline_text(timeline: Timeline, width: int, colour: bool = False, unicode: bool = True) -> list[str]:
    """A row per chunk, slot or session across ``width`` columns of time, then a legend."""
    if not timeline.spans:
        return ["no attempts yet"]
    glyphs = GLYPHS if unicode else dict(GLYPHS, **{DONE: "#"})
    queued = QUEUED if unicode else "."
    rows = timeline.rows[:MAX_ROWS]
    label_width = min(max((len(r.label) for r in rows), default=0), 24)
    cells = max(10, width - label_width - 2)
    span = max(timeline.end - timeline.start, 1e-9)
    elapsed = duration(timeline.end - timeline.start)
    lines = [" " * (label_width + 2) + "0s".ljust(cells - len(elapsed)) + elapsed]
    for row in rows:
        line: list[tuple[str, float]] = [(" ", 0)] * cells
        for item in row.spans:
            first = _cell(item.submitted - timeline.start, span, cells)
            begin = _cell(item.started - timeline.start, span, cells)
            last = max(_cell(item.finished - timeline.start, span, cells, end=True), begin)
            rank = _PRIORITY[item.outcome]
            for at in range(first, begin):
                if line[at][1] < 1:
                    line[at] = (queued, 0.5)
            for at in range(begin, last + 1):
                if line[at][1] < rank:
                    line[at] = (_paint(glyphs[item.outcome], item.outcome, colour), rank)
        lines.append(f"{_fit(row.label, label_width):<{label_width}}  " + "".join(c for c, _ in line).rstrip())
    if len(timeline.rows) > MAX_ROWS:
        lines.append(f"... and {len(timeline.rows) - MAX_ROWS} more rows (--by slot, or -o timeline.png "
                     "for all of them)")
    totals = timeline.totals()
    legend = "  ".join(f"{_paint(glyphs[o], o, colour)} {o} {totals[o]}" for o in OUTCOMES if o in totals)
    lines.append(f"{legend}  {queued} queued")
    return lines


def timeline_summary(timeline: Timeline, set_id: str, chunks: int, width: int = 80) -> str:
    """``job set ID: 10 chunks, 12 attempts in 4.2s from 09:45:12`` (shorter where it would not fit)."""
    attempts = len(timeline.spans)
    when = f" in {duration(timeline.end - timeline.start)} from {clock_time(timeline.start)}" if attempts else ""
    text = f"{set_id}: {plural(chunks, 'chunk')}, {plural(attempts, 'attempt')}{when}"
    return text if len(text) + 8 > width else "job set " + text


def _cell(offset: float, span: float, cells: int, end: bool = False) -> int:
    """The character a moment falls in (an end that falls on a boundary belongs to the left)."""
    position = offset / span * cells
    index = int(position) - (1 if end and position == int(position) and position > 0 else 0)
    return max(0, min(cells - 1, index))


def _paint(glyph: str, outcome: str, colour: bool) -> str:
    return f"\x1b[{_ANSI[outcome]}m{glyph}\x1b[0m" if colour else glyph

"""``jobman plot``: a histogram of circuits' outcomes, or a timeline of every attempt.

Without ``-o`` it draws text on stdout (Unicode bars fitted to the terminal); with ``-o`` a
PNG, SVG or PDF file through matplotlib (the optional ``plot`` extra). Read-only: never
imports qiskit.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import List, Literal, Optional

import typer
from typing_extensions import Annotated

from jobman.cli.app import (CIRCUITS_PANEL, OUTPUT_PANEL, SetArgument, StoreOption, app, flag, open_store,
                            terminal)
from jobman.exceptions import UsageError

#: More circuits than this side by side are no longer readable.
MAX_CIRCUITS = 12
TIMELINE_PANEL = "Timeline"


@app.command("plot")
def plot_command(
    set_id: SetArgument = None,
    circuit: Annotated[Optional[List[str]], typer.Option(
        "--circuit", "-c", metavar="SPEC", show_default=False,
        help=f"Circuits to draw side by side (repeatable; as for `jobman result`: 42, 100-103, 1,5, a "
        f"name, name:42; at most {MAX_CIRCUITS}).", rich_help_panel=CIRCUITS_PANEL)] = None,
    top: Annotated[Optional[int], typer.Option(
        "--top", "-t", metavar="N", min=1, help="Only each circuit's N most frequent outcomes; the "
        "others are summed in a 'rest' bar (default: all, at most 32).", rich_help_panel=OUTPUT_PANEL)] = None,
    timeline: Annotated[bool, flag("--timeline", help="Draw every chunk's attempts over time instead, "
                                   "coloured by outcome.", panel=TIMELINE_PANEL)] = False,
    by: Annotated[Optional[Literal["chunk", "slot", "session"]], typer.Option(
        "--by", help="Timeline rows: per chunk, per slot (jobs that ran at once apart) or per IBM "
        "session (default: session if any, chunk up to 40 chunks, else slot).",
        rich_help_panel=TIMELINE_PANEL)] = None,
    output: Annotated[Optional[Path], typer.Option(
        "--output", "-o", metavar="FILE", help="Write a picture file, .png, .svg or .pdf, instead of "
        "text on stdout (needs matplotlib: the plot extra of jobman).",
        rich_help_panel=OUTPUT_PANEL)] = None,
    store: StoreOption = None,
) -> int:
    """Draw circuits' outcomes as a histogram, or a job set's attempts over time.

    Text on stdout without -o; exit 3 if a chosen circuit has no counts.

    Example: jobman plot --circuit 42 --circuit 43 -o hist.png
    """
    from jobman.plot import file_format

    fmt = file_format(str(output)) if output is not None else None
    if timeline and (circuit or top is not None):
        raise UsageError("--timeline draws the whole set; --circuit and --top are for histograms")
    if not timeline and by is not None:
        raise UsageError("--by arranges a --timeline")
    if not timeline and not circuit:
        raise UsageError("give --circuit SPEC for a histogram of outcomes, or --timeline")
    set_store = open_store(store).open_set(set_id)
    if timeline:
        return _timeline(set_store, by, output, fmt)
    return _histogram(set_store, circuit or [], top, output, fmt)


def _histogram(set_store, specs: list[str], top: Optional[int], output: Optional[Path],
               fmt: Optional[str]) -> int:
    from jobman.histogram import build_histogram
    from jobman.result import ManagedResult
    from jobman.spec import parse_spec, unique_names

    result = ManagedResult(set_store)
    find = unique_names(set_store.find_names)
    indices = list(dict.fromkeys(i for spec in specs for i in parse_spec(spec, len(result), find)))
    if len(indices) > MAX_CIRCUITS:
        raise UsageError(f"{len(indices)} circuits are too many to draw side by side: pick at most "
                         f"{MAX_CIRCUITS} (`jobman result` prints any number)")
    drawn, missing = [], []
    for index in indices:
        item = result.circuit(index)
        label = f"circuit {item.index}" + (f" ({item.name})" if item.name else "")
        if item.counts:
            drawn.append((label, item.counts))
        else:
            missing.append(f"{label}: {item.status.value}" + (f": {item.error}" if item.error else ""))
    for line in missing:
        terminal.failure(f"no counts to draw: {line}")
    if not drawn:
        return 3
    histogram = build_histogram(drawn, top)
    if histogram.cut and top is None:
        terminal.info(f"showing the {len(histogram.outcomes) - 1} most frequent of {histogram.total_outcomes} "
                      "outcomes; the others are summed in 'rest' (--top N to choose)")
    if output is None:
        from jobman.cli.plot_text import histogram_text, unicode_ok

        terminal.data("\n".join(histogram_text(histogram, _width(), unicode_ok(terminal.out))))
    else:
        from jobman.plot import histogram_figure, render

        title = f"job set {set_store.id}" + (f": {drawn[0][0]}" if len(drawn) == 1 else "")
        _write(output, render(histogram_figure(histogram, title), fmt or "png"))
    return 3 if missing else 0


def _timeline(set_store, by: Optional[str], output: Optional[Path], fmt: Optional[str]) -> int:
    from jobman.summary import summarize
    from jobman.timeline import build_timeline

    chunks = set_store.chunks()
    running = summarize(set_store).status in ("RUNNING", "PENDING")
    built = build_timeline(chunks, by, now=time.time() if running else None)
    if output is None:
        from jobman.cli.output import colour_allowed, stream_is_interactive
        from jobman.cli.plot_text import timeline_summary, timeline_text, unicode_ok

        out = terminal.out
        colour = stream_is_interactive(out) and colour_allowed()
        width = _width()
        terminal.data(timeline_summary(built, set_store.id, len(chunks), width))
        terminal.data("\n".join(timeline_text(built, width, colour, unicode_ok(out))))
    else:
        from jobman.plot import render, timeline_figure

        _write(output, render(timeline_figure(built, f"job set {set_store.id}: attempts by {built.by}"),
                              fmt or "png"))
    return 0


def _width() -> int:
    """Columns to draw in: the terminal's ($COLUMNS first; 80 off a terminal) less one."""
    return max(40, shutil.get_terminal_size((80, 24)).columns - 1)  # the last column: no wrap


def _write(output: Path, data: bytes) -> None:
    """Write a picture as `jobman export -o` writes: a regular file is replaced atomically; a
    FIFO or device is written into; a symbolic link is refused."""
    from jobman.cli.destination import open_output

    with open_output(output, binary=True, command="plot") as handle:
        handle.write(data)
    terminal.info(f"wrote {output} ({len(data):,} bytes)")


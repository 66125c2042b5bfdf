"""Pictures of a job set as PNG, SVG or PDF files, drawn with matplotlib (``pip install jobman[plot]``).

:func:`histogram_figure` draws outcomes as ``qiskit.visualization.plot_histogram`` does
(probabilities, sorted outcomes, a label on each bar, circuits side by side);
:func:`timeline_figure` draws every attempt over time. Figures are made with matplotlib's
object API on the Agg canvas, never through pyplot, so drawing changes no global state
(the user's backend, open figures). Only this module imports matplotlib, and only when
called; the engine never does.
"""

from __future__ import annotations

import io
from pathlib import PurePath
from typing import Any

from jobman.exceptions import JobmanError, UsageError
from jobman.histogram import Histogram
from jobman.timeline import CANCELLED, DONE, ERROR, OUTCOMES, RETRIED, UNFINISHED, Timeline

#: File formats by suffix.
FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}
INSTALL_HINT = "pip install 'jobman[plot]' (or pip install matplotlib)"
#: Outcome colours of the timeline (matplotlib's tab10 where it has one that fits).
COLOURS = {DONE: "#2ca02c", RETRIED: "#ff7f0e", ERROR: "#d62728", CANCELLED: "#7f7f7f",
           UNFINISHED: "#1f77b4"}


class PlotUnavailable(JobmanError):
    """matplotlib is not installed; the message says how to install it."""


def file_format(path: str) -> str:
    """``png``, ``svg`` or ``pdf`` from a file name; a usage error for anything else."""
    suffix = PurePath(path).suffix.lower()
    if suffix not in FORMATS:
        raise UsageError(f"cannot tell the picture format of {path!r}: name it .png, .svg or .pdf")
    return FORMATS[suffix]


def require_matplotlib() -> None:
    """Raise :class:`PlotUnavailable` (saying how to install it) when matplotlib cannot be imported."""
    try:
        import matplotlib  # noqa: F401
        from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: F401
    except ImportError:
        raise PlotUnavailable(f"drawing a picture file needs matplotlib, which is not installed: "
                              f"{INSTALL_HINT}") from None


def _figure(width: float, height: float) -> Any:
    """A matplotlib Figure on an Agg canvas (no pyplot)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height))
    FigureCanvasAgg(figure)
    return figure


def render(figure: Any, fmt: str) -> bytes:
    """The figure as the bytes of a ``png``, ``svg`` or ``pdf`` file."""
    from matplotlib import rc_context

    buffer = io.BytesIO()
    # SVG text stays text (searchable, the labels readable in the file); fixed ids and no date,
    # so the same set draws the same file.
    with rc_context({"svg.fonttype": "none", "svg.hashsalt": "jobman"}):
        figure.savefig(buffer, format=fmt, dpi=100 if fmt == "png" else None,
                       metadata={"Date": None} if fmt in ("svg", "pdf") else None)
    return buffer.getvalue()


def histogram_figure(histogram: Histogram, title: str | None = None) -> Any:
    """Bars of probabilities per outcome, circuits side by side, as ``plot_histogram`` draws them."""
    require_matplotlib()
    from matplotlib import rcParams
    from matplotlib.ticker import MaxNLocator

    groups, outcomes = len(histogram.series), histogram.outcomes
    figure = _figure(max(7.0, 0.28 * len(outcomes) * (groups + 1) + 2.5 * (groups > 1)), 5.0)
    ax = figure.add_subplot()
    colours = rcParams["axes.prop_cycle"].by_key()["color"]
    width = 1 / (groups + 1)
    tallest = 0.0
    for position, series in enumerate(histogram.series):
        values = [series.probability(outcome) for outcome in outcomes]
        tallest = max([tallest, *values])
        shown = [(i, value) for i, value in enumerate(values) if value > 0]  # as qiskit: no empty bars
        bars = ax.bar([i + position * width for i, _ in shown], [value for _, value in shown], width,
                      label=series.label, color=colours[position % len(colours)], zorder=2)
        for bar, (_, value) in zip(bars, shown):
            ax.text(bar.get_x() + bar.get_width() / 2, 1.05 * value, _bar_label(value),
                    ha="center", va="bottom", zorder=3, fontsize=8 if groups > 1 else 10)
    ax.set_xticks([i + width / 2 * (groups - 1) for i in range(len(outcomes))])
    ax.set_xticklabels(outcomes, rotation=70, ha="right", rotation_mode="anchor")
    ax.set_ylabel("Probabilities", fontsize=14)
    ax.set_ylim(0.0, min(1.1, 1.1 * tallest) if tallest else 1.0)
    ax.yaxis.set_major_locator(MaxNLocator(5))
    ax.grid(which="major", axis="y", zorder=0, linestyle="--")
    if title:
        ax.set_title(title)
    if groups > 1:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), ncol=1, borderaxespad=0, frameon=True)
    figure.tight_layout()
    return figure


def _bar_label(value: float) -> str:
    """As qiskit labels a bar: the probability to 3 decimals, ``0`` below 0.001."""
    return str(round(value, 3)) if value >= 1e-3 else "0"


def timeline_figure(timeline: Timeline, title: str | None = None) -> Any:
    """A row per chunk, slot or session; each attempt a bar from submission (pale: queued) to
    its end (full colour: running), coloured by outcome."""
    require_matplotlib()
    from matplotlib.patches import Patch

    rows = timeline.rows
    figure = _figure(10.0, min(40.0, 1.6 + 0.3 * max(len(rows), 3)))
    ax = figure.add_subplot()
    total = max(timeline.end - timeline.start, 1e-3)
    least = total * 0.004  # an attempt that took no time (a refused submit call) still shows
    for y, row in enumerate(rows):
        for span in row.spans:
            colour = COLOURS[span.outcome]
            queued = span.started - span.submitted
            if queued > 0:
                ax.broken_barh([(span.submitted - timeline.start, queued)], (y - 0.4, 0.8),
                               facecolors=colour, alpha=0.35, edgecolor="none")
            ran = span.finished - span.started
            ax.broken_barh([(span.started - timeline.start, max(ran, least))], (y - 0.4, 0.8),
                           facecolors=colour, edgecolor="white" if ran > 4 * least else "none", linewidth=0.5)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels([row.label for row in rows], fontsize=8 if len(rows) <= 60 else 4)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_xlim(0, total * 1.02)
    ax.set_xlabel("seconds since the first submission")
    ax.grid(which="major", axis="x", zorder=0, linestyle="--", alpha=0.5)
    ax.set_axisbelow(True)
    totals = timeline.totals()
    handles = [Patch(color=COLOURS[o], label=f"{o} ({totals[o]})") for o in OUTCOMES if o in totals]
    handles.append(Patch(color="#999999", alpha=0.35, label="queued (pale)"))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0,
              frameon=True, fontsize=8)
    if title:
        ax.set_title(title)
    figure.tight_layout()
    return figure

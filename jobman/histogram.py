"""What a histogram of outcomes shows: circuits side by side over one set of sorted outcomes.

Pure data (no matplotlib, no qiskit): :mod:`jobman.plot` draws it into a file and
:mod:`jobman.cli.plot_text` onto a terminal, so both show the same bars.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

#: The bar that holds what ``--top`` (or :data:`DEFAULT_KEEP`) left out, as qiskit names it.
REST = "rest"
#: Outcomes drawn when the user gave no ``--top`` and the circuits have more than this many.
DEFAULT_KEEP = 32


@dataclass
class Series:
    """One circuit's bars: its label and counts by outcome (``rest`` included when cut)."""

    label: str
    counts: dict[str, int]
    shots: int

    def probability(self, outcome: str) -> float:
        """The share of shots that gave ``outcome`` (0 when it never did)."""
        return self.counts.get(outcome, 0) / self.shots if self.shots else 0.0


@dataclass
class Histogram:
    """Bars of several circuits over shared outcomes, sorted as qiskit sorts them (``rest`` last)."""

    outcomes: list[str]
    series: list[Series]
    #: Distinct outcomes before cutting, to say how many were left out.
    total_outcomes: int

    @property
    def cut(self) -> bool:
        """Whether some outcomes are summed into the ``rest`` bar."""
        return bool(self.outcomes) and self.outcomes[-1] == REST


def top_outcomes(counts: dict[str, int], keep: int) -> list[str]:
    """The ``keep`` most frequent outcomes (ties: the smaller bitstring first)."""
    return [key for key, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:keep]]


def build_histogram(named_counts: Sequence[tuple[str, dict[str, int]]], top: int | None = None,
                    default_keep: int = DEFAULT_KEEP) -> Histogram:
    """Bars for ``(label, counts)`` pairs.

    With ``top``, each circuit's ``top`` most frequent outcomes are kept (the union over the
    circuits is shown for every circuit); without it, all outcomes unless there are more than
    ``default_keep``, then each circuit's ``default_keep`` most frequent. Whatever is left out
    is summed into a last ``rest`` bar, so every circuit's bars still add up to its shots.
    """
    every = sorted({key for _, counts in named_counts for key in counts})
    keep = top if top is not None else (default_keep if len(every) > default_keep else None)
    shown = every if keep is None else sorted({key for _, counts in named_counts
                                               for key in top_outcomes(counts, keep)})
    cut = len(shown) < len(every)
    series = []
    for label, counts in named_counts:
        bars = {key: counts[key] for key in shown if key in counts}
        if cut:
            bars[REST] = sum(counts.values()) - sum(bars.values())
        series.append(Series(label, bars, sum(counts.values())))
    return Histogram(shown + ([REST] if cut else []), series, len(every))

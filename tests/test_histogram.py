"""Histogram data: sorted outcomes shared by circuits, ``--top`` and the ``rest`` bar."""

from __future__ import annotations

from jobman.histogram import REST, build_histogram, top_outcomes


def test_outcomes_are_sorted_and_shared_by_the_circuits():
    histogram = build_histogram([("a", {"11": 30, "00": 70}), ("b", {"01": 100})])
    assert histogram.outcomes == ["00", "01", "11"] and not histogram.cut
    a, b = histogram.series
    assert (a.probability("00"), a.probability("01"), b.probability("01")) == (0.7, 0.0, 1.0)
    assert (a.shots, b.shots, histogram.total_outcomes) == (100, 100, 3)


def test_top_keeps_each_circuits_most_frequent_and_sums_the_rest():
    assert top_outcomes({"10": 5, "01": 5, "11": 9, "00": 1}, 2) == ["11", "01"]
    histogram = build_histogram([("a", {"00": 50, "01": 30, "10": 20}), ("b", {"11": 60, "10": 40})], top=1)
    assert histogram.outcomes == ["00", "11", REST] and histogram.cut
    a, b = histogram.series
    assert a.counts == {"00": 50, REST: 50} and b.counts == {"11": 60, REST: 40}
    assert sum(a.counts.values()) == a.shots == 100


def test_many_outcomes_are_cut_by_default_and_top_shows_them_all():
    counts = {format(i, "06b"): i + 1 for i in range(64)}
    cut = build_histogram([("a", counts)], default_keep=8)
    assert cut.outcomes[-1] == REST and len(cut.outcomes) == 9 and cut.total_outcomes == 64
    assert cut.series[0].counts[REST] == sum(range(1, 57))
    assert len(build_histogram([("a", counts)], top=64, default_keep=8).outcomes) == 64

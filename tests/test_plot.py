"""Picture files of a real Aer set: a histogram like qiskit's and a timeline of its attempts."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET

import pytest

from conftest import ghz
from fault_backend import FaultLab, lab  # noqa: F401  (the fixture)
from jobman.histogram import build_histogram
from jobman.manager import JobManager
from jobman.plot import file_format, histogram_figure, render, timeline_figure
from jobman.timeline import build_timeline
from jobman.exceptions import UsageError

PNG = b"\x89PNG\r\n\x1a\n"
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def ghz_set(tmp_path_factory):
    """A real Aer run: GHZ states of 2 to 5 qubits, two chunks."""
    store = tmp_path_factory.mktemp("plot") / "store"
    return JobManager(store).run([ghz(n) for n in range(2, 6)], "aer", shots=400, seed=11, chunk_size=2)


def texts(svg: bytes) -> list[str]:
    return [element.text for element in ET.fromstring(svg).iter(f"{SVG}text") if element.text]


def test_histogram_png_and_svg_of_two_circuits(ghz_set):
    import matplotlib.image

    result = ghz_set.results()
    pairs = [("circuit 0 (ghz-2)", result.get_counts(0)), ("circuit 1 (ghz-3)", result.get_counts(1))]
    assert set(pairs[0][1]) == {"00", "11"} and set(pairs[1][1]) == {"000", "111"}
    figure = histogram_figure(build_histogram(pairs), title="ghz")
    png = render(figure, "png")
    assert png.startswith(PNG) and len(png) > 5000
    height, width, _ = matplotlib.image.imread(io.BytesIO(png)).shape
    assert width >= 700 and height == 500  # qiskit's 7 x 5 inches
    labels = texts(render(figure, "svg"))
    for outcome in ("00", "000", "11", "111", "circuit 0 (ghz-2)", "circuit 1 (ghz-3)", "Probabilities", "ghz"):
        assert outcome in labels
    share = round(result.get_counts(0)["00"] / 400, 3)
    assert str(share) in labels  # the bar's label, as qiskit writes it
    assert render(figure, "svg") == render(figure, "svg")  # the same picture every time


def test_timeline_png_of_a_real_run(ghz_set, tmp_path):
    import matplotlib.image

    timeline = build_timeline(ghz_set.set_store.chunks())
    assert [row.label for row in timeline.rows] == ["chunk 0 (0-1)", "chunk 1 (2-3)"]
    assert timeline.totals() == {"DONE": 2}
    png = render(timeline_figure(timeline, "attempts"), "png")
    assert png.startswith(PNG) and matplotlib.image.imread(io.BytesIO(png)).shape[1] == 1000
    labels = texts(render(timeline_figure(timeline), "svg"))
    assert "chunk 1 (2-3)" in labels and "DONE (2)" in labels


def test_timeline_shows_a_retried_attempt(store_dir, lab):  # noqa: F811
    lab.fail_job(chunk=1, transient=True)
    manager = JobManager(store_dir, clock=lab.clock.time, sleep=lab.clock.sleep, poll_interval=0.05)
    job_set = manager.run([ghz(2)] * 4, lab.backend(), shots=20, chunk_size=2)
    timeline = build_timeline(job_set.set_store.chunks())
    assert timeline.totals() == {"DONE": 2, "retried": 1}
    labels = texts(render(timeline_figure(timeline), "svg"))
    assert "retried (1)" in labels and "DONE (2)" in labels


def test_file_format_by_suffix():
    assert [file_format(n) for n in ("a.png", "b.SVG", "c.pdf")] == ["png", "svg", "pdf"]
    with pytest.raises(UsageError, match="name it .png, .svg or .pdf"):
        file_format("plot.jpg")


"""``jobman plot``: histograms and timelines as text on stdout and as PNG/SVG files."""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET

import pytest

from cli_support import ALPHA, BETA, invoke, demo_store  # noqa: F401,F811
from conftest import ghz, write_qpy

PNG = b"\x89PNG\r\n\x1a\n"
FULL = "█"


@pytest.fixture(scope="module")
def aer_store(tmp_path_factory):
    """A store with one real Aer set run by `jobman run`: GHZ states of 2 to 5 qubits."""
    folder = tmp_path_factory.mktemp("cliplot")
    qpy = write_qpy(folder / "ghz.qpy", [ghz(n) for n in range(2, 6)])
    store = folder / "store"
    ran = invoke("run", str(qpy), "--shots", "400", "--seed", "5", "--chunk-size", "2", store=store)
    assert ran.exit_code == 0, ran.stderr
    return store


def test_text_histogram_of_one_circuit_fits_the_width(aer_store):
    result = invoke("plot", "--circuit", "ghz-3", store=aer_store, env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "circuit 1 (ghz-3): 400 shots"
    assert [line.split()[0] for line in lines[1:]] == ["000", "111"]  # sorted, as qiskit sorts
    counts = [int(line.split()[-1]) for line in lines[1:]]
    shares = [float(line.split()[-2]) for line in lines[1:]]
    assert sum(counts) == 400 and shares == [round(c / 400, 3) for c in counts]
    assert all(FULL in line and len(line) <= 79 for line in lines[1:])
    assert max(len(line) for line in lines[1:]) >= 70  # the tallest bar spans the width


def test_text_circuits_side_by_side_and_in_blocks_when_narrow(demo_store):
    wide = invoke("plot", ALPHA, "-c", "4", "-c", "6-7", store=demo_store).stdout.splitlines()
    assert wide[0].split() == ["circuit", "4", "(c4)", "circuit", "6", "(c6)", "circuit", "7", "(c7)"]
    assert [line.split()[0] for line in wide[2:]] == ["00100", "00110", "00111"]
    assert wide[3].split()[0] == "00110" and wide[3].split()[2:] == ["1.000", "100"]
    assert wide[3].index(FULL) > wide[2].rindex("100")  # circuit 6's bar is in the second column
    narrow = invoke("plot", ALPHA, "-c", "4,6,7", store=demo_store, env={"COLUMNS": "50"}).stdout
    assert narrow.splitlines()[0] == "circuit 4 (c4): 100 shots" and narrow.count("shots") == 3
    assert max(len(line) for line in narrow.splitlines()) <= 49


def test_top_sums_the_rest_and_plain_text_off_a_terminal(aer_store):
    result = invoke("plot", "-c", "0", "--top", "1", store=aer_store)
    lines = result.stdout.splitlines()
    assert len(lines) == 3 and lines[2].split()[0] == "rest"
    assert int(lines[1].split()[-1]) + int(lines[2].split()[-1]) == 400
    assert "\x1b[" not in result.stdout


def test_png_and_svg_files(aer_store, tmp_path):
    import matplotlib.image

    png, svg = tmp_path / "hist.png", tmp_path / "hist.svg"
    made = invoke("plot", "-c", "0", "-c", "1", "-o", str(png), store=aer_store)
    assert made.exit_code == 0 and made.stdout == ""
    assert made.stderr == f"wrote {png} ({png.stat().st_size:,} bytes)\n"
    assert png.read_bytes().startswith(PNG) and png.stat().st_size > 5000
    assert matplotlib.image.imread(str(png)).shape[2] in (3, 4)
    assert invoke("plot", "-c", "0-1", "-o", str(svg), store=aer_store).exit_code == 0
    words = {e.text for e in ET.parse(svg).iter("{http://www.w3.org/2000/svg}text")}
    assert {"00", "11", "000", "111", "circuit 0 (ghz-2)", "circuit 1 (ghz-3)", "Probabilities"} <= words


def test_timeline_file_and_text(aer_store, tmp_path):
    out = tmp_path / "timeline.png"
    made = invoke("plot", "--timeline", "-o", str(out), store=aer_store)
    assert made.exit_code == 0 and out.read_bytes().startswith(PNG)
    text = invoke("plot", "--timeline", store=aer_store, env={"COLUMNS": "80"}).stdout.splitlines()
    assert text[0].startswith("job set ") and ": 2 chunks, 2 attempts in " in text[0] and len(text[0]) <= 79
    assert [line[:13] for line in text[2:4]] == ["chunk 0 (0-1)", "chunk 1 (2-3)"]
    assert all(FULL in line and len(line) <= 79 for line in text[2:4])
    assert text[-1] == f"{FULL} DONE 2  · queued"
    slots = invoke("plot", "--timeline", "--by", "slot", store=aer_store).stdout
    assert "slot 1" in slots


def test_timeline_of_a_set_that_never_ran(tmp_path):
    from cli_support import make_set

    make_set(tmp_path, "20260110-000000-nnnnnn", total=8, unfinished={0, 1})
    result = invoke("plot", "--timeline", store=tmp_path)
    assert result.exit_code == 0
    assert result.stdout == "job set 20260110-000000-nnnnnn: 2 chunks, 0 attempts\nno attempts yet\n"


def test_a_circuit_without_counts_is_named_and_exits_3(demo_store):
    result = invoke("plot", BETA, "-c", "4-5", store=demo_store)
    assert result.exit_code == 3 and result.stdout.startswith("circuit 4 (c4): 100 shots\n")
    assert result.stderr == "no counts to draw: circuit 5 (c5): ERROR: boom: bad gate\n"
    only = invoke("plot", BETA, "-c", "5", store=demo_store)
    assert (only.exit_code, only.stdout) == (3, "")


@pytest.mark.parametrize("args, code, message", [
    (["-c", "nope"], 1, "no circuit named 'nope' in this job set"),
    (["-c", "10"], 1, "circuit index 10 is out of range: this job set has circuits 0-9"),
    ([], 2, "give --circuit SPEC for a histogram of outcomes, or --timeline"),
    (["--timeline", "-c", "1"], 2, "--timeline draws the whole set; --circuit and --top are for histograms"),
    (["-c", "1", "--by", "slot"], 2, "--by arranges a --timeline"),
    (["-c", "1", "-o", "plot.jpg"], 2, "cannot tell the picture format of 'plot.jpg': name it .png, .svg or .pdf"),
])
def test_errors_are_one_line(demo_store, args, code, message):
    result = invoke("plot", ALPHA, *args, store=demo_store)
    assert (result.exit_code, result.stdout, result.stderr) == (code, "", f"Error: {message}\n")
    if args[:1] == ["-c"] and code == 1:  # the same words as `jobman result --circuit`
        assert invoke("result", ALPHA, *args, store=demo_store).stderr == result.stderr


def test_too_many_circuits_is_a_usage_error(tmp_path):
    from cli_support import make_set

    make_set(tmp_path, "20260110-000000-mmmmmm", total=20)
    result = invoke("plot", "-c", "0-12", store=tmp_path)
    assert result.exit_code == 2
    assert result.stderr == ("Error: 13 circuits are too many to draw side by side: pick at most 12 "
                             "(`jobman result` prints any number)\n")


def test_without_matplotlib_one_line_says_how_to_install(demo_store, tmp_path, monkeypatch):
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")] + ["matplotlib"]:
        monkeypatch.setitem(sys.modules, name, None)  # as if it were not installed
    result = invoke("plot", ALPHA, "-c", "1", "-o", str(tmp_path / "h.png"), store=demo_store)
    assert result.exit_code == 1 and not (tmp_path / "h.png").exists()
    assert result.stderr == ("Error: drawing a picture file needs matplotlib, which is not installed: "
                             "pip install 'jobman[plot]' (or pip install matplotlib)\n")
    assert invoke("plot", ALPHA, "-c", "1", store=demo_store).exit_code == 0  # text needs nothing


def test_a_link_is_never_written_through(demo_store, tmp_path):
    target = tmp_path / "target.png"
    target.write_bytes(b"keep")
    (tmp_path / "link.png").symlink_to(target)
    result = invoke("plot", ALPHA, "-c", "1", "-o", str(tmp_path / "link.png"), store=demo_store)
    assert result.exit_code == 1 and "is a symbolic link" in result.stderr
    assert target.read_bytes() == b"keep"

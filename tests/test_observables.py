"""The JSON form of observables (``jobman run --observables H.json``): each shape it allows, and
one ``UsageError`` saying what is wrong with a bad file."""

from __future__ import annotations

import json

import pytest

from jobman.exceptions import UsageError
from jobman.observables import parse_observables, read_observables_json


def test_one_observable_a_nested_array_and_named_ones():
    one, names = parse_observables([["ZZ", 1.0], ["XI", [0.5, 0.0]]], "H")
    assert one == [("ZZ", 1 + 0j), ("XI", 0.5 + 0j)] and names is None
    nested, _ = parse_observables([[[["ZZ", 1]]], [[["XX", 2]]]], "H")
    assert nested == [[[("ZZ", 1 + 0j)]], [[("XX", 2 + 0j)]]]  # shape (2, 1)
    named, names = parse_observables({"energy": [["ZZ", -1]], "x": [["XI", 1], ["IX", 1]]}, "H")
    assert names == ["energy", "x"] and named[1] == [("XI", 1 + 0j), ("IX", 1 + 0j)]


@pytest.mark.parametrize("data,message", [
    ([["ZQ", 1.0]], "H: term 0: 'ZQ' is not a Pauli string (letters I, X, Y, Z)"),
    ([["ZZ", 1.0], ["X", 1.0]], "H: Pauli strings of different widths (1, 2 qubits)"),
    ([["ZZ", "one"]], 'H: term 0 (ZZ): a coefficient is a number or [real, imag], not "one"'),
    ([], "H: give an observable as a list of [pauli, coefficient] pairs"),
    ({}, "H: no observables (an empty object)"),
    ([[["ZZ", 1]], [[["ZZ", 1]]]], "H: nested lists of different lengths"),
    (5, "H: give an observable as a list of [pauli, coefficient] pairs"),
])
def test_bad_forms_say_what_is_wrong(data, message):
    with pytest.raises(UsageError) as caught:
        parse_observables(data, "H")
    assert str(caught.value).startswith(message)


def test_files_that_are_not_json_or_missing(tmp_path):
    (tmp_path / "bad.json").write_text("[[\"ZZ\", 1.0]")
    with pytest.raises(UsageError, match=r"^--observables .*bad.json: not JSON \("):
        read_observables_json(tmp_path / "bad.json")
    with pytest.raises(UsageError, match=r"^--observables .*gone.json: no such file$"):
        read_observables_json(tmp_path / "gone.json")
    (tmp_path / "ok.json").write_text(json.dumps([["Z", 1]]))
    assert read_observables_json(tmp_path / "ok.json") == ([("Z", 1 + 0j)], None)

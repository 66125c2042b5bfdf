"""Circuit specs: indices, ranges, lists and names."""

import pytest

from jobman.exceptions import CircuitIndexError, UsageError
from jobman.spec import format_ranges, parse_spec, to_ranges

NAMES = {"bell": 3, "ghz-3": 7, "a,b": 9}


def parse(spec: str, total: int = 100) -> list[int]:
    return parse_spec(spec, total, NAMES.get)


def test_index_range_list_and_names():
    assert parse("42") == [42]
    assert parse("10-13") == [10, 11, 12, 13]
    assert parse("1,5,9-11") == [1, 5, 9, 10, 11]
    assert parse("bell") == [3]
    assert parse("ghz-3,2") == [7, 2]
    assert parse(" 0 - 1 ") == [0, 1]


def test_a_name_with_a_comma_is_found_whole():
    assert parse("a,b") == [9]


@pytest.mark.parametrize("spec, error, message", [
    ("100", CircuitIndexError, "circuit index 100 is out of range: this job set has circuits 0-99"),
    ("5-3", UsageError, "invalid circuit range '5-3': the end is before the start"),
    ("-5", UsageError, "invalid circuit spec '-5'"),
    ("1,,2", UsageError, "empty item in the list"),
    ("", UsageError, "empty circuit spec"),
    ("nosuch", CircuitIndexError, "no circuit named 'nosuch' in this job set"),
])
def test_bad_specs_are_refused_with_a_clear_message(spec, error, message):
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse(spec)


def test_ranges_round_trip():
    assert to_ranges([5, 1, 2, 3, 7, 8]) == [(1, 4), (5, 6), (7, 9)]
    assert format_ranges([1, 2, 3, 7]) == "1-3,7"


def test_open_ended_ranges_and_names_like_numbers():
    from jobman.spec import parse_spec

    names = {"42": 3, "a,b": 1}
    assert parse_spec("7-", 10, names.get) == [7, 8, 9]
    assert parse_spec("1,8-", 10, names.get) == [1, 8, 9]
    assert parse_spec("name:42", 10, names.get) == [3]
    assert parse_spec("name:42,5", 10, names.get) == [3, 5]
    assert parse_spec("name:a,b", 10, names.get) == [1]
    assert parse_spec("42", 50, names.get) == [42]
    with pytest.raises(CircuitIndexError):
        parse_spec("10-", 10, names.get)


def test_a_shared_name_is_ambiguous():
    from jobman.spec import unique_names

    table = {"ghz": [3, 17], "one": [5]}
    find = unique_names(lambda name: table.get(name, []))
    assert find("one") == 5 and find("none") is None
    with pytest.raises(CircuitIndexError, match=r"circuit name 'ghz' is ambiguous: 2 circuits have it \(3, 17\)"):
        find("ghz")

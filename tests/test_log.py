"""What jobman ignores on purpose is logged, and ``-vv`` shows it with its traceback."""

from __future__ import annotations

import logging

from jobman.log import quietly, swallowed


def _broken() -> None:
    raise ValueError("the hook is buggy")


def test_quietly_returns_none_and_logs_what_it_ignored(caplog):
    with caplog.at_level(logging.DEBUG, logger="jobman"):
        assert quietly(_broken) is None
    [record] = caplog.records
    assert record.levelno == logging.DEBUG and record.name == "jobman"
    assert "_broken" in record.getMessage() and "ValueError: the hook is buggy" in record.getMessage()
    assert record.exc_info[1].args == ("the hook is buggy",)


def test_vv_prints_ignored_errors_with_traceback_v_and_default_do_not(capsys):
    from jobman.cli.app import terminal

    try:
        for flags, shown in (([], False), (["-v"], False), (["-vv"], True)):
            terminal.reset()
            if flags:
                from jobman.cli.app import _set_verbose

                _set_verbose(len(flags[0]) - 1)
            try:
                raise KeyError("k")
            except KeyError as error:
                swallowed("a test", error)
            err = capsys.readouterr().err
            assert ("debug: ignored in a test: KeyError: 'k'" in err) is shown
            assert ("Traceback (most recent call last):" in err) is shown
    finally:
        terminal.reset()

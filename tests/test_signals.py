"""SIGTERM and SIGHUP raise like Ctrl-C inside ``like_ctrl_c`` (the end-to-end checks, with
real jobman processes and their Aer workers, are in test_resume_kill.py)."""

import os
import signal

import pytest

from jobman.exceptions import Interrupted, SignalReceived
from jobman.signals import like_ctrl_c


@pytest.mark.parametrize("signum,code", [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_the_first_signal_raises_like_ctrl_c_later_ones_wait_for_the_cleanup(signum, code):
    before = signal.getsignal(signum)
    cleaned = []
    with pytest.raises(SignalReceived) as caught:
        with like_ctrl_c():
            try:
                os.kill(os.getpid(), signum)
            finally:
                os.kill(os.getpid(), signum)  # a second one during the cleanup is ignored
                cleaned.append(True)
    assert cleaned == [True] and isinstance(caught.value, KeyboardInterrupt)
    assert caught.value.exit_code == code and caught.value.name == signal.Signals(signum).name
    assert signal.getsignal(signum) == before  # restored
    stopped = Interrupted.resumable("20261201-abc", caught.value)
    assert stopped.exit_code == code
    assert str(stopped) == (f"stopped by {signal.Signals(signum).name}; progress is saved: run "
                            "`jobman resume 20261201-abc` to carry on")


def test_an_ignored_signal_stays_ignored(monkeypatch):
    previous = signal.signal(signal.SIGHUP, signal.SIG_IGN)  # as under nohup
    try:
        with like_ctrl_c():
            os.kill(os.getpid(), signal.SIGHUP)
            assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGHUP, previous)

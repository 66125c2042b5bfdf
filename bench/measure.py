"""Time, CPU and memory of one command run as a subprocess, and the load around it.

Wall time is taken around the child's whole life; CPU time is the child's and its reaped
descendants' (jobman reaps its Aer workers). Memory is sampled (every 50 ms for the first
second, then every 0.5 s) over the child and all its descendants: the peak of the sum of
their proportional set sizes (PSS: shared pages split between the processes sharing them);
the child alone also has its peak RSS as the kernel reports it when the child is reaped.

Other people's work on the machine skews every figure, so each run also records the
*foreign load*: CPU the whole machine used during the run, less the run's own, in cores;
and :func:`settle` waits for a quiet moment before a run.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from statistics import median

import psutil

#: Seconds between memory samples: often at first (short runs), then rarely (reading a large
#: process's PSS costs the kernel a few milliseconds, taken from the run being measured).
FIRST_POLLS, FIRST_POLL_SECONDS, POLL_SECONDS = 20, 0.05, 0.5


@dataclass
class Sample:
    """One run of one command."""

    seconds: float
    cpu_seconds: float  # user + system of the child and its reaped descendants
    foreign_cores: float  # CPU others used meanwhile, in cores
    main_rss: int  # bytes: the child process's own peak RSS (its last VmHWM seen)
    tree_pss: int  # bytes: the peak of the summed PSS of the child and its descendants
    stdout: str


@dataclass
class Series:
    """Repeated runs of one command."""

    label: str
    circuits: int = 0  # circuits each run handles, where that means something
    samples: list[Sample] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return median(s.seconds for s in self.samples)

    @property
    def cpu_seconds(self) -> float:
        return median(s.cpu_seconds for s in self.samples)

    @property
    def tree_pss(self) -> int:
        return max(s.tree_pss for s in self.samples)

    @property
    def main_rss(self) -> int:
        return max(s.main_rss for s in self.samples)

    def spread(self) -> str:
        times = sorted(s.seconds for s in self.samples)
        foreign = median(s.foreign_cores for s in self.samples)
        return (f"median {median(times):.3f} s (min {times[0]:.3f}, max {times[-1]:.3f}, n={len(times)}), "
                f"cpu {self.cpu_seconds:.2f} s, foreign load {foreign:.2f} cores")


def busy_seconds() -> float:
    """CPU seconds the whole machine has spent not idle since boot."""
    times = psutil.cpu_times()
    return sum(times) - times.idle - getattr(times, "iowait", 0.0)


def settle(quiet_cores: float = 0.3, window: float = 0.5, patience: float = 30.0) -> float:
    """Wait (at most ``patience`` seconds) until the machine runs under ``quiet_cores`` of load."""
    deadline = time.monotonic() + patience
    while True:
        before = busy_seconds()
        time.sleep(window)
        load = (busy_seconds() - before) / window
        if load < quiet_cores or time.monotonic() > deadline:
            return load


def run(command: list[str], env: dict[str, str] | None = None, watch: bool = True,
        timeout: float = 7200) -> Sample:
    """Run ``command`` to its end (sampling its memory if ``watch``); raise if it fails."""
    with tempfile.TemporaryFile("w+") as out:
        busy, start = busy_seconds(), time.perf_counter()
        child = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
        watcher = _Watcher(child.pid) if watch else None
        if watcher is not None:
            watcher.start()
        killer = threading.Timer(timeout, child.kill)
        killer.start()
        try:
            _, status, usage = os.wait4(child.pid, 0)  # its CPU and its reaped children's
        finally:
            killer.cancel()
            if watcher is not None:
                watcher.stop()
        seconds, busy = time.perf_counter() - start, busy_seconds() - busy
        child.returncode = code = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read()
    if code != 0:
        raise RuntimeError(f"{' '.join(command)} exited with {code}:\n{text[-3000:]}")
    cpu = usage.ru_utime + usage.ru_stime
    return Sample(seconds, cpu, max(0.0, busy - cpu) / seconds, watcher.main_peak if watcher else 0,
                  watcher.peak if watcher else 0, text)


class _Watcher(threading.Thread):
    """Samples a process tree until stopped: the peak of its summed PSS, and the root's peak RSS.

    (Not ``ru_maxrss``: a child starts with its parent's peak RSS, and exec does not reset it.)
    """

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak = 0
        self.main_peak = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        try:
            root = psutil.Process(self.pid)
        except psutil.Error:
            return
        polls = 0
        while not self._stop_event.wait(FIRST_POLL_SECONDS if polls < FIRST_POLLS else POLL_SECONDS):
            polls += 1
            try:
                processes = [root, *root.children(recursive=True)]
            except psutil.Error:
                return
            self.peak = max(self.peak, sum(_pss(p) for p in processes))
            self.main_peak = max(self.main_peak, _high_water(root))

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


def _high_water(process: psutil.Process) -> int:
    """Peak RSS of a process so far, in bytes (0 once it is gone)."""
    try:
        with open(f"/proc/{process.pid}/status", "rb") as handle:
            for line in handle:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _pss(process: psutil.Process) -> int:
    """Proportional set size in bytes (RSS where the kernel does not report PSS)."""
    try:
        with open(f"/proc/{process.pid}/smaps_rollup", "rb") as handle:
            for line in handle:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return process.memory_info().rss
    except psutil.Error:
        return 0

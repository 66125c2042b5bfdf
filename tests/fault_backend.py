"""A scriptable fault-injecting backend that wraps the real AerBackend (tests only).

The real Aer path runs underneath every job; the lab only lies about it on request::

    lab = FaultLab()                         # real Aer, a fake clock, the jobs, the script
    lab.fail_submit(times=2)                 # the next 2 submit calls raise a transient error
    lab.fail_submit(after_create=True)       # the call fails, but the job was created anyway
    lab.fail_job(chunk=3, transient=False)   # chunk 3's next job ends in ERROR, permanently
    lab.hang(chunk=1)                        # chunk 1's next job stays RUNNING until release()
    lab.slow(5.0)                            # the next job takes 5 s of the lab's fake clock
    lab.fail_calls("wait", times=3)          # the next 3 wait() calls raise a transient error
    lab.crash_after_submit(chunk=0)          # submit creates the job, then the "process dies"
    lab.on_wait = lambda n: ...              # act at the n-th wait (release, cancel, Ctrl-C)
    backend = lab.backend(reattachable=True) # a view; any number share the lab's jobs

Jobs live in the lab, not in a backend, so a second backend can re-attach to a job that a
first one submitted (as a remote service would allow), and results can be fetched twice.
The fake clock never sleeps: ``lab.clock.sleep`` records the wait and moves time on.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import pytest

from jobman.backends.aer import AerBackend
from jobman.backends.base import Backend, BackendLimits, ChunkJob, CircuitOutcome, RunOptions
from jobman.exceptions import BackendError
from jobman.status import JobStatus


class SimulatedCrash(BaseException):
    """The process "dies" here: not an Exception, so nothing in jobman swallows it."""


class LabExhausted(BaseException):
    """A test waited far longer than it meant to (a hang nobody released)."""


class FakeClock:
    """Time that only moves when told to; ``sleeps`` lists every sleep asked for."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        self.now += max(0.0, seconds)


@dataclass
class Rule:
    """One scripted fault: fires on the next ``times`` matching events after ``skip`` of them."""

    kind: str
    chunk: int | None = None
    times: int = 1
    skip: int = 0
    transient: bool = True
    message: str = "injected fault"
    seconds: float = 0.0
    after_create: bool = False

    def error(self) -> BackendError:
        kind = "transient" if self.transient else "permanent"
        return BackendError(f"{self.message} ({kind})", transient=self.transient)


@dataclass
class FaultJob:
    """A job as the lab's "service" knows it."""

    job_id: str
    job: ChunkJob
    inner: str
    submitted: float
    error: BackendError | None = None
    hang: bool = False
    ready_at: float = 0.0
    cancelled: bool = False
    outcomes: list[CircuitOutcome] | None = None


class FaultLab:
    """The shared state behind :class:`FaultBackend` views: real Aer, jobs, script, clock."""

    def __init__(self, clock: FakeClock | None = None, max_waits: int = 20_000) -> None:
        self.aer = AerBackend()
        self.clock = clock or FakeClock()
        self.rules: list[Rule] = []
        self.jobs: dict[str, FaultJob] = {}
        self.submits: list[ChunkJob] = []  # every submit call, failed ones included
        self.calls: dict[str, int] = {}
        self.waits = 0
        self.max_waits = max_waits
        self.most_in_flight = 0
        self.on_wait: Callable[[int], None] | None = None
        self._ids = itertools.count(1)

    # scripting ------------------------------------------------------------------------
    def fail_submit(self, times: int = 1, transient: bool = True, chunk: int | None = None,
                    skip: int = 0, after_create: bool = False, message: str = "submit failed") -> None:
        """Make submit calls raise (``after_create``: the job exists all the same)."""
        self.rules.append(Rule("submit", chunk, times, skip, transient, message,
                               after_create=after_create))

    def fail_job(self, times: int = 1, transient: bool = True, chunk: int | None = None,
                 skip: int = 0, message: str = "job failed") -> None:
        """Make jobs run on Aer and then report ERROR."""
        self.rules.append(Rule("job", chunk, times, skip, transient, message))

    def hang(self, times: int = 1, chunk: int | None = None, skip: int = 0) -> None:
        """Make jobs stay RUNNING until :meth:`release`."""
        self.rules.append(Rule("hang", chunk, times, skip))

    def slow(self, seconds: float, times: int = 1, chunk: int | None = None, skip: int = 0) -> None:
        """Make jobs stay RUNNING for ``seconds`` of the fake clock."""
        self.rules.append(Rule("slow", chunk, times, skip, seconds=seconds))

    def fail_calls(self, method: str, times: int = 1, transient: bool = True,
                   message: str | None = None) -> None:
        """Make the next calls of ``method`` (status, wait, result, cancel, find_job) raise."""
        self.rules.append(Rule("call:" + method, None, times, 0, transient,
                               message or f"{method} call failed"))

    def crash_after_submit(self, chunk: int | None = None, times: int = 1, skip: int = 0) -> None:
        """Create the job, then raise :class:`SimulatedCrash` before its id is returned."""
        self.rules.append(Rule("crash", chunk, times, skip))

    def release(self) -> None:
        """Let every hanging job finish."""
        for job in self.jobs.values():
            job.hang = False

    def take(self, kind: str, chunk: int | None = None) -> Rule | None:
        """The rule that fires for this event, if any (used up as it fires)."""
        for rule in self.rules:
            if rule.kind != kind or rule.times <= 0 or (rule.chunk is not None and rule.chunk != chunk):
                continue
            if rule.skip > 0:
                rule.skip -= 1
                return None
            rule.times -= 1
            return rule
        return None

    # views and facts ------------------------------------------------------------------
    def backend(self, reattachable: bool = False, num_qubits: int | None = None,
                max_in_flight: int = 2) -> "FaultBackend":
        """A backend over this lab's jobs."""
        return FaultBackend(self, reattachable, num_qubits, max_in_flight)

    def jobs_of(self, chunk: int) -> list[FaultJob]:
        return [job for job in self.jobs.values() if job.job.chunk == chunk]

    def close(self) -> None:
        self.aer.close()


class FaultBackend(Backend):
    """A :class:`Backend` whose every call goes through a :class:`FaultLab`."""

    name = "fault"

    def __init__(self, lab: FaultLab, reattachable: bool, num_qubits: int | None,
                 max_in_flight: int) -> None:
        self.lab = lab
        self.reattachable = reattachable
        self.num_qubits = num_qubits
        self.default_max_in_flight = max_in_flight

    def limits(self) -> BackendLimits:
        return BackendLimits(num_qubits=self.num_qubits)

    def validate(self, circuit: Any) -> str | None:
        return super().validate(circuit) if self.num_qubits else None

    def prepare(self, circuits: list[Any], options: RunOptions) -> list[Any]:
        return self.lab.aer.prepare(circuits, options)

    def submit(self, job: ChunkJob, circuits: Sequence[Any], options: RunOptions) -> str:
        lab = self.lab
        lab.submits.append(job)
        rule = lab.take("submit", job.chunk)
        if rule is not None and not rule.after_create:
            raise rule.error()
        fault = FaultJob(f"fault-{next(lab._ids)}", job, lab.aer.submit(job, circuits, options),
                         lab.clock.time())
        failing = lab.take("job", job.chunk)
        fault.error = failing.error() if failing else None
        fault.hang = lab.take("hang", job.chunk) is not None
        slow = lab.take("slow", job.chunk)
        fault.ready_at = fault.submitted + (slow.seconds if slow else 0.0)
        lab.jobs[fault.job_id] = fault
        if rule is not None:
            raise rule.error()
        if lab.take("crash", job.chunk) is not None:
            raise SimulatedCrash(f"crashed after submitting {fault.job_id}")
        return fault.job_id

    def status(self, job_id: str) -> JobStatus:
        self._call("status")
        return self._status(self._job(job_id))

    def wait(self, job_ids: Sequence[str], timeout: float) -> dict[str, JobStatus]:
        lab = self.lab
        lab.waits += 1
        if lab.waits > lab.max_waits:
            raise LabExhausted(f"{lab.waits} waits: a hang was never released")
        self._call("wait")
        lab.most_in_flight = max(lab.most_in_flight, len(job_ids))
        if lab.on_wait is not None:
            lab.on_wait(lab.waits)
        jobs = [self._job(job_id) for job_id in job_ids]
        running = [job.inner for job in jobs if job.outcomes is None and not job.cancelled]
        if running:  # real Aer work: wait for it in real time, briefly
            lab.aer.wait(running, timeout=min(timeout, 0.05))
        states = {job.job_id: self._status(job) for job in jobs}
        if not any(state.is_final for state in states.values()):
            lab.clock.advance(timeout)
            time.sleep(0.001)
        return states

    def result(self, job_id: str) -> list[CircuitOutcome]:
        self._call("result")
        job = self._job(job_id)
        if job.error is not None:
            raise job.error
        if job.outcomes is None:
            job.outcomes = self.lab.aer.result(job.inner)
        return job.outcomes

    def job_error(self, job_id: str) -> BaseException | None:
        return self._job(job_id).error

    def cancel(self, job_id: str) -> None:
        self._call("cancel")
        job = self._job(job_id)
        if job.outcomes is None and self._status(job) not in (JobStatus.DONE, JobStatus.ERROR):
            job.cancelled = True
            self.lab.aer.cancel(job.inner)

    def find_job(self, job: ChunkJob) -> str | None:
        self._call("find_job")
        if not self.reattachable:
            return None
        found = [f.job_id for f in self.lab.jobs.values() if f.job.tags() == job.tags()]
        return found[-1] if found else None

    def close(self) -> None:
        """Nothing to release: the lab owns Aer and the jobs (a remote service would)."""

    # internals ------------------------------------------------------------------------
    def _job(self, job_id: str) -> FaultJob:
        try:
            return self.lab.jobs[job_id]
        except KeyError:
            raise BackendError(f"unknown job {job_id}") from None

    def _call(self, method: str) -> None:
        self.lab.calls[method] = self.lab.calls.get(method, 0) + 1
        rule = self.lab.take("call:" + method)
        if rule is not None:
            raise rule.error()

    def _status(self, job: FaultJob) -> JobStatus:
        if job.cancelled:
            return JobStatus.CANCELLED
        if job.outcomes is not None:
            return JobStatus.DONE
        inner = self.lab.aer.status(job.inner)
        if job.hang or self.lab.clock.time() < job.ready_at:
            return JobStatus.RUNNING
        if inner is JobStatus.DONE and job.error is not None:
            return JobStatus.ERROR
        return inner


@pytest.fixture
def lab():
    """A fresh :class:`FaultLab`; its Aer is shut down after the test."""
    fault_lab = FaultLab()
    yield fault_lab
    fault_lab.close()

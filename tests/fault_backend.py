"""A scriptable fault-injecting backend for engine tests (tests only).

Everything it does is decided by its script and its fake clock, never by real time, so a test
gives the same answer on an idle machine and on a loaded one::

    lab = FaultLab()                         # a fake clock, the jobs, the script (no Aer)
    lab = FaultLab(aer=True)                 # the same, with outcomes computed by real Aer
    lab.fail_submit(times=2)                 # the next 2 submit calls raise a transient error
    lab.fail_submit(times=None, chunk=1)     # every submit call of chunk 1 raises
    lab.fail_submit(after_create=True)       # the call fails, but the job was created anyway
    lab.fail_job(chunk=3, transient=False)   # chunk 3's next job ends in ERROR, permanently
    lab.fail_circuits(lambda i: i % 2)       # the next job's odd circuits fail alone
    lab.hang(chunk=1)                        # chunk 1's next job stays RUNNING until release()
    lab.slow(5.0)                            # the next job takes 5 s of the lab's fake clock
    lab.fail_calls("wait", times=3)          # the next 3 wait() calls raise a transient error
    lab.crash_after_submit(chunk=0)          # submit creates the job, then the "process dies"
    lab.list_late()                          # the next find_job finds nothing (listing lags)
    lab.on_wait = lambda n: ...              # act at the n-th wait (release, cancel, Ctrl-C)
    backend = lab.backend(reattachable=True) # a view; any number share the lab's jobs

Every rule must fire: the ``lab`` fixture fails a test that leaves one unfired (a test whose
premise did not happen proves nothing), and :meth:`FaultLab.release` refuses to run while a
hang rule is still waiting for its job. A job's outcomes are computed when it is submitted
(ideal simulation in this process, or real Aer waited for at once); when it is *seen* to finish
depends only on the fake clock and the script. ``lab.clock.sleep`` records the wait and moves
time on; nothing sleeps for real.

Jobs live in the lab, not in a backend, so a second backend can re-attach to a job that a
first one submitted (as a remote service would allow), and results can be fetched twice.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import pytest

from jobman.backends.base import (JOB_NOT_FOUND, Backend, BackendLimits, ChunkJob, CircuitOutcome,
                                  RunOptions)
from jobman.exceptions import BackendError
from jobman.status import JobStatus


#: Run a test on both runners: ``@IDEAL_AND_AER`` above a test that takes the ``lab`` fixture.
IDEAL_AND_AER = pytest.mark.parametrize("lab", [False, True], indirect=True, ids=["ideal", "aer"])


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
    times: int | None = 1  # None: every matching event
    skip: int = 0
    transient: bool = True
    message: str = "injected fault"
    seconds: float = 0.0
    after_create: bool = False
    fired: int = 0
    circuits: Callable[[int], bool] | None = None  # which global indices fail ("circuits" rules)

    def error(self) -> BackendError:
        kind = "transient" if self.transient else "permanent"
        return BackendError(f"{self.message} ({kind})", transient=self.transient)


@dataclass
class FaultJob:
    """A job as the lab's "service" knows it."""

    job_id: str
    job: ChunkJob
    outcomes: list[CircuitOutcome]
    submitted: float
    error: BackendError | None = None
    hang: bool = False
    ready_at: float = 0.0
    cancelled: bool = False
    fetched: bool = False


class IdealRunner:
    """Outcomes from qiskit's in-process reference simulator: no processes, no threads."""

    def __init__(self) -> None:
        from qiskit.providers.basic_provider import BasicSimulator

        self.simulator = BasicSimulator()

    def prepare(self, circuits: list[Any], options: RunOptions) -> list[Any]:
        return circuits

    def outcomes(self, job: ChunkJob, circuits: Sequence[Any], options: RunOptions
                 ) -> list[CircuitOutcome]:
        run_options: dict[str, Any] = {"shots": options.shots, "memory": options.memory}
        if options.seed is not None:
            run_options["seed_simulator"] = options.seed + job.start
        result = self.simulator.run(list(circuits), **run_options).result()
        return [_outcome(experiment) for experiment in result.results]

    def close(self) -> None:
        """Nothing to stop."""


class AerRunner:
    """Outcomes from the real :class:`AerBackend`, waited for at submit (never in a wait())."""

    def __init__(self) -> None:
        from jobman.backends.aer import AerBackend

        self.aer = AerBackend()

    def prepare(self, circuits: list[Any], options: RunOptions) -> list[Any]:
        return self.aer.prepare(circuits, options)

    def outcomes(self, job: ChunkJob, circuits: Sequence[Any], options: RunOptions
                 ) -> list[CircuitOutcome]:
        inner = self.aer.submit(job, circuits, options)
        self.aer.wait([inner], timeout=600)
        return self.aer.result(inner)

    def close(self) -> None:
        self.aer.close()


def _outcome(experiment: Any) -> CircuitOutcome:
    header = experiment.header
    num_clbits = int((header.get("memory_slots") if isinstance(header, dict)
                      else getattr(header, "memory_slots", 0)) or 0)
    if not experiment.success:
        return CircuitOutcome(JobStatus.ERROR, num_clbits, error=str(experiment.status))
    memory = getattr(experiment.data, "memory", None)
    return CircuitOutcome(JobStatus.DONE, num_clbits, counts=dict(experiment.data.counts),
                          memory=list(memory) if memory is not None else None)


class FaultLab:
    """The shared state behind :class:`FaultBackend` views: the runner, jobs, script, clock."""

    def __init__(self, clock: FakeClock | None = None, max_waits: int = 20_000,
                 aer: bool = False) -> None:
        self.runner: IdealRunner | AerRunner = AerRunner() if aer else IdealRunner()
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
    def fail_submit(self, times: int | None = 1, transient: bool = True, chunk: int | None = None,
                    skip: int = 0, after_create: bool = False, message: str = "submit failed") -> None:
        """Make submit calls raise (``after_create``: the job exists all the same)."""
        self.rules.append(Rule("submit", chunk, times, skip, transient, message,
                               after_create=after_create))

    def fail_job(self, times: int | None = 1, transient: bool = True, chunk: int | None = None,
                 skip: int = 0, message: str = "job failed") -> None:
        """Make jobs report ERROR when they end."""
        self.rules.append(Rule("job", chunk, times, skip, transient, message))

    def fail_circuits(self, which: Callable[[int], bool], times: int | None = 1,
                      chunk: int | None = None, message: str = "circuit failed") -> None:
        """Make the next jobs end DONE with the circuits ``which(global index)`` picks in ERROR
        (as Aer reports a circuit it cannot run), the others fine."""
        self.rules.append(Rule("circuits", chunk, times, message=message, circuits=which))

    def hang(self, times: int | None = 1, chunk: int | None = None, skip: int = 0) -> None:
        """Make jobs stay RUNNING until :meth:`release`."""
        self.rules.append(Rule("hang", chunk, times, skip))

    def slow(self, seconds: float, times: int | None = 1, chunk: int | None = None, skip: int = 0) -> None:
        """Make jobs stay RUNNING for ``seconds`` of the fake clock."""
        self.rules.append(Rule("slow", chunk, times, skip, seconds=seconds))

    def fail_calls(self, method: str, times: int | None = 1, transient: bool = True,
                   message: str | None = None) -> None:
        """Make the next calls of ``method`` (status, wait, result, cancel, find_job) raise."""
        self.rules.append(Rule("call:" + method, None, times, 0, transient,
                               message or f"{method} call failed"))

    def list_late(self, times: int | None = 1) -> None:
        """Make the next ``find_job`` calls find nothing (the service lists new jobs late)."""
        self.rules.append(Rule("list_late", None, times))

    def crash_after_submit(self, chunk: int | None = None, times: int | None = 1, skip: int = 0) -> None:
        """Create the job, then raise :class:`SimulatedCrash` before its id is returned."""
        self.rules.append(Rule("crash", chunk, times, skip))

    def release(self) -> None:
        """Let every hanging job finish. A hang rule that never fired is the test's mistake
        (its job was not submitted when the test thought it was): say so instead of hanging."""
        waiting = [rule for rule in self.unfired() if rule.kind == "hang"]
        assert not waiting, f"hang rules never fired: {waiting}"
        for job in self.jobs.values():
            job.hang = False

    def take(self, kind: str, chunk: int | None = None) -> Rule | None:
        """The rule that fires for this event, if any (used up as it fires)."""
        for rule in self.rules:
            if rule.kind != kind or rule.times == 0 or (rule.chunk is not None and rule.chunk != chunk):
                continue
            if rule.skip > 0:
                rule.skip -= 1
                return None
            if rule.times is not None:
                rule.times -= 1
            rule.fired += 1
            return rule
        return None

    def unfired(self) -> list[Rule]:
        """Rules with firings left (every rule a test sets up is meant to fire in full; one
        for every event, ``times=None``, at least once)."""
        return [rule for rule in self.rules if rule.times or not rule.fired]

    # views and facts ------------------------------------------------------------------
    def backend(self, reattachable: bool = False, num_qubits: int | None = None,
                max_in_flight: int = 2) -> "FaultBackend":
        """A backend over this lab's jobs."""
        return FaultBackend(self, reattachable, num_qubits, max_in_flight)

    def jobs_of(self, chunk: int) -> list[FaultJob]:
        return [job for job in self.jobs.values() if job.job.chunk == chunk]

    def close(self) -> None:
        self.runner.close()


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
        return self.lab.runner.prepare(circuits, options)

    def submit(self, job: ChunkJob, circuits: Sequence[Any], options: RunOptions) -> str:
        lab = self.lab
        lab.submits.append(job)
        rule = lab.take("submit", job.chunk)
        if rule is not None and not rule.after_create:
            raise rule.error()
        fault = FaultJob(f"fault-{next(lab._ids)}", job, lab.runner.outcomes(job, circuits, options),
                         lab.clock.time())
        broken = lab.take("circuits", job.chunk)
        if broken is not None and broken.circuits is not None:
            indices = [g for start, stop in job.ranges() for g in range(start, stop)]
            fault.outcomes = [CircuitOutcome(JobStatus.ERROR, o.num_clbits, error=broken.message)
                              if broken.circuits(g) else o for g, o in zip(indices, fault.outcomes)]
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
        states = {job_id: self._status(self._job(job_id)) for job_id in job_ids}
        if not any(state.is_final for state in states.values()):
            lab.clock.advance(timeout)
        return states

    def result(self, job_id: str) -> list[CircuitOutcome]:
        self._call("result")
        job = self._job(job_id)
        if job.error is not None:
            raise job.error
        if self._status(job) is not JobStatus.DONE:
            raise BackendError(f"job {job_id} is not done", transient=False)
        job.fetched = True
        return job.outcomes

    def job_error(self, job_id: str) -> BaseException | None:
        return self._job(job_id).error

    def cancel(self, job_id: str) -> None:
        self._call("cancel")
        job = self._job(job_id)
        if self._status(job) not in (JobStatus.DONE, JobStatus.ERROR):
            job.cancelled = True

    def find_job(self, job: ChunkJob) -> str | None:
        self._call("find_job")
        if not self.reattachable or self.lab.take("list_late") is not None:
            return None
        found = [f.job_id for f in self.lab.jobs.values() if f.job.tags() == job.tags()]
        return found[-1] if found else None

    def close(self) -> None:
        """Nothing to release: the lab owns the runner and the jobs (a remote service would)."""

    # internals ------------------------------------------------------------------------
    def _job(self, job_id: str) -> FaultJob:
        try:
            return self.lab.jobs[job_id]
        except KeyError:
            raise BackendError(f"unknown job {job_id}", code=JOB_NOT_FOUND) from None

    def _call(self, method: str) -> None:
        self.lab.calls[method] = self.lab.calls.get(method, 0) + 1
        rule = self.lab.take("call:" + method)
        if rule is not None:
            raise rule.error()

    def _status(self, job: FaultJob) -> JobStatus:
        if job.cancelled:
            return JobStatus.CANCELLED
        if job.hang or self.lab.clock.time() < job.ready_at:
            return JobStatus.RUNNING
        return JobStatus.ERROR if job.error is not None else JobStatus.DONE


@pytest.fixture
def lab(request):
    """A fresh :class:`FaultLab`, without Aer unless parametrized ``indirect`` with True (see
    :data:`IDEAL_AND_AER`); the test fails if one of its rules never fired."""
    fault_lab = FaultLab(aer=getattr(request, "param", False))
    yield fault_lab
    fault_lab.close()
    assert not fault_lab.unfired(), f"fault rules that never fired: {fault_lab.unfired()}"

"""Exceptions raised by jobman. Every one derives from :class:`JobmanError`.

The CLI translates these once, at its edge, into an ``Error: ...`` line and an exit code.
"""

from __future__ import annotations


class JobmanError(Exception):
    """Base class for every error jobman raises on purpose."""

    exit_code: int = 1


class InputError(JobmanError, ValueError):
    """The user's input (files, options, circuit specs) cannot be used."""


class UsageError(InputError):
    """An option or argument has a value that is not allowed (exit code 2)."""

    exit_code = 2


class StoreError(JobmanError):
    """The store cannot be read or written, or holds data this version cannot read."""


class DamagedSetError(StoreError):
    """A job set's files are not what jobman wrote (damaged, truncated, replaced by a link)."""


class SetNotFoundError(InputError):
    """No job set matches the given id or prefix, or the prefix is ambiguous."""


class SetLockedError(JobmanError):
    """Another process is already running or resuming this job set."""


class BackendError(JobmanError):
    """A backend call failed. ``transient`` says whether retrying may help."""

    def __init__(self, message: str, *, transient: bool = False, code: str | None = None) -> None:
        super().__init__(message)
        self.transient = transient
        self.code = code


class CircuitIndexError(InputError, IndexError):
    """A circuit index or name does not exist in the job set."""


class Interrupted(JobmanError):
    """The run was interrupted (Ctrl-C, SIGTERM, SIGHUP); state is saved and the set can be
    resumed. The exit code is 130 for Ctrl-C and 128 + the signal's number otherwise."""

    exit_code = 130

    def __init__(self, message: str, exit_code: int = 130) -> None:
        super().__init__(message)
        self.exit_code = exit_code

    @classmethod
    def resumable(cls, set_id: str, cause: BaseException) -> "Interrupted":
        """How a set stopped by ``cause`` (a KeyboardInterrupt) says how to carry on."""
        how = "interrupted" if not isinstance(cause, SignalReceived) else f"stopped by {cause.name}"
        return cls(f"{how}; progress is saved: run `jobman resume {set_id}` to carry on",
                   exit_code=getattr(cause, "exit_code", 130))


class SignalReceived(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised where Ctrl-C would be so that it is handled the same way (see
    :mod:`jobman.signals`). Not a :class:`JobmanError`: like Ctrl-C, nothing may swallow it."""

    def __init__(self, signum: int) -> None:
        import signal

        super().__init__(signum)
        self.signum = signum
        self.name = signal.Signals(signum).name
        self.exit_code = 128 + signum


class JobmanWarning(UserWarning):
    """Something the user should know that does not stop the run (the CLI prints ``Warning: ...``)."""


class JobSetTimeoutError(JobmanError, TimeoutError):
    """A wait for a set's final state ran out of time (exit code 124, as timeout(1))."""

    exit_code = 124


class SetInterruptedError(JobmanError):
    """The set is INTERRUPTED: no process runs it and work is left (``jobman resume`` it)."""

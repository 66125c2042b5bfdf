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
    """The run was interrupted (Ctrl-C); state is saved and the set can be resumed."""

    exit_code = 130

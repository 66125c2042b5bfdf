"""Picking job sets from the store by state, name and count (``jobman list``, ``JobManager.job_sets``)."""

from __future__ import annotations

import fnmatch
from typing import TYPE_CHECKING, Iterable, Iterator

from jobman.exceptions import UsageError

if TYPE_CHECKING:  # pragma: no cover
    from jobman.store import SetStore, Store
    from jobman.summary import SetSummary


def check_states(states: Iterable[str] | None) -> set[str]:
    """Upper-cased lifecycle state names; a usage error names the known ones."""
    from jobman.status import SetState

    known = [state.value for state in SetState]
    wanted = {str(state).upper() for state in states or ()}
    unknown = sorted(wanted - set(known))
    if unknown:
        raise UsageError(f"unknown set status {unknown[0]!r}; use one of {', '.join(known)}")
    return wanted


def name_matches(name: str, pattern: str) -> bool:
    """Shell-style match when ``pattern`` has ``*?[``, else a case-sensitive substring match."""
    if any(char in pattern for char in "*?["):
        return fnmatch.fnmatchcase(name, pattern)
    return pattern in name


def select_sets(store: "Store", states: set[str], pattern: str | None, limit: int | None
                ) -> Iterator[tuple["SetStore", "SetSummary"]]:
    """Matching sets with their summaries, newest first; stops reading once ``limit`` are found."""
    from jobman.summary import summarize

    found = 0
    for set_store in store.list_sets():
        if limit is not None and found >= limit:
            return
        if pattern is not None and not name_matches(set_store.record.name, pattern):
            continue
        summary = summarize(set_store)
        if states and summary.status.value not in states:
            continue
        found += 1
        yield set_store, summary

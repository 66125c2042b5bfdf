"""Every path in the store is built here, and nowhere else."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from jobman.exceptions import UsageError

#: A set id is letters, digits, ``-`` and ``_``: never a path.
SET_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")


def default_root() -> Path:
    """The store root: ``$JOBMAN_HOME``, else the platform's user data directory."""
    env = os.environ.get("JOBMAN_HOME")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("jobman", appauthor=False))


def check_set_id(text: str) -> str:
    """Return ``text`` if it can be a set id (or a prefix of one); raise UsageError otherwise."""
    if not SET_ID_PATTERN.match(text):
        raise UsageError(f"invalid job set id {text!r}: use letters, digits, '-' and '_' only")
    return text


@dataclass(frozen=True)
class SetPaths:
    """The files of one job set, under ``<root>/<set id>/``."""

    root: Path
    set_id: str

    @property
    def folder(self) -> Path:
        return self.root / self.set_id

    @property
    def set_file(self) -> Path:
        return self.folder / "set.json"

    @property
    def lock_file(self) -> Path:
        return self.folder / "lock"

    @property
    def cancel_file(self) -> Path:
        return self.folder / "cancel-requested"

    @property
    def log_file(self) -> Path:
        """The output of the background process of a detached run (``jobman logs``)."""
        return self.folder / "run.log"

    @property
    def chunks_folder(self) -> Path:
        return self.folder / "chunks"

    @property
    def results_folder(self) -> Path:
        return self.folder / "results"

    @property
    def transpiled_folder(self) -> Path:
        return self.folder / "transpiled"

    def chunk_file(self, chunk: int) -> Path:
        return self.chunks_folder / f"{chunk:06d}.json"

    def results_file(self, chunk: int) -> Path:
        return self.results_folder / f"{chunk:06d}.jsonl"

    def names_file(self, chunk: int) -> Path:
        return self.results_folder / f"{chunk:06d}.names.json"

    def memory_file(self, chunk: int) -> Path:
        return self.results_folder / f"{chunk:06d}.memory.jsonl"

    def transpiled_file(self, chunk: int) -> Path:
        return self.transpiled_folder / f"{chunk:06d}.qpy"

    def transpiled_index_file(self, chunk: int) -> Path:
        """The global indices of the circuits in :meth:`transpiled_file`, in file order."""
        return self.transpiled_folder / f"{chunk:06d}.index.json"

"""Store paths: set ids can never be paths, and the root follows $JOBMAN_HOME."""

from __future__ import annotations

from pathlib import Path

import pytest

from jobman.exceptions import UsageError
from jobman.paths import SetPaths, check_set_id, default_root


@pytest.mark.parametrize("bad", ["../x", "a/b", ".hidden", "", "a b", "-flag"])
def test_a_set_id_that_could_be_a_path_is_refused(bad):
    with pytest.raises(UsageError, match="invalid job set id"):
        check_set_id(bad)


def test_the_root_is_jobman_home_else_the_user_data_directory(monkeypatch, tmp_path):
    monkeypatch.setenv("JOBMAN_HOME", str(tmp_path / "store"))
    assert default_root() == tmp_path / "store"
    monkeypatch.delenv("JOBMAN_HOME")
    assert default_root().name == "jobman"


def test_every_file_of_a_set_is_inside_its_folder(tmp_path):
    paths = SetPaths(tmp_path, "20260101-000000-aaaaaa")
    files = [paths.set_file, paths.lock_file, paths.cancel_file, paths.log_file, paths.chunk_file(3),
             paths.results_file(3), paths.names_file(3), paths.memory_file(3),
             paths.transpiled_file(3), paths.transpiled_index_file(3)]
    assert all(Path(f).is_relative_to(paths.folder) for f in files)
    assert len(set(files)) == len(files)
    assert paths.chunk_file(3).name.startswith("000003")

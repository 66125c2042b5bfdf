"""File operations inside the store: links refused, private modes whatever the umask."""

from __future__ import annotations

import os
import stat

import pytest

from jobman.exceptions import StoreError
from jobman.fsio import atomic_write, make_folder, read_bytes, read_json


def test_reads_refuse_links_fifos_and_folders(tmp_path):
    target = tmp_path / "target.json"
    target.write_text("{}")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    with pytest.raises(StoreError, match="link.json is a symbolic link; jobman never follows links"):
        read_json(link)
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(StoreError, match="fifo is not a regular file"):
        read_bytes(tmp_path / "fifo")  # refused at once, never blocks waiting for a writer
    with pytest.raises(StoreError, match="not a regular file"):
        read_bytes(tmp_path)
    with pytest.raises(FileNotFoundError):
        read_bytes(tmp_path / "absent")


def test_writes_never_go_through_a_link(tmp_path):
    precious = tmp_path / "precious"
    precious.write_text("keep")
    folder = tmp_path / "store"
    folder.mkdir()
    (folder / f".data.json.{os.getpid()}.tmp").symlink_to(precious)  # planted at the temporary name
    (folder / "data.json").symlink_to(precious)
    atomic_write(folder / "data.json", b"new")
    assert precious.read_text() == "keep"
    assert not (folder / "data.json").is_symlink() and (folder / "data.json").read_text() == "new"


@pytest.mark.parametrize("umask", [0o000, 0o022, 0o077])
def test_folders_0700_files_0600_whatever_the_umask(tmp_path, umask):
    old = os.umask(umask)
    try:
        make_folder(tmp_path / "f")
        atomic_write(tmp_path / "f" / "x", b"1")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "f").st_mode) == 0o700
    assert stat.S_IMODE(os.stat(tmp_path / "f" / "x").st_mode) == 0o600


def test_make_folder_refuses_a_link(tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    with pytest.raises(StoreError, match="is a symbolic link"):
        make_folder(tmp_path / "link")

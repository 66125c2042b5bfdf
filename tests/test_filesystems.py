"""A store on a network filesystem: sets are read there, never written (unless trusted)."""

from __future__ import annotations

import pytest

from cli_support import invoke, make_set
from jobman import filesystems
from jobman.exceptions import StoreError
from jobman.filesystems import check_writable_here, filesystem_type

LOCAL = "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"


def table(*mounts: tuple[str, str]) -> str:
    """A mountinfo table (proc(5)) with the root on ext4 and ``mounts`` (point, type) over it."""
    lines = [LOCAL] + [f"{30 + i} 22 0:{40 + i} / {point.replace(' ', chr(92) + '040')} rw shared:{i} "
                       f"- {kind} server:/export rw,vers=4.2\n" for i, (point, kind) in enumerate(mounts)]
    return "".join(lines)


def test_the_deepest_mount_holding_a_path_names_its_filesystem(tmp_path):
    home, scratch = tmp_path / "home", tmp_path / "scratch dir"
    home.mkdir()
    scratch.mkdir()
    mounts = table((str(home), "nfs4"), (str(scratch), "lustre"), (str(home / "u" / "local"), "ext4"))
    assert filesystem_type(home / "u" / "not-yet" / "store", mounts) == "nfs4"  # nearest existing parent
    assert filesystem_type(scratch / "jobman", mounts) == "lustre"  # octal escape in the mount point
    assert filesystem_type(tmp_path / "homely", mounts) == "ext4"  # a prefix of a name is not a parent
    assert filesystem_type(tmp_path, "garbage\n") is None


def test_writing_on_a_network_filesystem_is_refused_unless_trusted(tmp_path, monkeypatch):
    monkeypatch.delenv(filesystems.TRUST_VARIABLE, raising=False)
    mounts = table((str(tmp_path), "nfs"))
    with pytest.raises(StoreError, match=r"on a network filesystem \(nfs\).*set JOBMAN_HOME"):
        check_writable_here(tmp_path / "store", mounts)
    check_writable_here(tmp_path / "store", table((str(tmp_path), "tmpfs")))
    monkeypatch.setenv(filesystems.TRUST_VARIABLE, "trust")
    check_writable_here(tmp_path / "store", mounts)


def test_on_nfs_run_is_one_error_line_and_status_still_reads(tmp_path, monkeypatch, small_qpy):
    store = tmp_path / "store"
    make_set(store, "20260101-000000-aaaaaa", name="before")  # made before the store moved to NFS
    mountinfo = tmp_path / "mountinfo"
    mountinfo.write_text(table((str(tmp_path), "nfs4")))
    monkeypatch.setattr(filesystems, "MOUNTINFO", mountinfo)
    monkeypatch.delenv(filesystems.TRUST_VARIABLE, raising=False)

    ran = invoke("run", str(small_qpy), store=store)
    assert ran.exit_code == 1 and ran.stdout == ""
    assert ran.stderr.startswith(f"Error: the store {store} is on a network filesystem (nfs4)")
    assert ran.stderr.count("\n") == 1
    assert [p.name for p in store.iterdir()] == ["20260101-000000-aaaaaa"]  # nothing made
    for command in (["resume", "before"], ["delete", "before", "--yes"]):
        refused = invoke(*command, store=store)
        assert refused.exit_code == 1 and "network filesystem" in refused.stderr, command
    status = invoke("status", "before", store=store)
    assert status.exit_code == 0 and "DONE" in status.stderr + status.stdout

    trusted = invoke("run", str(small_qpy), store=store, env={filesystems.TRUST_VARIABLE: "trust"})
    assert trusted.exit_code == 0, trusted.stderr

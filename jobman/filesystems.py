"""Which filesystem a store lives on, and whether a set may be written there.

A set's writer holds an flock on its ``lock`` file so that one process writes it at a time.
On network filesystems that promise is not kept everywhere: Lustre mounted with ``localflock``
grants locks per node, NFS without a lock daemon refuses or fakes them, and a cluster's home
directory (the default store) is often such a mount. Two runs of one set on two nodes would both
submit its work (paid twice) and interleave its records. So jobman refuses to write a set on a
network filesystem, with one line saying to point ``JOBMAN_HOME`` (or ``--store``) at a local
disk; reading (``status``, ``result``, ``export``) works anywhere. ``JOBMAN_NETWORK_FS=trust``
is for a site that knows its locks are coherent across nodes (NFSv4 with working locks, GPFS).

The filesystem is found in ``/proc/self/mountinfo`` (Linux); elsewhere nothing is refused.
"""

from __future__ import annotations

import os
from pathlib import Path

from jobman.exceptions import StoreError

MOUNTINFO = Path("/proc/self/mountinfo")
#: Filesystem types whose locks may not hold across machines.
NETWORK_TYPES = frozenset({
    "nfs", "nfs4", "lustre", "gpfs", "cifs", "smb3", "smbfs", "ceph", "glusterfs", "beegfs",
    "fuse.sshfs", "fuse.glusterfs", "fuse.ceph", "fuse.beegfs", "afs", "ocfs2", "gfs2",
    "pvfs2", "orangefs", "panfs", "wekafs", "fuse.s3fs", "fuse.gcsfuse",
})
TRUST_VARIABLE = "JOBMAN_NETWORK_FS"


def filesystem_type(path: Path, mountinfo: str | None = None) -> str | None:
    """The type of the filesystem holding ``path`` (or its nearest existing parent), or None
    where the mount table cannot be read."""
    if mountinfo is None:
        try:
            mountinfo = MOUNTINFO.read_text(errors="replace")
        except OSError:
            return None
    target = _existing(path)
    best, kind = -1, None
    for mount_point, fstype in _mounts(mountinfo):
        if _contains(mount_point, target) and len(mount_point) > best:
            best, kind = len(mount_point), fstype
    return kind


def check_writable_here(root: Path, mountinfo: str | None = None) -> None:
    """Raise StoreError when sets under ``root`` must not be written (a network filesystem)."""
    if os.environ.get(TRUST_VARIABLE, "").strip().lower() == "trust":
        return
    kind = filesystem_type(root, mountinfo)
    if kind in NETWORK_TYPES:
        raise StoreError(f"the store {root} is on a network filesystem ({kind}), where a set's lock "
                         f"may not keep a second writer out; set JOBMAN_HOME (or --store) to a "
                         f"local disk, or {TRUST_VARIABLE}=trust if its locks hold across machines")


def _existing(path: Path) -> str:
    path = Path(os.path.abspath(path))
    while not path.exists() and path.parent != path:
        path = path.parent
    return os.path.realpath(path)


def _contains(mount_point: str, target: str) -> bool:
    return target == mount_point or target.startswith(mount_point.rstrip("/") + "/")


def _mounts(mountinfo: str) -> list[tuple[str, str]]:
    """(mount point, filesystem type) of each line of a mountinfo table (proc(5))."""
    found = []
    for line in mountinfo.splitlines():
        fields = line.split()
        if "-" not in fields or len(fields) < 5:
            continue
        dash = fields.index("-")
        if dash + 1 < len(fields):
            found.append((_unescape(fields[4]), fields[dash + 1]))
    return found


def _unescape(field: str) -> str:
    """Undo mountinfo's octal escapes (``\\040`` for a space)."""
    out, i = [], 0
    while i < len(field):
        if field[i] == "\\" and i + 3 < len(field) and field[i + 1:i + 4].isdigit():
            out.append(chr(int(field[i + 1:i + 4], 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)

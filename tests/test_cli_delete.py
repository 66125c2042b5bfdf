"""``jobman delete``: asks first, refuses running sets."""

from __future__ import annotations

import os

from cli_support import invoke, make_set

ONE, TWO = "20260111-000000-aaaaaa", "20260112-000000-bbbbbb"


def test_delete_asks_and_deletes_on_yes(tmp_path):
    make_set(tmp_path, ONE, name="first")
    result = invoke("delete", ONE, store=tmp_path, input="y\n")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == (f"Delete job set {ONE} (first, 10 circuits)? [y/N] deleted job set {ONE}\n")
    assert not (tmp_path / ONE).exists() and list(tmp_path.iterdir()) == []


def test_delete_keeps_the_set_on_no_or_no_answer(tmp_path):
    make_set(tmp_path, ONE)
    for answer in ("n\n", ""):
        result = invoke("delete", ONE, store=tmp_path, input=answer)
        assert result.exit_code == 1
        assert result.stderr.endswith("Error: nothing deleted; answer y, or pass --yes\n")
    assert (tmp_path / ONE / "set.json").exists()


def test_delete_yes_takes_several_sets_by_prefix(tmp_path):
    make_set(tmp_path, ONE)
    make_set(tmp_path, TWO)
    result = invoke("delete", "20260111", "20260112", "--yes", "-q", store=tmp_path)
    assert (result.exit_code, result.stderr) == (0, "")
    assert invoke("list", "--json", store=tmp_path).stdout == ""


def test_delete_refuses_a_running_set(tmp_path):
    set_store = make_set(tmp_path, ONE, unfinished={0})
    with set_store.lock():
        result = invoke("delete", ONE, "--yes", store=tmp_path)
    assert result.exit_code == 1
    assert result.stderr == (f"Error: job set {ONE} is running; stop it with `jobman cancel {ONE}` "
                             f"(or wait with `jobman wait {ONE}`), then delete it\n")
    assert (tmp_path / ONE).exists()


def test_delete_needs_a_set(tmp_path):
    result = invoke("delete", store=tmp_path)
    assert result.exit_code == 2 and "Missing argument 'SET...'" in result.stderr


def test_deleting_a_copy_removes_the_copy_only_and_checks_its_own_lock(tmp_path):
    import shutil

    from jobman.exceptions import SetLockedError
    from jobman.store import Store

    original = make_set(tmp_path, ONE, name="first")
    shutil.copytree(tmp_path / ONE, tmp_path / f"{ONE}-backup")
    listed = invoke("list", store=tmp_path)
    ids = [line.split()[0] for line in listed.stdout.splitlines()[1:]]
    assert ids == [f"{ONE}-backup", ONE]  # two sets, each under its own folder's name
    assert f"(copy of {ONE})" in listed.stdout.splitlines()[1]
    with original.lock():  # the original is running: the copy can still go, the original not
        result = invoke("delete", f"{ONE}-backup", "--yes", store=tmp_path)
        assert result.exit_code == 0, result.stderr
        assert invoke("delete", ONE, "--yes", store=tmp_path).exit_code == 1
    assert (tmp_path / ONE / "set.json").is_file() and not (tmp_path / f"{ONE}-backup").exists()
    shutil.copytree(tmp_path / ONE, tmp_path / "moved")
    moved = Store(tmp_path).open_set("moved")
    with moved.lock():
        try:
            Store(tmp_path).delete_set("moved")
            raise AssertionError("deleted a set whose lock is held")
        except SetLockedError:
            pass
    result = invoke("delete", "moved", "--yes", store=tmp_path)
    assert result.stderr == "deleted job set moved\n"
    assert (tmp_path / ONE / "set.json").is_file() and not (tmp_path / "moved").exists()


def test_delete_of_a_linked_set_folder_removes_the_link_only(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    make_set(elsewhere, ONE)
    store = tmp_path / "store"
    store.mkdir()
    (store / ONE).symlink_to(elsewhere / ONE)
    status = invoke("status", ONE, store=store)
    assert status.exit_code == 1 and "is a symbolic link" in status.stderr
    assert invoke("delete", ONE, "--yes", store=store).exit_code == 0
    assert not os.path.lexists(store / ONE) and (elsewhere / ONE / "set.json").is_file()

"""Backend names for completion: the static fake-device table and the account devices' cache."""

from __future__ import annotations

import pytest

from jobman.backend_names import (CACHE_NAME, FAKE_DEVICES, known_backends, remember_account_devices,
                                  render_fake_devices)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_the_fake_device_table_is_the_installed_clients():
    from jobman.backends.ibm_service import fake_rows

    installed = {row.name: row.num_qubits for row in fake_rows()}
    assert FAKE_DEVICES == installed, ("jobman/backend_names.py is stale: paste the output of "
                                       "`python -m jobman.backend_names` into FAKE_DEVICES")
    assert render_fake_devices().startswith("{\n    \"fake_")


def test_without_a_cache_aer_and_the_fake_devices_are_known(tmp_path):
    known = dict(known_backends(root=tmp_path / "store"))
    assert list(known)[0] == "aer" and known["fake_manila"] == "fake device, 5 qubits"
    assert len(known) == 1 + len(FAKE_DEVICES) and not (tmp_path / "store").exists()


def test_the_devices_of_listed_accounts_are_remembered(tmp_path):
    root = tmp_path / "store"
    assert remember_account_devices("work", None, [("ibm_torino", 133), ("fake_manila", 5)], root)
    assert remember_account_devices(None, "crn:x", [("ibm_kyiv", None)], root)
    known = known_backends(root=root)
    names = [name for name, _ in known]
    assert names[-2:] == ["ibm_torino", "ibm_kyiv"] and names.count("fake_manila") == 1
    assert dict(known)["ibm_torino"] == "IBM device (account work, 133 qubits)"
    assert dict(known)["ibm_kyiv"] == "IBM device (default account)"
    assert [name for name, _ in known_backends(fake_only=True, root=root)] == list(FAKE_DEVICES)
    assert oct((root / CACHE_NAME).stat().st_mode & 0o777) == "0o600"
    remember_account_devices("work", None, [("ibm_fez", 156)], root)  # a new listing replaces the old
    assert "ibm_torino" not in dict(known_backends(root=root))


@pytest.mark.parametrize("text", ["not json", "[]", '{"accounts": []}',
                                  '{"accounts": {"x": {"devices": [["a b", 1], [3, 4], "ibm_x"]}}}'])
def test_a_cache_that_is_not_what_jobman_wrote_adds_nothing(tmp_path, text):
    (tmp_path / CACHE_NAME).write_text(text)
    assert len(known_backends(root=tmp_path)) == 1 + len(FAKE_DEVICES)


def test_a_cache_that_cannot_be_written_is_no_error(tmp_path):
    (tmp_path / "store").write_text("a file where the store should be")
    assert remember_account_devices("work", None, [("ibm_torino", 133)], tmp_path / "store") is False
    (tmp_path / CACHE_NAME).mkdir()
    assert remember_account_devices("work", None, [("ibm_torino", 133)], tmp_path) is False

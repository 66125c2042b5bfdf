"""Circuits read from QPY go to a backend as the bytes they were read from, never stale ones."""

import copy
import io
import pickle

import pytest
from qiskit import qpy
from qiskit.circuit.random import random_circuit

from conftest import write_qpy
from jobman.inputs import open_source
from jobman.qpy_index import encoded


@pytest.fixture(scope="module", params=[None, 13], ids=["latest", "qpy13"])
def source(request, tmp_path_factory):
    circuits = [random_circuit(3, 3, measure=True, seed=i) for i in range(30)]
    for i, circuit in enumerate(circuits):
        circuit.name = f"c{i}"
    path = write_qpy(tmp_path_factory.mktemp("qpy") / "random.qpy", circuits, version=request.param)
    return open_source([path]), circuits


def test_read_circuits_are_reencoded_from_their_own_bytes(source):
    src, originals = source
    picked = src.load(4, 20)[::3] + src.load(25, 27)  # gaps, and two reads of one file
    data = encoded(picked)
    assert data is not None
    again = qpy.load(io.BytesIO(data))
    assert [c.name for c in again] == ["c4", "c7", "c10", "c13", "c16", "c19", "c25", "c26"]
    assert [c.data for c in again] == [originals[int(c.name[1:])].data for c in again]


def test_changed_copied_or_foreign_circuits_are_not(source):
    src, originals = source
    changed = src.load(0, 3)
    changed[1].x(0)
    assert encoded(changed) is None
    assert encoded([src.load(0, 1)[0].copy()]) is None
    assert encoded(src.load(0, 2) + [originals[2]]) is None
    assert encoded([]) is None


def test_read_circuits_still_pickle_and_deep_copy_without_their_bytes(source):
    src, _ = source
    circuits = src.load(0, 3)
    for other in (pickle.loads(pickle.dumps(circuits)), copy.deepcopy(circuits)):
        assert [c.data for c in other] == [c.data for c in circuits]
        assert encoded(other) is None

"""Backend plug-ins (jobman/backends/plugins.py): found through the ``jobman.backends`` entry-point
group, built, listed and rebuilt from a set's record, with jobman's own backends among them.

A third-party plug-in here is a real installed distribution: a module and a ``.dist-info`` folder
with its ``entry_points.txt``, on ``sys.path`` as pip would leave them.
"""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest

from cli_support import invoke
from conftest import write_qpy
from ibm_support import no_account  # noqa: F401
from jobman import JobManager
from jobman.backends import backend_from_record, get_backend
from jobman.backends import plugins as registry
from jobman.exceptions import UsageError
from jobman.inputs import make_basis_circuits

ROOT = Path(__file__).resolve().parents[1]

#: A plug-in serving ``twin:<anything>``: the local Aer backend under that name, with one
#: option of its own (``note``), listed by ``jobman backends``.
TWIN = '''
from jobman.backends.plugins import BackendPlugin, Catalogue


class TwinPlugin(BackendPlugin):
    usage = "twin:<label>"
    kind = "twin:<label> backends"
    listed = False

    def serves(self, name):
        return name.startswith("twin:")

    def build(self, name, executor=None, note="", **options):
        from jobman.backends.aer import AerBackend

        class Twin(AerBackend):
            def options(self):
                return dict(super().options(), note=note)

        backend = Twin(workers=1, **options)
        backend.name = name
        return backend

    def catalogue(self, query):
        return Catalogue([{"name": "twin:<label>", "source": "twin", "status": "Aer, twice"}])


PLUGIN = TwinPlugin()
'''


def install(site: Path, name: str, module_source: str, entry: str) -> Path:
    """A distribution ``name`` with one module and one ``jobman.backends`` entry point, as pip
    installs it into ``site``."""
    module = name.replace("-", "_")
    site.mkdir(parents=True, exist_ok=True)
    (site / f"{module}.py").write_text(module_source)
    info = site / f"{module}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[jobman.backends]\n{entry}\n")
    return site


@pytest.fixture
def twin(tmp_path, monkeypatch):
    site = install(tmp_path / "site", "jobman-twin", textwrap.dedent(TWIN), "twin = jobman_twin:PLUGIN")
    monkeypatch.syspath_prepend(str(site))
    yield site
    sys.modules.pop("jobman_twin", None)


def test_pyproject_declares_jobmans_own_plugins_and_they_load():
    tomllib = pytest.importorskip("tomllib")
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"][registry.GROUP]
    assert {name: declared[name] for name in registry.BUILTIN} == registry.BUILTIN
    loaded = dict(registry.load_plugins())
    assert set(declared) <= set(loaded) and [*loaded][:2] == ["aer", "ibm"]
    assert registry.plugin_for("aer") is loaded["aer"] and registry.plugin_for("fake_manila") is loaded["ibm"]


def test_without_installed_metadata_the_own_plugins_still_serve(monkeypatch):
    """A source checkout whose installed metadata predates the entry points still runs aer."""
    monkeypatch.setattr(registry, "entry_points", lambda group: [])
    assert [name for name, _ in registry.load_plugins()] == list(registry.BUILTIN)
    backend = get_backend("aer", workers=1)
    try:
        assert backend.name == "aer"
    finally:
        backend.close()


def test_an_installed_plugin_runs_a_set_that_resumes_with_its_options(twin, store_dir):
    assert "twin" in dict(registry.load_plugins())
    manager = JobManager(store_dir)
    job_set = manager.run(make_basis_circuits(6, 3), "twin:a", shots=50, seed=3, chunk_size=4,
                          backend_options={"note": "hello"})
    assert job_set.summary().circuits == {"DONE": 6}
    assert job_set.result().get_counts(5) == {"101": 50}
    recorded = job_set.set_store.record.backend
    assert recorded["name"] == "twin:a" and recorded["options"] == {"note": "hello"}
    again = backend_from_record(recorded)
    try:
        assert again.name == "twin:a" and again.options() == {"note": "hello"}
    finally:
        again.close()


def test_the_cli_lists_and_runs_an_installed_plugin(twin, no_account, store_dir, tmp_path):
    listed = [json.loads(line) for line in invoke("backends", "--json").stdout.splitlines()]
    assert {"name": "twin:<label>", "source": "twin", "status": "Aer, twice"} in listed
    table = invoke("backends").stdout.splitlines()
    assert next(line for line in table if line.startswith("twin:")).split() == \
        ["twin:<label>", "twin", "-", "-", "-", "-", "Aer,", "twice"]
    circuits = write_qpy(tmp_path / "basis.qpy", make_basis_circuits(4, 2))
    run = invoke("run", str(circuits), "--backend", "twin:b", "--backend-option", "note=hi", "--shots", "8")
    assert run.exit_code == 0, run.stderr
    record = json.loads((store_dir / run.stdout.strip() / "set.json").read_text())
    assert record["backend"]["options"] == {"note": "hi"}
    refused = invoke("run", str(circuits), "--backend", "twin:b", "--noise-model", "fake_manila")
    assert refused.exit_code == 2
    assert "Error: --noise-model: only for the aer backend, not 'twin:b'\n" == refused.stderr


def test_an_unknown_name_names_every_plugin_and_those_that_did_not_load(twin, tmp_path, monkeypatch):
    with pytest.raises(UsageError) as raised:
        get_backend("nope")
    assert str(raised.value) == ("unknown backend 'nope': use aer, fake_<device> (e.g. fake_manila) or "
                                 "ibm_<device>; `jobman backends` lists them")
    with pytest.raises(UsageError) as raised:
        get_backend("twn:a")  # a name with a colon: the patterns plug-ins serve are named too
    text = str(raised.value)
    assert text.startswith("unknown backend 'twn:a': use aer, fake_<device> (e.g. fake_manila) or "
                           "ibm_<device>; `jobman backends` lists them; or ")
    assert "; or twin:<label>" in text and "did not load" not in text
    broken = install(tmp_path / "broken", "jobman-broken", "import not_a_module_anywhere\n",
                     "broken = jobman_broken:PLUGIN")
    monkeypatch.syspath_prepend(str(broken))
    assert "broken" not in dict(registry.load_plugins())  # skipped: the others still serve
    with pytest.raises(UsageError, match=r"plug-ins that did not load: broken \(ModuleNotFoundError: No "
                                         r"module named 'not_a_module_anywhere'\)"):
        get_backend("nope")
    backend = get_backend("twin:c")
    backend.close()


def test_options_a_plugin_does_not_take_say_which_backends_take_them():
    aer, ibm = registry.plugin_for("aer"), registry.plugin_for("ibm_x")
    assert registry.refused_text(["mode", "transpile_option"], "aer", aer) == \
        "--mode, --transpile-option: only for fake_<device> and ibm_<device> backends, not 'aer'"
    assert registry.refused_text(["noise_model", "ray_num_cpus"], "fake_manila", ibm) == \
        ("--noise-model, --ray-num-cpus: only for the aer backend, not 'fake_manila' (a fake device already "
         "simulates with its own noise model)")
    assert registry.refused_text(["noise_model"], "fake_manila", ibm, terse=True, label=str) == \
        "noise_model: only for aer backend, not 'fake_manila'"
    with pytest.raises(UsageError, match="--executor dask: 'fake_manila' takes local or ray"):
        get_backend("fake_manila", executor="dask")

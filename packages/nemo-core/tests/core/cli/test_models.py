import json

import pytest
from nemo.core.plugins.testing import plugin_source, run_python, write_distribution
from nemo.core.plugins.types import ModelSpec

_MODELS_THEN_MODULES = """
import json, sys
from nemo.core.cli.main import main
status = main(sys.argv[1:])
heavy = ("fake_lazy_models", "fake_lazy_other", "torch", "pytorch_lightning", "lightning")
print(json.dumps({"status": status, "imported": [name for name in heavy if name in sys.modules]}))
"""


@pytest.fixture
def site(tmp_path):
    source = plugin_source(
        models=[
            ModelSpec(
                "fakelazy.first", "fake_lazy_models:First", "fakelazy", "The first one", config="first_cfg"
            ),
            ModelSpec("fakeother.second", "fake_lazy_other.models:Second", "fakeother", "The second one"),
        ]
    )
    boom = "raise RuntimeError('model modules must not be imported by `nemo models`')\n"
    return write_distribution(
        tmp_path / "site",
        "nemo-fake-lazy",
        "1.0",
        plugins={"fakelazy": "fake_lazy_plugin"},
        files={"fake_lazy_plugin.py": source, "fake_lazy_models.py": boom, "fake_lazy_other/models.py": boom},
    )


def _models(site, *args):
    result = run_python(["-c", _MODELS_THEN_MODULES, "models", *args], paths=[site])
    assert result.returncode == 0, result.stderr
    *table, last = result.stdout.splitlines()
    report = json.loads(last)
    assert report["status"] == 0
    return table, report["imported"]


def test_models_lists_every_registered_model_without_importing_any(site):
    table, imported = _models(site)
    assert table[0].split() == ["NAME", "DOMAIN", "DISTRIBUTION", "CONFIG", "DESCRIPTION"]
    rows = {line.split()[0]: line.split(maxsplit=4) for line in table[1:]}
    assert rows["fakelazy.first"] == [
        "fakelazy.first",
        "fakelazy",
        "nemo-fake-lazy",
        "first_cfg",
        "The first one",
    ]
    assert rows["fakeother.second"] == [
        "fakeother.second",
        "fakeother",
        "nemo-fake-lazy",
        "-",
        "The second one",
    ]
    assert imported == []


def test_domain_filter(site):
    table, imported = _models(site, "--domain", "fakeother")
    assert [line.split()[0] for line in table[1:]] == ["fakeother.second"]
    assert imported == []


def test_empty_domain_says_which_domains_exist(site):
    table, _ = _models(site, "--domain", "nothing-here")
    assert table[0].startswith("no models registered in domain 'nothing-here'")
    assert "fakelazy" in table[0] and "fakeother" in table[0]

"""Entry-point discovery through real ``*.dist-info`` folders, each run in a fresh interpreter."""

import json

import pytest
from nemo.core.plugins.testing import plugin_source, run_python, write_distribution
from nemo.core.plugins.types import ModelSpec

_REPORT = """
import json, sys
from nemo.core import registry
status = [list(info) for info in registry.plugin_status()]
try:
    models = [spec.name for spec in registry.list_models()]
except Exception as exc:
    models = f"{type(exc).__name__}: {exc}"
print(json.dumps({"status": status, "models": models}))
"""


def _report(site, **env) -> dict:
    result = run_python(["-c", _REPORT], paths=[site], **env)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.splitlines()[-1])
    report["status"] = {row[0]: row[1:] for row in report["status"]}
    return report


@pytest.fixture
def site(tmp_path):
    root = tmp_path / "site"
    good = plugin_source(models=[ModelSpec("fakegood.model", "fake_good_models:GoodModel", "fakegood")])
    write_distribution(
        root,
        "nemo-fake-good",
        "1.2.3",
        plugins={"fakegood": "fake_good_plugin"},
        files={"fake_good_plugin.py": good, "fake_good_models.py": "class GoodModel:\n    pass\n"},
    )
    write_distribution(
        root,
        "nemo-fake-broken",
        "0.0.1",
        plugins={"fakebroken": "fake_broken_plugin"},
        files={"fake_broken_plugin.py": "raise RuntimeError('boom: fake_broken_plugin cannot start')\n"},
    )
    return root


def test_good_plugin_is_found_and_broken_one_is_reported(site):
    report = _report(site)
    assert report["status"]["fakegood"] == ["nemo-fake-good", "1.2.3", "loaded", None]
    distribution, version, status, error = report["status"]["fakebroken"]
    assert (distribution, version, status) == ("nemo-fake-broken", "0.0.1", "failed")
    assert "RuntimeError: boom: fake_broken_plugin cannot start" in error
    assert report["status"]["core"][2] == "builtin"
    assert "fakegood.model" in report["models"]


def _write_twin(site) -> None:
    """nemo-fake-twin registers fakegood.model too (another class), and one name of its own."""
    twin = plugin_source(
        models=[
            ModelSpec("fakegood.model", "fake_twin_models:TwinModel", "fakegood"),
            ModelSpec("faketwin.own", "fake_twin_models:TwinModel", "faketwin"),
        ]
    )
    write_distribution(
        site,
        "nemo-fake-twin",
        "9.9",
        plugins={"faketwin": "fake_twin_plugin"},
        files={"fake_twin_plugin.py": twin, "fake_twin_models.py": "class TwinModel:\n    pass\n"},
    )


_CONFLICT_REPORT = """
import json
from nemo.core import registry
try:
    chosen = registry.get_model_class("fakegood.model").__name__
except Exception as exc:
    chosen = f"{type(exc).__name__}: {exc}"
print(json.dumps({
    "models": [spec.name for spec in registry.list_models()],
    "own": registry.get_model_class("faketwin.own").__name__,
    "chosen": chosen,
    "conflicts": [[c.what, c.name, c.kept and c.kept.distribution, [p.distribution for p in c.skipped]]
                  for c in registry.conflicts()],
}))
"""


def _conflict_report(site, **env) -> tuple[dict, str]:
    result = run_python(["-c", _CONFLICT_REPORT], paths=[site], **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1]), result.stderr


def test_a_name_two_third_party_plugins_share_is_withheld_and_nothing_else_breaks(site):
    _write_twin(site)

    report, log = _conflict_report(site)

    # Every other name still works; the shared one is left out, and asking for it names both distributions.
    assert "faketwin.own" in report["models"] and "fakegood.model" not in report["models"]
    assert report["own"] == "TwinModel"
    assert report["chosen"].startswith(
        "DuplicateRegistrationError: model name 'fakegood.model' is registered by"
    )
    assert "nemo-fake-good 1.2.3" in report["chosen"] and "nemo-fake-twin 9.9" in report["chosen"]
    assert "NEMO_PLUGINS_PREFER" in report["chosen"]
    assert report["conflicts"] == [
        ["model name", "fakegood.model", None, ["nemo-fake-good", "nemo-fake-twin"]]
    ]
    assert "fakegood.model" in log  # reported once, as a warning


def test_nemo_plugins_prefer_chooses_the_winner_of_a_shared_name(site):
    _write_twin(site)

    report, _ = _conflict_report(site, NEMO_PLUGINS_PREFER="Nemo_Fake_Twin")

    assert report["chosen"] == "TwinModel"
    assert report["models"].count("fakegood.model") == 1
    assert report["conflicts"] == [["model name", "fakegood.model", "nemo-fake-twin", ["nemo-fake-good"]]]


def test_disable_autoload_keeps_only_builtin_hooks(site):
    report = _report(site, NEMO_DISABLE_PLUGIN_AUTOLOAD="1")
    assert list(report["status"]) == ["core"]
    assert report["models"] == []


def test_disabled_plugins_are_skipped_and_listed_as_disabled(site):
    report = _report(site, NEMO_DISABLED_PLUGINS="NEMO_fake.good, nemo-fake-broken")
    assert report["status"]["fakegood"] == ["nemo-fake-good", "1.2.3", "disabled", None]
    assert report["status"]["fakebroken"][2] == "disabled"
    assert "fakegood.model" not in report["models"]


def test_strict_mode_raises_on_the_broken_plugin(site):
    result = run_python(["-c", _REPORT], paths=[site], NEMO_PLUGINS_STRICT="1")
    assert result.returncode != 0
    assert "PluginLoadError" in result.stderr
    assert "'fakebroken' from distribution nemo-fake-broken 0.0.1" in result.stderr
    assert "boom: fake_broken_plugin cannot start" in result.stderr

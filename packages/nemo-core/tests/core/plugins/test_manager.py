import importlib.metadata
import logging as std_logging

import pytest
from nemo.core.plugins import hookimpl
from nemo.core.plugins.errors import PluginLoadError
from nemo.core.plugins.hookspecs import PLUGIN_API_VERSION
from nemo.core.plugins.manager import NemoPluginManager, get_plugin_manager, reset_plugin_manager
from nemo.core.plugins.types import CommandSpec, ConfigPathSpec, ModelSpec, PluginInfo


class GoodPlugin:
    NEMO_PLUGIN_API = "1.0"

    @hookimpl
    def nemo_register_models(self):
        return [ModelSpec("good.model", "good_pkg.models:GoodModel", "good")]

    @hookimpl
    def nemo_register_config_paths(self):
        return [ConfigPathSpec("pkg://good_pkg.conf")]

    @hookimpl
    def nemo_register_target_prefixes(self):
        return ["good_pkg."]

    @hookimpl
    def nemo_register_commands(self):
        return [CommandSpec("good", "good_pkg.cli:main", "Be good")]


class BadSpecPlugin:
    @hookimpl
    def nemo_register_target_prefixes(self):
        return ["bad_pkg."]

    @hookimpl
    def nemo_register_models(self):
        return [ModelSpec("bad.model", "not an import string", "bad")]


class WrongTypePlugin:
    @hookimpl
    def nemo_register_models(self):
        return ["bad.model"]


class NotAListPlugin:
    @hookimpl
    def nemo_register_commands(self):
        return CommandSpec("lonely", "pkg.cli:main")


class UnknownHookPlugin:
    @hookimpl
    def nemo_register_modelz(self):
        return []


class UnknownArgumentPlugin:
    @hookimpl
    def nemo_register_models(self, trainer):
        return []


class FutureOptionalHookPlugin:
    @hookimpl(optionalhook=True)
    def nemo_register_datasets(self):
        raise AssertionError("nemo-core must not call hooks it has no spec for")

    @hookimpl
    def nemo_register_target_prefixes(self):
        return ["future_pkg."]


def _info(name: str) -> PluginInfo:
    return PluginInfo(name, f"nemo-{name}", "1.0.0", "loaded")


def _load(*plugins: tuple[str, object], strict: bool = False) -> NemoPluginManager:
    manager = NemoPluginManager(strict=strict)
    for name, plugin in plugins:
        manager.add_plugin(plugin, _info(name))
    manager.collect()
    return manager


def _status(manager: NemoPluginManager) -> dict[str, tuple[str, str | None]]:
    return {info.name: (info.status, info.error) for info in manager.plugin_infos()}


@pytest.fixture
def nemo_log(caplog):
    """``caplog`` that also sees nemo's logger (it does not propagate to the root logger)."""
    logger = std_logging.getLogger("nemo")
    logger.addHandler(caplog.handler)
    yield caplog
    logger.removeHandler(caplog.handler)


def test_contributions_carry_their_provider():
    manager = _load(("good", GoodPlugin()))
    expected = {
        "nemo_register_models": "good.model",
        "nemo_register_config_paths": "pkg://good_pkg.conf",
        "nemo_register_target_prefixes": "good_pkg.",
        "nemo_register_commands": "good",
    }
    for hook, key in expected.items():
        [contribution] = manager.contributions(hook)
        assert key in (
            contribution.item,
            getattr(contribution.item, "name", None),
            getattr(contribution.item, "path", None),
        )
        assert contribution.provider == _info("good")
    assert _status(manager) == {"good": ("loaded", None)}


def test_a_hook_that_raises_fails_only_its_plugin():
    manager = _load(("bad", BadSpecPlugin()), ("good", GoodPlugin()))
    status = _status(manager)
    assert status["good"] == ("loaded", None)
    assert status["bad"][0] == "failed"
    assert "ModelSpec.target" in status["bad"][1] and "'not an import string'" in status["bad"][1]
    assert [c.provider.name for c in manager.contributions("nemo_register_target_prefixes")] == ["good"]
    assert manager.get_plugin("bad") is None


@pytest.mark.parametrize(
    ("plugin", "expected"),
    [
        (
            WrongTypePlugin(),
            "nemo_register_models() returned 'bad.model' in its list; expected nemo.core.plugins.ModelSpec",
        ),
        (NotAListPlugin(), "nemo_register_commands() returned CommandSpec; expected a list of"),
    ],
)
def test_malformed_results_fail_the_plugin_with_hook_and_expected_type(plugin, expected):
    status = _status(_load(("odd", plugin), ("good", GoodPlugin())))
    assert status["odd"][0] == "failed" and expected in status["odd"][1]
    assert status["good"] == ("loaded", None)


def test_unknown_hook_name_is_reported_as_that_plugins_failure():
    manager = _load(("typo", UnknownHookPlugin()), ("good", GoodPlugin()))
    status = _status(manager)
    assert status["typo"][0] == "failed"
    assert "unknown hook 'nemo_register_modelz'" in status["typo"][1]
    assert status["good"] == ("loaded", None)
    manager.check_pending()


def test_hookimpl_with_an_argument_the_spec_lacks_fails_at_registration():
    status = _status(_load(("args", UnknownArgumentPlugin())))
    assert status["args"][0] == "failed"
    assert "registering its hooks raised" in status["args"][1] and "trainer" in status["args"][1]


def test_optional_hook_from_a_newer_api_is_ignored():
    manager = _load(("future", FutureOptionalHookPlugin()))
    assert _status(manager) == {"future": ("loaded", None)}
    assert [c.item for c in manager.contributions("nemo_register_target_prefixes")] == ["future_pkg."]


def test_strict_mode_raises_naming_plugin_distribution_and_error():
    with pytest.raises(PluginLoadError, match=r"'bad' from distribution nemo-bad 1\.0\.0.*ModelSpec\.target"):
        _load(("good", GoodPlugin()), ("bad", BadSpecPlugin()), strict=True)


def test_taken_plugin_name_fails_the_second_one_naming_the_first():
    manager = NemoPluginManager()
    assert manager.add_plugin(GoodPlugin(), _info("good"))
    assert not manager.add_plugin(GoodPlugin(), PluginInfo("good", "nemo-other", "2.0", "loaded"))
    manager.collect()
    first, second = manager.plugin_infos()
    assert first.status == "loaded"
    assert second.status == "failed" and second.distribution == "nemo-other" and "'nemo-good'" in second.error


@pytest.mark.parametrize(
    ("declared", "warns"), [("2.0", True), ("1.7", False), ("1.0", False), ("0.9", True), ("two", True)]
)
def test_plugin_api_declaration_warns_on_another_major_version_or_malformed(nemo_log, declared, warns):
    plugin = GoodPlugin()
    plugin.NEMO_PLUGIN_API = declared
    manager = _load(("good", plugin))
    assert _status(manager) == {"good": ("loaded", None)}
    messages = [r.getMessage() for r in nemo_log.records if "API" in r.getMessage()]
    assert bool(messages) == warns
    if warns:
        assert "'good'" in messages[0] and repr(declared)[1:-1] in messages[0]
        assert PLUGIN_API_VERSION in messages[0]  # both versions are named


def test_entry_point_that_cannot_be_imported_is_recorded_and_others_load():
    entry_points = [
        importlib.metadata.EntryPoint("missing", "nemo_no_such_plugin_module", "nemo.plugins"),
        importlib.metadata.EntryPoint("metadata", "importlib.metadata", "nemo.plugins"),
    ]
    manager = NemoPluginManager()
    manager.load_entry_points(entry_points)
    manager.collect()
    status = _status(manager)
    assert status["missing"][0] == "failed"
    assert (
        "ModuleNotFoundError" in status["missing"][1] and "nemo_no_such_plugin_module" in status["missing"][1]
    )
    assert status["metadata"] == ("loaded", None)


def test_get_plugin_manager_is_cached_until_reset():
    first = get_plugin_manager()
    assert get_plugin_manager() is first
    assert first.plugin_infos()[0] == PluginInfo(
        "core", "nemo-kit-core", first.plugin_infos()[0].version, "builtin"
    )
    reset_plugin_manager()
    assert get_plugin_manager() is not first

"""nemo.core.registry against real ``*.dist-info`` plugins, queried in a fresh interpreter each time."""

import json
import textwrap

import pytest
from nemo.core.plugins.testing import plugin_source, run_python, write_distribution
from nemo.core.plugins.types import CommandSpec, ConfigPathSpec, ModelSpec

_PRETRAINED_PLUGIN = """
from nemo.core.classes.model import PretrainedModelInfo
from nemo.core.plugins import hookimpl


@hookimpl
def nemo_register_pretrained_models():
    return [
        PretrainedModelInfo(
            pretrained_model_name="fakereg_tiny",
            description="tiny",
            location="https://example.com/fakereg_tiny.nemo",
            aliases=["tiny-alias"],
        )
    ]
"""


def _query(site, body: str, **env):
    """Run ``body`` (which sets ``result``) after ``from nemo.core import registry``; return ``result``."""
    code = (
        "import json, sys\nfrom nemo.core import registry\n"
        + textwrap.dedent(body)
        + "\nprint(json.dumps(result))\n"
    )
    completed = run_python(["-c", code], paths=[site], **env)
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout.splitlines()[-1])


def _error_of(site, call: str) -> str:
    return _query(
        site,
        f"try:\n    {call}\n    result = None\nexcept Exception as exc:\n    result = f'{{type(exc).__name__}}: {{exc}}'",
    )


@pytest.fixture
def site(tmp_path):
    root = tmp_path / "site"
    extra_conf = tmp_path / "extra_conf"
    (extra_conf / "group").mkdir(parents=True)
    (extra_conf / "group" / "only_in_extra.yaml").write_text("source: extra\n")
    (extra_conf / "shared.yaml").write_text("source: extra\n")
    source = plugin_source(
        models=[
            ModelSpec(
                "fakereg.model", "fake_reg_models:RegModel", "fakereg", "registered", config="reg_config"
            ),
            ModelSpec("fakereg.missing", "fake_reg_absent.models:Gone", "fakereg"),
            ModelSpec("fakereg.function", "fake_reg_models:not_a_class", "fakereg"),
            ModelSpec("otherdomain.model", "fake_reg_models:RegModel", "otherdomain"),
        ],
        config_paths=[ConfigPathSpec("pkg://fake_reg_conf"), ConfigPathSpec(extra_conf)],
        target_prefixes=["fake_reg_models."],
        commands=[CommandSpec("fakereg-hello", "fake_reg_cli:hello", "Say hello")],
    )
    write_distribution(
        root,
        "nemo-fake-reg",
        "3.1.4",
        plugins={"fakereg": "fake_reg_plugin"},
        files={
            "fake_reg_plugin.py": source,
            "fake_reg_models.py": "class RegModel:\n    pass\n\n\ndef not_a_class():\n    pass\n",
            "fake_reg_cli.py": "def hello(argv):\n    return 0\n",
            "fake_reg_conf/reg_config.yaml": "source: pkg\n",
            "fake_reg_conf/shared.yaml": "source: pkg\n",
            "fake_reg_conf/asr/deep.yaml": "source: pkg-deep\n",
            "fake_reg_conf/twice/a/dup.yaml": "n: 1\n",
            "fake_reg_conf/twice/b/dup.yaml": "n: 2\n",
        },
    )
    return root


def test_models_are_listed_without_importing_them_and_classes_are_imported_once(site):
    result = _query(
        site,
        """
        names = [spec.name for spec in registry.list_models(domain="fakereg")]
        imported_before = "fake_reg_models" in sys.modules
        cls = registry.get_model_class("fakereg.model")
        result = {
            "names": names,
            "imported_before": imported_before,
            "class": f"{cls.__module__}.{cls.__qualname__}",
            "cached": registry.get_model_class("fakereg.model") is cls,
            "provider": list(registry.get_model_provider("fakereg.model")),
            "heavy": [name for name in ("torch", "pytorch_lightning", "lightning") if name in sys.modules],
        }
        """,
    )
    assert result["names"] == ["fakereg.function", "fakereg.missing", "fakereg.model"]
    assert result["imported_before"] is False
    assert result["class"] == "fake_reg_models.RegModel"
    assert result["cached"] is True
    assert result["provider"] == ["fakereg", "nemo-fake-reg", "3.1.4", "loaded", None]
    assert result["heavy"] == []


def test_import_error_names_the_distribution_to_install(site):
    error = _error_of(site, "registry.get_model_class('fakereg.missing')")
    assert error.startswith("ModuleNotFoundError") or error.startswith("ImportError")
    assert "'fake_reg_absent.models:Gone'" in error
    assert "fake_reg_absent" in error
    assert "pip install nemo-fake-reg" in error


def test_target_that_is_not_a_class_is_a_type_error(site):
    error = _error_of(site, "registry.get_model_class('fakereg.function')")
    assert (
        error.startswith("TypeError")
        and "'fake_reg_models:not_a_class'" in error
        and "nemo-fake-reg" in error
    )


def test_unknown_model_lists_the_registered_ones(site):
    error = _error_of(site, "registry.get_model_class('fakereg.nope')")
    assert error.startswith("UnknownModelError: no installed plugin registers a model named 'fakereg.nope'")
    assert "fakereg.model" in error and "otherdomain.model" in error


def test_find_config_searches_pkg_and_directory_paths_in_order(site, tmp_path):
    result = _query(
        site,
        """
        def found(name):
            path = registry.find_config(name)
            return None if path is None else path.read_text().strip()

        result = {name: found(name) for name in (
            "reg_config", "reg_config.yaml", "shared", "deep", "asr/deep", "only_in_extra", "group/only_in_extra", "nowhere"
        )}
        import pathlib
        result["is_path"] = isinstance(registry.find_config("deep"), pathlib.Path)
        """,
    )
    assert result == {
        "reg_config": "source: pkg",
        "reg_config.yaml": "source: pkg",
        "shared": "source: pkg",
        "deep": "source: pkg-deep",
        "asr/deep": "source: pkg-deep",
        "only_in_extra": "source: extra",
        "group/only_in_extra": "source: extra",
        "nowhere": None,
        "is_path": True,
    }


def test_find_config_refuses_an_ambiguous_name(site):
    error = _error_of(site, "registry.find_config('dup')")
    assert error.startswith("LookupError") and "twice/a/dup.yaml" in error and "twice/b/dup.yaml" in error


def test_target_prefixes_are_builtin_plus_plugins(site):
    prefixes = _query(site, "result = list(registry.allowed_target_prefixes())")
    assert prefixes[0] == "nemo." and "torch.nn." in prefixes
    assert "fake_reg_models." in prefixes


def test_commands_are_core_then_plugins_and_ours_win_a_shared_name(site):
    names = _query(site, "result = [spec.name for spec in registry.list_commands()]")
    assert names[:4] == ["plugins", "models", "info", "train"]
    assert "fakereg-hello" in names
    clash = plugin_source(
        commands=[CommandSpec("models", "fake_clash:run"), CommandSpec("fakeclash-own", "fake_clash:run")]
    )
    write_distribution(
        site,
        "nemo-fake-clash",
        "1.0",
        plugins={"fakeclash": "fake_clash_plugin"},
        files={
            "fake_clash_plugin.py": clash,
            "fake_clash.py": "def run(argv):\n    print('CLASH')\n    return 0\n",
        },
    )

    result = _query(
        site,
        """
        spec = registry.get_command("models")
        result = {
            "names": [spec.name for spec in registry.list_commands()],
            "models_target": spec.target,
            "conflicts": [c.message() for c in registry.conflicts()],
        }
        """,
    )
    assert result["names"].count("models") == 1 and "fakeclash-own" in result["names"]
    assert result["models_target"] == "nemo.core.cli.models:run"  # nemo-core's, not the plugin's
    (message,) = result["conflicts"]
    assert message.startswith("command 'models' is registered by nemo-kit-core")
    assert (
        "nemo-fake-clash 1.0" in message and "nemo-kit-core's is used, nemo-fake-clash's ignored" in message
    )

    # The console keeps working: --help lists each command once, `nemo models` is ours, `nemo plugins` says why.
    help_text = run_python(["-m", "nemo.core.cli.main", "--help"], paths=[site])
    assert help_text.returncode == 0, help_text.stderr
    assert "fakeclash-own" in help_text.stdout
    models = run_python(["-m", "nemo.core.cli.main", "models"], paths=[site])
    assert models.returncode == 0 and "fakereg.model" in models.stdout and "CLASH" not in models.stdout
    plugins = run_python(["-m", "nemo.core.cli.main", "plugins"], paths=[site])
    assert plugins.returncode == 0
    assert (
        "conflicts:" in plugins.stdout and "command 'models' is registered by nemo-kit-core" in plugins.stdout
    )


def test_pretrained_models_are_found_by_name_and_alias(site):
    write_distribution(
        site,
        "nemo-fake-pretrained",
        "0.2",
        plugins={"fakepre": "fake_pre_plugin"},
        files={"fake_pre_plugin.py": _PRETRAINED_PLUGIN},
    )
    result = _query(
        site,
        """
        result = {
            "all": [info.pretrained_model_name for info in registry.list_pretrained()],
            "domain": [info.pretrained_model_name for info in registry.list_pretrained(domain="fakepre")],
            "other_domain": [info.pretrained_model_name for info in registry.list_pretrained(domain="fakereg")],
            "by_name": registry.find_pretrained("fakereg_tiny").location,
            "by_alias": registry.find_pretrained("tiny-alias").pretrained_model_name,
            "missing": registry.find_pretrained("nope"),
        }
        """,
    )
    assert "fakereg_tiny" in result["all"]
    assert result["domain"] == ["fakereg_tiny"] and result["other_domain"] == []
    assert result["by_name"] == "https://example.com/fakereg_tiny.nemo"
    assert result["by_alias"] == "fakereg_tiny"
    assert result["missing"] is None


def test_refresh_picks_up_a_distribution_installed_after_the_first_query(site, tmp_path):
    later = tmp_path / "later"
    later.mkdir()
    source = plugin_source(models=[ModelSpec("late.model", "late_models:Late", "late")])
    result = _query(
        site,
        f"""
        import pathlib
        from nemo.core.plugins.testing import write_distribution
        sys.path.append({str(later)!r})
        before = [spec.name for spec in registry.list_models(domain="late")]
        write_distribution(pathlib.Path({str(later)!r}), "nemo-late", plugins={{"late": "late_plugin"}},
                           files={{"late_plugin.py": {source!r}}})
        cached = [spec.name for spec in registry.list_models(domain="late")]
        registry.refresh()
        result = [before, cached, [spec.name for spec in registry.list_models(domain="late")]]
        """,
    )
    assert result == [[], [], ["late.model"]]

from pathlib import Path

import pytest
from nemo.core.plugins.types import CommandSpec, ConfigPathSpec, ModelSpec


def test_model_spec_keeps_fields_and_is_frozen():
    spec = ModelSpec("hello.echo", "nemo_hello.models:EchoModel", "hello", "Echoes", config="hello_echo")
    assert (spec.name, spec.target, spec.domain, spec.description, spec.config) == (
        "hello.echo",
        "nemo_hello.models:EchoModel",
        "hello",
        "Echoes",
        "hello_echo",
    )
    with pytest.raises(AttributeError):
        spec.name = "other"  # type: ignore[misc]


@pytest.mark.parametrize("target", ["pkg.models.Model", "pkg.models:Model", "pkg:Outer.Inner"])
def test_model_spec_accepts_both_import_string_forms(target):
    assert ModelSpec("x.m", target, "x").target == target


@pytest.mark.parametrize(
    "target", ["Model", "pkg models:Model", "pkg:", ":Model", "pkg::Model", "pkg.1x:M", 3]
)
def test_model_spec_rejects_malformed_target_naming_field_and_value(target):
    with pytest.raises(ValueError, match=r"ModelSpec\.target") as info:
        ModelSpec("x.m", target, "x")
    assert repr(target) in str(info.value)


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("name", {"name": "has space"}),
        ("name", {"name": ""}),
        ("domain", {"domain": "a.b"}),
        ("config", {"config": "bad name"}),
        ("description", {"description": None}),
    ],
)
def test_model_spec_rejects_malformed_fields(field, kwargs):
    fields = {"name": "x.m", "target": "pkg:M", "domain": "x", **kwargs}
    with pytest.raises(ValueError, match=rf"ModelSpec\.{field}"):
        ModelSpec(**fields)


def test_config_path_spec_accepts_pkg_and_absolute_paths(tmp_path):
    assert ConfigPathSpec("pkg://nemo.collections.asr.conf").package == "nemo.collections.asr.conf"
    spec = ConfigPathSpec(tmp_path)
    assert spec.path == str(tmp_path) and isinstance(spec.path, str)
    assert spec.package is None


@pytest.mark.parametrize("path", ["relative/conf", "pkg://", "pkg://not a package", Path("conf")])
def test_config_path_spec_rejects_relative_and_malformed(path):
    with pytest.raises(ValueError, match=r"ConfigPathSpec\.path"):
        ConfigPathSpec(path)


def test_command_spec_validates_name_and_target():
    assert CommandSpec("transcribe", "pkg.cli:main", "Transcribe audio").help == "Transcribe audio"
    with pytest.raises(ValueError, match=r"CommandSpec\.name"):
        CommandSpec("Transcribe Audio", "pkg.cli:main")
    with pytest.raises(ValueError, match=r"CommandSpec\.target"):
        CommandSpec("transcribe", "main")

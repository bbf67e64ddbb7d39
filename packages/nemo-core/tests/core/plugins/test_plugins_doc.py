"""docs/plugins.md documents every hook with a complete example, and the examples work as a real plugin."""

import json
import re
from pathlib import Path

from nemo.core.plugins import hookspecs
from nemo.core.plugins.testing import run_python, write_distribution

DOC = Path(__file__).resolve().parents[5] / "docs" / "plugins.md"


def _hook_examples() -> dict[str, str]:
    """``### `hook``` section -> the first python block under it."""
    sections = re.split(r"^### `(\w+)`\n", DOC.read_text(encoding="utf-8"), flags=re.MULTILINE)
    examples = {}
    for name, body in zip(sections[1::2], sections[2::2]):
        block = re.search(r"```python\n(.*?)```", body.split("\n## ")[0], flags=re.DOTALL)
        if block:
            examples[name] = block.group(1)
    return examples


def _hookspec_names() -> set[str]:
    return {
        name
        for name, value in vars(hookspecs).items()
        if callable(value) and hasattr(value, f"{hookspecs.PROJECT_NAME}_spec")
    }


def test_every_hook_of_the_specification_has_a_section_with_its_implementation():
    examples = _hook_examples()
    specified = _hookspec_names()

    assert specified == {
        "nemo_register_models",
        "nemo_register_config_paths",
        "nemo_register_pretrained_models",
        "nemo_register_target_prefixes",
        "nemo_register_commands",
    }
    undocumented = specified - examples.keys()
    assert not undocumented, (
        f"docs/plugins.md has no '### `hook`' section with a python example for {undocumented}"
    )
    for name in specified:
        assert f"def {name}(" in examples[name], f"the example of {name} does not implement it"


_QUERY = """
import json
from nemo.core import registry
(acme,) = [info for info in registry.plugin_status() if info.name == "acme"]
print(json.dumps({
    "status": [acme.status, acme.error],
    "model": [registry.get_model_spec("acme.EchoModel").target, registry.get_model_spec("acme.EchoModel").config],
    "config": str(registry.find_config("acme_echo")),
    "pretrained": registry.find_pretrained("echo-tiny").location,
    "prefix": "nemo_acme." in registry.allowed_target_prefixes(),
}))
"""


def test_the_documented_hooks_together_are_a_working_plugin(tmp_path):
    plugin = "\n\n".join(_hook_examples().values())
    write_distribution(
        tmp_path,
        "nemo-acme",
        "0.1.0",
        plugins={"acme": "nemo_acme.plugin"},
        files={
            "nemo_acme/__init__.py": "",
            "nemo_acme/plugin.py": plugin,
            "nemo_acme/conf/__init__.py": "",
            "nemo_acme/conf/acme_echo.yaml": "name: acme_echo\n",
        },
    )

    result = run_python(["-c", _QUERY], paths=[tmp_path])

    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.splitlines()[-1])
    assert report["status"] == ["loaded", None]
    assert report["model"] == ["nemo_acme.models:EchoModel", "acme_echo"]
    assert report["config"] == str(tmp_path / "nemo_acme" / "conf" / "acme_echo.yaml")
    assert report["pretrained"] == str(tmp_path / "nemo_acme" / "pretrained" / "acme_echo_tiny.nemo")
    assert report["prefix"] is True
    command = run_python(["-m", "nemo.core.cli.main", "acme-hello", "plugin", "authors"], paths=[tmp_path])
    assert command.returncode == 0, command.stderr
    assert command.stdout.strip() == "hello plugin authors"

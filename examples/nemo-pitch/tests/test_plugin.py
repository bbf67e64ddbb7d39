"""nemo-pitch, pip-installed, seen through the `nemo` CLI and the registry; it uses only nemo-kit-core's public API."""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import pytest
from nemo.core.plugins.testing import run_python

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("nemo_pitch") is None,
    reason="nemo_pitch is not installed; install it with `pip install -e examples/nemo-pitch`",
)

PACKAGE_DIR = Path(__file__).resolve().parents[1] / "nemo_pitch"
CORE_MODULES = ("nemo.core", "nemo.utils", "nemo.collections.common")


def _nemo(*args: str) -> str:
    result = run_python(["-m", "nemo.core.cli.main", *args], timeout=120)
    assert result.returncode == 0, f"nemo {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def test_nemo_plugins_lists_pitch_as_loaded():
    rows = {
        line.split()[0]: line.split(maxsplit=3) for line in _nemo("plugins").splitlines()[1:] if line.strip()
    }
    assert rows["pitch"][1:] == ["nemo-pitch", "0.1.0", "loaded"]


def test_nemo_models_lists_exactly_the_pitch_estimator():
    rows = [line.split(maxsplit=4) for line in _nemo("models", "--domain", "pitch").splitlines()[1:]]
    assert rows == [
        [
            "pitch.estimator",
            "pitch",
            "nemo-pitch",
            "pitch_estimator",
            "Frame-level F0 (pitch) and voicing, classified over 20-cent bins",
        ]
    ]


def test_the_registry_resolves_the_model_config_prefix_command_and_pretrained_entry():
    from nemo.core import registry
    from nemo_pitch.models import PitchEstimatorModel

    (info,) = [info for info in registry.plugin_status() if info.name == "pitch"]
    assert (info.distribution, info.status, info.error) == ("nemo-pitch", "loaded", None)
    assert registry.get_model_class("pitch.estimator") is PitchEstimatorModel
    # Where the installed package is (the source tree when editable, site-packages from a wheel).
    installed = Path(importlib.util.find_spec("nemo_pitch").origin).parent
    assert registry.find_config("pitch_estimator") == installed / "conf" / "pitch_estimator.yaml"
    assert "nemo_pitch." in registry.allowed_target_prefixes()
    assert "pitch" in [spec.name for spec in registry.list_commands()]
    assert PitchEstimatorModel.get_available_model_names() == ["pitch_estimator_asterisk"]
    assert registry.find_pretrained("pitch_estimator_asterisk") is not None


def test_the_plugin_module_imports_neither_torch_nor_the_model():
    code = "import sys, nemo_pitch.plugin; print(sorted(m for m in ('torch', 'nemo_pitch.models') if m in sys.modules))"
    result = run_python(["-c", code])
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def nemo_imports(tree: ast.AST) -> list[tuple[int, str, list[str]]]:
    """(line, module, imported names) of every import of a ``nemo`` module in ``tree``."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [
                (node.lineno, alias.name, []) for alias in node.names if alias.name.split(".")[0] == "nemo"
            ]
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"line {node.lineno}: use absolute imports"
            if (node.module or "").split(".")[0] == "nemo":
                found.append((node.lineno, node.module, [alias.name for alias in node.names]))
    return found


def test_nemo_pitch_imports_only_public_names_of_nemo_kit_core():
    checked = 0
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        for line, module, names in nemo_imports(
            ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        ):
            where = f"{path.relative_to(PACKAGE_DIR.parent)}:{line}: {module}"
            private = [part for part in [*module.split("."), *names] if part.startswith("_")]
            assert not private, f"{where} imports private names {private}; use nemo-kit-core's public API"
            assert module.startswith(tuple(f"{m}." for m in CORE_MODULES)) or module in CORE_MODULES, (
                f"{where} is not part of nemo-kit-core ({', '.join(CORE_MODULES)}); nemo-pitch must work with it alone"
            )
            checked += 1
    assert checked >= 5, f"found only {checked} nemo imports under {PACKAGE_DIR}; is the path right?"

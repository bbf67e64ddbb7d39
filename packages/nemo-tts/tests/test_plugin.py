"""nemo-tts installs alone and registers with nemo-core through the ``nemo.plugins`` entry point."""

import subprocess
import sys
from importlib.metadata import entry_points

from nemo.core import registry


def test_entry_point_names_the_plugin_module():
    (entry,) = [ep for ep in entry_points(group="nemo.plugins") if ep.name == "tts"]
    assert entry.value == "nemo.collections.tts.plugin"
    assert entry.dist.name == "nemo-kit-tts"


def test_plugin_loads_in_the_registry():
    registry.refresh()
    rows = {row.name: row for row in registry.plugin_status()}
    assert rows["tts"].distribution == "nemo-kit-tts"
    assert rows["tts"].status == "loaded", rows["tts"].error


def test_nemo_plugins_command_lists_it():
    result = subprocess.run(
        [sys.executable, "-m", "nemo.core.cli.main", "plugins"], capture_output=True, text=True, check=True
    )
    line = next(line for line in result.stdout.splitlines() if line.startswith("tts "))
    assert "nemo-kit-tts" in line and "loaded" in line


def test_plugin_names_the_tts_models_without_importing_them():
    registry.refresh()
    specs = {spec.name: spec for spec in registry.list_models() if spec.domain == "tts"}
    assert set(specs) == {
        "tts.FastPitchModel",
        "tts.HifiGanModel",
        "tts.GriffinLimModel",
        "tts.MelPsuedoInverseModel",
        "tts.TwoStagesModel",
    }
    assert specs["tts.FastPitchModel"].target == "nemo.collections.tts.models:FastPitchModel"
    assert specs["tts.FastPitchModel"].config == "fastpitch_align_v1.05"
    assert specs["tts.HifiGanModel"].config == "hifigan"


def test_plugin_configs_are_found_by_name():
    registry.refresh()
    for name, relative in [
        ("fastpitch_align_v1.05", "fastpitch_align_v1.05.yaml"),
        ("fastpitch_tiny_cpu", "fastpitch_tiny_cpu.yaml"),
        ("hifigan", "hifigan/hifigan.yaml"),
        ("hifigan_tiny_cpu", "hifigan_tiny_cpu.yaml"),
    ]:
        found = registry.find_config(name)
        assert found is not None and found.as_posix().endswith(f"nemo/collections/tts/conf/{relative}")


def test_nemo_text_processing_targets_are_allowed_through_the_plugin():
    from nemo.core.classes.target_allowlist import is_target_allowed

    registry.refresh()
    assert is_target_allowed("nemo_text_processing.text_normalization.normalize.Normalizer")
    assert not is_target_allowed("nemo_text_processing_evil.Normalizer")


def test_plugin_registers_the_synthesize_and_tts_commands():
    registry.refresh()
    commands = {command.name: command for command in registry.list_commands()}
    assert commands["synthesize"].target == "nemo.collections.tts.cli:synthesize_main"
    assert commands["tts"].target == "nemo.collections.tts.cli:tts_main"


def test_importing_the_collection_loads_nothing_heavy():
    code = (
        "import sys, nemo.collections.tts as t; "
        "heavy = [m for m in ('torch', 'pytorch_lightning', 'torchaudio', 'nemo.collections.tts.models.fastpitch') "
        "if m in sys.modules]; print(heavy)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"

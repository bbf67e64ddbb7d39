"""nemo-nlp installs alone and registers with nemo-core through the ``nemo.plugins`` entry point."""

import subprocess
import sys
from importlib.metadata import entry_points

from nemo.core import registry


def test_entry_point_names_the_plugin_module():
    (entry,) = [ep for ep in entry_points(group="nemo.plugins") if ep.name == "nlp"]
    assert entry.value == "nemo.collections.nlp.plugin"
    assert entry.dist.name == "nemo-kit-nlp"


def test_plugin_loads_in_the_registry():
    registry.refresh()
    rows = {row.name: row for row in registry.plugin_status()}
    assert rows["nlp"].distribution == "nemo-kit-nlp"
    assert rows["nlp"].status == "loaded", rows["nlp"].error


def test_nemo_plugins_command_lists_it():
    result = subprocess.run(
        [sys.executable, "-m", "nemo.core.cli.main", "plugins"], capture_output=True, text=True, check=True
    )
    line = next(line for line in result.stdout.splitlines() if line.startswith("nlp "))
    assert "nemo-kit-nlp" in line and "loaded" in line

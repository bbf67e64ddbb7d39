"""The ``nemo`` entry point: help, dispatch to plugin commands, errors."""

import subprocess
import sys
from pathlib import Path

import nemo.core
import pytest
from nemo.core.plugins.testing import plugin_source, run_python, write_distribution
from nemo.core.plugins.types import CommandSpec

_COMMANDS = """
from nemo.core.cli.errors import CommandError


def shout(argv):
    print("SHOUT " + " ".join(argv).upper())
    return 3


def refuse(argv):
    raise CommandError(f"refusing {argv}")
"""

_HELP_THEN_MODULES = """
import sys
from nemo.core.cli.main import main
status = main(["--help"])
print("STATUS", status, "IMPORTED", "fake_cmd_commands" in sys.modules)
"""


@pytest.fixture
def site(tmp_path):
    source = plugin_source(
        commands=[
            CommandSpec("shout", "fake_cmd_commands:shout", "Print the arguments in capitals"),
            CommandSpec("refuse", "fake_cmd_commands:refuse", "Always fails"),
            CommandSpec("vanish", "fake_cmd_gone:run", "Its module is missing"),
        ]
    )
    return write_distribution(
        tmp_path / "site",
        "nemo-fake-cmd",
        "2.0",
        plugins={"fakecmd": "fake_cmd_plugin"},
        files={"fake_cmd_plugin.py": source, "fake_cmd_commands.py": _COMMANDS},
    )


def _nemo(site, *args):
    return run_python(["-m", "nemo.core.cli.main", *args], paths=[site])


def test_help_lists_core_and_plugin_commands_without_importing_them(site):
    result = run_python(["-c", _HELP_THEN_MODULES], paths=[site])
    assert result.returncode == 0, result.stderr
    for name in ("plugins", "models", "info", "train", "shout", "refuse"):
        assert f"  {name} " in result.stdout
    assert "Print the arguments in capitals" in result.stdout
    assert result.stdout.splitlines()[-1] == "STATUS 0 IMPORTED False"


def test_plugin_command_gets_its_arguments_and_sets_the_exit_status(site):
    result = _nemo(site, "shout", "hello", "--loud")
    assert result.returncode == 3, result.stderr
    assert result.stdout.strip() == "SHOUT HELLO --LOUD"


def test_command_error_is_printed_without_traceback(site):
    result = _nemo(site, "refuse", "x")
    assert result.returncode == 1
    assert result.stderr.strip() == "nemo refuse: error: refusing ['x']"


def test_unknown_command_exits_2_listing_the_available_ones(site):
    result = _nemo(site, "shuot")
    assert result.returncode == 2
    assert "unknown command 'shuot'" in result.stderr
    assert "shout" in result.stderr and "train" in result.stderr


def test_command_whose_module_is_missing_names_the_distribution(site):
    result = _nemo(site, "vanish")
    assert result.returncode == 1
    assert "fake_cmd_gone" in result.stderr and "pip install nemo-fake-cmd" in result.stderr


def test_no_command_prints_help_to_stderr_and_exits_2(site):
    result = _nemo(site)
    assert result.returncode == 2
    assert "usage: nemo" in result.stderr and "shout" in result.stderr


def test_console_script_is_installed_and_runs():
    script = Path(sys.executable).with_name("nemo")
    assert script.exists(), f"the `nemo` console script is missing next to {sys.executable}"
    completed = subprocess.run(
        [str(script), "--version"], capture_output=True, text=True, timeout=60, check=False
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == f"nemo-kit-core {nemo.core.__version__}"

"""The scripts that make ``data/commands``, ``data/vad`` and ``data/speakers``, loaded as modules.

Test modules reach them through the ``scripts`` fixture (``--import-mode=importlib`` cannot import a
conftest).
"""

import importlib
import shutil
import sys
import types
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[4]
SCRIPTS = REPO_ROOT / "scripts"


@pytest.fixture(scope="session")
def scripts() -> types.SimpleNamespace:
    """``commands``, ``commands_real_dev``, ``commands_festival``, ``vad``, ``speakers`` and ``shared``
    (``scripts/prepare_sound_tasks.py``), and the repository's ``data`` folder as ``data``."""
    if str(SCRIPTS) not in sys.path:
        sys.path.insert(0, str(SCRIPTS))  # the scripts import each other by module name
    return types.SimpleNamespace(
        commands=importlib.import_module("prepare_commands_task"),
        commands_real_dev=importlib.import_module("prepare_commands_real_dev"),
        commands_festival=importlib.import_module("measure_commands_festival"),
        vad=importlib.import_module("prepare_vad_task"),
        speakers=importlib.import_module("prepare_speakers_task"),
        shared=importlib.import_module("prepare_sound_tasks"),
        data=REPO_ROOT / "data",
    )


@pytest.fixture
def engines() -> None:
    """Skip a test that renders speech where espeak-ng or flite is not installed."""
    missing = [tool for tool in ("espeak-ng", "flite") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"{' and '.join(missing)} not installed (apt-get install espeak-ng flite)")

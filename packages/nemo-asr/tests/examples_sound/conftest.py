"""The two sound examples of ``examples/asr`` loaded as modules (they live outside any package)."""

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

EXAMPLES = Path(__file__).resolve().parents[4] / "examples" / "asr"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"sound_example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def speech_commands() -> ModuleType:
    """``examples/asr/speech_commands.py``."""
    return _load("speech_commands")


@pytest.fixture(scope="session")
def speaker_verification() -> ModuleType:
    """``examples/asr/speaker_verification.py``."""
    return _load("speaker_verification")

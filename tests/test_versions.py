"""One version for the four nemo-kit distributions: their pyproject files, nemo.core.version and nemo.__version__."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parents[1]


def test_every_distribution_declares_nemo_core_version() -> None:
    from nemo.core.version import __version__

    for package in ("nemo-core", "nemo-asr", "nemo-nlp", "nemo-tts"):
        project = tomllib.loads((ROOT / "packages" / package / "pyproject.toml").read_text())["project"]
        assert project["version"] == __version__, package


def test_nemo_version_is_set_on_the_namespace_and_recorded_in_saved_configs() -> None:
    import nemo
    import nemo.core
    from nemo.core.version import __version__

    assert nemo.__version__ == nemo.core.__version__ == __version__
    assert not hasattr(nemo, "__file__") or nemo.__file__ is None  # still a PEP 420 namespace

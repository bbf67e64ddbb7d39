"""Shared test data for nemo-pitch: small manifests over real bundled clips and their reference tracks.

Nothing here imports ``nemo_pitch``, so that the test modules can skip cleanly where it is not installed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

PLUGIN_DIR = Path(__file__).resolve().parents[1]
DATA_DIR = PLUGIN_DIR / "data"


def bundled_lines(split: str) -> list[dict]:
    """The lines of the plugin's ``{split}_manifest.json``, with paths made absolute."""
    manifest = DATA_DIR / f"{split}_manifest.json"
    lines = []
    for text in manifest.read_text(encoding="utf-8").splitlines():
        item = json.loads(text)
        for key in ("audio_filepath", "f0_filepath"):
            item[key] = str((manifest.parent / item[key]).resolve())
        lines.append(item)
    return lines


@pytest.fixture(scope="module")
def tiny_manifest(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str, int], Path]:
    """``tiny_manifest(split, n)``: a manifest (in a temporary folder) over the first ``n`` real clips of ``split``."""
    folder = tmp_path_factory.mktemp("manifests")

    def write(split: str, count: int) -> Path:
        path = folder / f"tiny_{split}_{count}.json"
        path.write_text(
            "".join(json.dumps(item) + "\n" for item in bundled_lines(split)[:count]), encoding="utf-8"
        )
        return path

    return write

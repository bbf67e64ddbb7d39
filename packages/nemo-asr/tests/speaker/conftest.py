"""Shared fixtures of the speaker tests: NeMo's TitaNet fixture, what NeMo computed with it, real voices.

``data/`` holds NeMo 1.23's ``titanet_small_tiny`` archive and tensors (copied from the shared fixtures) and
``speaker_expected.pt``, made by ``data/make_nemo_speaker_expected.py`` under NeMo 1.23.
"""

import json
from pathlib import Path

import pytest
import torch

DATA = Path(__file__).resolve().parent / "data"
REPO_ROOT = Path(__file__).resolve().parents[4]
SYNTHETIC = REPO_ROOT / "data" / "synthetic"


@pytest.fixture(scope="session")
def expected() -> dict:
    """What NeMo 1.23 computed (see ``data/make_nemo_speaker_expected.py``)."""
    return torch.load(DATA / "speaker_expected.pt", weights_only=True)


@pytest.fixture(scope="session")
def fixture_io() -> dict:
    """NeMo's inputs and outputs of ``titanet_small_tiny.nemo`` (shared fixture README)."""
    return torch.load(DATA / "titanet_small_tiny.io.pt", weights_only=True)


@pytest.fixture(scope="session")
def titanet_path() -> Path:
    return DATA / "titanet_small_tiny.nemo"


def _voice_entries(voices: tuple[str, ...], per_voice: int, max_duration: float) -> list[dict]:
    entries: dict[str, list[dict]] = {voice: [] for voice in voices}
    with open(SYNTHETIC / "train_manifest.json", encoding="utf-8") as manifest:
        for line in manifest:
            item = json.loads(line)
            voice = Path(item["audio_filepath"]).stem.split("_", 1)[1]
            if (
                voice in entries
                and len(entries[voice]) < per_voice
                and 1.0 <= item["duration"] <= max_duration
            ):
                entries[voice].append(
                    {
                        "audio_filepath": str(SYNTHETIC / item["audio_filepath"]),
                        "duration": item["duration"],
                        "label": voice,
                    }
                )
    return [entry for voice in voices for entry in entries[voice]]


@pytest.fixture
def voice_manifest(tmp_path):
    """``make(voices, per_voice, name)``: a manifest of the first ``per_voice`` clips (1 to 3.5 s) of each voice
    of ``data/synthetic`` (flite/espeak voice from the file name, e.g. ``flite-slt``), labelled by voice.

    Returns the manifest path; its lines hold absolute ``audio_filepath``, ``duration`` and ``label``.
    """

    def make(voices: tuple[str, ...], per_voice: int, name: str = "voices_manifest.json") -> Path:
        entries = _voice_entries(voices, per_voice, max_duration=3.5)
        path = tmp_path / name
        path.write_text("".join(json.dumps(entry) + "\n" for entry in entries), encoding="utf-8")
        return path

    return make

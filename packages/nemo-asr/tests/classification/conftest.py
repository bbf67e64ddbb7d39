"""Shared data of the classification tests: NeMo 1.23's expected values and real spoken digits.

``data/`` holds the matchboxnet fixture made by NeMo 1.23 (see /work/shared/fixtures/nemo-1.23/README.md),
and ``make_nemo_expected.py``'s output: seeded clips, their label manifest and what NeMo computed on them.
"""

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
import soundfile as sf
import torch

DATA = Path(__file__).resolve().parent / "data"
FIXTURE = DATA / "matchboxnet_3x1x64_v1_tiny.nemo"
FIXTURE_IO = DATA / "matchboxnet_3x1x64_v1_tiny.io.pt"
LABEL_MANIFEST = DATA / "label_manifest.json"
ASTERISK = Path(__file__).resolve().parents[4] / "data" / "asterisk"
# Two spoken words of the bundled Asterisk voice, a few prompts each: the digit prompts and their neighbours.
DIGIT_PROMPTS = {"one": "digits__1", "two": "digits__2"}


@pytest.fixture(scope="session")
def nemo_expected() -> dict:
    """What NeMo 1.23 computed (``data/make_nemo_expected.py``)."""
    return torch.load(DATA / "nemo_expected.pt", weights_only=True)


@pytest.fixture(scope="session")
def fixture_io() -> dict:
    """The matchboxnet fixture's inputs and NeMo's outputs on them."""
    return torch.load(FIXTURE_IO, weights_only=True)


@pytest.fixture(scope="session")
def clip_paths() -> list[str]:
    """The seeded clips of ``label_manifest.json``, in manifest order (absolute paths)."""
    lines = LABEL_MANIFEST.read_text(encoding="utf-8").splitlines()
    return [str(DATA / json.loads(line)["audio_filepath"]) for line in lines if line.strip()]


@dataclass
class Words:
    """Real spoken words as 16 kHz wav files, with a label manifest beside them."""

    folder: Path
    manifest: Path
    labels: list[str]
    paths: list[str]


@pytest.fixture(scope="session")
def spoken_words(tmp_path_factory) -> Words:
    """The Asterisk prompts "one" and "two", each also time-shifted by 0.05 s and 0.1 s of leading silence.

    Six utterances, labelled by word; the shifted copies give each class more than one example.
    """
    folder = tmp_path_factory.mktemp("spoken_words")
    entries, paths = [], []
    for label, prompt in DIGIT_PROMPTS.items():
        samples, sample_rate = sf.read(ASTERISK / "audio" / f"{prompt}.opus", dtype="float32")
        assert sample_rate == 16000, f"{prompt}.opus is {sample_rate} Hz"
        for shift in (0, 800, 1600):
            audio = torch.cat([torch.zeros(shift), torch.from_numpy(samples)]).numpy()
            path = folder / f"{label}_{shift}.wav"
            sf.write(path, audio, 16000, subtype="PCM_16")
            entries.append({"audio_filepath": path.name, "duration": len(audio) / 16000, "label": label})
            paths.append(str(path))
    manifest = folder / "words_manifest.json"
    manifest.write_text("".join(json.dumps(entry) + "\n" for entry in entries), encoding="utf-8")
    return Words(folder, manifest, list(DIGIT_PROMPTS), paths)

"""Real audio corpora for the data tests: wav/flac files written with soundfile and JSON manifests."""

import json
import string
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

SAMPLE_RATE = 16000
LABELS = [" "] + list(string.ascii_lowercase) + ["'"]


@dataclass
class Corpus:
    """Utterances written to ``folder``, listed in ``manifest`` (paths relative to it)."""

    folder: Path
    manifest: Path
    lines: list[dict]

    def audio(self, index: int) -> np.ndarray:
        """Samples of utterance ``index`` as soundfile reads them (float32)."""
        return sf.read(self.folder / self.lines[index]["audio_filepath"], dtype="float32")[0]


def _write_manifest(path: Path, lines: list[dict]) -> Path:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


@pytest.fixture
def write_manifest():
    """``write_manifest(path, lines)``: write dicts as JSON lines, return the path."""
    return _write_manifest


@pytest.fixture
def make_corpus(tmp_path):
    """Factory: ``make_corpus(texts, durations=None, ext="wav", sample_rate=16000)`` -> Corpus."""

    def make(texts, durations=None, ext="wav", sample_rate=SAMPLE_RATE, name="corpus"):
        folder = tmp_path / name
        (folder / "audio").mkdir(parents=True)
        rng = np.random.default_rng(len(texts))
        durations = durations or [0.1 + 0.05 * i for i in range(len(texts))]
        lines = []
        for index, (text, duration) in enumerate(zip(texts, durations)):
            relative = f"audio/utt{index}.{ext}"
            samples = rng.uniform(-0.5, 0.5, int(round(duration * sample_rate))).astype(np.float32)
            sf.write(folder / relative, samples, sample_rate, subtype="PCM_16")
            lines.append({"audio_filepath": relative, "duration": duration, "text": text})
        return Corpus(folder, _write_manifest(folder / "manifest.json", lines), lines)

    return make

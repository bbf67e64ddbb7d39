"""Shared pieces of the scripts that make the sound-classification data: voices, audio, manifests.

Issue 13's three tasks each have a script, run in this order from the repository root:

    python scripts/prepare_commands_task.py    # data/commands: spoken digits and letters
    python scripts/prepare_vad_task.py plan     # data/vad: recipes of speech in silence and noise
    python scripts/prepare_speakers_task.py    # data/speakers: speaker verification

The first and the last need espeak-ng and flite (``apt-get install espeak-ng flite``); their results are
committed, so a fresh clone needs neither. ``prepare_vad_task.py build`` turns the committed VAD recipes
into audio with numpy and soundfile alone. This module holds what they share: the list of synthetic
voices (the voices of ``scripts/prepare_synthetic_speech.py``), Opus writing and JSON-lines manifests.
"""

from __future__ import annotations

import json
import os
import random
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent))
from prepare_synthetic_speech import (  # noqa: E402
    ESPEAK_VARIANTS,
    ESPEAK_VOICES,
    FLITE_VOICES,
    SAMPLE_RATE,
    Voice,
    styled_voice,
    synthesize,
    trim_and_normalize,
)

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
OPUS_COMPRESSION_LEVEL = 0.96
"""About 16 kbit/s, as ``data/synthetic``."""

__all__ = [
    "DATA",
    "OPUS_COMPRESSION_LEVEL",
    "ROOT",
    "SAMPLE_RATE",
    "SyntheticVoice",
    "read_audio",
    "read_manifest",
    "relative_path",
    "render",
    "seeded_sample",
    "synthetic_voices",
    "write_manifest",
    "write_opus",
]


@dataclass(frozen=True)
class SyntheticVoice:
    """One synthetic speaker: a flite voice, or an espeak-ng accent with a voice variant.

    Attributes:
        engine: ``"flite"`` or ``"espeak-ng"``.
        name: the flite voice (``"slt"``) or ``"<accent>+<variant>"`` (``"en-gb+f3"``).
    """

    engine: str
    name: str

    @property
    def tag(self) -> str:
        """The name used in file names and speaker labels, as in ``data/synthetic`` (``espeak-en-gb-f3``)."""
        return Voice(self.engine, self.name, 1.0, 0).tag

    @property
    def accent(self) -> str:
        """The espeak-ng accent (``"en-gb"``), or the flite voice's name."""
        return self.name.split("+")[0]

    def styled(self, rng: random.Random) -> Voice:
        """This voice with a random tempo and pitch (the ranges of ``prepare_synthetic_speech``)."""
        return styled_voice(rng, self.engine, self.name)


def synthetic_voices() -> list[SyntheticVoice]:
    """Every synthetic speaker: the 4 flite voices, then the 7 x 13 espeak-ng accent + variant pairs."""
    flite = [SyntheticVoice("flite", name) for name in sorted(FLITE_VOICES)]
    espeak = [
        SyntheticVoice("espeak-ng", f"{accent}+{variant}")
        for accent in ESPEAK_VOICES
        for variant in ESPEAK_VARIANTS
    ]
    return flite + espeak


def render(voice: Voice, text: str, workdir: Path) -> np.ndarray:
    """Speak ``text``, trim its silence to 0.15 s and scale its peak to 0.8; (T,) float32 at 16 kHz."""
    return trim_and_normalize(synthesize(voice, text, workdir))


def write_opus(path: Path, samples: np.ndarray) -> float:
    """Write (T,) samples at 16 kHz as mono Ogg/Opus; returns the duration in seconds (3 decimals)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(
        path, samples, SAMPLE_RATE, format="OGG", subtype="OPUS", compression_level=OPUS_COMPRESSION_LEVEL
    )
    return round(len(samples) / SAMPLE_RATE, 3)


def read_audio(path: Path) -> np.ndarray:
    """(T,) float32 mono samples of an audio file at 16 kHz.

    Raises:
        ValueError: the file is not 16 kHz.
    """
    samples, rate = sf.read(path, dtype="float32", always_2d=True)
    if rate != SAMPLE_RATE:
        raise ValueError(f"{path}: sample rate {rate} Hz, expected {SAMPLE_RATE} Hz; resample it first.")
    return samples.mean(axis=1)


def read_manifest(path: Path) -> list[dict]:
    """The JSON objects of a JSON-lines manifest, in order, skipping blank lines."""
    with open(path, encoding="utf-8") as manifest:
        return [json.loads(line) for line in manifest if line.strip()]


def write_manifest(path: Path, entries: Iterable[dict]) -> int:
    """Write ``entries`` as JSON lines; returns how many."""
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with open(path, "w", encoding="utf-8") as manifest:
        for entry in entries:
            manifest.write(json.dumps(entry) + "\n")
            count += 1
    return count


def seeded_sample(items: Sequence, count: int, rng: random.Random) -> list:
    """``count`` items drawn without replacement from ``items`` sorted by ``repr`` (whatever their order)."""
    return rng.sample(sorted(items, key=repr), count)


def relative_path(target: Path, start: Path) -> str:
    """``target`` relative to the folder ``start``, with ``..`` where needed, in POSIX form (links kept)."""
    return Path(os.path.relpath(os.path.abspath(target), os.path.abspath(start))).as_posix()

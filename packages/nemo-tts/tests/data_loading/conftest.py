"""Fixtures of the TTS data tests: real WAV files, manifests, NeMo 1.23's expected values, log capture."""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

DATA = Path(__file__).resolve().parent / "data"
CLIPS = {"activated": "Activated.", "call-waiting": "Call waiting!"}


@pytest.fixture(scope="session")
def nemo_reference() -> dict[str, torch.Tensor]:
    """Tensors NeMo 1.23 computed (``data/generate_nemo_reference.py``)."""
    return torch.load(DATA / "nemo_reference.pt", weights_only=True)


@pytest.fixture
def write_manifest() -> Callable[[Path, Sequence[dict]], Path]:
    def write(path: Path, lines: Sequence[dict]) -> Path:
        path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
        return path

    return write


@pytest.fixture
def clips_manifest(tmp_path: Path, write_manifest) -> Path:
    """The two bundled clips of ``data/`` (16 kHz), as NeMo's generator listed them (speakers 0 and 1)."""
    lines = [
        {"audio_filepath": str(DATA / f"{name}.wav"), "text": text, "duration": 1.0, "speaker": index}
        for index, (name, text) in enumerate(CLIPS.items())
    ]
    return write_manifest(tmp_path / "clips.json", lines)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """This folder's ``data/``: the two clips and NeMo's expected values."""
    return DATA


@pytest.fixture(scope="session")
def tone() -> Callable[..., np.ndarray]:
    def make(frequency: float, seconds: float, sample_rate: int, amplitude: float = 0.5) -> np.ndarray:
        """A sine tone, float32."""
        t = np.arange(int(round(seconds * sample_rate))) / sample_rate
        return (amplitude * np.sin(2 * math.pi * frequency * t)).astype(np.float32)

    return make


@pytest.fixture
def write_wav() -> Callable[..., Path]:
    def write(path: Path, samples: np.ndarray, sample_rate: int) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, samples, sample_rate, subtype="PCM_16")
        return path

    return write


@pytest.fixture
def nemo_log(caplog):
    """``caplog`` that also sees ``nemo.utils.logging`` records (the ``nemo`` logger does not propagate)."""
    logger = logging.getLogger("nemo")
    logger.addHandler(caplog.handler)
    caplog.set_level(logging.INFO, logger="nemo")
    yield caplog
    logger.removeHandler(caplog.handler)

"""Frame-labelled clips for the VAD tests: real Asterisk speech padded with silence, labelled every 20 ms.

Each ``speech`` prompt (see ``tests/conftest.py``) gets a different stretch of silence before and after it;
frame ``i`` (starting at ``i * 0.02`` s) is ``"1"`` when it starts inside the speech, so the labels say where
the padding is. ``frame_vad_config`` builds the shipped ``marblenet_3x2x64_20ms.yaml`` with these clips.
"""

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from omegaconf import DictConfig, OmegaConf

SAMPLE_RATE = 16000
FRAME = 0.02
CONFIG = (
    Path(__file__).resolve().parents[2]
    / "src"
    / "nemo"
    / "collections"
    / "asr"
    / "conf"
    / "marblenet_3x2x64_20ms.yaml"
)
# (silence before, silence after) in seconds, one pair per speech prompt.
PADDING = ((0.3, 0.5), (0.62, 0.2), (0.1, 0.74), (0.48, 0.48), (0.2, 0.3), (0.56, 0.1))


@dataclass
class FrameClips:
    """Padded clips, their frame labels and a manifest listing them.

    Attributes:
        folder: where the wav files and ``frame_manifest.json`` are.
        manifest: the manifest (``audio_filepath`` relative to ``folder``, ``duration``, ``label``).
        entries: its lines.
        speech_spans: ``(start, end)`` of the speech in each clip, seconds.
    """

    folder: Path
    manifest: Path
    entries: list[dict]
    speech_spans: list[tuple[float, float]]

    @property
    def paths(self) -> list[str]:
        return [str(self.folder / entry["audio_filepath"]) for entry in self.entries]


def frame_labels(start: float, end: float, duration: float) -> str:
    """``"0 0 1 1 ... 0"``: one label per 20 ms frame of ``duration``, 1 where the frame starts in [start, end)."""
    count = math.ceil(round(duration / FRAME, 6))
    return " ".join("1" if start <= index * FRAME < end else "0" for index in range(count))


@pytest.fixture(scope="session")
def frame_clips(speech, tmp_path_factory) -> FrameClips:
    folder = tmp_path_factory.mktemp("frame_vad_clips")
    entries, spans = [], []
    for (before, after), path in zip(PADDING, speech.paths):
        samples, rate = sf.read(path, dtype="float32")
        assert rate == SAMPLE_RATE
        padded = np.concatenate(
            [np.zeros(round(before * rate), np.float32), samples, np.zeros(round(after * rate), np.float32)]
        )
        name = f"padded_{Path(path).stem}.wav"
        sf.write(folder / name, padded, rate, subtype="PCM_16")
        duration = len(padded) / rate
        start, end = before, before + len(samples) / rate
        entries.append(
            {"audio_filepath": name, "duration": duration, "label": frame_labels(start, end, duration)}
        )
        spans.append((start, end))
    manifest = folder / "frame_manifest.json"
    manifest.write_text("".join(json.dumps(entry) + "\n" for entry in entries), encoding="utf-8")
    return FrameClips(folder, manifest, entries, spans)


@pytest.fixture(scope="session")
def frame_vad_config(frame_clips):
    """``frame_vad_config(batch_size, lr, val_batch_size)``: the shipped config on ``frame_clips`` (Adam, no
    augmentation, no SpecAugment, no dither)."""

    def build(batch_size: int = 3, lr: float = 0.01, val_batch_size: int = 3) -> DictConfig:
        cfg = OmegaConf.load(CONFIG)
        model = cfg.model
        for split, size in (("train_ds", batch_size), ("validation_ds", val_batch_size)):
            model[split].manifest_filepath = str(frame_clips.manifest)
            model[split].batch_size = size
            model[split].num_workers = 0
        model.train_ds.shuffle = False
        model.train_ds.augmentor = None
        model.spec_augment = None
        model.preprocessor.dither = 0.0
        model.optim = {"name": "adam", "lr": lr}
        OmegaConf.resolve(cfg)
        return cfg

    return build

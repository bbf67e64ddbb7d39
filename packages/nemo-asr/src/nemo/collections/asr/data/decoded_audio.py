"""Decode a manifest's compressed audio once into WAV files, so that training does not decode it every epoch."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from nemo.collections.asr.data.manifest import read_manifest_entries

__all__ = ["decode_audio_once"]


def decode_audio_once(manifests: Iterable[str | Path], folder: str | Path) -> Path:
    """Copy ``manifests`` into one manifest in ``folder`` whose audio is decoded once into 16-bit WAV files there.

    Training reads each clip once per epoch, and decoding Opus costs about 4 ms a clip: on 2 CPU cores that is
    ~15% of a small model's training step, spent again every epoch. Decoding once up front removes it. A clip
    listed several times (in one manifest or several) is decoded once; every line is kept, in order.

    Returns:
        The written manifest, ``folder / "train.json"``.
    """
    import soundfile as sf

    folder = Path(folder)
    copies: dict[str, str] = {}
    target = folder / "train.json"
    with target.open("w", encoding="utf-8") as out:
        for manifest in manifests:
            for entry in read_manifest_entries(str(manifest)):
                if entry.audio_filepath not in copies:
                    samples, sample_rate = sf.read(entry.audio_filepath, dtype="float32")
                    copy = folder / f"{len(copies):05d}.wav"
                    sf.write(copy, samples, sample_rate, subtype="PCM_16")
                    copies[entry.audio_filepath] = str(copy)
                line = entry.to_json(audio_filepath=copies[entry.audio_filepath])
                out.write(json.dumps(line, ensure_ascii=False) + "\n")
    return target

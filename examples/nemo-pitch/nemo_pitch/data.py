"""Pitch manifests and the dataset over them: audio read with soundfile, reference F0 tracks from ``.npz`` files.

A manifest has one JSON object per line::

    {"audio_filepath": "audio/a.opus", "duration": 2.1, "f0_filepath": "f0.npz", "f0_key": "a"}

- ``audio_filepath``: a mono file soundfile can read, at the model's sample rate. A relative path is resolved
  against the manifest's folder (falling back to the working directory when the file is only there, as NeMo
  does).
- ``f0_filepath``: an ``.npz`` file (resolved the same way) holding, under ``f0_key``, the reference pitch in Hz
  of each frame (0 = unvoiced), ``1 + num_samples // hop_length`` frames, frame ``k`` centred on sample
  ``k * hop_length``. ``scripts/prepare_pitch_data.py`` writes such files.
- other keys (``duration``, ``text``, ...) are ignored.

Every line is checked when the dataset is built, so a bad manifest fails before training starts, with an
error naming the manifest, the line and what to do.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import soundfile as sf
import torch
from omegaconf import DictConfig, ListConfig
from torch.utils.data import DataLoader, Dataset

__all__ = [
    "PitchClip",
    "PitchDataError",
    "PitchDataset",
    "collate_pitch",
    "pitch_dataloader",
    "read_pitch_manifest",
]

REQUIRED_KEYS = ("audio_filepath", "f0_filepath", "f0_key")


class PitchDataError(ValueError):
    """A manifest line, an audio file or a reference track that cannot be used; the message says where."""


@dataclass(frozen=True)
class PitchClip:
    """One checked manifest line.

    Attributes:
        audio_filepath: the resolved audio path.
        f0: (F,) float32 reference pitch in Hz, 0 where unvoiced, ``F = 1 + num_samples // hop_length``.
        num_samples: the audio's length in samples.
        where: ``"manifest:line"``, for error messages.
    """

    audio_filepath: str
    f0: np.ndarray
    num_samples: int
    where: str


def resolve_path(path: str, manifest_filepath: str) -> str:
    """``path`` if absolute; else beside the manifest, unless it exists only relative to the working directory."""
    if os.path.isabs(path):
        return path
    beside_manifest = os.path.join(os.path.dirname(os.path.abspath(manifest_filepath)), path)
    if not os.path.exists(beside_manifest) and os.path.exists(path):
        return path
    return beside_manifest


class _TrackFiles:
    """Open ``.npz`` track files, each loaded once per manifest read."""

    def __init__(self) -> None:
        self.files: dict[str, np.lib.npyio.NpzFile] = {}

    def track(self, path: str, key: str, where: str) -> np.ndarray:
        if path not in self.files:
            if not os.path.isfile(path):
                raise PitchDataError(
                    f"{where}: f0_filepath {path} does not exist. Fix the path (relative paths are read from "
                    "the manifest's folder) or regenerate the tracks with scripts/prepare_pitch_data.py."
                )
            try:
                self.files[path] = np.load(path)
            except (OSError, ValueError) as err:
                raise PitchDataError(
                    f"{where}: cannot read f0_filepath {path} as an .npz file: {err}"
                ) from err
        tracks = self.files[path]
        if key not in tracks.files:
            raise PitchDataError(
                f"{where}: f0_key {key!r} is not in {path} (it holds {len(tracks.files)} tracks). Fix the key "
                "or regenerate the tracks with scripts/prepare_pitch_data.py."
            )
        return np.asarray(tracks[key], dtype=np.float32)


def parse_pitch_line(
    line: str, where: str, manifest_filepath: str, sample_rate: int, hop_length: int, tracks: _TrackFiles
) -> PitchClip:
    """Check one manifest line and its files, and return the clip.

    Raises:
        PitchDataError: bad JSON, a missing key, a missing or unreadable file, another sample rate or more than
            one channel, a missing track, or a track whose length does not match the audio.
    """
    try:
        item = json.loads(line)
    except json.JSONDecodeError as err:
        raise PitchDataError(
            f"{where}: not valid JSON ({err.msg} at column {err.colno}). Each line must be one JSON object with "
            f"the keys {', '.join(REQUIRED_KEYS)}. Line: {line.strip()[:200]}"
        ) from err
    if not isinstance(item, dict):
        raise PitchDataError(
            f"{where}: expected a JSON object, got {type(item).__name__}. Line: {line.strip()[:200]}"
        )
    for key in REQUIRED_KEYS:
        if not isinstance(item.get(key), str) or not item[key]:
            raise PitchDataError(
                f"{where}: missing key {key!r} (a non-empty string); every line needs {', '.join(REQUIRED_KEYS)}. "
                f"Line: {line.strip()[:200]}"
            )
    audio = resolve_path(item["audio_filepath"], manifest_filepath)
    if not os.path.isfile(audio):
        raise PitchDataError(
            f"{where}: audio file {audio} does not exist (audio_filepath {item['audio_filepath']!r}; relative paths "
            "are read from the manifest's folder). Fix the path or remove the line."
        )
    try:
        info = sf.info(audio)
    except RuntimeError as err:  # soundfile's errors are RuntimeErrors
        raise PitchDataError(
            f"{where}: soundfile cannot read {audio}: {err}. Convert it to WAV, FLAC or Opus."
        ) from err
    if info.samplerate != sample_rate:
        raise PitchDataError(
            f"{where}: {audio} is sampled at {info.samplerate} Hz but the model expects {sample_rate} Hz "
            "(model.sample_rate). Resample the audio and recompute its F0 track at that rate."
        )
    if info.channels != 1:
        raise PitchDataError(
            f"{where}: {audio} has {info.channels} channels; the model takes mono audio. Mix it down."
        )
    f0 = tracks.track(resolve_path(item["f0_filepath"], manifest_filepath), item["f0_key"], where)
    expected = 1 + info.frames // hop_length
    if f0.ndim != 1 or f0.shape[0] != expected:
        raise PitchDataError(
            f"{where}: the track {item['f0_key']!r} has shape {f0.shape}, but {audio} ({info.frames} samples) has "
            f"{expected} frames of hop {hop_length}. Recompute the track with hop_length={hop_length}."
        )
    return PitchClip(audio, f0, int(info.frames), where)


def read_pitch_manifest(manifest_filepath: str, sample_rate: int, hop_length: int) -> list[PitchClip]:
    """Every clip of one manifest, each line and its files checked; blank lines are skipped.

    Raises:
        FileNotFoundError: the manifest does not exist.
        PitchDataError: a bad line (see :func:`parse_pitch_line`) or no clip at all.
    """
    if not os.path.isfile(manifest_filepath):
        raise FileNotFoundError(
            f"Manifest {manifest_filepath!r} does not exist (working directory: {os.getcwd()}). Set the data "
            "config's manifest_filepath, e.g. model.train_ds.manifest_filepath=examples/nemo-pitch/data/"
            "train_manifest.json from the repository root."
        )
    tracks = _TrackFiles()
    clips = []
    with open(manifest_filepath, encoding="utf-8") as manifest:
        for line_number, line in enumerate(manifest, start=1):
            if line.strip():
                where = f"{manifest_filepath}:{line_number}"
                clips.append(
                    parse_pitch_line(line, where, manifest_filepath, sample_rate, hop_length, tracks)
                )
    if not clips:
        raise PitchDataError(f"{manifest_filepath}: the manifest has no clip. Give at least one line.")
    return clips


class PitchDataset(Dataset):
    """Clips as (audio, reference pitch) pairs, optionally cut to a random window.

    Args:
        clips: from :func:`read_pitch_manifest`.
        sample_rate: expected sample rate in Hz (checked again on every read).
        hop_length: samples between frames of the reference tracks.
        crop_samples: when set, a clip longer than this is cut to a window of this many samples starting on a
            frame boundary (a new window on every read), so that frames stay aligned with the track.
    """

    def __init__(
        self, clips: Sequence[PitchClip], sample_rate: int, hop_length: int, crop_samples: int | None = None
    ) -> None:
        self.clips = list(clips)
        self.sample_rate = sample_rate
        self.hop_length = hop_length
        self.crop_samples = crop_samples

    def __len__(self) -> int:
        return len(self.clips)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(T,) float32 waveform and (1 + T // hop_length,) float32 reference pitch in Hz."""
        clip = self.clips[index]
        audio, sample_rate = sf.read(clip.audio_filepath, dtype="float32", always_2d=False)
        if sample_rate != self.sample_rate or audio.ndim != 1:
            raise PitchDataError(
                f"{clip.where}: {clip.audio_filepath} changed since the manifest was read: now {sample_rate} Hz, "
                f"shape {audio.shape}; expected mono {self.sample_rate} Hz."
            )
        f0 = clip.f0
        if self.crop_samples is not None and audio.shape[0] > self.crop_samples:
            last_frame = (audio.shape[0] - self.crop_samples) // self.hop_length
            first_frame = int(torch.randint(0, last_frame + 1, ()))
            start = first_frame * self.hop_length
            audio = audio[start : start + self.crop_samples]
            f0 = f0[first_frame : first_frame + 1 + self.crop_samples // self.hop_length]
        return torch.from_numpy(np.ascontiguousarray(audio)), torch.from_numpy(np.ascontiguousarray(f0))


def collate_pitch(
    batch: Sequence[tuple[torch.Tensor, torch.Tensor]],
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Zero-pad a list of (audio, f0) pairs.

    Returns:
        audio (B, T_max), audio lengths (B,), f0 (B, F_max) in Hz (0 = unvoiced or padding), f0 lengths (B,).
    """
    audio_lengths = torch.tensor([audio.shape[0] for audio, _ in batch], dtype=torch.long)
    f0_lengths = torch.tensor([f0.shape[0] for _, f0 in batch], dtype=torch.long)
    audio = torch.zeros(len(batch), int(audio_lengths.max()))
    f0 = torch.zeros(len(batch), int(f0_lengths.max()))
    for row, (clip_audio, clip_f0) in enumerate(batch):
        audio[row, : clip_audio.shape[0]] = clip_audio
        f0[row, : clip_f0.shape[0]] = clip_f0
    return audio, audio_lengths, f0, f0_lengths


def manifest_paths(cfg: DictConfig, section: str) -> list[str]:
    """``cfg.manifest_filepath`` as a list (a list, or a comma-separated string).

    Raises:
        PitchDataError: the key is missing or empty; the message names ``section``.
    """
    value = cfg.get("manifest_filepath")
    paths = [str(p) for p in value] if isinstance(value, (list, ListConfig)) else str(value or "").split(",")
    paths = [path.strip() for path in paths if path.strip()]
    if not paths:
        raise PitchDataError(
            f"model.{section}.manifest_filepath is not set. Give a pitch manifest, e.g. "
            f"model.{section}.manifest_filepath=examples/nemo-pitch/data/dev_manifest.json"
        )
    return paths


def pitch_dataloader(cfg: DictConfig, section: str, sample_rate: int, hop_length: int) -> DataLoader:
    """A loader of ``collate_pitch`` batches over the manifests of a data config.

    Args:
        cfg: ``manifest_filepath`` (one path, a comma-separated string or a list), ``batch_size``, and optionally
            ``shuffle`` (false), ``crop_seconds`` (null: whole clips), ``num_workers`` (0), ``drop_last`` (false).
        section: the config's name (``train_ds``, ...), for error messages.
        sample_rate: the model's sample rate in Hz.
        hop_length: the model's frame hop in samples.
    """
    if "batch_size" not in cfg:
        raise PitchDataError(
            f"model.{section}.batch_size is not set. Add it, e.g. model.{section}.batch_size=16"
        )
    clips = [
        clip
        for path in manifest_paths(cfg, section)
        for clip in read_pitch_manifest(path, sample_rate, hop_length)
    ]
    crop_seconds = cfg.get("crop_seconds")
    crop_samples = None if crop_seconds is None else int(round(float(crop_seconds) * sample_rate))
    return DataLoader(
        PitchDataset(clips, sample_rate, hop_length, crop_samples),
        batch_size=int(cfg.batch_size),
        shuffle=bool(cfg.get("shuffle", False)),
        num_workers=int(cfg.get("num_workers", 0)),
        drop_last=bool(cfg.get("drop_last", False)),
        collate_fn=collate_pitch,
    )

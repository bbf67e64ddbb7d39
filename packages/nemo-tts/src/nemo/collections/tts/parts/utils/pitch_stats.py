"""``pitch_mean`` and ``pitch_std`` of a dataset, for FastPitch configs (``nemo tts pitch-stats``).

NeMo 1.23 leaves them as ``???`` and computes them with ``scripts/dataset_processing/tts/extract_sup_data.py``:
the mean and the (unbiased) standard deviation of the pitch of every voiced frame of the training set. This
module does the same with the dataset's pitch tracker (:func:`~.preprocessing.pitch.estimate_pitch`) and,
given ``sup_data_path``, reads and writes the same pitch cache as ``TTSDataset``, so training reuses it.

    nemo tts pitch-stats train_manifest.json --sample-rate 22050 [--sup-data-path sup] [--config fastpitch.yaml]
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Sequence
from pathlib import Path

import torch
from nemo.collections.tts.data.dataset import PITCH_FMAX, PITCH_FMIN, load_entry_audio
from nemo.collections.tts.data.manifest import read_tts_manifests
from nemo.collections.tts.data.sup_data_cache import cache_id, load_or_compute
from nemo.collections.tts.parts.preprocessing.pitch import estimate_pitch
from nemo.collections.tts.parts.utils.tts_dataset_utils import get_base_dir

__all__ = ["compute_pitch_stats", "pitch_stats_main", "write_pitch_stats"]


def compute_pitch_stats(
    manifest_filepath: str | Path | Sequence[str | Path],
    sample_rate: int,
    hop_length: int = 256,
    win_length: int = 1024,
    pitch_fmin: float = PITCH_FMIN,
    pitch_fmax: float = PITCH_FMAX,
    sup_data_path: str | Path | None = None,
) -> tuple[float, float]:
    """Mean and standard deviation (unbiased) of F0 over the voiced frames of every manifest line.

    Args:
        manifest_filepath: TTS manifest(s).
        sample_rate: the audio's sample rate (a file with another rate is an error naming its line).
        hop_length: frame hop, as the dataset's ``hop_length``.
        win_length: window length, as the dataset's ``win_length``.
        pitch_fmin: lowest F0 searched, Hz.
        pitch_fmax: highest F0 searched, Hz.
        sup_data_path: if given, pitch is read from / cached in ``<sup_data_path>/pitch`` as ``TTSDataset``
            does with the same manifest.

    Returns:
        ``(pitch_mean, pitch_std)`` in Hz.

    Raises:
        ValueError: no voiced frame in the whole dataset.
    """
    entries = read_tts_manifests(manifest_filepath)
    base_dir = get_base_dir(entry.audio_filepath for entry in entries)
    folder = Path(sup_data_path) / "pitch" if sup_data_path is not None else None
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
    voiced = []
    for entry in entries:

        def compute(entry=entry) -> torch.Tensor:
            audio = load_entry_audio(entry, sample_rate)
            return estimate_pitch(audio, sample_rate, hop_length, win_length, pitch_fmin, pitch_fmax)

        if folder is None:
            pitch = compute()
        else:
            pitch = load_or_compute(folder / f"{cache_id(entry.audio_filepath, base_dir)}.pt", compute)
        voiced.append(pitch[pitch != 0])
    frames = torch.cat(voiced).double() if voiced else torch.zeros(0, dtype=torch.float64)
    if frames.numel() < 2:
        raise ValueError(
            f"Found {frames.numel()} voiced frames in {manifest_filepath}; pitch statistics need speech. Check the "
            f"audio and pitch_fmin/pitch_fmax ({pitch_fmin}, {pitch_fmax})."
        )
    return float(frames.mean()), float(frames.std())


def write_pitch_stats(config_path: str | Path, pitch_mean: float, pitch_std: float) -> list[str]:
    """Set every literal ``pitch_mean:`` / ``pitch_std:`` value of a YAML config in place, keeping comments.

    Values that interpolate another key (``${...}``) are left alone: they follow the key they name.

    Returns:
        The changed lines, as written.

    Raises:
        ValueError: the config has no literal ``pitch_mean`` or ``pitch_std`` to set.
    """
    path = Path(config_path)
    text = path.read_text(encoding="utf-8")
    changed: list[str] = []
    for key, value in (("pitch_mean", pitch_mean), ("pitch_std", pitch_std)):
        pattern = re.compile(
            rf"^(?P<head>[ \t]*{key}:[ \t]*)(?![ \t]|\$\{{)(?P<value>[^#\n]*?)(?P<tail>[ \t]*(#.*)?)$", re.M
        )
        count = 0

        def replace(match: re.Match[str], value: float = value) -> str:
            nonlocal count
            count += 1
            line = f"{match['head']}{value}{match['tail']}"
            changed.append(line.strip())
            return line

        text = pattern.sub(replace, text)
        if count == 0:
            raise ValueError(
                f"{path} has no literal '{key}:' line to set (values like ${{model.{key}}} follow another key). "
                f"Add '{key}: ???' at the config's top level, or paste the printed values by hand."
            )
    path.write_text(text, encoding="utf-8")
    return changed


def pitch_stats_main(argv: Sequence[str] | None = None) -> int:
    """Command line: print ``pitch_mean``/``pitch_std`` as YAML, and optionally write them into a config."""
    parser = argparse.ArgumentParser(
        prog="nemo tts pitch-stats",
        description="Compute pitch_mean and pitch_std (Hz, voiced frames) of a TTS dataset for FastPitch configs.",
    )
    parser.add_argument(
        "manifest", nargs="+", help="TTS manifest(s) (JSON lines with audio_filepath, duration)"
    )
    parser.add_argument(
        "--sample-rate", type=int, required=True, help="the audio's sample rate (config sample_rate)"
    )
    parser.add_argument("--hop-length", type=int, default=256, help="frame hop (config n_window_stride)")
    parser.add_argument("--win-length", type=int, default=1024, help="window length (config n_window_size)")
    parser.add_argument(
        "--pitch-fmin", type=float, default=PITCH_FMIN, help="lowest F0 in Hz (config pitch_fmin)"
    )
    parser.add_argument(
        "--pitch-fmax", type=float, default=PITCH_FMAX, help="highest F0 in Hz (config pitch_fmax)"
    )
    parser.add_argument("--sup-data-path", help="cache folder shared with TTSDataset (config sup_data_path)")
    parser.add_argument("--config", help="a YAML config whose pitch_mean/pitch_std lines are set in place")
    args = parser.parse_args(argv)
    mean, std = compute_pitch_stats(
        args.manifest,
        args.sample_rate,
        hop_length=args.hop_length,
        win_length=args.win_length,
        pitch_fmin=args.pitch_fmin,
        pitch_fmax=args.pitch_fmax,
        sup_data_path=args.sup_data_path,
    )
    print(f"pitch_mean: {mean}\npitch_std: {std}")
    if args.config:
        for line in write_pitch_stats(args.config, mean, std):
            print(f"{args.config}: {line}")
    return 0

"""Helpers shared by the TTS datasets (NeMo 1.23's ``tts_dataset_utils``): alignment priors, padding, paths.

The beta-binomial prior is computed with ``torch.lgamma`` (NeMo: ``torch.special.gammaln``) and the
interpolator resizes cached priors with bilinear interpolation on the corner-aligned grid, which is what
NeMo's ``scipy.ndimage.zoom(order=1)`` computes, so scipy is not needed.
"""

from __future__ import annotations

import functools
import os
import random
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
import torch
from nemo.collections.asr.parts.preprocessing.segment import AudioSegment

__all__ = [
    "BetaBinomialInterpolator",
    "beta_binomial_prior_distribution",
    "filter_dataset_by_duration",
    "general_padding",
    "get_abs_rel_paths",
    "get_audio_filepaths",
    "get_base_dir",
    "get_weighted_sampler",
    "load_audio",
    "normalize_volume",
    "sample_audio",
    "stack_tensors",
]


def get_abs_rel_paths(input_path: Path, base_path: Path) -> tuple[Path, Path]:
    """The absolute and the ``base_path``-relative form of ``input_path`` (absolute or relative)."""
    if os.path.isabs(input_path):
        return input_path, input_path.relative_to(base_path)
    return base_path / input_path, input_path


def get_audio_filepaths(manifest_entry: dict[str, Any], audio_dir: Path) -> tuple[Path, Path]:
    """The absolute and ``audio_dir``-relative paths of a manifest entry's ``audio_filepath``."""
    return get_abs_rel_paths(Path(manifest_entry["audio_filepath"]), audio_dir)


def normalize_volume(audio: np.ndarray, volume_level: float = 0.95) -> np.ndarray:
    """Peak-normalise ``audio`` so its largest absolute sample is ``volume_level``.

    Raises:
        ValueError: ``volume_level`` is outside [0, 1].
    """
    if not 0.0 <= volume_level <= 1.0:
        raise ValueError(
            f"Volume must be in range [0.0, 1.0]: got volume_level={volume_level}. Pass a value in that range."
        )
    if audio.size == 0:
        return audio
    peak = np.max(np.abs(audio))
    if peak == 0:
        return audio
    return volume_level * (audio / peak)


def beta_binomial_prior_distribution(
    phoneme_count: int, mel_count: int, scaling_factor: float = 1.0
) -> np.ndarray:
    """Beta-binomial alignment prior: row ``j`` is BetaBinom(n=phoneme_count-1, a=s*j, b=s*(mel_count+1-j)).

    Frame ``j`` (1-based) puts its mass on tokens near ``j / mel_count`` of the text, which guides the
    aligner towards a diagonal.

    Args:
        phoneme_count: number of tokens T_text.
        mel_count: number of spectrogram frames T_spec.
        scaling_factor: the ``s`` above; smaller values widen the prior.

    Returns:
        (T_spec, T_text) float32 array of probabilities (each row sums to 1).
    """
    phoneme_count = int(phoneme_count)
    k = torch.arange(phoneme_count, dtype=torch.float32).unsqueeze(0)
    frames = torch.arange(1, mel_count + 1, dtype=torch.float32).unsqueeze(1)
    a = scaling_factor * frames
    b = scaling_factor * (mel_count + 1 - frames)
    n = torch.tensor(phoneme_count - 1, dtype=torch.float32)
    log_choose = torch.lgamma(n + 1) - torch.lgamma(k + 1) - torch.lgamma(n - k + 1)
    log_beta_num = torch.lgamma(k + a) + torch.lgamma(n - k + b) - torch.lgamma(n + a + b)
    log_beta_den = torch.lgamma(a) + torch.lgamma(b) - torch.lgamma(a + b)
    return (log_choose + log_beta_num - log_beta_den).exp().numpy()


def _zoom_linear(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resize a 2-D array to (height, width) by bilinear interpolation with corners aligned (float64)."""
    source = torch.from_numpy(image).to(torch.float64)[None, None]
    resized = torch.nn.functional.interpolate(
        source, size=(height, width), mode="bilinear", align_corners=True
    )
    return resized[0, 0].to(torch.float32).numpy()


class BetaBinomialInterpolator:
    """Alignment priors from a cache of priors at rounded sizes, resized to the exact size (NeMo's class).

    Sizes are rounded up to multiples of ``round_mel_len_to`` frames and ``round_text_len_to`` tokens; the
    prior for the rounded size is computed once (LRU cache of ``cache_size``) and resized.

    Args:
        round_mel_len_to: frame-count rounding.
        round_text_len_to: token-count rounding.
        cache_size: number of rounded priors kept.
    """

    def __init__(
        self, round_mel_len_to: int = 50, round_text_len_to: int = 10, cache_size: int = 500
    ) -> None:
        self.round_mel_len_to = round_mel_len_to
        self.round_text_len_to = round_text_len_to
        self.bank = functools.lru_cache(maxsize=cache_size)(beta_binomial_prior_distribution)

    @staticmethod
    def round(val: int, to: int) -> int:
        """``val + 1`` rounded to the nearest multiple of ``to`` (at least ``to``)."""
        return max(1, int(np.round((val + 1) / to))) * to

    def __call__(self, w: int, h: int) -> np.ndarray:
        """The prior for ``w`` spectrogram frames and ``h`` tokens.

        As in NeMo, the cached prior is computed with the rounded frame count as its token count and
        transposed, then resized.

        Returns:
            (w, h) float32 array.
        """
        bw = BetaBinomialInterpolator.round(w, to=self.round_mel_len_to)
        bh = BetaBinomialInterpolator.round(h, to=self.round_text_len_to)
        return _zoom_linear(self.bank(bw, bh).T, w, h)


def general_padding(item: torch.Tensor, item_len: int, max_len: int, pad_value: float = 0) -> torch.Tensor:
    """Right-pad the last axis of ``item`` from ``item_len`` to ``max_len`` with ``pad_value``."""
    if item_len < max_len:
        item = torch.nn.functional.pad(item, (0, max_len - item_len), value=pad_value)
    return item


def stack_tensors(
    tensors: Sequence[torch.Tensor], max_lens: Sequence[int], pad_value: float = 0.0
) -> torch.Tensor:
    """Stack tensors after padding their trailing axes (last axis first) to ``max_lens``.

    Args:
        tensors: tensors of equal rank R.
        max_lens: target lengths for the last ``len(max_lens)`` axes, starting with the last axis.
        pad_value: padding value.

    Returns:
        (B, ...) tensor.
    """
    padded = []
    for tensor in tensors:
        padding: list[int] = []
        for axis, max_len in enumerate(max_lens, 1):
            padding += [0, max_len - tensor.shape[-axis]]
        padded.append(torch.nn.functional.pad(tensor, pad=padding, value=pad_value))
    return torch.stack(padded)


def get_base_dir(paths: Iterable[str | os.PathLike[str]]) -> Path | None:
    """The deepest folder that contains every path's parent folder (``None`` for no paths)."""
    parents = [Path(path).parent for path in paths]
    if not parents:
        return None
    if len({parent.is_absolute() for parent in parents}) > 1:
        return None
    return Path(os.path.commonpath(parents)) if len(parents) > 1 else parents[0]


def filter_dataset_by_duration(
    entries: list[dict[str, Any]], min_duration: float | None, max_duration: float | None
) -> tuple[list[dict[str, Any]], float, float]:
    """Drop entries whose ``duration`` is below ``min_duration`` or above ``max_duration``.

    Returns:
        The kept entries, the total hours before filtering and the hours kept.
    """
    kept = []
    total = kept_seconds = 0.0
    for entry in entries:
        duration = entry["duration"]
        total += duration
        if (min_duration and duration < min_duration) or (max_duration and duration > max_duration):
            continue
        kept_seconds += duration
        kept.append(entry)
    return kept, total / 3600.0, kept_seconds / 3600.0


def get_weighted_sampler(
    sample_weights: list[float], batch_size: int, world_size: int, num_steps: int
) -> torch.utils.data.WeightedRandomSampler:
    """A ``WeightedRandomSampler`` drawing ``batch_size * world_size * num_steps`` items per epoch."""
    weights = torch.tensor(sample_weights, dtype=torch.float64)
    return torch.utils.data.WeightedRandomSampler(
        weights=weights, num_samples=batch_size * world_size * num_steps
    )


def load_audio(
    manifest_entry: dict[str, Any],
    audio_dir: Path,
    sample_rate: int,
    max_duration: float | None = None,
    volume_norm: bool = False,
) -> tuple[np.ndarray, Path, Path]:
    """Read a manifest entry's audio (its ``offset``/``duration`` window, at most ``max_duration`` s).

    Returns:
        (T,) float32 samples at ``sample_rate``, and the absolute and relative audio paths.
    """
    abs_path, rel_path = get_audio_filepaths(manifest_entry, audio_dir)
    duration = manifest_entry.get("duration", 0.0)
    if max_duration is not None:
        duration = min(duration, max_duration)
    segment = AudioSegment.from_file(
        abs_path, target_sr=sample_rate, offset=manifest_entry.get("offset", 0.0), duration=duration
    )
    audio = segment.samples
    return (normalize_volume(audio) if volume_norm else audio), abs_path, rel_path


def sample_audio(
    manifest_entry: dict[str, Any],
    audio_dir: Path,
    sample_rate: int,
    n_samples: int,
    volume_norm: bool = False,
) -> tuple[np.ndarray, Path, Path]:
    """Read a random ``n_samples`` window of a manifest entry's audio (zero-padded when shorter).

    With an ``offset`` in the entry the window starts at a uniformly drawn time (Python's ``random``)
    between ``offset`` and the last start that still ends inside ``offset + duration``.

    Returns:
        (n_samples,) float32 samples at ``sample_rate``, and the absolute and relative audio paths.
    """
    abs_path, rel_path = get_audio_filepaths(manifest_entry, audio_dir)
    offset = manifest_entry.get("offset")
    start = 0.0
    if offset is not None:
        file_seconds = sf.info(str(abs_path)).duration
        max_end = min(offset + manifest_entry.get("duration", 0.0), file_seconds - 0.1)
        start = random.uniform(offset, max(offset, max_end - n_samples / sample_rate))
    segment = AudioSegment.from_file(abs_path, target_sr=sample_rate, offset=start)
    audio = segment.samples[:n_samples]
    if audio.shape[0] < n_samples:
        audio = np.pad(audio, (0, n_samples - audio.shape[0]))
    return (normalize_volume(audio) if volume_norm else audio), abs_path, rel_path

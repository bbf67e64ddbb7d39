"""In-place transforms of one field of a TTS training example (NeMo 1.23's ``feature_processors``).

A training example is a dict of tensors (``"pitch"``, ``"energy"``, a voiced mask, a ``"speaker"`` id, ...).
Each processor rewrites one field of it: affine scaling, log compression, or mean/variance normalisation from
a JSON statistics file of the form::

    {"default": {"pitch_mean": 100.0, "pitch_std": 50.0}, "speaker1": {"pitch_mean": 110.0, "pitch_std": 45.0}}

(written by NeMo's ``scripts/dataset_processing/tts/compute_feature_stats.py``).
"""

from __future__ import annotations

import json
import os
from abc import ABC, abstractmethod
from typing import Any

import torch

__all__ = [
    "FeatureProcessor",
    "FeatureScaler",
    "LogCompression",
    "MeanVarianceNormalization",
    "MeanVarianceSpeakerNormalization",
]


class FeatureProcessor(ABC):
    """A transform applied to one training example dict, in place."""

    @abstractmethod
    def process(self, training_example: dict[str, Any]) -> None:
        """Rewrite the processor's field(s) of ``training_example``."""


def _read_stats(stats_path: str | os.PathLike[str]) -> dict[str, dict[str, float]]:
    """The statistics JSON: ``{group: {"<field>_mean": m, "<field>_std": s}}``."""
    with open(stats_path, encoding="utf-8") as handle:
        return json.load(handle)


def _stat(stats: dict[str, dict[str, float]], group: str, key: str, stats_path: Any) -> float:
    """One statistic, with an error that names the file, group and key when it is missing."""
    try:
        return stats[group][key]
    except KeyError:
        raise KeyError(
            f"Feature statistics file {stats_path} has no '{key}' under '{group}'. Recompute the statistics "
            "for this field (NeMo's compute_feature_stats.py) or fix the processor's field name."
        ) from None


def _normalise(
    training_example: dict[str, Any], field: str, mean: float, std: float, mask_field: str | None
) -> None:
    """``(x - mean) / std``, then zero where ``training_example[mask_field]`` is False."""
    value = (training_example[field] - mean) / std
    if mask_field:
        value = value.masked_fill(~training_example[mask_field], 0.0)
    training_example[field] = value


class FeatureScaler(FeatureProcessor):
    """``x <- (x + add_value) / div_value``.

    Args:
        field: key of the example to scale.
        add_value: constant added first.
        div_value: constant divided by after.
    """

    def __init__(self, field: str, add_value: float = 0.0, div_value: float = 1.0) -> None:
        self.field = field
        self.add_value = add_value
        self.div_value = div_value

    def process(self, training_example: dict[str, Any]) -> None:
        training_example[self.field] = (training_example[self.field] + self.add_value) / self.div_value


class LogCompression(FeatureProcessor):
    """``x <- log(x + v)`` (``"add"``) or ``x <- log(max(x, v))`` (``"clamp"``), ``v = log_zero_guard_value``.

    Args:
        field: key of the example to compress.
        log_zero_guard_type: ``"add"`` or ``"clamp"``.
        log_zero_guard_value: the ``v`` above.
    """

    def __init__(
        self, field: str, log_zero_guard_type: str = "add", log_zero_guard_value: float = 1.0
    ) -> None:
        if log_zero_guard_type not in ("add", "clamp"):
            raise ValueError(
                f"Unsupported log zero guard type: '{log_zero_guard_type}'. Set log_zero_guard_type to 'add' or "
                "'clamp'."
            )
        self.field = field
        self.guard_type = log_zero_guard_type
        self.guard_value = log_zero_guard_value

    def process(self, training_example: dict[str, Any]) -> None:
        value = training_example[self.field]
        if self.guard_type == "add":
            guarded = value + self.guard_value
        else:
            guarded = torch.clamp(value, min=self.guard_value)
        training_example[self.field] = torch.log(guarded)


class MeanVarianceNormalization(FeatureProcessor):
    """``x <- (x - mean) / std`` with the ``"default"`` statistics of a JSON file; masked values become 0.

    Args:
        field: key of the example to normalise; the file holds ``<field>_mean`` and ``<field>_std``.
        stats_path: the statistics JSON.
        mask_field: key of a boolean tensor (same shape as the field) whose False entries are set to 0 after
            normalising (by default the pitch tracker's voiced mask); None to keep every value.
    """

    def __init__(
        self, field: str, stats_path: str | os.PathLike[str], mask_field: str | None = "voiced_mask"
    ) -> None:
        self.field = field
        self.mask_field = mask_field
        stats = _read_stats(stats_path)
        self.mean = _stat(stats, "default", f"{field}_mean", stats_path)
        self.std = _stat(stats, "default", f"{field}_std", stats_path)

    def process(self, training_example: dict[str, Any]) -> None:
        _normalise(training_example, self.field, self.mean, self.std, self.mask_field)


class MeanVarianceSpeakerNormalization(FeatureProcessor):
    """``x <- (x - mean_s) / std_s`` with the statistics of the example's speaker ``s``.

    Args:
        field: key of the example to normalise; each speaker's entry holds ``<field>_mean`` and ``<field>_std``.
        stats_path: the statistics JSON, keyed by speaker id (plus ``"default"``).
        speaker_field: key of the example that holds the speaker id.
        mask_field: key of a boolean tensor whose False entries are set to 0 after normalising; None for none.
        fallback_to_default: use the ``"default"`` statistics for a speaker the file does not have (otherwise
            such a speaker raises ``ValueError``).
    """

    def __init__(
        self,
        field: str,
        stats_path: str | os.PathLike[str],
        speaker_field: str = "speaker",
        mask_field: str | None = "voiced_mask",
        fallback_to_default: bool = False,
    ) -> None:
        self.field = field
        self.key_mean = f"{field}_mean"
        self.key_std = f"{field}_std"
        self.speaker_field = speaker_field
        self.mask_field = mask_field
        self.fallback_to_default = fallback_to_default
        self.stats_path = stats_path
        self.stats_dict = _read_stats(stats_path)

    def process(self, training_example: dict[str, Any]) -> None:
        speaker = training_example[self.speaker_field]
        if speaker in self.stats_dict:
            group = speaker
        elif self.fallback_to_default:
            group = "default"
        else:
            raise ValueError(
                f"Statistics not found for speaker: {speaker} (in {self.stats_path}). Add the speaker to the "
                "statistics file or pass fallback_to_default=True."
            )
        mean = _stat(self.stats_dict, group, self.key_mean, self.stats_path)
        std = _stat(self.stats_dict, group, self.key_std, self.stats_path)
        _normalise(training_example, self.field, mean, std, self.mask_field)

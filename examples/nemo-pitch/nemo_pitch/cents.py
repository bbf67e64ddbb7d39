"""Pitch on a cents scale: Hz <-> cents, the classifier's bins, its blurred targets and the decoding back to Hz.

Cents are counted from 10 Hz, as CREPE does: ``cents = 1200 * log2(f / 10)``, so one octave is 1200 cents and
a semitone 100. The classifier predicts one of ``n_bins`` bins whose centres are ``bin_cents`` apart from
``fmin_hz`` upwards.
"""

from __future__ import annotations

import math

import torch

__all__ = [
    "REFERENCE_HZ",
    "bin_centres",
    "cents_to_hz",
    "decode_cents",
    "gaussian_targets",
    "hz_to_cents",
    "number_of_bins",
]

REFERENCE_HZ = 10.0
"""The frequency at 0 cents."""


def hz_to_cents(hz: torch.Tensor) -> torch.Tensor:
    """``1200 * log2(hz / 10)`` of every element; only meaningful where ``hz > 0``.

    Args:
        hz: frequencies in Hz, any shape.

    Returns:
        Cents above 10 Hz, same shape (``-inf`` where ``hz == 0``).
    """
    return 1200.0 * torch.log2(hz / REFERENCE_HZ)


def cents_to_hz(cents: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`hz_to_cents`: ``10 * 2 ** (cents / 1200)``, same shape."""
    return REFERENCE_HZ * torch.pow(2.0, cents / 1200.0)


def number_of_bins(fmin_hz: float, fmax_hz: float, bin_cents: float) -> int:
    """How many bins of ``bin_cents`` from ``fmin_hz`` it takes to reach ``fmax_hz`` (the last one included)."""
    if not 0 < fmin_hz < fmax_hz or bin_cents <= 0:
        raise ValueError(
            f"pitch bins need 0 < fmin_hz < fmax_hz and bin_cents > 0; got fmin_hz={fmin_hz}, fmax_hz={fmax_hz}, "
            f"bin_cents={bin_cents}. Fix the model config."
        )
    return 1 + math.ceil(1200.0 * math.log2(fmax_hz / fmin_hz) / bin_cents)


def bin_centres(fmin_hz: float, n_bins: int, bin_cents: float) -> torch.Tensor:
    """(n_bins,) float32 centres in cents: ``hz_to_cents(fmin_hz) + bin_cents * i``."""
    start = 1200.0 * math.log2(fmin_hz / REFERENCE_HZ)
    return start + bin_cents * torch.arange(n_bins, dtype=torch.float32)


def gaussian_targets(
    reference_cents: torch.Tensor, centres: torch.Tensor, sigma_cents: float
) -> torch.Tensor:
    """Soft classification targets: a Gaussian over the bins around each reference pitch, summing to 1.

    A pitch outside the bins' range is clamped to the first or last centre first.

    Args:
        reference_cents: (...,) reference pitch in cents (only voiced frames are meaningful).
        centres: (N,) bin centres in cents.
        sigma_cents: the Gaussian's standard deviation in cents (CREPE: 25).

    Returns:
        (..., N) float32 distributions over the bins.
    """
    clamped = reference_cents.clamp(float(centres[0]), float(centres[-1]))
    distance = centres - clamped.unsqueeze(-1)
    weights = torch.exp(-0.5 * (distance / sigma_cents) ** 2)
    return weights / weights.sum(dim=-1, keepdim=True)


def decode_cents(logits: torch.Tensor, centres: torch.Tensor, window: int) -> torch.Tensor:
    """Pitch in cents of each frame: the softmax-weighted mean of the centres within ``window`` bins of the argmax.

    Args:
        logits: (..., N) scores over the bins.
        centres: (N,) bin centres in cents.
        window: bins taken on each side of the argmax (0: the argmax centre itself).

    Returns:
        (...,) pitch in cents.
    """
    probabilities = torch.softmax(logits.float(), dim=-1)
    best = probabilities.argmax(dim=-1, keepdim=True)
    offsets = torch.arange(-window, window + 1, device=logits.device)
    indices = best + offsets
    inside = (indices >= 0) & (indices < logits.shape[-1])
    indices = indices.clamp(0, logits.shape[-1] - 1)
    weights = probabilities.gather(-1, indices) * inside
    return (weights * centres.to(logits.device)[indices]).sum(dim=-1) / weights.sum(dim=-1)

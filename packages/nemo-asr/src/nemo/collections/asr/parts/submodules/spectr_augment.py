"""SpecAugment frequency/time masks and SpecCutout rectangles (NeMo 1.23's ``SpecAugment`` / ``SpecCutout``).

The masks of a whole batch are drawn at once with torch's random number generator and applied with
one ``masked_fill``: no Python loop over batch items, no host round-trip for the lengths, and the same
code on CPU and GPU. The distributions are NeMo's (inclusive integer ranges, see each class); the
random streams differ from NeMo's Python ``random`` draws.

Randomness: with ``rng=None`` the masks come from torch's global generator (``torch.manual_seed``
makes them reproducible); with a ``random.Random`` (or an int seed) each call seeds a
``torch.Generator`` from it, so a seeded ``rng`` gives a reproducible sequence of masks.
"""

from __future__ import annotations

import random

import torch
from nemo.core.classes.typecheck import Typing, typecheck
from nemo.core.neural_types import LengthsType, NeuralType, SpectrogramType
from torch import nn

__all__ = ["SpecAugment", "SpecCutout"]


def as_random(rng: random.Random | int | None) -> random.Random | None:
    """``rng`` as a ``random.Random``: an int is a seed, ``None`` stays ``None`` (global torch RNG)."""
    if rng is None or isinstance(rng, random.Random):
        return rng
    if isinstance(rng, int) and not isinstance(rng, bool):
        return random.Random(rng)
    raise TypeError(
        f"rng must be a random.Random, an int seed or None, got {type(rng).__name__} ({rng!r}). "
        "Pass random.Random(seed) or a seed."
    )


def torch_generator(rng: random.Random | None, device: torch.device) -> torch.Generator | None:
    """A ``torch.Generator`` on ``device`` seeded from ``rng``, or ``None`` (use the global one)."""
    if rng is None:
        return None
    return torch.Generator(device=device).manual_seed(rng.getrandbits(63))


def uniform_integers(
    high: torch.Tensor, shape: tuple[int, ...], generator: torch.Generator | None
) -> torch.Tensor:
    """Integers drawn uniformly from ``[0, high]`` (inclusive, as ``random.randint(0, high)``).

    Args:
        high: inclusive upper bounds, broadcastable to ``shape``, >= 0.
        shape: shape of the draw.
        generator: torch generator, or ``None`` for the global one.

    Returns:
        int64 tensor of ``shape`` on ``high``'s device.
    """
    unit = torch.rand(shape, generator=generator, device=high.device)
    return (unit * (high + 1)).floor_().long()


def spans(starts: torch.Tensor, ends: torch.Tensor, size: int) -> torch.Tensor:
    """Indicators of the index spans ``[start, end)`` along a new last axis.

    Args:
        starts: span starts (B, K).
        ends: span ends (B, K), exclusive.
        size: length of the spanned axis.

    Returns:
        Boolean (B, K, size): True where the position lies in the span.
    """
    positions = torch.arange(size, device=starts.device)
    return (positions >= starts.unsqueeze(-1)) & (positions < ends.unsqueeze(-1))


class SpecAugment(nn.Module, Typing):
    """Frequency and time masking of SpecAugment (Park et al., 2019).

    Per item, ``freq_masks`` bands ``[f0, f0 + w)`` with ``f0 ~ U{0, D - freq_width}`` and
    ``w ~ U{0, freq_width}``, and ``time_masks`` spans ``[t0, t0 + w)`` with
    ``t0 ~ U{0, max(1, length - W)}`` and ``w ~ U{0, W}``, where ``W`` is ``time_width`` frames or,
    for a float ``time_width``, ``max(1, int(length * time_width))``. Time spans are cut at the
    item's length, so padded frames are never masked.

    Args:
        freq_masks: frequency masks per item.
        time_masks: time masks per item.
        freq_width: maximum frequency mask width in bins.
        time_width: maximum time mask width: frames (int) or a fraction of each item's length
            (float in [0, 1]).
        rng: ``random.Random`` or int seed for reproducible masks; ``None`` uses torch's global RNG.
        mask_value: value written into masked cells.
    """

    def __init__(
        self,
        freq_masks: int = 0,
        time_masks: int = 0,
        freq_width: int = 10,
        time_width: int | float = 0.1,
        rng: random.Random | int | None = None,
        mask_value: float = 0.0,
    ) -> None:
        super().__init__()
        self._rng = as_random(rng)
        self.freq_masks = freq_masks
        self.time_masks = time_masks
        self.freq_width = freq_width
        self.time_width = time_width
        self.mask_value = mask_value
        if isinstance(time_width, int):
            self.adaptive_temporal_width = False
        else:
            if not 0.0 <= time_width <= 1.0:
                raise ValueError(
                    f"A float time_width is a fraction of each item's length and must be in [0, 1], got "
                    f"{time_width}. Fix `time_width` in the spec_augment config (an int means frames)."
                )
            self.adaptive_temporal_width = True

    @property
    def input_types(self) -> dict[str, NeuralType]:
        """``input_spec`` (B, D, T) spectrogram and ``length`` (B,) valid frames."""
        return {
            "input_spec": NeuralType(("B", "D", "T"), SpectrogramType()),
            "length": NeuralType(tuple("B"), LengthsType()),
        }

    @property
    def output_types(self) -> dict[str, NeuralType]:
        """``augmented_spec`` (B, D, T)."""
        return {"augmented_spec": NeuralType(("B", "D", "T"), SpectrogramType())}

    @typecheck()
    @torch.no_grad()
    def forward(self, input_spec: torch.Tensor, length: torch.Tensor) -> torch.Tensor:
        """Mask random frequency bands and time spans.

        Args:
            input_spec: spectrogram (B, D, T).
            length: valid frames per item (B,).

        Returns:
            The masked spectrogram (B, D, T), a new tensor.
        """
        batch, num_freq, num_time = input_spec.shape
        device = input_spec.device
        generator = torch_generator(self._rng, device)
        mask = torch.zeros(batch, num_freq, num_time, dtype=torch.bool, device=device)
        if self.freq_masks > 0:
            if num_freq < self.freq_width:
                raise ValueError(
                    f"SpecAugment freq_width={self.freq_width} is wider than the spectrogram's {num_freq} "
                    "frequency bins. Lower `freq_width` in the spec_augment config."
                )
            shape = (batch, self.freq_masks)
            starts = uniform_integers(
                torch.tensor(num_freq - self.freq_width, device=device), shape, generator
            )
            widths = uniform_integers(torch.tensor(self.freq_width, device=device), shape, generator)
            mask |= spans(starts, starts + widths, num_freq).any(dim=1).unsqueeze(2)
        if self.time_masks > 0:
            lengths = length.to(device=device, dtype=torch.long)
            if self.adaptive_temporal_width:
                max_width = (lengths * self.time_width).floor().long().clamp_min(1)
            else:
                max_width = torch.full_like(lengths, self.time_width)
            start_high = (lengths - max_width).clamp_min(1)
            shape = (batch, self.time_masks)
            starts = uniform_integers(start_high.unsqueeze(1), shape, generator)
            widths = uniform_integers(max_width.unsqueeze(1), shape, generator)
            ends = torch.minimum(starts + widths, lengths.unsqueeze(1))
            mask |= spans(starts, ends, num_time).any(dim=1).unsqueeze(1)
        return input_spec.masked_fill(mask, self.mask_value)


class SpecCutout(nn.Module, Typing):
    """Zero random rectangles of the spectrogram (Cutout, DeVries & Taylor, 2017).

    Per item, ``rect_masks`` rectangles ``[f0, f0 + wf) x [t0, t0 + wt)`` with
    ``f0 ~ U{0, D - rect_freq}``, ``t0 ~ U{0, T - rect_time}``, ``wf ~ U{0, rect_freq}`` and
    ``wt ~ U{0, rect_time}``; as in NeMo they ignore the lengths and are filled with 0.

    Args:
        rect_masks: rectangles per item.
        rect_time: maximum rectangle width in frames.
        rect_freq: maximum rectangle height in frequency bins.
        rng: ``random.Random`` or int seed for reproducible rectangles; ``None`` uses torch's global RNG.
    """

    def __init__(
        self,
        rect_masks: int = 0,
        rect_time: int = 5,
        rect_freq: int = 20,
        rng: random.Random | int | None = None,
    ) -> None:
        super().__init__()
        self._rng = as_random(rng)
        self.rect_masks = rect_masks
        self.rect_time = rect_time
        self.rect_freq = rect_freq

    @property
    def input_types(self) -> dict[str, NeuralType]:
        """``input_spec`` (B, D, T) spectrogram."""
        return {"input_spec": NeuralType(("B", "D", "T"), SpectrogramType())}

    @property
    def output_types(self) -> dict[str, NeuralType]:
        """``augmented_spec`` (B, D, T)."""
        return {"augmented_spec": NeuralType(("B", "D", "T"), SpectrogramType())}

    @typecheck()
    @torch.no_grad()
    def forward(self, input_spec: torch.Tensor) -> torch.Tensor:
        """Zero random rectangles.

        Args:
            input_spec: spectrogram (B, D, T).

        Returns:
            The spectrogram with the rectangles zeroed (B, D, T), a new tensor.
        """
        batch, num_freq, num_time = input_spec.shape
        if num_freq < self.rect_freq or num_time < self.rect_time:
            raise ValueError(
                f"SpecCutout rectangles up to {self.rect_freq} bins x {self.rect_time} frames do not fit a "
                f"spectrogram of {num_freq} bins x {num_time} frames. Lower `rect_freq` / `rect_time` in the "
                "spec_augment config."
            )
        device = input_spec.device
        generator = torch_generator(self._rng, device)
        shape = (batch, self.rect_masks)
        freq_starts = uniform_integers(
            torch.tensor(num_freq - self.rect_freq, device=device), shape, generator
        )
        time_starts = uniform_integers(
            torch.tensor(num_time - self.rect_time, device=device), shape, generator
        )
        freq_widths = uniform_integers(torch.tensor(self.rect_freq, device=device), shape, generator)
        time_widths = uniform_integers(torch.tensor(self.rect_time, device=device), shape, generator)
        in_freq = spans(freq_starts, freq_starts + freq_widths, num_freq).float()
        in_time = spans(time_starts, time_starts + time_widths, num_time).float()
        covered = torch.bmm(in_freq.transpose(1, 2), in_time) > 0
        return input_spec.masked_fill(covered, 0.0)

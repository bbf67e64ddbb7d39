"""Signal-to-distortion ratio (SDR) of batched multi-channel signals and the :class:`SDRLoss` built on it.

Signals are (B, C, T) tensors. The valid samples of each example are given either by ``input_length`` (B,)
(the first samples) or by a temporal ``mask`` (B, T) (1 valid, 0 ignored), never both; every average over
time then runs over the valid samples only. NeMo 1.23 names and defaults.

    SDR = 10 log10( P_t / (P_{e - t} + 10^(-sdr_max / 10) P_t + eps) + eps )

with ``P`` a temporal mean power, ``e`` the estimate and ``t`` the target (optionally replaced by its
scale- or convolution-invariant projection on the estimate).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from nemo.collections.asr.parts.utils.audio_utils import toeplitz
from nemo.core.classes.loss import Loss
from nemo.core.classes.typecheck import typecheck
from nemo.core.neural_types import AudioSignal, LengthsType, LossType, MaskType, NeuralType
from nemo.utils import logging

__all__ = [
    "SDRLoss",
    "calculate_sdr_batch",
    "convolution_invariant_target",
    "scale_invariant_target",
    "temporal_mean",
]


def _valid_samples_mask(
    like: torch.Tensor, input_length: torch.Tensor | None, mask: torch.Tensor | None
) -> torch.Tensor | None:
    """The (B, T) mask of valid samples of ``like`` (B, C, T) from ``input_length`` or ``mask`` (one at most)."""
    if input_length is None:
        return mask
    if mask is not None:
        raise RuntimeError("input_length and mask cannot be used together; pass only one of them.")
    steps = torch.arange(like.size(-1), device=like.device)
    return steps < input_length.to(like.device).view(-1, 1)


def temporal_mean(
    input: torch.Tensor,
    input_length: torch.Tensor | None = None,
    mask: torch.Tensor | None = None,
    keepdim: bool = False,
    eps: float = 1e-10,
) -> torch.Tensor:
    """Mean over the last (time) axis, over valid samples only when lengths or a mask are given.

    Args:
        input: (B, C, T) signals.
        input_length: (B,) valid samples of each example.
        mask: (B, T) weights of the samples (1 valid, 0 ignored); exclusive with ``input_length``.
        keepdim: keep the time axis (size 1).
        eps: added to the number of valid samples (masked mean only).

    Returns:
        (B, C), or (B, C, 1) with ``keepdim``.
    """
    mask = _valid_samples_mask(input, input_length, mask)
    if mask is None:
        return input.mean(dim=-1, keepdim=keepdim)
    weights = mask.unsqueeze(1)  # (B, 1, T)
    total = (weights * input).sum(dim=-1, keepdim=keepdim)
    count = weights.sum(dim=-1, keepdim=keepdim)
    return total / (count + eps)


def scale_invariant_target(
    estimate: torch.Tensor,
    target: torch.Tensor,
    input_length: torch.Tensor | None = None,
    mask: torch.Tensor | None = None,
    eps: float = 1e-10,
) -> torch.Tensor:
    """``target`` scaled by the per-channel least-squares gain ``argmin_a ||a target - estimate||^2``.

    Args:
        estimate: (B, C, T).
        target: (B, C, T).
        input_length: (B,) valid samples.
        mask: (B, T) valid samples; exclusive with ``input_length``.
        eps: regularization of the gain and of the masked means.

    Returns:
        (B, C, T) scaled target, zero at invalid samples.
    """
    mask = _valid_samples_mask(estimate, input_length, mask)
    cross_power = temporal_mean(estimate * target, mask=mask, keepdim=True, eps=eps)
    target_power = temporal_mean(target.abs() ** 2, mask=mask, keepdim=True, eps=eps)
    scaled = cross_power / (target_power + eps) * target
    return scaled if mask is None else scaled * mask.unsqueeze(1)


def convolution_invariant_target(
    estimate: torch.Tensor,
    target: torch.Tensor,
    input_length: torch.Tensor | None = None,
    mask: torch.Tensor | None = None,
    filter_length: int = 512,
    diag_reg: float | None = 1e-6,
    eps: float = 1e-8,
) -> torch.Tensor:
    """``target`` filtered by the per-channel least-squares FIR filter ``argmin_h ||h * target - estimate||^2``.

    The normal equations use the target's autocorrelation (a Toeplitz matrix) and its cross-correlation
    with the estimate, both computed by FFT over the valid samples (Boeddeker et al., "Convolutive transfer
    function invariant SDR training criteria for multi-channel reverberant speech separation", 2021).

    Args:
        estimate: (B, C, T).
        target: (B, C, T).
        input_length: (B,) valid samples.
        mask: (B, T) valid samples; exclusive with ``input_length``.
        filter_length: taps of the filter.
        diag_reg: relative loading of the zero-lag autocorrelation (None: no loading).
        eps: absolute loading of the zero-lag autocorrelation (with ``diag_reg``).

    Returns:
        (B, C, T) filtered target, zero at invalid samples.
    """
    if input_length is not None and mask is None and int(input_length.min()) < filter_length:
        logging.warning(
            f"The shortest input_length ({int(input_length.min())}) is below filter_length ({filter_length}); "
            "the filter's linear system is singular for that example."
        )
    mask = _valid_samples_mask(estimate, input_length, mask)
    if mask is not None:
        estimate = estimate * mask.unsqueeze(1)
        target = target * mask.unsqueeze(1)
    num_samples = estimate.size(-1)
    n_fft = 2 ** math.ceil(math.log2(2 * num_samples - 1))
    target_spectrum = torch.fft.rfft(target, n=n_fft)
    autocorrelation = torch.fft.irfft(target_spectrum.abs() ** 2, n=n_fft)[..., :filter_length]
    crosscorrelation = torch.fft.irfft(target_spectrum.conj() * torch.fft.rfft(estimate, n=n_fft), n=n_fft)
    crosscorrelation = crosscorrelation[..., :filter_length]
    if diag_reg is not None:
        loaded = autocorrelation[..., :1] * (1 + diag_reg) + eps
        autocorrelation = torch.cat([loaded, autocorrelation[..., 1:]], dim=-1)
    taps = torch.linalg.solve(toeplitz(autocorrelation), crosscorrelation.unsqueeze(-1)).squeeze(-1)
    filtered = torch.fft.irfft(target_spectrum * torch.fft.rfft(taps, n=n_fft), n=n_fft)[..., :num_samples]
    return filtered if mask is None else filtered * mask.unsqueeze(1)


def calculate_sdr_batch(
    estimate: torch.Tensor,
    target: torch.Tensor,
    input_length: torch.Tensor | None = None,
    mask: torch.Tensor | None = None,
    scale_invariant: bool = False,
    convolution_invariant: bool = False,
    convolution_filter_length: int | None = 512,
    remove_mean: bool = True,
    sdr_max: float | None = None,
    eps: float = 1e-8,
) -> torch.Tensor:
    """SDR in dB of every channel of every example.

    Args:
        estimate: (B, C, T).
        target: (B, C, T).
        input_length: (B,) valid samples.
        mask: (B, T) valid samples; exclusive with ``input_length``.
        scale_invariant: compare against :func:`scale_invariant_target` (SI-SDR).
        convolution_invariant: compare against :func:`convolution_invariant_target`
            (a filter of length 1 is the scale-invariant target).
        convolution_filter_length: taps of that filter.
        remove_mean: subtract each channel's (valid-sample) mean first.
        sdr_max: soft upper bound of the SDR in dB (None: unbounded).
        eps: regularization.

    Returns:
        (B, C) SDR in dB.
    """
    if scale_invariant and convolution_invariant:
        raise ValueError("scale_invariant and convolution_invariant cannot both be set; choose one.")
    if estimate.shape != target.shape:
        raise ValueError(f"estimate has shape {tuple(estimate.shape)} but target has {tuple(target.shape)}.")
    mask = _valid_samples_mask(estimate, input_length, mask)
    if remove_mean:
        estimate = estimate - temporal_mean(estimate, mask=mask, keepdim=True, eps=eps)
        target = target - temporal_mean(target, mask=mask, keepdim=True, eps=eps)
    if scale_invariant or (convolution_invariant and convolution_filter_length == 1):
        target = scale_invariant_target(estimate, target, mask=mask, eps=eps)
    elif convolution_invariant:
        if convolution_filter_length is None:
            raise ValueError("convolution_invariant=True needs convolution_filter_length.")
        target = convolution_invariant_target(
            estimate, target, mask=mask, filter_length=convolution_filter_length, eps=eps
        )
    target_power = temporal_mean(target.abs() ** 2, mask=mask, eps=eps)
    distortion_power = temporal_mean((estimate - target).abs() ** 2, mask=mask, eps=eps)
    if sdr_max is not None:
        distortion_power = distortion_power + 10 ** (-sdr_max / 10) * target_power
    return 10 * torch.log10(target_power / (distortion_power + eps) + eps)


class SDRLoss(Loss):
    """Negative SDR, averaged (or weighted) over channels and averaged over the batch.

    Args:
        weight: per-channel weights (positive, summing to one); None averages the channels. Stored as the
            buffer ``weight`` (1, C).
        reduction: batch reduction; only ``"mean"``.
        scale_invariant, convolution_invariant, convolution_filter_length, remove_mean, sdr_max, eps:
            as in :func:`calculate_sdr_batch`.
    """

    def __init__(
        self,
        weight: list[float] | None = None,
        reduction: str = "mean",
        scale_invariant: bool = False,
        convolution_invariant: bool = False,
        convolution_filter_length: int | None = 512,
        remove_mean: bool = True,
        sdr_max: float | None = None,
        eps: float = 1e-8,
    ) -> None:
        super().__init__()
        if weight is not None:
            if any(w <= 0 for w in weight):
                raise ValueError(f"SDRLoss weight must be positive for every channel, got {weight}.")
            if not np.isclose(sum(weight), 1, atol=1e-6):
                raise ValueError(f"SDRLoss weight must sum to one, got {weight} (sum {sum(weight)}).")
            weight = torch.tensor(weight).reshape(1, -1)
        self.register_buffer("weight", weight)
        if reduction != "mean":
            raise ValueError(f"SDRLoss got reduction={reduction!r}; only 'mean' is supported.")
        self.reduction = reduction
        if scale_invariant and convolution_invariant:
            raise ValueError(
                "SDRLoss: scale_invariant and convolution_invariant cannot both be set; choose one."
            )
        self.scale_invariant = scale_invariant
        self.convolution_invariant = convolution_invariant
        self.convolution_filter_length = convolution_filter_length
        self.remove_mean = remove_mean
        self.sdr_max = sdr_max
        self.eps = eps

    @property
    def input_types(self) -> dict[str, NeuralType]:
        """``estimate`` and ``target`` (B, C, T); optional ``input_length`` (B,) or ``mask`` (B, T)."""
        return {
            "estimate": NeuralType(("B", "C", "T"), AudioSignal()),
            "target": NeuralType(("B", "C", "T"), AudioSignal()),
            "input_length": NeuralType(("B",), LengthsType(), optional=True),
            "mask": NeuralType(("B", "T"), MaskType(), optional=True),
        }

    @property
    def output_types(self) -> dict[str, NeuralType]:
        """``loss``: a scalar."""
        return {"loss": NeuralType(elements_type=LossType())}

    @typecheck()
    def forward(
        self,
        estimate: torch.Tensor,
        target: torch.Tensor,
        input_length: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """The loss of a batch of (B, C, T) signals: minus the batch mean of the channel-averaged SDR."""
        sdr = calculate_sdr_batch(
            estimate=estimate,
            target=target,
            input_length=input_length,
            mask=mask,
            scale_invariant=self.scale_invariant,
            convolution_invariant=self.convolution_invariant,
            convolution_filter_length=self.convolution_filter_length,
            remove_mean=self.remove_mean,
            sdr_max=self.sdr_max,
            eps=self.eps,
        )  # (B, C)
        per_example = sdr.mean(dim=1) if self.weight is None else (sdr * self.weight).sum(dim=1)
        return -per_example.mean()

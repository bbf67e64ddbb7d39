"""Building blocks for multichannel speech enhancement (NeMo 1.23's ``multichannel_modules``).

* :class:`ChannelAugment`: random subset (and order) of microphone channels, for training.
* :class:`TransformAverageConcatenate`, :class:`TransformAttendConcatenate`: channel-wise layers that
  exchange information across any number of channels (TAC, VarArray-style, and an attention variant).
* :class:`ChannelAveragePool`, :class:`ChannelAttentionPool`: reduce ``(B, C, D, T)`` to ``(B, D, T)``.
* :class:`ParametricMultichannelWienerFilter`: mask-driven multichannel filter (MVDR ... MWF), with a
  fixed, absent (MIMO) or SNR-estimated reference channel (:class:`ReferenceChannelEstimatorSNR`).

Layouts: multichannel features are ``(B, C, D, T)`` (batch, channel, features or subbands, frames);
spectrograms are complex. Submodule and parameter names are NeMo's, so its state dicts load as they are.
"""

from __future__ import annotations

import random
from typing import Any

import torch
from nemo.collections.asr.parts.submodules.multi_head_attention import MultiHeadAttention
from nemo.core.classes.module import NeuralModule
from nemo.core.classes.typecheck import typecheck
from nemo.core.neural_types import AudioSignal, FloatType, NeuralType, SpectrogramType
from torch import nn

__all__ = [
    "ChannelAttentionPool",
    "ChannelAugment",
    "ChannelAveragePool",
    "ParametricMultichannelWienerFilter",
    "ReferenceChannelEstimatorSNR",
    "TransformAttendConcatenate",
    "TransformAverageConcatenate",
]

_MC_FEATURES = ("B", "C", "D", "T")


def _half_width(owner: str, in_features: int, out_features: int | None) -> int:
    """Width of each of the two concatenated halves; ``out_features`` (default ``in_features``) must be even."""
    out_features = in_features if out_features is None else out_features
    if out_features % 2:
        raise ValueError(
            f"{owner}: out_features={out_features} must be even (the output concatenates two halves of equal width)."
        )
    return out_features // 2


def _relu_projection(in_features: int, out_features: int) -> nn.Sequential:
    """``Linear`` without bias followed by ReLU (state-dict key ``0.weight``)."""
    return nn.Sequential(nn.Linear(in_features, out_features, bias=False), nn.ReLU())


def _attend_across_channels(attention: MultiHeadAttention, x: torch.Tensor) -> torch.Tensor:
    """Self-attention over the channel axis, independently per frame.

    Args:
        attention: attention of width ``D``.
        x: ``(B, T, C, D)``.

    Returns:
        ``(B, T, C, D)``.
    """
    b, t, c, d = x.shape
    frames = x.reshape(b * t, c, d)
    return attention(query=frames, key=frames, value=frames, mask=None).reshape(b, t, c, -1)


class ChannelAugment(NeuralModule):
    """Keep a random number of channels, optionally in a random order.

    Per call (one draw for the whole batch), ``n ~ U{num_channels_min, num_channels_max}`` channels are kept:
    the first ``n`` channels, or the first ``n`` of a random permutation when ``permute_channels``.

    Args:
        permute_channels: shuffle the channels before keeping the first ``n``.
        num_channels_min: smallest number of channels kept.
        num_channels_max: largest number kept; ``None`` means all input channels.
        rng: a ``random.Random`` (anything with ``randint`` and ``shuffle``); made from ``seed`` if None.
        seed: seed for the generator made when ``rng`` is None.

    Input ``input`` ``(B, C, T)``; output ``(B, n, T)``.
    """

    def __init__(
        self,
        permute_channels: bool = True,
        num_channels_min: int = 1,
        num_channels_max: int | None = None,
        rng: Any = None,
        seed: int | None = None,
    ) -> None:
        super().__init__()
        if num_channels_min < 1:
            raise ValueError(f"ChannelAugment: num_channels_min={num_channels_min} must be at least 1.")
        if num_channels_max is not None and num_channels_min > num_channels_max:
            raise ValueError(
                f"ChannelAugment: num_channels_min={num_channels_min} is larger than "
                f"num_channels_max={num_channels_max}."
            )
        self._rng = random.Random(seed) if rng is None else rng
        self.permute_channels = permute_channels
        self.num_channels_min = num_channels_min
        self.num_channels_max = num_channels_max

    @property
    def input_types(self) -> dict[str, NeuralType]:
        return {"input": NeuralType(("B", "C", "T"), AudioSignal())}

    @property
    def output_types(self) -> dict[str, NeuralType]:
        return {"output": NeuralType(("B", "C", "T"), AudioSignal())}

    @typecheck()
    @torch.no_grad()
    def forward(self, input: torch.Tensor) -> torch.Tensor:
        available = input.size(1)
        if available < self.num_channels_min:
            raise RuntimeError(
                f"ChannelAugment: the input has {available} channels, fewer than num_channels_min="
                f"{self.num_channels_min}."
            )
        upper = available if self.num_channels_max is None else self.num_channels_max
        keep = self._rng.randint(self.num_channels_min, upper)
        order = list(range(available))
        if self.permute_channels:
            self._rng.shuffle(order)
        return input[:, order[:keep], :]


class TransformAverageConcatenate(NeuralModule):
    """Transform-average-concatenate across channels (Luo et al. 2019; VarArray, Yoshioka et al. 2022).

    Each channel's features go through ``transform_channel``; ``transform_average`` is applied to every
    channel and averaged over channels. The output concatenates the two (each ``out_features / 2`` wide), so
    the second half is the same for all channels.

    Args:
        in_features: input width ``D_in``.
        out_features: output width ``D_out`` (even); default ``in_features``.

    Input ``(B, C, D_in, T)``; output ``(B, C, D_out, T)``.
    """

    def __init__(self, in_features: int, out_features: int | None = None) -> None:
        super().__init__()
        half = _half_width(type(self).__name__, in_features, out_features)
        self.transform_channel = _relu_projection(in_features, half)
        self.transform_average = _relu_projection(in_features, half)

    @property
    def input_types(self) -> dict[str, NeuralType]:
        return {"input": NeuralType(_MC_FEATURES, SpectrogramType())}

    @property
    def output_types(self) -> dict[str, NeuralType]:
        return {"output": NeuralType(_MC_FEATURES, SpectrogramType())}

    @typecheck()
    def forward(self, input: torch.Tensor) -> torch.Tensor:
        frames = input.permute(0, 3, 1, 2)  # (B, T, C, D_in)
        own = self.transform_channel(frames)
        shared = self.transform_average(frames).mean(dim=2, keepdim=True).expand_as(own)
        return torch.cat((own, shared), dim=-1).permute(0, 2, 3, 1)


class TransformAttendConcatenate(NeuralModule):
    """Transform-attend-concatenate across channels (Jukić et al. 2023).

    Like :class:`TransformAverageConcatenate`, but the second half is multi-head self-attention across
    channels (per frame) instead of an average, so it differs between channels.

    Args:
        in_features: input width ``D_in``.
        out_features: output width ``D_out`` (even); default ``in_features``.
        n_head: attention heads; must divide ``D_out / 2``.
        dropout_rate: dropout on the attention probabilities.

    Input ``(B, C, D_in, T)``; output ``(B, C, D_out, T)``.
    """

    def __init__(
        self, in_features: int, out_features: int | None = None, n_head: int = 4, dropout_rate: float = 0
    ) -> None:
        super().__init__()
        half = _half_width(type(self).__name__, in_features, out_features)
        self.transform_channel = _relu_projection(in_features, half)
        self.transform_attend = _relu_projection(in_features, half)
        self.attention = MultiHeadAttention(n_head=n_head, n_feat=half, dropout_rate=dropout_rate)

    @property
    def input_types(self) -> dict[str, NeuralType]:
        return {"input": NeuralType(_MC_FEATURES, SpectrogramType())}

    @property
    def output_types(self) -> dict[str, NeuralType]:
        return {"output": NeuralType(_MC_FEATURES, SpectrogramType())}

    @typecheck()
    def forward(self, input: torch.Tensor) -> torch.Tensor:
        frames = input.permute(0, 3, 1, 2)  # (B, T, C, D_in)
        own = self.transform_channel(frames)
        attended = _attend_across_channels(self.attention, self.transform_attend(frames))
        return torch.cat((own, attended), dim=-1).permute(0, 2, 3, 1)


class ChannelAveragePool(NeuralModule):
    """Mean over channels: ``(B, C, D, T)`` to ``(B, D, T)``."""

    @property
    def input_types(self) -> dict[str, NeuralType]:
        return {"input": NeuralType(_MC_FEATURES, SpectrogramType())}

    @property
    def output_types(self) -> dict[str, NeuralType]:
        return {"output": NeuralType(("B", "D", "T"), SpectrogramType())}

    @typecheck()
    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return input.mean(dim=1)


class ChannelAttentionPool(NeuralModule):
    """Self-attention across channels (per frame), then the mean over channels.

    Args:
        in_features: feature width ``D``; must be divisible by ``n_head``.
        n_head: attention heads.
        dropout_rate: dropout on the attention probabilities.

    Input ``(B, C, D, T)``; output ``(B, D, T)``.
    """

    def __init__(self, in_features: int, n_head: int = 1, dropout_rate: float = 0) -> None:
        super().__init__()
        self.in_features = in_features
        self.attention = MultiHeadAttention(n_head=n_head, n_feat=in_features, dropout_rate=dropout_rate)

    @property
    def input_types(self) -> dict[str, NeuralType]:
        return {"input": NeuralType(_MC_FEATURES, SpectrogramType())}

    @property
    def output_types(self) -> dict[str, NeuralType]:
        return {"output": NeuralType(("B", "D", "T"), SpectrogramType())}

    @typecheck()
    def forward(self, input: torch.Tensor) -> torch.Tensor:
        attended = _attend_across_channels(self.attention, input.permute(0, 3, 1, 2))  # (B, T, C, D)
        return attended.mean(dim=2).transpose(1, 2)


def _trace(x: torch.Tensor) -> torch.Tensor:
    """Trace of each matrix in ``(..., C, C)``, shape ``(...)``."""
    return torch.diagonal(x, dim1=-2, dim2=-1).sum(dim=-1)


def _quadratic_power(w: torch.Tensor, psd: torch.Tensor) -> torch.Tensor:
    """``|w_m^H psd w_m|`` for each column ``m`` of ``w``.

    Args:
        w: filters ``(B, F, C, M)``.
        psd: covariances ``(B, F, C, C)``.

    Returns:
        ``(B, F, M)``, real.
    """
    return torch.einsum("bfim,bfij,bfjm->bfm", w.conj(), psd, w).abs()


class ReferenceChannelEstimatorSNR(NeuralModule):
    """Pick the filter output (reference channel) with the highest estimated SNR (Boeddeker et al. 2018).

    For each output column ``m`` of a filter ``W``, the signal and noise powers ``w_m^H Phi w_m`` are summed
    over subbands (or weighted by learned softmax subband weights), giving an SNR in dB; its softmax across
    ``m`` is the soft reference. With ``hard``, the reference is one-hot at the maximum, optionally with the
    soft reference's gradient (straight-through).

    Args:
        hard: return a one-hot reference instead of the soft one.
        hard_use_grad: with ``hard``, pass the soft reference's gradient through the one-hot output.
        subband_weighting: weight subbands with learned softmax weights ``weight_s`` / ``weight_n``.
        num_subbands: number of subbands ``F``; required with ``subband_weighting``.
        eps: regularization of the SNR ratio and its logarithm.

    Inputs ``W`` ``(B, F, C, M)``, ``psd_s`` and ``psd_n`` ``(B, F, C, C)``; output ``(B, M)``.
    """

    def __init__(
        self,
        hard: bool = True,
        hard_use_grad: bool = True,
        subband_weighting: bool = False,
        num_subbands: int | None = None,
        eps: float = 1e-8,
    ) -> None:
        super().__init__()
        if subband_weighting and num_subbands is None:
            raise ValueError(
                "ReferenceChannelEstimatorSNR: subband_weighting=True needs num_subbands (the number of "
                "frequency bins of the input spectrogram)."
            )
        self.hard = hard
        self.hard_use_grad = hard_use_grad
        self.subband_weighting = subband_weighting
        self.eps = eps
        self.weight_s = nn.Parameter(torch.ones(num_subbands)) if subband_weighting else None
        self.weight_n = nn.Parameter(torch.ones(num_subbands)) if subband_weighting else None

    @property
    def input_types(self) -> dict[str, NeuralType]:
        return {
            "W": NeuralType(("B", "D", "C", "C"), SpectrogramType()),
            "psd_s": NeuralType(("B", "D", "C", "C"), SpectrogramType()),
            "psd_n": NeuralType(("B", "D", "C", "C"), SpectrogramType()),
        }

    @property
    def output_types(self) -> dict[str, NeuralType]:
        return {"output": NeuralType(("B", "C"), FloatType())}

    @typecheck()
    def forward(self, W: torch.Tensor, psd_s: torch.Tensor, psd_n: torch.Tensor) -> torch.Tensor:
        power_s = _quadratic_power(W, psd_s)  # (B, F, M)
        power_n = _quadratic_power(W, psd_n)
        if self.subband_weighting:
            power_s = torch.einsum("bfm,f->bm", power_s, self.weight_s.softmax(dim=0).to(power_s.dtype))
            power_n = torch.einsum("bfm,f->bm", power_n, self.weight_n.softmax(dim=0).to(power_n.dtype))
        else:
            power_s, power_n = power_s.sum(dim=1), power_n.sum(dim=1)
        snr_db = 10 * torch.log10(power_s / (power_n + self.eps) + self.eps)
        soft = snr_db.softmax(dim=-1)
        if not self.hard:
            return soft
        one_hot = torch.nn.functional.one_hot(soft.argmax(dim=-1), num_classes=soft.size(-1)).to(soft.dtype)
        if self.hard_use_grad:
            return one_hot + soft - soft.detach()
        return one_hot


class ParametricMultichannelWienerFilter(NeuralModule):
    """Parametric multichannel Wiener filter driven by signal and noise masks (Souden et al. 2010).

    The covariances ``Phi_s``, ``Phi_n`` ``(B, F, C, C)`` are mask-weighted averages over time of ``x x^H``
    (``torchaudio.functional.psd``). The ``C x C`` MIMO filter is

    * ``rank='one'``: ``W = Phi_n^{-1} Phi_s / (beta + tr(Phi_n^{-1} Phi_s))`` (beta=0: MVDR, 1: MWF);
    * ``rank='full'``: ``W = (Phi_s + beta Phi_n)^{-1} Phi_s`` (needs beta > 0);

    where the inverted matrix gets ``diag_reg * tr(.) + eps`` added to its diagonal when ``diag_reg`` is set.
    Output channel ``m`` is ``w_m^H x``. ``ref_channel`` selects output: an int keeps that column (one
    output channel), ``'max_snr'`` combines the columns with :class:`ReferenceChannelEstimatorSNR`, ``None``
    keeps all ``C`` (MIMO). ``postfilter='ban'`` scales each output with blind analytic normalization
    (Warsitz and Haeb-Umbach 2007). Computation runs in double precision, without autocast.

    Args:
        beta: noise-reduction / distortion trade-off.
        rank: ``'one'`` or ``'full'``, the assumed rank of ``Phi_s``.
        postfilter: ``None`` or ``'ban'``.
        ref_channel: int, ``'max_snr'`` or ``None`` (see above).
        ref_hard: ``'max_snr'``: one-hot reference (else soft).
        ref_hard_use_grad: ``'max_snr'``: straight-through gradient for the one-hot reference.
        ref_subband_weighting: ``'max_snr'``: learned subband weights.
        num_subbands: ``'max_snr'`` with subband weighting: number of subbands.
        diag_reg: relative diagonal loading (``None`` or 0: none).
        eps: small positive constant.

    Inputs ``input`` complex ``(B, C, F, T)``, ``mask_s`` and ``mask_n`` ``(B, F, T)``;
    output complex ``(B, M, F, T)`` with ``M`` 1 or ``C``.
    """

    def __init__(
        self,
        beta: float = 1.0,
        rank: str = "one",
        postfilter: str | None = None,
        ref_channel: int | str | None = None,
        ref_hard: bool = True,
        ref_hard_use_grad: bool = True,
        ref_subband_weighting: bool = False,
        num_subbands: int | None = None,
        diag_reg: float | None = 1e-6,
        eps: float = 1e-8,
    ) -> None:
        super().__init__()
        if rank not in ("one", "full"):
            raise ValueError(f"ParametricMultichannelWienerFilter: rank={rank!r} must be 'one' or 'full'.")
        if rank == "full" and beta == 0:
            raise ValueError(
                "ParametricMultichannelWienerFilter: rank='full' needs beta > 0 (beta=0 leaves W = identity); "
                "use rank='one' for MVDR."
            )
        if postfilter not in (None, "ban"):
            raise ValueError(
                f"ParametricMultichannelWienerFilter: postfilter={postfilter!r} must be None or 'ban'."
            )
        if diag_reg is not None and diag_reg < 0:
            raise ValueError(
                f"ParametricMultichannelWienerFilter: diag_reg={diag_reg} must be non-negative or None."
            )
        if eps <= 0:
            raise ValueError(f"ParametricMultichannelWienerFilter: eps={eps} must be positive.")
        if isinstance(ref_channel, str) and ref_channel != "max_snr":
            raise ValueError(
                f"ParametricMultichannelWienerFilter: ref_channel={ref_channel!r}; use a channel index, "
                "'max_snr' or None."
            )
        self.beta = beta
        self.rank = rank
        self.postfilter = postfilter
        self.diag_reg = diag_reg
        self.eps = eps
        self.ref_channel = ref_channel
        self.ref_estimator = (
            ReferenceChannelEstimatorSNR(
                hard=ref_hard,
                hard_use_grad=ref_hard_use_grad,
                subband_weighting=ref_subband_weighting,
                num_subbands=num_subbands,
                eps=eps,
            )
            if ref_channel == "max_snr"
            else None
        )
        self.is_mimo = ref_channel is None

    @staticmethod
    def trace(x: torch.Tensor, keepdim: bool = False) -> torch.Tensor:
        """Trace of each matrix in ``x`` ``(..., C, C)``: shape ``(...)``, or ``(..., 1, 1)`` with ``keepdim``."""
        tr = _trace(x)
        return tr[..., None, None] if keepdim else tr

    def apply_diag_reg(self, psd: torch.Tensor) -> torch.Tensor:
        """``psd + (diag_reg * Re tr(psd) + eps) I`` for ``psd`` ``(..., C, C)``."""
        loading = self.diag_reg * _trace(psd).real + self.eps
        eye = torch.eye(psd.size(-1), dtype=psd.dtype, device=psd.device)
        return psd + loading[..., None, None] * eye

    def apply_filter(self, input: torch.Tensor, filter: torch.Tensor) -> torch.Tensor:
        """Output ``y_m = w_m^H x``.

        Args:
            input: complex ``(B, C, F, T)``.
            filter: complex ``(B, F, C, M)``.

        Returns:
            Complex ``(B, M, F, T)``.
        """
        if not input.is_complex() or not filter.is_complex():
            raise TypeError(
                f"ParametricMultichannelWienerFilter.apply_filter needs complex input and filter, "
                f"got {input.dtype} and {filter.dtype}."
            )
        if filter.dim() != 4 or filter.shape[1] != input.shape[2] or filter.shape[2] != input.shape[1]:
            raise ValueError(
                f"ParametricMultichannelWienerFilter.apply_filter: filter of shape {tuple(filter.shape)} "
                f"(B, F, C, M) does not fit input of shape {tuple(input.shape)} (B, C, F, T)."
            )
        return torch.einsum("bfcm,bcft->bmft", filter.conj(), input)

    def apply_ban(self, input: torch.Tensor, filter: torch.Tensor, psd_n: torch.Tensor) -> torch.Tensor:
        """Blind analytic normalization of each output channel.

        The gain is ``sqrt(w^H Phi_n Phi_n w / C) / (|w^H Phi_n w| + eps)`` per batch, output and subband.

        Args:
            input: filter output ``(B, M, F, T)``.
            filter: ``(B, F, C, M)``.
            psd_n: noise covariance ``(B, F, C, C)``.

        Returns:
            ``(B, M, F, T)``.
        """
        num_inputs = filter.size(-2)
        noise_w = psd_n @ filter  # (B, F, C, M)
        numerator = torch.sqrt((noise_w.abs() ** 2).sum(dim=-2) / num_inputs)  # ||Phi_n w||^2 = w^H Phi_n^2 w
        denominator = torch.einsum("bfcm,bfcm->bfm", filter.conj(), noise_w).abs()
        gain = numerator / (denominator + self.eps)  # (B, F, M)
        return input * gain.permute(0, 2, 1)[..., None]

    @property
    def input_types(self) -> dict[str, NeuralType]:
        return {
            "input": NeuralType(_MC_FEATURES, SpectrogramType()),
            "mask_s": NeuralType(("B", "D", "T"), FloatType()),
            "mask_n": NeuralType(("B", "D", "T"), FloatType()),
        }

    @property
    def output_types(self) -> dict[str, NeuralType]:
        return {"output": NeuralType(_MC_FEATURES, SpectrogramType())}

    def _mimo_filter(self, psd_s: torch.Tensor, psd_n: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The ``C x C`` filter ``(B, F, C, C)`` from the covariances (see the class docstring).

        Returns:
            ``(W, psd_n)``: with ``rank='one'`` the returned noise covariance is the diagonally loaded one
            that ``W`` was computed with (the SNR reference and BAN then use it too, as NeMo does).
        """
        if self.rank == "one":
            if self.diag_reg:
                psd_n = self.apply_diag_reg(psd_n)
            w = torch.linalg.solve(psd_n, psd_s)
            return w / (self.beta + self.trace(w, keepdim=True).real + self.eps), psd_n
        denominator = psd_s + self.beta * psd_n
        if self.diag_reg:
            denominator = self.apply_diag_reg(denominator)
        return torch.linalg.solve(denominator, psd_s), psd_n

    @typecheck()
    def forward(self, input: torch.Tensor, mask_s: torch.Tensor, mask_n: torch.Tensor) -> torch.Tensor:
        import torchaudio.functional as AF

        io_dtype = input.dtype
        with torch.autocast(device_type=input.device.type, enabled=False):
            x = input.to(torch.cdouble)
            psd_s = AF.psd(x, mask_s.double(), normalize=True, eps=1e-15)
            psd_n = AF.psd(x, mask_n.double(), normalize=True, eps=1e-15)
            w, psd_n = self._mimo_filter(psd_s, psd_n)
            if self.ref_estimator is not None:
                reference = self.ref_estimator(W=w, psd_s=psd_s, psd_n=psd_n).to(w.dtype)  # (B, C)
                w = w @ reference[:, None, :, None]  # (B, F, C, 1)
            elif self.ref_channel is not None:
                w = w[..., self.ref_channel : self.ref_channel + 1]
            output = self.apply_filter(input=x, filter=w)
            if self.postfilter == "ban":
                output = self.apply_ban(input=output, filter=w, psd_n=psd_n)
        return output.to(io_dtype)

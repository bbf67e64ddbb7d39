"""Time-delay (TDNN) layers and the pooling layers of the speaker models (ECAPA-TDNN, TitaNet, SpeakerNet).

Module names and parameter layouts are NeMo 1.23's (``conv_layer``/``bn`` in :class:`TDNNModule`,
``group_tdnn_block``/``se_layer`` in :class:`TDNNSEModule`, ``attention_layer`` in
:class:`AttentivePoolLayer`), so NeMo's state dicts load with ``strict=True``.

Pooling turns encoder frames ``(B, C, T)`` into one vector per utterance, counting only each item's
valid frames:

* :class:`StatsPoolLayer`: mean (``tap``), or mean and standard deviation (``xvector``) over time;
* :class:`AttentivePoolLayer`: attentive statistics pooling (ECAPA-TDNN): a softmax over time, computed
  from each frame and the utterance's global mean and deviation, weights the mean and deviation.
"""

from __future__ import annotations

import torch
from nemo.collections.asr.parts.submodules.jasper import get_same_padding, init_weights
from torch import nn
from torch.nn import functional as F

__all__ = [
    "AttentivePoolLayer",
    "MaskedSEModule",
    "StatsPoolLayer",
    "TDNNModule",
    "TDNNSEModule",
    "get_statistics_with_mask",
    "lens_to_mask",
    "make_seq_mask_like",
]

_POOL_MODES = ("xvector", "tap")


def make_seq_mask_like(
    like: torch.Tensor, lengths: torch.Tensor, valid_ones: bool = True, time_dim: int = -1
) -> torch.Tensor:
    """A boolean length mask broadcastable against ``like``.

    Args:
        like: tensor whose time axis ``time_dim`` the mask covers, e.g. ``(B, C, T)``.
        lengths: valid frames per item ``(B,)``.
        valid_ones: True marks valid frames; False marks padded frames instead.
        time_dim: the time axis of ``like``.

    Returns:
        A mask with ``like``'s rank: ``(B, 1, T)`` for a ``(B, C, T)`` tensor and ``time_dim=-1``.
    """
    mask = torch.arange(like.shape[time_dim], device=like.device).unsqueeze(0) < lengths.unsqueeze(-1)
    mask = mask.reshape(mask.shape[0], *([1] * (like.dim() - 2)), mask.shape[1])
    if time_dim != -1:
        mask = mask.transpose(time_dim, -1)
    return mask if valid_ones else ~mask


def lens_to_mask(
    lens: torch.Tensor, max_len: int, device: torch.device | str | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Valid-frame mask and frame counts of a batch.

    Args:
        lens: valid frames per item ``(B,)``.
        max_len: number of frames ``T`` of the padded batch.
        device: where to build the mask (default: ``lens``' device).

    Returns:
        ``(mask, num_values)``: boolean ``(B, 1, T)``, and the valid frames ``(B, 1, 1)`` (integer).
    """
    mask = (torch.arange(max_len, device=device or lens.device) < lens.unsqueeze(1)).unsqueeze(1)
    return mask, mask.sum(dim=2, keepdim=True)


def get_statistics_with_mask(
    x: torch.Tensor, m: torch.Tensor, dim: int = 2, eps: float = 1e-10
) -> tuple[torch.Tensor, torch.Tensor]:
    """Weighted mean and standard deviation over ``dim``.

    Args:
        x: features ``(B, C, T)``.
        m: weights summing to 1 over ``dim`` for each item: ``(B, 1, T)`` (a mask divided by the frame
            count) or ``(B, C, T)`` (attention weights).
        dim: the axis to reduce.
        eps: floor of the variance before the square root.

    Returns:
        ``(mean, std)``, each ``(B, C)``.
    """
    mean = (m * x).sum(dim=dim)
    variance = (m * (x - mean.unsqueeze(dim)).pow(2)).sum(dim=dim)
    return mean, variance.clamp(min=eps).sqrt()


class StatsPoolLayer(nn.Module):
    """Statistics pooling over time: mean (``tap``) or mean and standard deviation (``xvector``).

    Args:
        feat_in: channels ``C`` of the input.
        pool_mode: ``xvector`` (output ``2C``: mean then deviation) or ``tap`` (output ``C``: mean).
        eps: floor of the variance before the square root (``xvector``).
        biased: with lengths, divide the squared deviations by ``length - 1`` (True, NeMo's default, whose
            name it keeps) or by ``length`` (False).

    Attributes:
        feat_in: the output size, ``2C`` or ``C``.
    """

    def __init__(
        self, feat_in: int, pool_mode: str = "xvector", eps: float = 1e-10, biased: bool = True
    ) -> None:
        super().__init__()
        if pool_mode not in _POOL_MODES:
            raise ValueError(
                f"StatsPoolLayer got pool_mode={pool_mode!r}; expected one of {_POOL_MODES}. "
                "Fix `decoder.pool_mode` in the model config."
            )
        self.pool_mode = pool_mode
        self.feat_in = 2 * feat_in if pool_mode == "xvector" else feat_in
        self.eps = eps
        self.biased = biased

    def forward(self, encoder_output: torch.Tensor, length: torch.Tensor | None = None) -> torch.Tensor:
        """Pool over time.

        Args:
            encoder_output: ``(B, C, T)``.
            length: valid frames per item ``(B,)``; None uses every frame (torch's unbiased ``std``).

        Returns:
            ``(B, 2C)`` for ``xvector``, ``(B, C)`` for ``tap``.
        """
        if length is None:
            mean = encoder_output.mean(dim=-1)
            if self.pool_mode == "tap":
                return mean
            return torch.cat([mean, encoder_output.std(dim=-1)], dim=-1)
        padded = make_seq_mask_like(encoder_output, length, valid_ones=False)
        encoder_output = encoder_output.masked_fill(padded, 0.0)
        mean = encoder_output.sum(dim=-1) / length.unsqueeze(-1)
        if self.pool_mode == "tap":
            return mean
        squares = (encoder_output - mean.unsqueeze(-1)).masked_fill(padded, 0.0).pow(2).sum(dim=-1)
        denominator = (length - 1 if self.biased else length).unsqueeze(-1)
        return torch.cat([mean, (squares / denominator).clamp(min=self.eps).sqrt()], dim=-1)


class TDNNModule(nn.Module):
    """Time-delay layer: convolution, ReLU, then batch norm (that order, as in NeMo).

    Args:
        inp_filters: input channels.
        out_filters: output channels.
        kernel_size: convolution kernel size.
        dilation: convolution dilation.
        stride: convolution stride.
        padding: convolution padding; None keeps ``T`` at stride 1.
    """

    def __init__(
        self,
        inp_filters: int,
        out_filters: int,
        kernel_size: int = 1,
        dilation: int = 1,
        stride: int = 1,
        padding: int | None = None,
    ) -> None:
        super().__init__()
        if padding is None:
            padding = get_same_padding(kernel_size, stride=stride, dilation=dilation)
        self.conv_layer = nn.Conv1d(
            inp_filters,
            out_filters,
            kernel_size=kernel_size,
            dilation=dilation,
            padding=padding,
            stride=stride,
        )
        self.activation = nn.ReLU()
        self.bn = nn.BatchNorm1d(out_filters)

    def forward(self, x: torch.Tensor, length: torch.Tensor | None = None) -> torch.Tensor:
        """``(B, inp_filters, T)`` -> ``(B, out_filters, T')``; ``length`` is accepted and unused."""
        return self.bn(self.activation(self.conv_layer(x)))


class MaskedSEModule(nn.Module):
    """Squeeze-and-excitation with convolutions: channels scaled by a gate computed from the masked time mean.

    Args:
        inp_filters: input channels.
        se_filters: bottleneck channels.
        out_filters: gate channels (the input's channels).
        kernel_size: kernel size of both convolutions.
        dilation: dilation of both convolutions.
    """

    def __init__(
        self, inp_filters: int, se_filters: int, out_filters: int, kernel_size: int = 1, dilation: int = 1
    ) -> None:
        super().__init__()
        self.se_layer = nn.Sequential(
            nn.Conv1d(inp_filters, se_filters, kernel_size=kernel_size, dilation=dilation),
            nn.ReLU(),
            nn.BatchNorm1d(se_filters),
            nn.Conv1d(se_filters, out_filters, kernel_size=kernel_size, dilation=dilation),
            nn.Sigmoid(),
        )

    def forward(self, input: torch.Tensor, length: torch.Tensor | None = None) -> torch.Tensor:  # noqa: A002
        """Rescale channels.

        Args:
            input: ``(B, C, T)``.
            length: valid frames per item ``(B,)``; None averages over every frame.

        Returns:
            ``(B, C, T)``: the input times its gate ``(B, C, 1)``; padded frames are kept as they were.
        """
        if length is None:
            squeezed = input.mean(dim=2, keepdim=True)
        else:
            mask, num_values = lens_to_mask(length, input.size(2), device=input.device)
            squeezed = (input * mask).sum(dim=2, keepdim=True) / num_values
        return self.se_layer(squeezed) * input


class TDNNSEModule(nn.Module):
    """ECAPA-TDNN block without Res2Net: 1x1 TDNN, grouped dilated convolution, 1x1 TDNN, SE, residual.

    Args:
        inp_filters: input channels (must equal ``out_filters`` for the residual).
        out_filters: output channels.
        group_scale: groups of the dilated convolution.
        se_channels: squeeze-and-excitation bottleneck channels.
        kernel_size: kernel size of the grouped convolution.
        dilation: dilation of the grouped convolution.
        init_mode: weight initialisation (see ``init_weights``).
    """

    def __init__(
        self,
        inp_filters: int,
        out_filters: int,
        group_scale: int = 8,
        se_channels: int = 128,
        kernel_size: int = 1,
        dilation: int = 1,
        init_mode: str = "xavier_uniform",
    ) -> None:
        super().__init__()
        self.out_filters = out_filters
        self.group_tdnn_block = nn.Sequential(
            TDNNModule(inp_filters, out_filters, kernel_size=1, dilation=1),
            nn.Conv1d(
                out_filters,
                out_filters,
                kernel_size=kernel_size,
                dilation=dilation,
                padding=get_same_padding(kernel_size, stride=1, dilation=dilation),
                groups=group_scale,
            ),
            nn.ReLU(),
            nn.BatchNorm1d(out_filters),
            TDNNModule(out_filters, out_filters, kernel_size=1, dilation=1),
        )
        self.se_layer = MaskedSEModule(out_filters, se_channels, out_filters)
        self.apply(lambda module: init_weights(module, mode=init_mode))

    def forward(self, input: torch.Tensor, length: torch.Tensor | None = None) -> torch.Tensor:  # noqa: A002
        """``(B, C, T)`` -> ``(B, C, T)``; ``length`` ``(B,)`` masks the SE average."""
        return self.se_layer(self.group_tdnn_block(input), length) + input


class AttentivePoolLayer(nn.Module):
    """Attentive statistics pooling (ECAPA-TDNN): attention-weighted mean and standard deviation over time.

    Each frame's score comes from the frame and the utterance's masked mean and deviation
    (``attention_layer``: TDNN ``3C -> attention_channels``, tanh, convolution ``-> C``), one score per
    channel; a softmax over the valid frames turns the scores into weights.

    Args:
        inp_filters: channels ``C`` of the encoder output.
        attention_channels: hidden channels of the attention.
        kernel_size: kernel size of the attention convolutions.
        dilation: dilation of the attention convolutions.
        eps: floor of the variances before the square root.

    Attributes:
        feat_in: output size ``2C``.
    """

    def __init__(
        self,
        inp_filters: int,
        attention_channels: int = 128,
        kernel_size: int = 1,
        dilation: int = 1,
        eps: float = 1e-10,
    ) -> None:
        super().__init__()
        self.feat_in = 2 * inp_filters
        self.attention_layer = nn.Sequential(
            TDNNModule(3 * inp_filters, attention_channels, kernel_size=kernel_size, dilation=dilation),
            nn.Tanh(),
            nn.Conv1d(attention_channels, inp_filters, kernel_size=kernel_size, dilation=dilation),
        )
        self.eps = eps

    def forward(self, x: torch.Tensor, length: torch.Tensor | None = None) -> torch.Tensor:
        """Pool over time.

        Args:
            x: encoder output ``(B, C, T)``.
            length: valid frames per item ``(B,)``. None counts only the first frame of each item, as
                NeMo 1.23 does; pass the lengths.

        Returns:
            ``(B, 2C, 1)``: attention-weighted mean then deviation.
        """
        max_len = x.size(2)
        if length is None:
            length = torch.ones(x.shape[0], device=x.device)
        mask, num_values = lens_to_mask(length, max_len, device=x.device)
        mean, std = get_statistics_with_mask(x, mask / num_values, eps=self.eps)
        scores = self._attention_scores(x, torch.cat([mean, std], dim=1))
        alpha = F.softmax(scores.masked_fill(~mask, float("-inf")), dim=2)
        mu, sigma = get_statistics_with_mask(x, alpha, eps=self.eps)
        return torch.cat([mu, sigma], dim=1).unsqueeze(2)

    def _attention_scores(self, x: torch.Tensor, stats: torch.Tensor) -> torch.Tensor:
        """``attention_layer`` of the frames ``x`` (B, C, T) beside their utterance's ``stats`` (B, 2C): (B, C, T).

        NeMo repeats the statistics over every frame and convolves the (B, 3C, T) concatenation. With a
        1-wide first convolution (TitaNet's and ECAPA-TDNN's), the statistics' share of it is the same for
        every frame, so it is computed once per utterance, (B, A), and added to the frames' share: the same
        result, without the (B, 3C, T) copy and with a third of that convolution's work, forward and back.
        """
        tdnn, tanh, output_conv = self.attention_layer
        conv = tdnn.conv_layer
        if conv.kernel_size[0] != 1 or conv.stride[0] != 1 or conv.padding[0] != 0 or conv.groups != 1:
            frames = torch.cat([x, stats.unsqueeze(2).expand(-1, -1, x.size(2))], dim=1)
            return self.attention_layer(frames)
        channels = x.size(1)
        frame_share = F.conv1d(x, conv.weight[:, :channels])
        utterance_share = stats @ conv.weight[:, channels:, 0].t()
        if conv.bias is not None:
            utterance_share = utterance_share + conv.bias
        hidden = tdnn.bn(tdnn.activation(frame_share + utterance_share.unsqueeze(2)))
        return output_conv(tanh(hidden))

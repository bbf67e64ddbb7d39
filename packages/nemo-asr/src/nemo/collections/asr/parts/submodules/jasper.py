"""Building blocks of the Jasper / QuartzNet / Citrinet convolutional encoders.

Everything here is a plain ``torch.nn.Module`` working on padded batches ``(B, C, T)`` with a
lengths vector ``(B,)``. Submodule names and parameter layouts are NeMo 1.23's, so state dicts
saved by NeMo load with ``strict=True``:

* :class:`MaskedConv1d` keeps its ``torch.nn.Conv1d`` under ``.conv``;
* :class:`JasperBlock` keeps the main path in ``mconv`` (conv[, pointwise conv], norm, then
  activation + dropout between repeats, and an optional :class:`SqueezeExcite` last), the
  residual branches in ``res`` and the closing activation + dropout in ``mout``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch
from nemo.core.classes.mixins.access_mixins import AccessMixin
from nemo.core.classes.mixins.adapter_mixins import AdapterModuleMixin
from nemo.utils import logging
from torch import nn
from torch.nn import functional as F

jasper_activations: dict[str, type[nn.Module]] = {
    "hardtanh": nn.Hardtanh,
    "relu": nn.ReLU,
    "selu": nn.SELU,
    "swish": nn.SiLU,
    "silu": nn.SiLU,
    "gelu": nn.GELU,
}
"""Activation names accepted by ``ConvASREncoder(activation=...)``, as in NeMo 1.23."""

_INIT_MODES = (
    "xavier_uniform",
    "xavier_normal",
    "kaiming_uniform",
    "kaiming_normal",
    "tds_uniform",
    "tds_normal",
)
_NORMALIZATIONS = ("batch", "layer", "group", "instance")
_RESIDUAL_MODES = ("add", "max", "stride_add")


def _tds_scale(tensor: torch.Tensor, mode: str) -> float:
    """Scale of the TDS initialisations (Hannun et al., 2019) of a weight: ``sqrt(4 / fan)``.

    ``mode`` is ``"fan_in"`` (keeps the forward pass's magnitudes) or ``"fan_out"`` (the backward pass's).
    """
    fan = nn.init._calculate_correct_fan(tensor, mode)
    return 2.0 * (1.0 / fan) ** 0.5


def tds_uniform_(tensor: torch.Tensor, mode: str = "fan_in") -> torch.Tensor:
    """Fill ``tensor`` in place from ``U(-s, s)``, ``s = sqrt(4 / fan)`` (TDS uniform); return it."""
    bound = _tds_scale(tensor, mode)
    with torch.no_grad():
        return tensor.uniform_(-bound, bound)


def tds_normal_(tensor: torch.Tensor, mode: str = "fan_in") -> torch.Tensor:
    """Fill ``tensor`` in place from ``N(0, s^2)``, ``s = sqrt(4 / fan)`` (TDS normal); return it."""
    with torch.no_grad():
        return tensor.normal_(0.0, _tds_scale(tensor, mode))


def init_weights(module: nn.Module, mode: str | None = "xavier_uniform") -> None:
    """Initialise one module the way NeMo's convolutional ASR modules do.

    Meant for ``model.apply(lambda m: init_weights(m, mode))``: ``Conv1d`` and ``Linear`` weights
    get ``mode``; batch norms get unit scale, zero shift and fresh running statistics. A
    ``MaskedConv1d`` draws its ``conv`` weights again, as NeMo's does: ``apply`` reaches the wrapper
    after its ``conv``, so each masked convolution takes two draws from the random stream and a model
    built from a given seed gets NeMo's weights.

    Args:
        module: the module to initialise (others than the kinds above are left alone).
        mode: one of ``xavier_uniform``, ``xavier_normal``, ``kaiming_uniform``,
            ``kaiming_normal``, ``tds_uniform``, ``tds_normal``; ``None`` keeps torch's defaults.

    Raises:
        ValueError: ``mode`` is not one of the names above.
    """
    if isinstance(module, MaskedConv1d):
        init_weights(module.conv, mode)
    if isinstance(module, (nn.Conv1d, nn.Linear)):
        if mode is None:
            return
        if mode == "xavier_uniform":
            nn.init.xavier_uniform_(module.weight, gain=1.0)
        elif mode == "xavier_normal":
            nn.init.xavier_normal_(module.weight, gain=1.0)
        elif mode == "kaiming_uniform":
            nn.init.kaiming_uniform_(module.weight, nonlinearity="relu")
        elif mode == "kaiming_normal":
            nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
        elif mode == "tds_uniform":
            tds_uniform_(module.weight)
        elif mode == "tds_normal":
            tds_normal_(module.weight)
        else:
            raise ValueError(
                f"Unknown weight initialisation init_mode={mode!r}. Expected one of {_INIT_MODES} or None; "
                "fix the `init_mode` key of the module's config."
            )
    elif isinstance(module, nn.BatchNorm1d):
        if module.track_running_stats:
            module.reset_running_stats()
        if module.affine:
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)


def compute_new_kernel_size(kernel_size: int, kernel_width: float) -> int:
    """Scale a kernel size by ``kernel_width`` and round it up to the next odd size (at least 1).

    Args:
        kernel_size: kernel size from the block config (``kernel``).
        kernel_width: the block's ``kernel_size_factor``.

    Returns:
        The odd scaled kernel size.
    """
    new_kernel_size = max(int(kernel_size * kernel_width), 1)
    if new_kernel_size % 2 == 0:
        new_kernel_size += 1
    return new_kernel_size


def get_same_padding(kernel_size: int, stride: int, dilation: int) -> int:
    """Symmetric padding that keeps ``T`` unchanged at stride 1: ``dilation * (kernel_size - 1) // 2``.

    Raises:
        ValueError: both ``stride`` and ``dilation`` are above 1.
    """
    if stride > 1 and dilation > 1:
        raise ValueError(
            f"Only stride OR dilation may be greater than 1, got stride={stride} and dilation={dilation}. "
            "Set one of them to 1 in the block config (`stride` / `dilation`)."
        )
    return (dilation * (kernel_size - 1)) // 2


def get_asymtric_padding(
    kernel_size: int, stride: int, dilation: int, future_context: int
) -> int | tuple[int, int]:
    """(left, right) padding that lets a convolution see only ``future_context`` future frames.

    NeMo's spelling of the name is kept.

    Args:
        kernel_size: convolution kernel size.
        stride: convolution stride.
        dilation: convolution dilation.
        future_context: number of future frames each output may see.

    Returns:
        ``(left, right)`` padding, or the symmetric padding when ``kernel_size <= future_context``. With
        ``dilation > 1`` the left side is ``dilation * (kernel_size - future_context) - 1``, as in NeMo 1.23
        (``dilation - 1`` frames more than the receptive field needs; kept so NeMo models compute the same).

    Raises:
        ValueError: both ``stride`` and ``dilation`` are above 1 (raised by :func:`get_same_padding`).
    """
    symmetric_padding = get_same_padding(kernel_size, stride, dilation)
    if kernel_size <= future_context:
        logging.warning(
            f"future_context={future_context} is not smaller than kernel_size={kernel_size}: "
            f"using symmetric padding {symmetric_padding} (the whole kernel context)."
        )
        return symmetric_padding
    left_context = kernel_size - 1 - future_context
    right_context = future_context
    if left_context < symmetric_padding:
        logging.warning(
            f"future_context={future_context} gives more future ({right_context}) than past ({left_context}) "
            f"context for kernel_size={kernel_size}."
        )
    if dilation > 1:
        return dilation * (kernel_size - future_context) - 1, dilation * future_context
    return left_context, right_context


def _length_mask(lengths: torch.Tensor, max_len: int) -> torch.Tensor:
    """Boolean mask ``(B, T)``: True where the frame index is below the item's length."""
    return torch.arange(max_len, device=lengths.device) < lengths.unsqueeze(1)


class MaskedConv1d(nn.Module):
    """``Conv1d`` that zeroes padded frames of its input and returns updated lengths.

    Args:
        in_channels: input channels ``C_in``.
        out_channels: output channels ``C_out``.
        kernel_size: kernel size.
        stride: stride.
        padding: symmetric padding (int) or asymmetric ``(left, right)`` padding.
        dilation: dilation.
        groups: convolution groups.
        heads: if not -1, a depthwise convolution whose weights are shared across
            ``in_channels / heads`` channel groups (only for ``groups == in_channels``).
        bias: add a bias.
        use_mask: zero frames at or past each item's length before convolving.
        quantize: unsupported here; must be False.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | Sequence[int],
        stride: int | Sequence[int] = 1,
        padding: int | Sequence[int] = 0,
        dilation: int | Sequence[int] = 1,
        groups: int = 1,
        heads: int = -1,
        bias: bool = False,
        use_mask: bool = True,
        quantize: bool = False,
    ) -> None:
        super().__init__()
        if not (heads == -1 or groups == in_channels):
            raise ValueError(
                f"`heads` is only for depthwise convolutions (groups == in_channels), got heads={heads}, "
                f"groups={groups}, in_channels={in_channels}. Set heads to -1 or make the convolution depthwise."
            )
        _refuse_quantization(quantize)
        self.real_out_channels = out_channels
        if heads != -1:
            in_channels = out_channels = groups = heads

        self._padding = padding
        if isinstance(padding, (tuple, list)):
            self.pad_layer: nn.ConstantPad1d | None = nn.ConstantPad1d(tuple(padding), value=0.0)
            padding = 0
        else:
            self.pad_layer = None

        self.conv = nn.Conv1d(
            in_channels,
            out_channels,
            kernel_size,
            stride=stride,
            padding=padding,
            dilation=dilation,
            groups=groups,
            bias=bias,
        )
        self.use_mask = use_mask
        self.heads = heads

        stride0, dilation0, kernel0 = self.conv.stride[0], self.conv.dilation[0], self.conv.kernel_size[0]
        self._total_padding = sum(self._padding) if self.pad_layer is not None else 2 * self.conv.padding[0]
        self.same_padding = stride0 == 1 and self._total_padding == dilation0 * (kernel0 - 1)
        conv = self.conv
        self._depthwise_padded = (
            conv.groups == conv.in_channels and conv.padding[0] > 0 and conv.padding_mode == "zeros"
        )

    def _convolve(self, x: torch.Tensor) -> torch.Tensor:
        """``self.conv(x)``; on the CPU a padded depthwise convolution zero-pads with ``F.pad`` and runs unpadded.

        Torch's depthwise CPU kernel is many times slower when it pads itself (torch 2.11, 16 x 128 channels x 128
        frames, kernel 13, one thread: forward 8.6 ms with its padding, 0.65 ms on an input padded first; forward
        and backward 16.7 against 7.5 ms). The result is the same; an ONNX export or a trace keeps the convolution.
        """
        if (
            self._depthwise_padded
            and x.device.type == "cpu"
            and not torch.jit.is_scripting()
            and not torch.jit.is_tracing()
            and not torch.onnx.is_in_onnx_export()
        ):
            return depthwise_conv1d_padded_first(x, self.conv)
        return self.conv(x)

    def get_seq_len(self, lens: torch.Tensor) -> torch.Tensor:
        """Output lengths ``(B,)`` for input lengths ``(B,)`` (NeMo's formula, truncating division)."""
        if self.same_padding:
            return lens
        conv = self.conv
        span = conv.dilation[0] * (conv.kernel_size[0] - 1) + 1
        return torch.div(lens + self._total_padding - span, conv.stride[0], rounding_mode="trunc") + 1

    def forward(self, x: torch.Tensor, lens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Convolve a padded batch.

        Args:
            x: input ``(B, C_in, T)``.
            lens: valid frames per item ``(B,)``.

        Returns:
            ``(out, out_lens)``: ``(B, C_out, T')`` and ``(B,)``.
        """
        if self.use_mask:
            x = x * _length_mask(lens, x.size(2)).unsqueeze(1).to(x.dtype)
        lens = self.get_seq_len(lens)
        if self.pad_layer is not None:
            x = self.pad_layer(x)
        if self.heads == -1:
            return self._convolve(x), lens
        batch = x.size(0)
        out = self._convolve(x.reshape(-1, self.heads, x.size(-1)))
        return out.reshape(batch, self.real_out_channels, -1), lens


def depthwise_conv1d_padded_first(x: torch.Tensor, conv: nn.Conv1d) -> torch.Tensor:
    """``conv(x)`` for a depthwise ``conv``, its zero padding applied by ``F.pad`` and the kernel run unpadded.

    Args:
        x: input ``(B, C, T)``.
        conv: the depthwise convolution (``groups == in_channels``, zero padding).

    Returns:
        ``(B, C_out, T')``, equal to ``conv(x)``; on the CPU much faster (see ``MaskedConv1d._convolve``).
    """
    padding = conv.padding[0]
    return F.conv1d(
        F.pad(x, (padding, padding)), conv.weight, conv.bias, conv.stride, 0, conv.dilation, conv.groups
    )


class GroupShuffle(nn.Module):
    """Channel shuffle after a grouped convolution: ``(B, G*C, T)`` -> ``(B, C*G, T)``.

    Args:
        groups: number of groups ``G``.
        channels: total channels ``G * C``.
    """

    def __init__(self, groups: int, channels: int) -> None:
        super().__init__()
        self.groups = groups
        self.channels_per_group = channels // groups

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Shuffle channels of ``x`` ``(B, G*C, T)``; returns the same shape."""
        batch, channels, time = x.shape
        x = x.view(batch, self.groups, self.channels_per_group, time).transpose(1, 2)
        return x.reshape(batch, channels, time)


class SqueezeExcite(nn.Module):
    """Squeeze-and-excitation over time with length masking (Citrinet).

    Each channel is scaled by ``sigmoid(fc(mean_t x))``, the mean taken over valid frames only.
    Computed in float32 even under autocast.

    Args:
        channels: channels ``C``.
        reduction_ratio: the bottleneck has ``C // reduction_ratio`` units.
        context_window: if >= 0, training averages over a random window of that many frames
            (inference always averages over the whole utterance); -1 uses the whole utterance.
        interpolation_mode: kept for config compatibility (NeMo does not use it either).
        activation: activation between the two linear layers (default ``ReLU``).
        quantize: unsupported here; must be False.
    """

    def __init__(
        self,
        channels: int,
        reduction_ratio: int,
        context_window: int = -1,
        interpolation_mode: str = "nearest",
        activation: nn.Module | None = None,
        quantize: bool = False,
    ) -> None:
        super().__init__()
        _refuse_quantization(quantize)
        self.interpolation_mode = interpolation_mode
        if activation is None:
            activation = nn.ReLU(inplace=True)
        self.fc = nn.Sequential(
            nn.Linear(channels, channels // reduction_ratio, bias=False),
            activation,
            nn.Linear(channels // reduction_ratio, channels, bias=False),
        )
        self.context_window = context_window

    def change_context_window(self, context_window: int) -> None:
        """Set the averaging window (frames) used in training; -1 means the whole utterance."""
        logging.info(
            f"Changing Squeeze-Excitation context window from {self.context_window} to {context_window}"
        )
        self.context_window = context_window

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Rescale channels.

        Args:
            x: input ``(B, C, T)``.
            lengths: valid frames per item ``(B,)``.

        Returns:
            ``(out, lengths)``: ``(B, C, T)`` float32 with padded frames zeroed, and the lengths unchanged.
        """
        with torch.autocast(device_type=x.device.type, enabled=False):
            mask = _length_mask(lengths, x.size(-1)).unsqueeze(1)
            x = x.float().masked_fill(~mask, 0.0)
            scale = self.fc(self._pool(x, mask).transpose(1, 2)).transpose(1, 2)
            return x * torch.sigmoid(scale), lengths

    def _pool(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Masked time average ``(B, C, 1)`` of ``x`` ``(B, C, T)`` with ``mask`` ``(B, 1, T)``."""
        time = x.size(-1)
        window = self.context_window
        if window < 0 or not self.training or time < window:
            return x.sum(dim=-1, keepdim=True) / mask.sum(dim=-1, keepdim=True).to(x.dtype)
        start = int(torch.randint(0, max(time - window, 1), (1,)))
        x = x[:, :, start : start + window]
        count = mask[:, :, start : start + window].sum(dim=-1, keepdim=True).to(x.dtype)
        return x.sum(dim=-1, keepdim=True) / (count + 1e-8)


def _refuse_quantization(quantize: bool) -> None:
    if quantize:
        raise ImportError(
            "quantize=True needs NVIDIA's pytorch-quantization, which this package does not support. "
            "Set `quantize: false` in the encoder config."
        )


class JasperBlock(nn.Module, AdapterModuleMixin, AccessMixin):
    """One Jasper block: ``repeat`` x (conv -> norm -> act -> dropout), a residual, then act -> dropout.

    Enabled adapters run on the block output (as (B, T, C)). While access is enabled (``AccessMixin``) the
    output is recorded as ``encoder`` when the access config sets ``save_encoder_tensors``, and as
    ``interctc/layer_output_{layer_idx}`` (with ``interctc/layer_length_{layer_idx}``) when ``layer_idx`` is
    in ``interctc.capture_layers`` (read on the first such call and kept in ``interctc_should_capture``).

    Args:
        inplanes: input channels.
        planes: output channels (``filters``).
        repeat: number of conv sub-blocks.
        kernel_size: kernel size (int or one-element list).
        kernel_size_factor: scales the kernel size (rounded up to odd).
        stride: stride (one-element list); every sub-block strides unless ``stride_last``.
        dilation: dilation (one-element list).
        padding: only ``"same"``.
        dropout: dropout probability after each activation.
        activation: activation module, shared by all sub-blocks (default ``Hardtanh(0, 20)``).
        residual: add a residual branch (1x1 conv + norm) from the block input.
        groups: groups of the (pointwise) convolution; > 1 adds a :class:`GroupShuffle`.
        separable: depthwise + pointwise convolutions instead of a full one.
        heads: shared-weight depthwise heads (see :class:`MaskedConv1d`).
        normalization: ``batch``, ``layer``, ``group`` or ``instance``.
        norm_groups: groups for ``group`` normalization (-1: one per channel).
        residual_mode: ``add``, ``stride_add`` (residual conv strides too) or ``max``.
        residual_panes: input channels of each earlier output for dense residuals.
        conv_mask: use :class:`MaskedConv1d` (length masking) instead of plain ``Conv1d``.
        se: append a :class:`SqueezeExcite`.
        se_reduction_ratio: squeeze-excite bottleneck ratio.
        se_context_window: squeeze-excite training window (-1: whole utterance).
        se_interpolation_mode: kept for config compatibility.
        stride_last: only the last sub-block strides.
        future_context: if >= 0, asymmetric padding seeing that many future frames.
        quantize: unsupported here; must be False.
        layer_idx: index of the block in the encoder.
    """

    def __init__(
        self,
        inplanes: int,
        planes: int,
        repeat: int = 3,
        kernel_size: int | Sequence[int] = 11,
        kernel_size_factor: float = 1,
        stride: int | Sequence[int] = 1,
        dilation: int | Sequence[int] = 1,
        padding: str = "same",
        dropout: float = 0.2,
        activation: nn.Module | None = None,
        residual: bool = True,
        groups: int = 1,
        separable: bool = False,
        heads: int = -1,
        normalization: str = "batch",
        norm_groups: int = 1,
        residual_mode: str = "add",
        residual_panes: Sequence[int] = (),
        conv_mask: bool = False,
        se: bool = False,
        se_reduction_ratio: int = 16,
        se_context_window: int = -1,
        se_interpolation_mode: str = "nearest",
        stride_last: bool = False,
        future_context: int = -1,
        quantize: bool = False,
        layer_idx: int = -1,
    ) -> None:
        super().__init__()
        if padding != "same":
            raise ValueError(f"JasperBlock supports only padding='same', got padding={padding!r}.")
        if residual_mode not in _RESIDUAL_MODES:
            raise ValueError(
                f"Unknown residual_mode={residual_mode!r} in block {layer_idx}. Expected one of "
                f"{_RESIDUAL_MODES}; fix `residual_mode` in the encoder config."
            )
        _refuse_quantization(quantize)
        kernel_size = [
            compute_new_kernel_size(k, float(kernel_size_factor)) for k in _as_list(kernel_size, "kernel")
        ]
        stride = _as_list(stride, "stride")
        dilation = _as_list(dilation, "dilation")
        if future_context < 0:
            padding_val = get_same_padding(kernel_size[0], stride[0], dilation[0])
        else:
            padding_val = get_asymtric_padding(kernel_size[0], stride[0], dilation[0], future_context)

        self.inplanes = inplanes
        self.planes = planes
        self.conv_mask = conv_mask
        self.separable = separable
        self.residual_mode = residual_mode
        self.se = se
        self.quantize = quantize
        self.layer_idx = layer_idx
        self.interctc_should_capture: bool | None = None

        if activation is None:
            activation = nn.Hardtanh(min_val=0.0, max_val=20.0)
        conv_bn = {
            "kernel_size": kernel_size,
            "dilation": dilation,
            "padding": padding_val,
            "groups": groups,
            "heads": heads,
            "separable": separable,
            "normalization": normalization,
            "norm_groups": norm_groups,
        }
        mconv = nn.ModuleList()
        channels = inplanes
        for _ in range(repeat - 1):
            mconv.extend(
                self._get_conv_bn_layer(channels, planes, stride=[1] if stride_last else stride, **conv_bn)
            )
            mconv.extend([activation, nn.Dropout(p=dropout)])
            channels = planes
        mconv.extend(self._get_conv_bn_layer(channels, planes, stride=stride, **conv_bn))
        if se:
            mconv.append(
                SqueezeExcite(
                    planes,
                    reduction_ratio=se_reduction_ratio,
                    context_window=se_context_window,
                    interpolation_mode=se_interpolation_mode,
                    activation=activation,
                )
            )
        self.mconv = mconv

        self.dense_residual = residual and len(residual_panes) > 0
        if residual:
            res_stride = stride if residual_mode == "stride_add" else [1]
            panes = list(residual_panes) if residual_panes else [inplanes]
            self.res: nn.ModuleList | None = nn.ModuleList(
                nn.ModuleList(
                    self._get_conv_bn_layer(
                        pane,
                        planes,
                        kernel_size=1,
                        stride=res_stride,
                        normalization=normalization,
                        norm_groups=norm_groups,
                    )
                )
                for pane in panes
            )
        else:
            self.res = None
        self.mout = nn.Sequential(activation, nn.Dropout(p=dropout))

    def _get_conv(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | Sequence[int],
        stride: int | Sequence[int],
        dilation: int | Sequence[int],
        padding: int | Sequence[int],
        groups: int,
        heads: int = -1,
    ) -> nn.Module:
        layout = {"stride": stride, "dilation": dilation, "padding": padding, "groups": groups}
        if self.conv_mask:
            return MaskedConv1d(in_channels, out_channels, kernel_size, heads=heads, use_mask=True, **layout)
        if isinstance(padding, (tuple, list)):
            raise ValueError(
                f"future_context (asymmetric padding {tuple(padding)}) needs conv_mask=True; "
                "set `conv_mask: true` in the encoder config."
            )
        return nn.Conv1d(in_channels, out_channels, kernel_size, bias=False, **layout)

    def _get_conv_bn_layer(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | Sequence[int] = 11,
        stride: int | Sequence[int] = 1,
        dilation: int | Sequence[int] = 1,
        padding: int | Sequence[int] = 0,
        groups: int = 1,
        heads: int = -1,
        separable: bool = False,
        normalization: str = "batch",
        norm_groups: int = 1,
    ) -> list[nn.Module]:
        if separable:
            layers = [
                self._get_conv(
                    in_channels, in_channels, kernel_size, stride, dilation, padding, in_channels, heads
                ),
                self._get_conv(in_channels, out_channels, 1, 1, 1, 0, groups),
            ]
        else:
            layers = [
                self._get_conv(in_channels, out_channels, kernel_size, stride, dilation, padding, groups)
            ]
        layers.append(_normalization(normalization, out_channels, norm_groups))
        if groups > 1:
            layers.append(GroupShuffle(groups, out_channels))
        return layers

    def forward(
        self, input_: tuple[list[torch.Tensor], torch.Tensor | None]
    ) -> tuple[list[torch.Tensor], torch.Tensor | None]:
        """Run the block.

        Args:
            input_: ``(xs, lengths)``: ``xs`` the outputs so far, each ``(B, C_i, T)``, the last being
                this block's input; ``lengths`` ``(B,)``.

        Returns:
            ``(xs', lengths')``: ``[out]`` (or ``xs + [out]`` with dense residuals), ``out`` being
            ``(B, planes, T')``, and the lengths after striding.
        """
        xs, lens_orig = input_
        out = xs[-1]
        lens = lens_orig
        for layer in self.mconv:
            if isinstance(layer, (MaskedConv1d, SqueezeExcite)):
                out, lens = layer(out, lens)
            else:
                out = layer(out)

        if self.res is not None:
            for branch_input, branch in zip(xs, self.res):
                res_out = branch_input
                for layer in branch:
                    if isinstance(layer, MaskedConv1d):
                        res_out, _ = layer(res_out, lens_orig)
                    else:
                        res_out = layer(res_out)
                out = torch.max(out, res_out) if self.residual_mode == "max" else out + res_out

        out = self.mout(out)
        if self.is_adapter_available() and self.get_enabled_adapters():
            out = self.forward_enabled_adapters(out.transpose(1, 2)).transpose(1, 2)
        if self.is_access_enabled():
            self._record_output(out, lens)
        if self.dense_residual:
            return [*xs, out], lens
        return [out], lens

    def _record_output(self, out: torch.Tensor, lens: torch.Tensor | None) -> None:
        """Register the (B, C, T) output for adapters' losses and InterCTC, as the access config asks."""
        if self.access_cfg.get("save_encoder_tensors", False):
            self.register_accessible_tensor(name="encoder", tensor=out)
        if self.interctc_should_capture is None:
            capture_layers = self.access_cfg.get("interctc", {}).get("capture_layers", [])
            self.interctc_should_capture = self.layer_idx in capture_layers
        if self.interctc_should_capture:
            self.register_accessible_tensor(name=f"interctc/layer_output_{self.layer_idx}", tensor=out)
            self.register_accessible_tensor(name=f"interctc/layer_length_{self.layer_idx}", tensor=lens)


def _as_list(value: int | Iterable[int], key: str) -> list[int]:
    """Block config values come as ``[11]`` in NeMo YAML; accept a bare int too."""
    if isinstance(value, int):
        return [value]
    values = list(value)
    if not values:
        raise ValueError(f"Block config key `{key}` is an empty list; give one value, e.g. `{key}: [1]`.")
    return values


def _normalization(kind: str, channels: int, norm_groups: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm1d(channels, eps=1e-3, momentum=0.1)
    if kind == "group":
        return nn.GroupNorm(num_groups=channels if norm_groups == -1 else norm_groups, num_channels=channels)
    if kind == "instance":
        return nn.GroupNorm(num_groups=channels, num_channels=channels)
    if kind == "layer":
        return nn.GroupNorm(num_groups=1, num_channels=channels)
    raise ValueError(
        f"Unknown normalization_mode={kind!r}. Expected one of {_NORMALIZATIONS}; "
        "fix `normalization_mode` in the encoder config."
    )


_PARALLEL_AGGREGATIONS = ("sum", "dropout")
_PARALLEL_RESIDUALS = ("sum", "conv")


class ParallelBlock(nn.Module):
    """Several ``JasperBlock`` towers applied to the same input, their last outputs summed, plus a residual.

    Output: ``sum_i w_i * tower_i(x)[-1] + residual(x)`` where ``w_i = 1`` (``aggregation_mode="sum"``) or, with
    ``"dropout"``, ``w_i`` is a dropout of 1 with ``block_dropout_prob`` (so in training each tower is dropped
    with that probability and the kept ones scaled by ``1 / (1 - p)``; a draw that drops every tower is redrawn
    unless ``p == 1``). The residual is the input itself (``residual_mode="sum"``, channels must match) or a
    1x1 masked convolution of it (``"conv"``). Lengths out are the element-wise maximum of the towers'. A
    single tower is returned as is, without aggregation or residual.

    State-dict keys (NeMo 1.23): ``blocks.{i}.*``, ``weights`` (with ``"dropout"``), ``res_conv.conv.weight``
    (with ``"conv"``).

    Args:
        blocks: the towers; each maps ``([x], lengths)`` to ``([..., y], lengths)`` with the same ``C_out``.
        aggregation_mode: ``"sum"`` or ``"dropout"``.
        block_dropout_prob: tower drop probability for ``"dropout"``.
        residual_mode: ``"sum"`` or ``"conv"``.
        in_filters: input channels ``C_in`` (needed by ``"conv"``).
        out_filters: output channels ``C_out`` (needed by ``"conv"``).
    """

    def __init__(
        self,
        blocks: Sequence[nn.Module],
        aggregation_mode: str = "sum",
        block_dropout_prob: float = 0.0,
        residual_mode: str = "sum",
        in_filters: int | None = None,
        out_filters: int | None = None,
    ) -> None:
        super().__init__()
        if aggregation_mode not in _PARALLEL_AGGREGATIONS:
            raise ValueError(
                f"ParallelBlock: aggregation_mode={aggregation_mode!r} is not supported; expected one of "
                f"{_PARALLEL_AGGREGATIONS}."
            )
        if residual_mode not in _PARALLEL_RESIDUALS:
            raise ValueError(
                f"ParallelBlock: residual_mode={residual_mode!r} is not supported; expected one of "
                f"{_PARALLEL_RESIDUALS}."
            )
        self.blocks = nn.ModuleList(blocks)
        self.aggregation_mode = aggregation_mode
        self.residual_mode = residual_mode
        if aggregation_mode == "dropout":
            self.weights = nn.Parameter(torch.ones(len(self.blocks)), requires_grad=False)
            self.dropout = nn.Dropout(block_dropout_prob)
        if residual_mode == "conv":
            if in_filters is None or out_filters is None:
                raise ValueError(
                    "ParallelBlock: residual_mode='conv' needs in_filters and out_filters (the towers' input "
                    f"and output channels); got in_filters={in_filters}, out_filters={out_filters}."
                )
            self.res_conv = MaskedConv1d(in_filters, out_filters, kernel_size=1, bias=False, use_mask=True)

    def get_dropout_mask(self) -> torch.Tensor:
        """(n_towers,) tower weights for this step: dropout of ones, redrawn while all are zero (unless p == 1)."""
        weights = self.dropout(self.weights)
        while self.dropout.p < 1.0 and not bool(weights.any()):
            weights = self.dropout(self.weights)
        return weights

    def forward(
        self, x: tuple[list[torch.Tensor], torch.Tensor | None]
    ) -> tuple[list[torch.Tensor], torch.Tensor | None]:
        """Run the towers and aggregate.

        Args:
            x: ``([..., signal], lengths)``: the last list element is the (B, C_in, T) input, lengths (B,).

        Returns:
            ``([output], lengths)``: (B, C_out, T') and the (B,) maximum of the towers' lengths.
        """
        if len(self.blocks) == 1:
            return self.blocks[0](x)
        signal, lengths = x[0][-1], x[1]
        tower_weights = self.get_dropout_mask() if self.aggregation_mode == "dropout" else None
        total: torch.Tensor | None = None
        out_lengths: torch.Tensor | None = None
        for index, block in enumerate(self.blocks):
            outputs, block_lengths = block(x)
            y = outputs[-1] if tower_weights is None else tower_weights[index] * outputs[-1]
            total = y if total is None else total + y
            if block_lengths is not None:
                out_lengths = (
                    block_lengths if out_lengths is None else torch.maximum(out_lengths, block_lengths)
                )
        if self.residual_mode == "sum":
            total = total + signal
        else:
            total = total + self.res_conv(signal, lengths)[0]
        return [total], out_lengths

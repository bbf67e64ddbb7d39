"""Time subsampling in front of the Conformer layers: ``ConvSubsampling`` and ``StackingSubsampling``.

Layer layout, state-dict keys (``conv.N.*``, ``out.*``, ``proj_out.*``, ``pre_norm.*``) and the output
length formula follow NeMo 1.23, so its checkpoints load with ``strict=True``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from nemo.collections.asr.parts.submodules.causal_convs import CausalConv2D
from torch import nn

__all__ = ["ConvSubsampling", "StackingSubsampling", "calc_length"]

_CONV2D_SUBSAMPLINGS = ("vggnet", "dw_striding", "striding")
# PyTorch convolutions index with 32-bit ints in places; inputs past this many elements are split.
_MAX_CONV_ELEMENTS = 2**31
# On the CPU the batch is also split so that each chunk's first convolution output (the largest
# activation of the model) stays near cache size: measured faster for both inference and training.
_CPU_CHUNK_ELEMENTS = 2**23


def calc_length(
    lengths: torch.Tensor,
    all_paddings: int,
    kernel_size: int,
    stride: int,
    ceil_mode: bool,
    repeat_num: int = 1,
) -> torch.Tensor:
    """Length after ``repeat_num`` identical convolution or pooling layers, exactly as NeMo computes it.

    Each layer maps ``L`` to ``floor_or_ceil((L + all_paddings - kernel_size) / stride + 1)``, computed in
    float32 like NeMo so that lengths agree bit for bit.

    Args:
        lengths: (B,) lengths of any dtype (or a 0-d tensor).
        all_paddings: left plus right padding of one layer.
        kernel_size: kernel size of one layer.
        stride: stride of one layer.
        ceil_mode: round up (pooling with ``ceil_mode=True``) instead of down.
        repeat_num: number of layers.

    Returns:
        Lengths as int32, same shape as ``lengths``.
    """
    add_pad = float(all_paddings - kernel_size)
    lengths = lengths.to(dtype=torch.float)
    for _ in range(repeat_num):
        lengths = torch.div(lengths + add_pad, stride) + 1.0
        lengths = torch.ceil(lengths) if ceil_mode else torch.floor(lengths)
    return lengths.to(dtype=torch.int)


def _single_channel_conv2d(conv: nn.Conv2d, activation: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """A Conv2d with one input channel, then its activation, as a GEMM over unfolded patches.

    The activation is applied to the GEMM's (N, C) result before it is viewed as 4-D, so that an
    in-place activation (``nn.ReLU(inplace=True)``) works in place on it, also under autograd: no new
    buffer the size of the whole output, and no gradient copy through a view.

    Args:
        conv: ``nn.Conv2d`` (zero padding, no dilation, one group) or ``CausalConv2D`` with
            ``in_channels == 1``.
        activation: elementwise activation module.
        x: (B, 1, T, F).

    Returns:
        (B, T', F', C), channels last.
    """
    if isinstance(conv, CausalConv2D):
        pads = (conv._left_padding, conv._right_padding) * 2
    else:
        pad_t, pad_f = conv.padding
        pads = (pad_f, pad_f, pad_t, pad_t)
    (k_t, k_f), (s_t, s_f) = conv.kernel_size, conv.stride
    patches = F.pad(x[:, 0], pads).unfold(1, k_t, s_t).unfold(2, k_f, s_f)  # (B, T', F', k_t, k_f)
    weight = conv.weight.view(conv.out_channels, k_t * k_f)
    out = activation(F.linear(patches.reshape(-1, k_t * k_f), weight, conv.bias))  # (B * T' * F', C)
    return out.view(*patches.shape[:3], conv.out_channels)


def _check_chunking_factor(factor: int) -> None:
    if factor not in (-1, 1) and (factor < 1 or factor & (factor - 1)):
        raise ValueError(
            f"subsampling_conv_chunking_factor={factor} is invalid: expected -1 (never split the batch), "
            "1 (split only when too large) or a power of 2. Fix encoder.subsampling_conv_chunking_factor "
            "in the config."
        )


class ConvSubsampling(nn.Module):
    """2-D convolutional subsampling of (time, frequency) by ``subsampling_factor`` in time.

    Layouts (``conv`` is an ``nn.Sequential``; N is ``log2(subsampling_factor)``):

    * ``striding``: N x [Conv2d(3x3, stride 2), activation]; the first takes 1 channel.
    * ``dw_striding``: Conv2d(1 -> C, 3x3, stride 2), activation, then N - 1 x [depthwise
      Conv2d(3x3, stride 2), pointwise Conv2d(1x1), activation].
    * ``vggnet``: N x [Conv2d(3x3), activation, Conv2d(3x3), activation, MaxPool2d(2, ceil_mode)].

    ``out`` is a Linear from ``conv_channels * F'`` (channels times the subsampled frequency axis) to
    ``feat_out``.

    Args:
        subsampling: ``"striding"``, ``"dw_striding"`` or ``"vggnet"``.
        subsampling_factor: time reduction, a power of 2.
        feat_in: input features F (e.g. 80 mel bins).
        feat_out: output features D.
        conv_channels: channels C of the convolutions.
        subsampling_conv_chunking_factor: 1 splits the batch only when the input is too large for
            PyTorch's 32-bit indexing or, on the CPU, into chunks whose first convolution output has
            about 2**23 elements at most (faster there, same results); a power of 2 always splits the
            batch into that many chunks; -1 never splits.
        activation: activation module placed after the convolutions.
        is_causal: pad the strided convolutions causally (``K - 1`` before, ``stride - 1`` after).
    """

    def __init__(
        self,
        subsampling: str,
        subsampling_factor: int,
        feat_in: int,
        feat_out: int,
        conv_channels: int,
        subsampling_conv_chunking_factor: int = 1,
        activation: nn.Module | None = None,
        is_causal: bool = False,
    ) -> None:
        super().__init__()
        if subsampling not in _CONV2D_SUBSAMPLINGS:
            raise ValueError(
                f"ConvSubsampling got subsampling={subsampling!r}: expected one of {_CONV2D_SUBSAMPLINGS}. "
                "Fix encoder.subsampling in the config."
            )
        if subsampling_factor < 2 or subsampling_factor & (subsampling_factor - 1):
            raise ValueError(
                f"ConvSubsampling got subsampling_factor={subsampling_factor}: expected a power of 2 "
                "(2, 4, 8, ...). Fix encoder.subsampling_factor in the config."
            )
        _check_chunking_factor(subsampling_conv_chunking_factor)
        if activation is None:
            activation = nn.ReLU()
        self._subsampling = subsampling
        self._conv_channels = conv_channels
        self._feat_in = feat_in
        self._feat_out = feat_out
        self._sampling_num = int(math.log2(subsampling_factor))
        self.subsampling_factor = subsampling_factor
        self.is_causal = is_causal
        self.subsampling_conv_chunking_factor = subsampling_conv_chunking_factor

        if subsampling == "vggnet":
            self._stride, self._kernel_size, self._ceil_mode = 2, 2, True
            self._left_padding = self._right_padding = 0
            layers = self._vggnet_layers(conv_channels, activation)
        else:
            self._stride, self._kernel_size, self._ceil_mode = 2, 3, False
            if is_causal:
                self._left_padding, self._right_padding = self._kernel_size - 1, self._stride - 1
            else:
                self._left_padding = self._right_padding = (self._kernel_size - 1) // 2
            if subsampling == "striding":
                layers = self._striding_layers(conv_channels, activation)
            else:
                layers = self._dw_striding_layers(conv_channels, activation)
        self.conv = nn.Sequential(*layers)

        out_freq = calc_length(
            torch.tensor(feat_in, dtype=torch.float),
            all_paddings=self._left_padding + self._right_padding,
            kernel_size=self._kernel_size,
            stride=self._stride,
            ceil_mode=self._ceil_mode,
            repeat_num=self._sampling_num,
        )
        self.out = nn.Linear(conv_channels * int(out_freq), feat_out)

    def _strided_conv(self, in_channels: int, out_channels: int, groups: int = 1) -> nn.Conv2d:
        if self.is_causal:
            return CausalConv2D(
                in_channels, out_channels, kernel_size=self._kernel_size, stride=self._stride, groups=groups
            )
        return nn.Conv2d(
            in_channels,
            out_channels,
            kernel_size=self._kernel_size,
            stride=self._stride,
            padding=self._left_padding,
            groups=groups,
        )

    def _striding_layers(self, channels: int, activation: nn.Module) -> list[nn.Module]:
        layers: list[nn.Module] = []
        in_channels = 1
        for _ in range(self._sampling_num):
            layers += [self._strided_conv(in_channels, channels), activation]
            in_channels = channels
        return layers

    def _dw_striding_layers(self, channels: int, activation: nn.Module) -> list[nn.Module]:
        layers: list[nn.Module] = [self._strided_conv(1, channels), activation]
        for _ in range(self._sampling_num - 1):
            layers += [
                self._strided_conv(channels, channels, groups=channels),
                nn.Conv2d(channels, channels, kernel_size=1),
                activation,
            ]
        return layers

    def _vggnet_layers(self, channels: int, activation: nn.Module) -> list[nn.Module]:
        layers: list[nn.Module] = []
        in_channels = 1
        for _ in range(self._sampling_num):
            layers += [
                nn.Conv2d(in_channels, channels, kernel_size=3, padding=1),
                activation,
                nn.Conv2d(channels, channels, kernel_size=3, padding=1),
                activation,
                nn.MaxPool2d(kernel_size=self._kernel_size, stride=self._stride, ceil_mode=self._ceil_mode),
            ]
            in_channels = channels
        return layers

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Subsample features in time and project them to ``feat_out``.

        Args:
            x: (B, T, F) features, time first.
            lengths: (B,) valid frames per item.

        Returns:
            ``(x, lengths)``: (B, T', D) and (B,) int32 subsampled lengths (NeMo's formula).
        """
        lengths = calc_length(
            lengths,
            all_paddings=self._left_padding + self._right_padding,
            kernel_size=self._kernel_size,
            stride=self._stride,
            ceil_mode=self._ceil_mode,
            repeat_num=self._sampling_num,
        )
        x = x.unsqueeze(1)
        chunks = self._batch_chunks(x)
        if chunks <= 1:
            return self._conv_and_project(x), lengths
        parts = torch.split(x, math.ceil(x.size(0) / chunks), dim=0)
        return torch.cat([self._conv_and_project(part) for part in parts]), lengths

    def _conv_and_project(self, x: torch.Tensor) -> torch.Tensor:
        """``out`` applied to ``self.conv(x)``: (B, 1, T, F) -> (B, T', D)."""
        x = self._conv_stack(x)
        b, c, t, f = x.shape
        # ``out`` reads features in (C, F') order; the convolutions leave them (F', C) in memory, so the
        # small weight is reordered instead of the activations.
        weight = self.out.weight.view(-1, c, f).transpose(1, 2).reshape(-1, f * c)
        return F.linear(x.permute(0, 2, 3, 1).reshape(b, t, f * c), weight, self.out.bias)

    def _conv_stack(self, x: torch.Tensor) -> torch.Tensor:
        """``self.conv(x)`` computed channels-last: (B, 1, T, F) -> (B, C, T', F') with NHWC strides.

        The first convolution has a single input channel, for which oneDNN's direct kernels are slow;
        it runs as one GEMM over unfolded patches that writes (B, T', F', C), its activation (always
        ``conv[1]``, elementwise) is applied in that layout, and the layers after it take oneDNN's
        faster channels-last path. Same weights and results as ``self.conv(x)``, which export traces
        instead (ONNX has no unfold over a dynamic length).
        """
        if torch.jit.is_tracing():
            return self.conv(x)
        layers = list(self.conv)
        x = _single_channel_conv2d(layers[0], layers[1], x).permute(0, 3, 1, 2)
        for layer in layers[2:]:
            x = layer(x)
        return x

    def _batch_chunks(self, x: torch.Tensor) -> int:
        """How many batch chunks to run the convolutions in (1 means no split)."""
        factor = self.subsampling_conv_chunking_factor
        if factor == -1 or torch.jit.is_tracing() or x.size(0) == 1:  # a trace would bake the split sizes
            return 1
        if factor > 1:
            return min(factor, x.size(0))
        # Elements of the first convolution's output (B, C, T / stride, F / stride), roughly.
        first_out = x.numel() * self._conv_channels / (self._stride * self._stride)
        needed = first_out / _MAX_CONV_ELEMENTS
        if x.device.type == "cpu":
            needed = max(needed, first_out / _CPU_CHUNK_ELEMENTS)
        if needed <= 1:
            return 1
        return min(2 ** math.ceil(math.log2(needed)), x.size(0))

    def change_subsampling_conv_chunking_factor(self, subsampling_conv_chunking_factor: int) -> None:
        """Set how the batch is split through the convolutions (see the class docstring)."""
        _check_chunking_factor(subsampling_conv_chunking_factor)
        self.subsampling_conv_chunking_factor = subsampling_conv_chunking_factor


class StackingSubsampling(nn.Module):
    """Subsample by stacking ``subsampling_factor`` consecutive frames, then a Linear projection.

    Args:
        subsampling_factor: frames stacked into one.
        feat_in: input features F.
        feat_out: output features D.
        norm: apply a LayerNorm over F before stacking (NeMo's ``stacking_norm``).
    """

    def __init__(self, subsampling_factor: int, feat_in: int, feat_out: int, norm: bool = False) -> None:
        super().__init__()
        self.subsampling_factor = subsampling_factor
        self.proj_out = nn.Linear(subsampling_factor * feat_in, feat_out)
        self.pre_norm = nn.LayerNorm(feat_in) if norm else None

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Stack frames.

        Args:
            x: (B, T, F).
            lengths: (B,) valid frames per item.

        Returns:
            ``(x, lengths)``: (B, ceil(T / factor), D) and (B,) ``(lengths + pad) // factor`` where ``pad``
            right-pads T to a multiple of the factor.
        """
        b, t, f = x.shape
        pad = (self.subsampling_factor - t % self.subsampling_factor) % self.subsampling_factor
        x = F.pad(x, (0, 0, 0, pad))
        if self.pre_norm is not None:
            x = self.pre_norm(x)
        x = x.reshape(b, (t + pad) // self.subsampling_factor, f * self.subsampling_factor)
        lengths = torch.div(lengths + pad, self.subsampling_factor, rounding_mode="floor")
        return self.proj_out(x), lengths

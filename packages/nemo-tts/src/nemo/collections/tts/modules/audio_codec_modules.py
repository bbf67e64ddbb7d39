"""Building blocks of NeMo 1.23's audio codec (``audio_codec_modules``), with its names, constructor
arguments and state-dict keys.

- Padding helpers: :func:`get_padding`, :func:`get_padding_2d`, :func:`get_down_sample_padding`,
  :func:`get_up_sample_padding`.
- :class:`CodecActivation`: ELU or Snake (``x + sin^2(alpha x) / alpha``, one ``alpha`` per channel).
- Weight-normalised convolutions that zero the frames past each item's length: :class:`Conv1dNorm`
  (reflect padding), :class:`ConvTranspose1dNorm`, and :class:`Conv2dNorm` (no lengths). Keys
  ``conv.weight_g``, ``conv.weight_v``, ``conv.bias``, as ``torch.nn.utils.weight_norm`` names them.
- Quantizers sharing the :class:`VectorQuantizerBase` interface (``forward`` -> (dequantized (B, D, T),
  indices (N_codebooks, B, T)); ``encode``; ``decode``): :class:`FiniteScalarQuantizer` and
  :class:`GroupFiniteScalarQuantizer`. The residual vector quantizers are in ``encodec_modules``.

Not provided here: NeMo's ``PeriodDiscriminator``, ``MultiPeriodDiscriminator`` and ``Discriminator``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

import torch
from nemo.collections.tts.modules.hifigan_modules import (
    WeightNormConv1d,
    WeightNormConv2d,
    WeightNormConvTranspose1d,
)
from nemo.collections.tts.parts.utils.helpers import mask_sequence_tensor
from nemo.core.classes.module import NeuralModule
from nemo.core.classes.typecheck import typecheck
from nemo.core.neural_types.elements import EncodedRepresentation, Index, LengthsType, VoidType
from nemo.core.neural_types.neural_type import NeuralType
from torch import nn

__all__ = [
    "CodecActivation",
    "Conv1dNorm",
    "Conv2dNorm",
    "ConvTranspose1dNorm",
    "FiniteScalarQuantizer",
    "GroupFiniteScalarQuantizer",
    "Snake",
    "VectorQuantizerBase",
    "get_down_sample_padding",
    "get_padding",
    "get_padding_2d",
    "get_up_sample_padding",
]


def get_padding(kernel_size: int, dilation: int = 1) -> int:
    """Padding that keeps the length of a stride-1 convolution: ``dilation * (kernel_size - 1) // 2``."""
    return dilation * (kernel_size - 1) // 2


def get_padding_2d(kernel_size: Sequence[int], dilation: Sequence[int]) -> tuple[int, int]:
    """:func:`get_padding` for each of the two axes."""
    return get_padding(kernel_size[0], dilation[0]), get_padding(kernel_size[1], dilation[1])


def get_down_sample_padding(kernel_size: int, stride: int) -> int:
    """Padding for which a strided convolution maps ``T`` frames to ``T // stride`` (for ``T % stride == 0``)."""
    return (kernel_size - stride + 1) // 2


def get_up_sample_padding(kernel_size: int, stride: int) -> tuple[int, int]:
    """(padding, output_padding) for which a transposed convolution maps ``T`` frames to ``T * stride``."""
    return (kernel_size - stride + 1) // 2, (kernel_size - stride) % 2


class Snake(nn.Module):
    """Snake activation ``x + sin^2(alpha x) / (alpha + 1e-9)`` (https://arxiv.org/abs/2006.08195).

    Args:
        channels: number of channels C; ``alpha`` is a learned (1, C, 1) parameter starting at 1.

    Input (B, C, ...) -> output of the same shape.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.alpha = nn.Parameter(torch.ones(1, channels, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        flat = x.reshape(x.shape[0], x.shape[1], -1)
        out = flat + torch.sin(self.alpha * flat).pow(2) / (self.alpha + 1e-9)
        return out.reshape(x.shape)


class CodecActivation(nn.Module):
    """``"elu"`` or ``"snake"`` activation (key ``activation.alpha`` for Snake).

    Args:
        activation: ``"elu"`` or ``"snake"`` (case-insensitive).
        channels: channels of the input, needed by Snake.
    """

    def __init__(self, activation: str = "elu", channels: int = 1) -> None:
        super().__init__()
        name = activation.lower()
        if name == "snake":
            self.activation = Snake(channels)
        elif name == "elu":
            self.activation = nn.ELU()
        else:
            raise ValueError(f"Unknown activation {activation}: CodecActivation supports 'elu' and 'snake'.")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.activation(x)


_SEQUENCE_IO = {
    "inputs": NeuralType(("B", "C", "T"), VoidType()),
    "input_len": NeuralType(tuple("B"), LengthsType()),
}


class _MaskedConv(NeuralModule):
    """Runs ``self.conv`` on (B, C_in, T_in) and zeroes the output frames past ``input_len``."""

    conv: nn.Module

    @property
    def input_types(self) -> dict[str, NeuralType]:
        return _SEQUENCE_IO

    @property
    def output_types(self) -> dict[str, NeuralType]:
        return {"out": NeuralType(("B", "C", "T"), VoidType())}

    def remove_weight_norm(self) -> None:
        """Fold the weight norm into a plain ``conv.weight``."""
        self.conv.remove_weight_norm()

    @typecheck()
    def forward(self, inputs: torch.Tensor, input_len: torch.Tensor) -> torch.Tensor:
        """(B, C_in, T_in) -> (B, C_out, T_out); ``input_len`` (B,) are the lengths of the *output*."""
        return mask_sequence_tensor(self.conv(inputs), input_len)


class Conv1dNorm(_MaskedConv):
    """Weight-normalised ``Conv1d`` with reflect padding, output masked to ``input_len``.

    Args:
        in_channels: input channels.
        out_channels: output channels.
        kernel_size: kernel width.
        stride: stride.
        padding: padding on each side; None (or 0, as in NeMo) pads ``(kernel_size - 1) // 2``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        padding: int | None = None,
    ) -> None:
        super().__init__()
        if not padding:
            padding = get_padding(kernel_size)
        self.conv = WeightNormConv1d(
            in_channels, out_channels, kernel_size, stride=stride, padding=padding, padding_mode="reflect"
        )


class ConvTranspose1dNorm(_MaskedConv):
    """Weight-normalised ``ConvTranspose1d`` that upsamples ``T`` frames to ``T * stride``, output masked.

    Args:
        in_channels: input channels.
        out_channels: output channels.
        kernel_size: kernel width.
        stride: upsampling factor.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1) -> None:
        super().__init__()
        padding, output_padding = get_up_sample_padding(kernel_size, stride)
        self.conv = WeightNormConvTranspose1d(
            in_channels,
            out_channels,
            kernel_size,
            stride=stride,
            padding=padding,
            output_padding=output_padding,
        )


class Conv2dNorm(NeuralModule):
    """Weight-normalised ``Conv2d`` with reflect "same" padding; (B, C_in, H, T) -> (B, C_out, H', T').

    Args:
        in_channels: input channels.
        out_channels: output channels.
        kernel_size: (kernel height, kernel width).
        stride: (stride height, stride width).
        dilation: (dilation height, dilation width).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Sequence[int],
        stride: Sequence[int] = (1, 1),
        dilation: Sequence[int] = (1, 1),
    ) -> None:
        super().__init__()
        if len(kernel_size) != len(dilation):
            raise ValueError(
                f"Conv2dNorm: kernel_size {tuple(kernel_size)} and dilation {tuple(dilation)} must have the same "
                "length (2)."
            )
        self.conv = WeightNormConv2d(
            in_channels,
            out_channels,
            tuple(kernel_size),
            stride=tuple(stride),
            dilation=tuple(dilation),
            padding=get_padding_2d(kernel_size, dilation),
            padding_mode="reflect",
        )

    @property
    def input_types(self) -> dict[str, NeuralType]:
        return {"inputs": NeuralType(("B", "C", "H", "T"), VoidType())}

    @property
    def output_types(self) -> dict[str, NeuralType]:
        return {"out": NeuralType(("B", "C", "H", "T"), VoidType())}

    def remove_weight_norm(self) -> None:
        """Fold the weight norm into a plain ``conv.weight``."""
        self.conv.remove_weight_norm()

    @typecheck()
    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.conv(inputs)


_QUANTIZER_INPUTS = {
    "inputs": NeuralType(("B", "D", "T"), EncodedRepresentation()),
    "input_len": NeuralType(tuple("B"), LengthsType()),
}
_INDEX_INPUTS = {
    "indices": NeuralType(("D", "B", "T"), Index()),
    "input_len": NeuralType(tuple("B"), LengthsType()),
}
_INDICES_OUT = {"indices": NeuralType(("D", "B", "T"), Index())}
_DEQUANTIZED_OUT = {"dequantized": NeuralType(("B", "D", "T"), EncodedRepresentation())}


def _optional_len(types: dict[str, NeuralType]) -> dict[str, NeuralType]:
    """``types`` with ``input_len`` optional."""
    return {**types, "input_len": NeuralType(tuple("B"), LengthsType(), optional=True)}


class VectorQuantizerBase(NeuralModule, ABC):
    """Interface of the codec quantizers.

    ``forward(inputs (B, D, T), input_len (B,))`` -> (dequantized (B, D, T), indices (N, B, T)[, extras]);
    ``encode`` returns the indices only, ``decode(indices, input_len)`` the dequantized vectors.
    """

    @property
    def input_types(self) -> dict[str, NeuralType]:
        return _QUANTIZER_INPUTS

    @property
    def output_types(self) -> dict[str, NeuralType]:
        return {**_DEQUANTIZED_OUT, **_INDICES_OUT}

    @abstractmethod
    def forward(self, inputs: torch.Tensor, input_len: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Quantize (B, D, T) -> (dequantized (B, D, T), indices (N, B, T), ...)."""

    @abstractmethod
    def encode(self, inputs: torch.Tensor, input_len: torch.Tensor) -> torch.Tensor:
        """(B, D, T) -> indices (N, B, T)."""

    @abstractmethod
    def decode(self, indices: torch.Tensor, input_len: torch.Tensor) -> torch.Tensor:
        """Indices (N, B, T) -> dequantized (B, D, T)."""


class FiniteScalarQuantizer(VectorQuantizerBase):
    """Finite scalar quantization (https://arxiv.org/abs/2309.15505): element ``d`` of each vector is squashed
    with ``tanh`` and rounded (straight-through gradient) to one of ``num_levels[d]`` values in [-1, 1].

    The implicit codebook has ``prod(num_levels)`` entries; a vector's index is the mixed-radix number of its
    per-element levels (element 0 is the least significant digit).

    Args:
        num_levels: levels of each of the D elements.
        eps: the squashing is scaled by ``1 - eps`` so that rounding never reaches a level past the edge.

    Buffers (state dict): ``dim_base_index`` (1, D, 1) radix weights, ``num_levels`` (1, D, 1), both int32.
    """

    def __init__(self, num_levels: Sequence[int], eps: float = 1e-3) -> None:
        super().__init__()
        levels = torch.tensor(list(num_levels), dtype=torch.int32)
        radix = torch.cumprod(torch.cat([torch.ones(1, dtype=torch.int32), levels[:-1]]), dim=0).to(
            torch.int32
        )
        self.register_buffer("dim_base_index", radix.view(1, -1, 1))
        self.register_buffer("num_levels", levels.view(1, -1, 1))
        self.eps = eps

    @property
    def codebook_size(self) -> int:
        """Entries of the implicit codebook, ``prod(num_levels)``."""
        return int(self.num_levels.prod().item())

    @property
    def dim(self) -> int:
        """Dimension D of the quantized vectors."""
        return self.num_levels.numel()

    @property
    def codebook_dim(self) -> int:
        """Same as :attr:`dim` (the residual quantizers' name)."""
        return self.dim

    @property
    def codes(self) -> torch.Tensor:
        """(codebook_size, D) every codebook entry, in index order."""
        indices = torch.arange(self.codebook_size, device=self.num_levels.device).view(1, -1, 1)
        return self.decode(indices=indices, input_len=None).squeeze(-1)

    @property
    def codebook(self) -> torch.Tensor:
        """Same as :attr:`codes`."""
        return self.codes

    @staticmethod
    def round(inputs: torch.Tensor, input_len: torch.Tensor | None = None) -> torch.Tensor:
        """Round to the nearest integer, passing the gradient straight through."""
        return inputs + (torch.round(inputs) - inputs).detach()

    def compress(self, inputs: torch.Tensor, input_len: torch.Tensor | None = None) -> torch.Tensor:
        """Squash (B, D, T) into ``num_levels`` integer-spaced bands around zero (before rounding).

        With ``h = (L - 1) / 2 * (1 - eps)`` and ``o = 0.5`` for even ``L`` (else 0):
        ``h * tanh(x + tan(o / h)) - o``, NeMo's shift for even level counts.
        """
        half_width = (self.num_levels - 1) / 2 * (1 - self.eps)
        offset = (self.num_levels % 2 == 0).to(half_width.dtype) * 0.5
        shift = torch.tan(offset / half_width)
        return half_width * torch.tanh(inputs + shift) - offset

    def inputs_to_codes(self, inputs: torch.Tensor, input_len: torch.Tensor | None = None) -> torch.Tensor:
        """(B, D, T) -> quantized values in [-1, 1] (integer level divided by ``L // 2``)."""
        levels = self.round(self.compress(inputs))
        return levels / (self.num_levels // 2)

    def codes_to_nonnegative(self, codes: torch.Tensor) -> torch.Tensor:
        """Quantized values in [-1, 1] -> level numbers 0 .. L-1 (as floats)."""
        half = self.num_levels // 2
        return codes * half + half

    def nonnegative_to_codes(self, codes_nonnegative: torch.Tensor) -> torch.Tensor:
        """Level numbers 0 .. L-1 -> quantized values in [-1, 1]."""
        half = self.num_levels // 2
        return (codes_nonnegative - half) / half

    def codes_to_indices(self, codes: torch.Tensor) -> torch.Tensor:
        """(B, D, T) quantized values -> (B, T) int32 codebook indices."""
        if codes.size(1) != self.dim:
            raise RuntimeError(
                f"FiniteScalarQuantizer: codes have {codes.size(1)} channels (shape {tuple(codes.shape)}), "
                f"expected dim={self.dim}."
            )
        digits = self.codes_to_nonnegative(codes)
        return (digits * self.dim_base_index).sum(dim=1).to(torch.int32)

    @property
    def input_types(self) -> dict[str, NeuralType]:
        return _optional_len(_QUANTIZER_INPUTS)

    @typecheck()
    def forward(
        self, inputs: torch.Tensor, input_len: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, D, T) -> (dequantized (B, D, T), indices (1, B, T) int32), zero past ``input_len``."""
        if inputs.size(1) != self.dim:
            raise RuntimeError(
                f"FiniteScalarQuantizer: inputs have {inputs.size(1)} channels (shape {tuple(inputs.shape)}), "
                f"expected dim={self.dim} (one per entry of num_levels)."
            )
        dequantized = self.inputs_to_codes(inputs)
        indices = self.codes_to_indices(dequantized)
        if input_len is not None:
            dequantized = mask_sequence_tensor(dequantized, input_len)
            indices = mask_sequence_tensor(indices, input_len)
        return dequantized, indices.unsqueeze(0)

    @typecheck(input_types=_optional_len(_QUANTIZER_INPUTS), output_types=_INDICES_OUT)
    def encode(self, inputs: torch.Tensor, input_len: torch.Tensor | None = None) -> torch.Tensor:
        """(B, D, T) -> indices (1, B, T)."""
        return self(inputs=inputs, input_len=input_len)[1]

    @typecheck(input_types=_optional_len(_INDEX_INPUTS), output_types=_DEQUANTIZED_OUT)
    def decode(self, indices: torch.Tensor, input_len: torch.Tensor | None = None) -> torch.Tensor:
        """Indices (1, B, T) -> dequantized (B, D, T) in [-1, 1]."""
        if indices.size(0) != 1:
            raise ValueError(
                f"FiniteScalarQuantizer.decode: expected a single codebook, got {indices.size(0)} codebooks for "
                f"indices with shape {tuple(indices.shape)}. Pass indices of shape (1, B, T)."
            )
        digits = (
            torch.div(indices.transpose(0, 1), self.dim_base_index, rounding_mode="floor") % self.num_levels
        )
        dequantized = self.nonnegative_to_codes(digits)
        if input_len is not None:
            dequantized = mask_sequence_tensor(dequantized, input_len)
        return dequantized


class GroupFiniteScalarQuantizer(VectorQuantizerBase):
    """Splits the D channels into ``num_groups`` equal groups, each quantized by its own
    :class:`FiniteScalarQuantizer` (``fsqs.{g}``); indices are stacked as (num_groups, B, T).

    Args:
        num_groups: number of groups.
        num_levels_per_group: ``num_levels`` of each group's quantizer.
        **kwargs: other :class:`FiniteScalarQuantizer` arguments (``eps``).
    """

    def __init__(self, num_groups: int, num_levels_per_group: Sequence[int], **kwargs) -> None:
        super().__init__()
        self.num_groups = num_groups
        self.codebook_dim_per_group = len(num_levels_per_group)
        self.fsqs = nn.ModuleList(
            [FiniteScalarQuantizer(num_levels=num_levels_per_group, **kwargs) for _ in range(num_groups)]
        )

    @property
    def codebook_dim(self) -> int:
        """Total input dimension, ``num_groups * len(num_levels_per_group)``."""
        return self.codebook_dim_per_group * self.num_groups

    @property
    def codebook_size_per_group(self) -> int:
        """Size of each group's implicit codebook."""
        return self.fsqs[0].codebook_size

    @property
    def codebook_size(self) -> int:
        """Size of the joint implicit codebook."""
        return self.codebook_size_per_group**self.num_groups

    @typecheck()
    def forward(self, inputs: torch.Tensor, input_len: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, D, T) -> (dequantized (B, D, T), indices (num_groups, B, T))."""
        results = [
            fsq(inputs=part, input_len=input_len)
            for part, fsq in zip(inputs.chunk(self.num_groups, 1), self.fsqs)
        ]
        return torch.cat([r[0] for r in results], dim=1), torch.cat([r[1] for r in results], dim=0)

    @typecheck(input_types=_QUANTIZER_INPUTS, output_types=_INDICES_OUT)
    def encode(self, inputs: torch.Tensor, input_len: torch.Tensor) -> torch.Tensor:
        """(B, D, T) -> indices (num_groups, B, T)."""
        parts = inputs.chunk(self.num_groups, dim=1)
        return torch.cat(
            [fsq.encode(inputs=part, input_len=input_len) for part, fsq in zip(parts, self.fsqs)]
        )

    @typecheck(input_types=_INDEX_INPUTS, output_types=_DEQUANTIZED_OUT)
    def decode(self, indices: torch.Tensor, input_len: torch.Tensor) -> torch.Tensor:
        """Indices (num_groups, B, T) -> dequantized (B, D, T)."""
        parts = indices.chunk(self.num_groups, dim=0)
        return torch.cat(
            [fsq.decode(indices=part, input_len=input_len) for part, fsq in zip(parts, self.fsqs)], 1
        )

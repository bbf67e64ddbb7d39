"""Convolutions with explicit, possibly asymmetric, time padding (NeMo's ``CausalConv1D`` / ``CausalConv2D``).

The padding is applied with ``F.pad`` before an unpadded convolution. Besides allowing left-only
(causal) context, this is also the faster path on CPU for depthwise kernels: PyTorch's padded
depthwise ``conv1d`` falls back to a slow kernel there.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["CausalConv1D", "CausalConv2D"]


class CausalConv1D(nn.Conv1d):
    """``nn.Conv1d`` whose time padding may differ on the left and the right.

    Args:
        in_channels: input channels C_in.
        out_channels: output channels C_out.
        kernel_size: kernel width K.
        stride: time stride; only 1 is allowed with an explicit ``padding``, unless the padding is the
            causal ``K - 1``.
        padding: ``None`` for fully causal padding (``K - 1`` left, ``stride - 1`` right), an int for the
            same padding on both sides, or ``[left, right]`` with ``left + right == K - 1``.
        dilation, groups, bias, padding_mode, device, dtype: as for ``nn.Conv1d``.

    The state-dict keys (``weight``, ``bias``) are those of ``nn.Conv1d``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        padding: int | list[int] | tuple[int, int] | None = 0,
        dilation: int = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device: torch.device | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        if padding is None:
            left, right = kernel_size - 1, stride - 1
        else:
            if stride != 1 and padding != kernel_size - 1:
                raise ValueError(
                    f"CausalConv1D got stride={stride} with padding={padding!r}: strided convolutions "
                    f"must be causal. Pass padding=None (or {kernel_size - 1}), or stride=1."
                )
            if isinstance(padding, int):
                left, right = padding, padding
            elif isinstance(padding, (list, tuple)) and len(padding) == 2 and sum(padding) == kernel_size - 1:
                left, right = int(padding[0]), int(padding[1])
            else:
                raise ValueError(
                    f"CausalConv1D got padding={padding!r}: expected None, an int, or [left, right] "
                    f"with left + right == kernel_size - 1 == {kernel_size - 1}. Fix conv_context_size "
                    "in the config."
                )
        self._left_padding = left
        self._right_padding = right
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride=stride,
            padding=0,
            dilation=dilation,
            groups=groups,
            bias=bias,
            padding_mode=padding_mode,
            device=device,
            dtype=dtype,
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Pad then convolve.

        Args:
            x: (B, C_in, T).

        Returns:
            (B, C_out, T_out) with ``T_out = (T + left + right - dilation * (K - 1) - 1) // stride + 1``.
        """
        return super().forward(F.pad(x, (self._left_padding, self._right_padding)))


class CausalConv2D(nn.Conv2d):
    """``nn.Conv2d`` padded causally: ``K - 1`` before and ``stride - 1`` after, on both spatial axes.

    Used by ``ConvSubsampling`` when ``causal_downsampling`` is true.

    Args:
        in_channels, out_channels, kernel_size, stride, dilation, groups, bias, padding_mode, device,
            dtype: as for ``nn.Conv2d`` (``kernel_size`` and ``stride`` are ints).
        padding: must be ``None``; the padding is derived from the kernel size and stride.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        padding: None = None,
        dilation: int = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device: torch.device | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        if padding is not None:
            raise ValueError(
                f"CausalConv2D got padding={padding!r}: its padding is always kernel_size - 1 before and "
                "stride - 1 after. Pass padding=None."
            )
        self._left_padding = kernel_size - 1
        self._right_padding = stride - 1
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride=stride,
            padding=0,
            dilation=dilation,
            groups=groups,
            bias=bias,
            padding_mode=padding_mode,
            device=device,
            dtype=dtype,
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Pad both spatial axes then convolve.

        Args:
            x: (B, C_in, T, F).

        Returns:
            (B, C_out, T_out, F_out).
        """
        pads = (self._left_padding, self._right_padding, self._left_padding, self._right_padding)
        return super().forward(F.pad(x, pads))

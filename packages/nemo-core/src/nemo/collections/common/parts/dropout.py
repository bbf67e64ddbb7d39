"""``Dropout``: ``torch.nn.Dropout`` with a cheaper training-time mask on a CPU.

On a CPU, ``torch.nn.functional.dropout`` draws its mask with ``bernoulli_`` and spends about twice as long
per element as drawing uniforms with ``torch.rand`` and comparing them with ``p``, which gives the same
distribution of masks: each element is kept with probability ``1 - p`` and scaled by ``1 / (1 - p)``. The
saved scale tensor makes the backward pass one multiplication. Other devices (CUDA's fused dropout kernel is
already one pass), ``inplace=True``, ``p`` of 0 or 1 and eval mode take ``torch.nn.functional.dropout``'s path.
The module has no parameters or buffers, so state dicts are those of ``torch.nn.Dropout``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class _UniformMaskDropout(torch.autograd.Function):
    """``x * scale``, where ``scale`` is ``1 / (1 - p)`` where a uniform draw is at least ``p``, else 0."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, p: float) -> torch.Tensor:
        scale = torch.rand_like(x).ge_(p).mul_(1.0 / (1.0 - p))
        ctx.save_for_backward(scale)
        return x * scale

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor) -> tuple[torch.Tensor, None]:
        (scale,) = ctx.saved_tensors
        return grad_output * scale, None


class Dropout(nn.Dropout):
    """A drop-in for ``torch.nn.Dropout`` (same arguments, same expected output), faster on a CPU.

    Args:
        p: probability of zeroing an element.
        inplace: zero in place (takes ``torch.nn.functional.dropout``'s path).

    Shape:
        any; the output has the input's shape.
    """

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        if (
            not self.training
            or self.inplace
            or input.device.type != "cpu"
            or not 0.0 < self.p < 1.0
            or torch.jit.is_scripting()
            or torch.jit.is_tracing()
        ):
            return F.dropout(input, self.p, self.training, self.inplace)
        return _UniformMaskDropout.apply(input, self.p)

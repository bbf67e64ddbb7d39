"""Dropout whose mask is drawn with ``torch.rand`` on the CPU: same distribution, about half the cost.

On the CPU, ``nn.Dropout`` draws its mask with ``bernoulli_``, which costs about twice as much as drawing
uniform numbers and comparing them with ``p``. In the Conformer the masks are a large part of a CPU
training step (7 dropouts per layer), so its layers use ``RandDropout``. Elsewhere (CUDA, evaluation,
``p == 0``) it behaves exactly like ``nn.Dropout``.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["RandDropout", "dropout_mask"]


def dropout_mask(x: torch.Tensor, p: float) -> torch.Tensor:
    """A dropout mask for ``x``: each element 0 with probability ``p``, otherwise ``1 / (1 - p)``.

    Args:
        x: tensor of any shape whose dtype and device the mask takes.
        p: drop probability in [0, 1).

    Returns:
        Tensor of the shape of ``x``, with no autograd history.
    """
    return torch.rand_like(x).ge_(p).mul_(1.0 / (1.0 - p))


class RandDropout(nn.Dropout):
    """``nn.Dropout`` with the mask of ``dropout_mask`` on the CPU (same arguments and behaviour).

    Args:
        p: drop probability.
        inplace: multiply ``x`` in place.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Args: x: tensor of any shape. Returns: ``x`` with dropout applied in training."""
        if not self.training or self.p == 0.0:
            return x
        if x.device.type != "cpu" or self.p >= 1.0:
            return super().forward(x)
        mask = dropout_mask(x, self.p)
        return x.mul_(mask) if self.inplace else x * mask

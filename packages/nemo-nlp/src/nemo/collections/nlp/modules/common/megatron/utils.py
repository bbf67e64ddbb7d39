"""Weight-initialisation helpers with NeMo 1.23's Megatron names (plain torch, no Megatron/Apex)."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

__all__ = ["init_method_normal", "scaled_init_method_normal"]


def init_method_normal(sigma: float) -> Callable[[torch.Tensor], torch.Tensor]:
    """An in-place initialiser drawing from N(0, sigma**2)."""

    def _fill(tensor: torch.Tensor) -> torch.Tensor:
        return torch.nn.init.normal_(tensor, mean=0.0, std=sigma)

    return _fill


def scaled_init_method_normal(sigma: float, num_layers: int) -> Callable[[torch.Tensor], torch.Tensor]:
    """An in-place initialiser drawing from N(0, (sigma / sqrt(2 * num_layers))**2) (output projections)."""
    return init_method_normal(sigma / math.sqrt(2.0 * num_layers))

"""A batch norm frozen into a per-channel affine map (NeMo 1.23's ``FusedBatchNorm1d``).

In eval mode ``BatchNorm1d`` computes ``(x - running_mean) / sqrt(running_var + eps) * weight + bias``,
which is ``x * scale + shift`` with fixed per-channel ``scale`` and ``shift``. :class:`FusedBatchNorm1d`
keeps only those two vectors (as trainable ``weight`` and ``bias``), so a model fine-tuned after the swap
no longer depends on batch statistics (NeMo uses this for ASR fine-tuning on synthetic TTS audio).

State-dict keys are ``weight`` and ``bias`` (shape ``(num_features,)``), as in NeMo.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["FusedBatchNorm1d", "replace_bn_with_fused_bn", "replace_bn_with_fused_bn_all"]


class FusedBatchNorm1d(nn.Module):
    """Per-channel affine map ``y = x * weight + bias`` standing in for a ``BatchNorm1d``.

    Args:
        num_features: number of channels ``C``. A fresh layer is the identity (weight 1, bias 0).

    Input ``(B, C)`` or ``(B, C, T)``; output of the same shape.
    """

    def __init__(self, num_features: int) -> None:
        super().__init__()
        self.num_features = num_features
        self.weight = nn.Parameter(torch.ones(num_features))
        self.bias = nn.Parameter(torch.zeros(num_features))

    @classmethod
    def from_batchnorm(cls, bn: nn.BatchNorm1d) -> FusedBatchNorm1d:
        """A layer whose output equals ``bn``'s in eval mode (running statistics).

        Args:
            bn: the batch norm to fold; it must track running statistics.

        Returns:
            A new :class:`FusedBatchNorm1d`; ``bn`` is left unchanged.
        """
        if not isinstance(bn, nn.BatchNorm1d):
            raise TypeError(
                f"FusedBatchNorm1d.from_batchnorm expects an nn.BatchNorm1d, got {type(bn).__name__}."
            )
        if bn.running_mean is None or bn.running_var is None:
            raise ValueError(
                "FusedBatchNorm1d.from_batchnorm: the BatchNorm1d has no running statistics "
                "(track_running_stats=False), so there is no fixed affine map to fold it into."
            )
        with torch.no_grad():
            inv_std = torch.rsqrt(bn.running_var + bn.eps)
            gamma = bn.weight if bn.weight is not None else torch.ones_like(inv_std)
            beta = bn.bias if bn.bias is not None else torch.zeros_like(inv_std)
            scale = gamma * inv_std
            shift = beta - bn.running_mean * scale
            fused = cls(bn.num_features).to(device=scale.device, dtype=scale.dtype)
            fused.weight.copy_(scale)
            fused.bias.copy_(shift)
        return fused

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Scale and shift channel axis 1 of ``x`` ``(B, C)`` or ``(B, C, T)``."""
        if x.dim() == 2:
            return x * self.weight + self.bias
        if x.dim() == 3:
            return x * self.weight[:, None] + self.bias[:, None]
        raise ValueError(
            f"FusedBatchNorm1d expects input of shape (B, C) or (B, C, T), got {tuple(x.shape)}."
        )

    def extra_repr(self) -> str:
        return f"{self.num_features}"


def _resolve(module: nn.Module, dotted_name: str) -> nn.Module:
    """The submodule of ``module`` at ``dotted_name`` (``"block.0.norm"``), naming the missing part."""
    current = module
    for part in dotted_name.split("."):
        try:
            current = getattr(current, part)
        except AttributeError as err:
            raise AttributeError(
                f"replace_bn_with_fused_bn: {type(current).__name__} has no submodule {part!r} "
                f"(looking up {dotted_name!r}). Use a name from model.named_modules()."
            ) from err
    return current


def replace_bn_with_fused_bn(module: nn.Module, full_layer_name: str) -> None:
    """Swap the ``BatchNorm1d`` at ``full_layer_name`` inside ``module`` for its :class:`FusedBatchNorm1d`.

    Args:
        module: model changed in place.
        full_layer_name: dotted submodule name as in ``module.named_modules()``, e.g. ``"layers.0.conv.batch_norm"``.
    """
    bn = _resolve(module, full_layer_name)
    if not isinstance(bn, nn.BatchNorm1d):
        raise TypeError(
            f"replace_bn_with_fused_bn: {full_layer_name!r} is a {type(bn).__name__}, not an nn.BatchNorm1d."
        )
    parent_name, _, child_name = full_layer_name.rpartition(".")
    parent = _resolve(module, parent_name) if parent_name else module
    setattr(parent, child_name, FusedBatchNorm1d.from_batchnorm(bn))


def replace_bn_with_fused_bn_all(model: nn.Module) -> list[str]:
    """Swap every ``BatchNorm1d`` inside ``model`` for its :class:`FusedBatchNorm1d`.

    Args:
        model: model changed in place.

    Returns:
        The dotted names of the replaced layers, in ``named_modules()`` order.
    """
    names = [name for name, sub in model.named_modules() if isinstance(sub, nn.BatchNorm1d)]
    for name in names:
        if name == "":
            raise TypeError(
                "replace_bn_with_fused_bn_all: the model itself is a BatchNorm1d; fold it directly "
                "with FusedBatchNorm1d.from_batchnorm(model)."
            )
        replace_bn_with_fused_bn(model, name)
    return names

"""Adapter modules shared by the collections: :class:`LinearAdapter` and the base :class:`AdapterModuleUtil`.

An adapter keeps its input width: (B, ..., D) -> (B, ..., D). Its last layer starts at zero, so adding it to
a model (residual strategy) leaves the model's outputs unchanged until it is trained. State-dict keys match
NeMo 1.23's ``LinearAdapter`` (``module.0`` ... ``module.3``), so adapters saved by NeMo load here.
"""

from __future__ import annotations

from dataclasses import dataclass, field, is_dataclass
from typing import Any

import torch
from nemo.core.classes.mixins import access_mixins, adapter_mixin_strategies
from nemo.utils.target_allowlist import check_config_targets
from omegaconf import OmegaConf
from torch import nn

__all__ = ["AdapterModuleUtil", "LinearAdapter", "LinearAdapterConfig"]

# Activation names an adapter config may use (NeMo's names; "swish" is SiLU).
_ACTIVATIONS: dict[str, type[nn.Module]] = {
    "identity": nn.Identity,
    "hardtanh": nn.Hardtanh,
    "relu": nn.ReLU,
    "selu": nn.SELU,
    "swish": nn.SiLU,
    "silu": nn.SiLU,
    "gelu": nn.GELU,
}


class AdapterModuleUtil(access_mixins.AccessMixin):
    """What every adapter module has: an ``adapter_strategy`` and ``adapter_unfreeze``.

    Adapters also mix in :class:`~nemo.core.classes.mixins.access_mixins.AccessMixin`, so a strategy can
    record auxiliary losses (``adapter_loss``) on them.
    """

    def setup_adapter_strategy(self, adapter_strategy: Any | None) -> None:
        """Set ``self.adapter_strategy``.

        Args:
            adapter_strategy: a strategy instance, its config (dict, ``DictConfig`` or dataclass with
                ``_target_``), or None for :meth:`get_default_strategy_config`.

        Raises:
            TypeError: ``adapter_strategy`` is none of these.
            UnsafeTargetError: the config names a class outside the ``_target_`` allow-list.
        """
        if adapter_strategy is None:
            adapter_strategy = self.get_default_strategy_config()
        if isinstance(adapter_strategy, adapter_mixin_strategies.AbstractAdapterStrategy):
            self.adapter_strategy = adapter_strategy
            return
        if is_dataclass(adapter_strategy) and not isinstance(adapter_strategy, type):
            adapter_strategy = OmegaConf.create(
                OmegaConf.to_container(OmegaConf.structured(adapter_strategy))
            )
        if isinstance(adapter_strategy, dict) or OmegaConf.is_config(adapter_strategy):
            from hydra.utils import instantiate

            container = (
                OmegaConf.to_container(adapter_strategy)
                if OmegaConf.is_config(adapter_strategy)
                else adapter_strategy
            )
            check_config_targets(container, source=f"the adapter_strategy of {type(self).__name__}")
            self.adapter_strategy = instantiate(adapter_strategy)
            return
        raise TypeError(
            f"adapter_strategy of {type(self).__name__} must be an AbstractAdapterStrategy, its config (with "
            f"`_target_`) or None; got {adapter_strategy!r}."
        )

    def get_default_strategy_config(self) -> Any:
        """The strategy used when none is given: residual add."""
        return adapter_mixin_strategies.ResidualAddAdapterStrategyConfig()

    def adapter_unfreeze(self) -> None:
        """Make every parameter of the adapter trainable (override to keep some frozen)."""
        for param in self.parameters():
            param.requires_grad_(True)


class LinearAdapter(nn.Module, AdapterModuleUtil):
    """Bottleneck feed-forward adapter: LayerNorm, Linear D -> dim, activation, Linear dim -> D.

    Args:
        in_features: width D of input and output.
        dim: bottleneck width.
        activation: ``"swish"`` (default), ``"silu"``, ``"relu"``, ``"gelu"``, ``"selu"``, ``"hardtanh"`` or
            ``"identity"``.
        norm_position: ``"pre"`` (LayerNorm first; the last Linear starts at zero) or ``"post"`` (LayerNorm
            last; it starts at zero).
        dropout: dropout on the output (0 disables it).
        adapter_strategy: how the output joins the input; default residual add.
    """

    def __init__(
        self,
        in_features: int,
        dim: int,
        activation: str = "swish",
        norm_position: str = "pre",
        dropout: float = 0.0,
        adapter_strategy: adapter_mixin_strategies.ResidualAddAdapterStrategyConfig | None = None,
    ) -> None:
        super().__init__()
        if activation not in _ACTIVATIONS:
            raise ValueError(
                f"LinearAdapter activation={activation!r} is not supported; use one of {sorted(_ACTIVATIONS)}."
            )
        if norm_position not in ("pre", "post"):
            raise ValueError(f"LinearAdapter norm_position={norm_position!r} must be 'pre' or 'post'.")
        self.norm_position = norm_position
        down = nn.Linear(in_features, dim, bias=False)
        up = nn.Linear(dim, in_features, bias=False)
        layers = [nn.LayerNorm(in_features), down, _ACTIVATIONS[activation](), up]
        if norm_position == "post":
            layers = layers[1:] + layers[:1]
        self.module = nn.Sequential(*layers)
        self.dropout = nn.Dropout(dropout) if dropout > 0.0 else None
        self.setup_adapter_strategy(adapter_strategy)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Zero the last layer, so that the adapter's output starts at zero."""
        last = self.module[-1]
        with torch.no_grad():
            last.weight.zero_()
            if getattr(last, "bias", None) is not None:
                last.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Args: x: (B, ..., D). Returns: the adapter branch, (B, ..., D) (the strategy adds the input)."""
        x = self.module(x)
        return self.dropout(x) if self.dropout is not None else x


@dataclass
class LinearAdapterConfig:
    """Config of :class:`LinearAdapter` (``model.add_adapter(name, LinearAdapterConfig(in_features=D, dim=32))``)."""

    in_features: int
    dim: int
    activation: str = "swish"
    norm_position: str = "pre"
    dropout: float = 0.0
    adapter_strategy: Any | None = field(
        default_factory=lambda: adapter_mixin_strategies.ResidualAddAdapterStrategyConfig()
    )
    _target_: str = f"{LinearAdapter.__module__}.{LinearAdapter.__name__}"

"""Attention adapters for Conformer layers, and positional-encoding adapters (NeMo 1.23 names and keys).

- :class:`MultiHeadAttentionAdapter` / :class:`RelPositionMultiHeadAttentionAdapter`: a self-attention block
  (optionally with a narrower projection ``proj_dim``) whose output projection starts at zero, joined to the
  layer by :class:`MHAResidualAddAdapterStrategy`: ``result = value + attention(query, key, value)``.
- :class:`PositionalEncodingAdapter` / :class:`RelPositionalEncodingAdapter`: positional encodings used as
  adapters; their strategy returns the encoding's output without a residual.

State-dict keys are those of the attention classes plus ``pre_norm`` (a LayerNorm over the inputs).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch
from nemo.collections.asr.parts.submodules import multi_head_attention as mha
from nemo.collections.common.parts import adapter_modules
from nemo.core.classes.mixins import adapter_mixin_strategies
from torch import nn

__all__ = [
    "MHAResidualAddAdapterStrategy",
    "MHAResidualAddAdapterStrategyConfig",
    "MultiHeadAttentionAdapter",
    "MultiHeadAttentionAdapterConfig",
    "PositionalEncodingAdapter",
    "PositionalEncodingAdapterConfig",
    "RelPositionMultiHeadAttentionAdapter",
    "RelPositionMultiHeadAttentionAdapterConfig",
    "RelPositionalEncodingAdapter",
    "RelPositionalEncodingAdapterConfig",
]


def _class_path(cls: type) -> str:
    return f"{cls.__module__}.{cls.__name__}"


class MHAResidualAddAdapterStrategy(adapter_mixin_strategies.ResidualAddAdapterStrategy):
    """Residual add for attention adapters, whose input is a dict of the attention's arguments.

    ``input`` holds ``query``, ``key``, ``value`` ((B, T, D) each), ``mask`` and, for relative positions,
    ``pos_emb``; the residual is ``input["value"]``. Stochastic depth and the L2 loss work as in
    :class:`~nemo.core.classes.mixins.adapter_mixin_strategies.ResidualAddAdapterStrategy`.
    """

    def forward(self, input: dict[str, Any], adapter: torch.nn.Module, *, module: Any) -> torch.Tensor:
        """Returns ``input["value"] + adapter(**input)``, (B, T, D)."""
        branch = self.compute_output(input, adapter, module=module)
        residual = input["value"]
        if module.training and self.stochastic_depth != 0.0:
            branch = self.apply_stochastic_depth(branch, residual, adapter, module=module)
        result = residual + branch
        self.compute_auxiliary_losses(result, residual, adapter, module=module)
        return result

    def compute_output(self, input: Any, adapter: torch.nn.Module, *, module: Any) -> torch.Tensor:
        """The adapter's output: a dict is passed by keyword, a list/tuple positionally."""
        if isinstance(input, dict):
            return adapter(**input)
        if isinstance(input, (list, tuple)):
            return adapter(*input)
        return adapter(input)


@dataclass
class MHAResidualAddAdapterStrategyConfig(adapter_mixin_strategies.ResidualAddAdapterStrategyConfig):
    """Config of :class:`MHAResidualAddAdapterStrategy`."""

    _target_: str = _class_path(MHAResidualAddAdapterStrategy)


def _projected_dim(n_head: int, proj_dim: int | None) -> int | None:
    """``proj_dim`` as NeMo reads it: None keeps D, below 1 means one feature per head.

    Raises:
        ValueError: the projection is not divisible by ``n_head``.
    """
    if proj_dim is not None and proj_dim < 1:
        proj_dim = n_head
    if proj_dim is not None and proj_dim % n_head != 0:
        raise ValueError(f"Attention adapter proj_dim={proj_dim} must be divisible by n_head={n_head}.")
    return proj_dim


def _project(attention: mha.MultiHeadAttention, n_feat: int, proj_dim: int) -> None:
    """Replace the q/k/v/out projections of ``attention`` by ones through ``proj_dim`` features."""
    attention.d_k = proj_dim // attention.h
    attention.s_d_k = math.sqrt(attention.d_k)
    attention.linear_q = nn.Linear(n_feat, proj_dim)
    attention.linear_k = nn.Linear(n_feat, proj_dim)
    attention.linear_v = nn.Linear(n_feat, proj_dim)
    attention.linear_out = nn.Linear(proj_dim, n_feat)


def _refuse_cache(cache: torch.Tensor | None, owner: str) -> None:
    if cache is not None:
        raise NotImplementedError(
            f"{owner} does not support cache-aware streaming (cache=...); call it without a cache."
        )


class MultiHeadAttentionAdapter(mha.MultiHeadAttention, adapter_modules.AdapterModuleUtil):
    """Self-attention adapter for ``abs_pos`` Conformer layers.

    Args:
        n_head: heads H.
        n_feat: width D of the layer.
        dropout_rate: dropout on the attention probabilities.
        proj_dim: attend in this many features (divisible by H); None: D; below 1: H (one per head).
        adapter_strategy: default :class:`MHAResidualAddAdapterStrategyConfig`.
    """

    def __init__(
        self,
        n_head: int,
        n_feat: int,
        dropout_rate: float,
        proj_dim: int | None = None,
        adapter_strategy: MHAResidualAddAdapterStrategyConfig | None = None,
    ) -> None:
        super().__init__(n_head=n_head, n_feat=n_feat, dropout_rate=dropout_rate)
        self.pre_norm = nn.LayerNorm(n_feat)
        self.proj_dim = _projected_dim(n_head, proj_dim)
        if self.proj_dim is not None:
            _project(self, n_feat, self.proj_dim)
        self.setup_adapter_strategy(adapter_strategy)
        self.reset_parameters()

    def forward(
        self,
        query: torch.Tensor,
        key: torch.Tensor,
        value: torch.Tensor,
        mask: torch.Tensor | mha.AttentionMask | None,
        pos_emb: torch.Tensor | None = None,
        cache: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Attend over the LayerNorm of the inputs.

        Args:
            query, key, value: (B, T, D).
            mask: (B, T, T) bool, true where attention is not allowed, or None.
            pos_emb: unused (absolute positions).
            cache: must be None.

        Returns:
            (B, T, D): the adapter branch (zero at initialisation).
        """
        _refuse_cache(cache, type(self).__name__)
        return super().forward(self.pre_norm(query), self.pre_norm(key), self.pre_norm(value), mask, pos_emb)

    def reset_parameters(self) -> None:
        """Zero the output projection, so the adapter starts as a no-op."""
        with torch.no_grad():
            nn.init.zeros_(self.linear_out.weight)
            nn.init.zeros_(self.linear_out.bias)

    def get_default_strategy_config(self) -> MHAResidualAddAdapterStrategyConfig:
        return MHAResidualAddAdapterStrategyConfig()


@dataclass
class MultiHeadAttentionAdapterConfig:
    """Config of :class:`MultiHeadAttentionAdapter`."""

    n_head: int
    n_feat: int
    dropout_rate: float = 0.0
    proj_dim: int | None = None
    adapter_strategy: Any | None = field(default_factory=lambda: MHAResidualAddAdapterStrategyConfig())
    _target_: str = _class_path(MultiHeadAttentionAdapter)


class RelPositionMultiHeadAttentionAdapter(
    mha.RelPositionMultiHeadAttention, adapter_modules.AdapterModuleUtil
):
    """Self-attention adapter with Transformer-XL relative positions, for ``rel_pos`` Conformer layers.

    Arguments as :class:`MultiHeadAttentionAdapter`; the adapter has its own ``pos_bias_u`` /
    ``pos_bias_v`` (zero at initialisation).
    """

    def __init__(
        self,
        n_head: int,
        n_feat: int,
        dropout_rate: float,
        proj_dim: int | None = None,
        adapter_strategy: MHAResidualAddAdapterStrategyConfig | None = None,
    ) -> None:
        super().__init__(
            n_head=n_head, n_feat=n_feat, dropout_rate=dropout_rate, pos_bias_u=None, pos_bias_v=None
        )
        self.pre_norm = nn.LayerNorm(n_feat)
        self.proj_dim = _projected_dim(n_head, proj_dim)
        if self.proj_dim is not None:
            _project(self, n_feat, self.proj_dim)
            self.linear_pos = nn.Linear(n_feat, self.proj_dim, bias=False)
            self.pos_bias_u = nn.Parameter(torch.zeros(self.h, self.d_k))
            self.pos_bias_v = nn.Parameter(torch.zeros(self.h, self.d_k))
        self.setup_adapter_strategy(adapter_strategy)
        self.reset_parameters()

    def forward(
        self,
        query: torch.Tensor,
        key: torch.Tensor,
        value: torch.Tensor,
        mask: torch.Tensor | mha.AttentionMask | None,
        pos_emb: torch.Tensor | None = None,
        cache: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Attend over the LayerNorm of the inputs with relative positions.

        Args:
            query, key, value: (B, T, D).
            mask: (B, T, T) bool, true where attention is not allowed, or None.
            pos_emb: (1 or B, 2T - 1, D) relative position embeddings.
            cache: must be None.

        Returns:
            (B, T, D): the adapter branch (zero at initialisation).
        """
        _refuse_cache(cache, type(self).__name__)
        return super().forward(self.pre_norm(query), self.pre_norm(key), self.pre_norm(value), mask, pos_emb)

    def reset_parameters(self) -> None:
        """Zero the output projection and the position biases."""
        with torch.no_grad():
            nn.init.zeros_(self.linear_out.weight)
            nn.init.zeros_(self.linear_out.bias)
            nn.init.zeros_(self.pos_bias_u)
            nn.init.zeros_(self.pos_bias_v)

    def get_default_strategy_config(self) -> MHAResidualAddAdapterStrategyConfig:
        return MHAResidualAddAdapterStrategyConfig()


@dataclass
class RelPositionMultiHeadAttentionAdapterConfig:
    """Config of :class:`RelPositionMultiHeadAttentionAdapter`."""

    n_head: int
    n_feat: int
    dropout_rate: float = 0.0
    proj_dim: int | None = None
    adapter_strategy: Any | None = field(default_factory=lambda: MHAResidualAddAdapterStrategyConfig())
    _target_: str = _class_path(RelPositionMultiHeadAttentionAdapter)


class PositionalEncodingAdapter(mha.PositionalEncoding, adapter_modules.AdapterModuleUtil):
    """Absolute sinusoidal positions as an adapter: returns ``(x * xscale + pe, pe)``, no residual.

    Args:
        d_model: width D (even).
        max_len: positions prepared up front (``extend_pe`` grows the table).
        xscale: input scale.
        adapter_strategy: default :class:`~nemo.core.classes.mixins.adapter_mixin_strategies.ReturnResultAdapterStrategyConfig`.
    """

    def __init__(
        self,
        d_model: int,
        max_len: int = 5000,
        xscale: float = 1.0,
        adapter_strategy: adapter_mixin_strategies.ReturnResultAdapterStrategyConfig | None = None,
    ) -> None:
        super().__init__(
            d_model=d_model, dropout_rate=0.0, max_len=max_len, xscale=xscale, dropout_rate_emb=0.0
        )
        self.setup_adapter_strategy(adapter_strategy)

    def get_default_strategy_config(self) -> adapter_mixin_strategies.ReturnResultAdapterStrategyConfig:
        return adapter_mixin_strategies.ReturnResultAdapterStrategyConfig()


@dataclass
class PositionalEncodingAdapterConfig:
    """Config of :class:`PositionalEncodingAdapter` (NeMo's default strategy here is residual add)."""

    d_model: int
    max_len: int = 5000
    xscale: float = 1.0
    adapter_strategy: Any | None = field(
        default_factory=lambda: adapter_mixin_strategies.ResidualAddAdapterStrategyConfig()
    )
    _target_: str = _class_path(PositionalEncodingAdapter)


class RelPositionalEncodingAdapter(mha.RelPositionalEncoding, adapter_modules.AdapterModuleUtil):
    """Relative sinusoidal positions as an adapter: returns ``(x * xscale, pos_emb)``; nothing is added to x.

    Arguments as :class:`PositionalEncodingAdapter`.
    """

    def __init__(
        self,
        d_model: int,
        max_len: int = 5000,
        xscale: float = 1.0,
        adapter_strategy: adapter_mixin_strategies.ReturnResultAdapterStrategyConfig | None = None,
    ) -> None:
        super().__init__(
            d_model=d_model, dropout_rate=0.0, max_len=max_len, xscale=xscale, dropout_rate_emb=0.0
        )
        self.setup_adapter_strategy(adapter_strategy)

    def get_default_strategy_config(self) -> adapter_mixin_strategies.ReturnResultAdapterStrategyConfig:
        return adapter_mixin_strategies.ReturnResultAdapterStrategyConfig()


@dataclass
class RelPositionalEncodingAdapterConfig:
    """Config of :class:`RelPositionalEncodingAdapter` (NeMo's default strategy here is residual add)."""

    d_model: int
    max_len: int = 5000
    xscale: float = 1.0
    adapter_strategy: Any | None = field(
        default_factory=lambda: adapter_mixin_strategies.ResidualAddAdapterStrategyConfig()
    )
    _target_: str = _class_path(RelPositionalEncodingAdapter)

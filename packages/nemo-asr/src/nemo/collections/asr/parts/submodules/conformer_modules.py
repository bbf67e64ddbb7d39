"""The Conformer block and its feed-forward and convolution modules (NeMo 1.23 names and state-dict keys).

A ``ConformerLayer`` is the macaron block of https://arxiv.org/abs/2005.08100:
half-step feed-forward, self-attention, convolution module, half-step feed-forward, LayerNorm; each
sub-block is pre-normed and residual.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from nemo.collections.asr.parts.submodules.batchnorm import FusedBatchNorm1d
from nemo.collections.asr.parts.submodules.causal_convs import CausalConv1D
from nemo.collections.asr.parts.submodules.multi_head_attention import (
    AttentionMask,
    MultiHeadAttention,
    RelPositionMultiHeadAttention,
    RelPositionMultiHeadAttentionLongformer,
)
from nemo.collections.asr.parts.submodules.rand_dropout import RandDropout
from nemo.collections.common.parts.adapter_modules import LinearAdapter
from nemo.core.classes.mixins.access_mixins import AccessMixin
from nemo.core.classes.mixins.adapter_mixins import AdapterModuleMixin
from torch import nn

__all__ = ["ConformerConvolution", "ConformerFeedForward", "ConformerLayer"]

_SELF_ATTENTION_MODELS = ("rel_pos", "rel_pos_local_attn", "abs_pos")


class ConformerFeedForward(nn.Module):
    """Position-wise feed-forward: ``linear2(dropout(activation(linear1(x))))``.

    Args:
        d_model: input and output width D.
        d_ff: hidden width.
        dropout: dropout after the activation.
        activation: activation module (Swish / SiLU in the Conformer).
    """

    def __init__(self, d_model: int, d_ff: int, dropout: float, activation: nn.Module | None = None) -> None:
        super().__init__()
        self.d_model = d_model
        self.d_ff = d_ff
        self.linear1 = nn.Linear(d_model, d_ff)
        self.activation = activation if activation is not None else nn.SiLU()
        self.dropout = RandDropout(p=dropout)
        self.linear2 = nn.Linear(d_ff, d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Args: x: (B, T, D). Returns: (B, T, D)."""
        return self.linear2(self.dropout(self.activation(self.linear1(x))))


def _conv_norm(norm_type: str, channels: int) -> nn.Module:
    """The normalization after the depthwise convolution, for ``conv_norm_type``."""
    if norm_type == "batch_norm":
        return nn.BatchNorm1d(channels)
    if norm_type == "instance_norm":
        return nn.InstanceNorm1d(channels)
    if norm_type == "layer_norm":
        return nn.LayerNorm(channels)
    if norm_type == "fused_batch_norm":
        return FusedBatchNorm1d(channels)
    if norm_type.startswith("group_norm") and norm_type[len("group_norm") :].isdigit():
        return nn.GroupNorm(num_groups=int(norm_type[len("group_norm") :]), num_channels=channels)
    raise ValueError(
        f"conv_norm_type={norm_type!r} is not supported: expected 'batch_norm', 'instance_norm', "
        "'layer_norm', 'fused_batch_norm' or 'group_normN' (N groups, e.g. 'group_norm8'). Fix "
        "encoder.conv_norm_type in the config."
    )


class ConformerConvolution(nn.Module):
    """Conformer convolution module.

    ``pointwise_conv1`` (D -> 2D, GLU), padding zeroed, depthwise ``CausalConv1D`` (kernel K),
    normalization (``batch_norm`` keeps NeMo's attribute name for every norm type), Swish,
    ``pointwise_conv2`` (D -> D).

    Args:
        d_model: width D.
        kernel_size: depthwise kernel K (odd).
        norm_type: ``"batch_norm"``, ``"instance_norm"``, ``"layer_norm"``, ``"fused_batch_norm"`` (a
            per-channel affine map, ``FusedBatchNorm1d``) or ``"group_normN"``.
        conv_context_size: ``[left, right]`` frames of context with ``left + right == K - 1``; None for
            the symmetric ``[(K - 1) // 2, (K - 1) // 2]``.
    """

    def __init__(
        self,
        d_model: int,
        kernel_size: int,
        norm_type: str = "batch_norm",
        conv_context_size: list[int] | None = None,
    ) -> None:
        super().__init__()
        if (kernel_size - 1) % 2 != 0:
            raise ValueError(
                f"conv_kernel_size={kernel_size} must be odd. Fix encoder.conv_kernel_size in the config."
            )
        if conv_context_size is None:
            conv_context_size = [(kernel_size - 1) // 2, (kernel_size - 1) // 2]
        self.d_model = d_model
        self.kernel_size = kernel_size
        self.norm_type = norm_type
        self.pointwise_conv1 = nn.Conv1d(d_model, d_model * 2, kernel_size=1)
        self.depthwise_conv = CausalConv1D(
            d_model, d_model, kernel_size=kernel_size, padding=list(conv_context_size), groups=d_model
        )
        self.batch_norm = _conv_norm(norm_type, d_model)
        self.pointwise_conv2 = nn.Conv1d(d_model, d_model, kernel_size=1)

    def forward(self, x: torch.Tensor, pad_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Apply the module.

        The 1x1 convolutions run as ``F.linear`` on the time-major layout (same weights, no transposes).

        Args:
            x: (B, T, D).
            pad_mask: (B, T) bool, true on padding frames, which are zeroed before the depthwise conv.

        Returns:
            (B, T, D).
        """
        x = F.linear(x, self.pointwise_conv1.weight.squeeze(-1), self.pointwise_conv1.bias)
        x = F.glu(x, dim=-1)
        if pad_mask is not None:
            x = x.masked_fill(pad_mask.unsqueeze(-1), 0.0)
        x = self.depthwise_conv(x.transpose(1, 2))  # (B, D, T)
        if self.norm_type == "layer_norm":
            x = F.silu(self.batch_norm(x.transpose(1, 2)))
        else:
            x = F.silu(self.batch_norm(x)).transpose(1, 2)
        return F.linear(x, self.pointwise_conv2.weight.squeeze(-1), self.pointwise_conv2.bias)


class ConformerLayer(nn.Module, AdapterModuleMixin, AccessMixin):
    """One Conformer block.

    Adapters (``add_adapter``) run at two places: attention adapters after the self-attention residual
    (``loc="mha"``), ``LinearAdapter`` after the final LayerNorm (``loc="post"``). With access enabled
    and ``save_encoder_tensors`` in the access config, the output is recorded as ``encoder``.

    Args:
        d_model: width D.
        d_ff: feed-forward hidden width.
        self_attention_model: ``"rel_pos"``, ``"rel_pos_local_attn"`` (sliding window of
            ``att_context_size``, see ``RelPositionMultiHeadAttentionLongformer``) or ``"abs_pos"``.
        global_tokens: global tokens of ``rel_pos_local_attn`` (0: none).
        global_tokens_spacing: frames between global tokens.
        global_attn_separate: separate projections for the global tokens.
        n_heads: attention heads.
        conv_kernel_size: depthwise convolution kernel.
        conv_norm_type: normalization in the convolution module.
        conv_context_size: ``[left, right]`` context of the depthwise convolution, or None.
        dropout: dropout after each sub-block (and inside the feed-forwards).
        dropout_att: dropout on the attention probabilities.
        pos_bias_u: (H, D / H) shared bias u for ``rel_pos`` (None: one per layer).
        pos_bias_v: (H, D / H) shared bias v for ``rel_pos`` (None: one per layer).
        att_context_size: ``[left, right]`` window of ``rel_pos_local_attn`` (unused by the others, whose
            context limits come as ``att_mask``).
    """

    def __init__(
        self,
        d_model: int,
        d_ff: int,
        self_attention_model: str = "rel_pos",
        global_tokens: int = 0,
        global_tokens_spacing: int = 1,
        global_attn_separate: bool = False,
        n_heads: int = 4,
        conv_kernel_size: int = 31,
        conv_norm_type: str = "batch_norm",
        conv_context_size: list[int] | None = None,
        dropout: float = 0.1,
        dropout_att: float = 0.1,
        pos_bias_u: nn.Parameter | None = None,
        pos_bias_v: nn.Parameter | None = None,
        att_context_size: list[int] | None = None,
    ) -> None:
        super().__init__()
        if self_attention_model not in _SELF_ATTENTION_MODELS:
            raise ValueError(
                f"self_attention_model={self_attention_model!r} is not supported: expected one of "
                f"{_SELF_ATTENTION_MODELS}. Fix encoder.self_attention_model in the config."
            )
        self.self_attention_model = self_attention_model
        self.n_heads = n_heads
        self.fc_factor = 0.5

        self.norm_feed_forward1 = nn.LayerNorm(d_model)
        self.feed_forward1 = ConformerFeedForward(d_model=d_model, d_ff=d_ff, dropout=dropout)

        self.norm_conv = nn.LayerNorm(d_model)
        self.conv = ConformerConvolution(
            d_model=d_model,
            kernel_size=conv_kernel_size,
            norm_type=conv_norm_type,
            conv_context_size=conv_context_size,
        )

        self.norm_self_att = nn.LayerNorm(d_model)
        self.self_attn: MultiHeadAttention
        if self_attention_model == "rel_pos":
            self.self_attn = RelPositionMultiHeadAttention(
                n_head=n_heads,
                n_feat=d_model,
                dropout_rate=dropout_att,
                pos_bias_u=pos_bias_u,
                pos_bias_v=pos_bias_v,
            )
        elif self_attention_model == "rel_pos_local_attn":
            self.self_attn = RelPositionMultiHeadAttentionLongformer(
                n_head=n_heads,
                n_feat=d_model,
                dropout_rate=dropout_att,
                pos_bias_u=pos_bias_u,
                pos_bias_v=pos_bias_v,
                att_context_size=att_context_size,
                global_tokens=global_tokens,
                global_tokens_spacing=global_tokens_spacing,
                global_attn_separate=global_attn_separate,
            )
        else:
            self.self_attn = MultiHeadAttention(n_head=n_heads, n_feat=d_model, dropout_rate=dropout_att)

        self.norm_feed_forward2 = nn.LayerNorm(d_model)
        self.feed_forward2 = ConformerFeedForward(d_model=d_model, d_ff=d_ff, dropout=dropout)

        self.dropout = RandDropout(dropout)
        self.norm_out = nn.LayerNorm(d_model)

    def forward(
        self,
        x: torch.Tensor,
        att_mask: torch.Tensor | AttentionMask | None = None,
        pos_emb: torch.Tensor | None = None,
        pad_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Apply the block.

        Args:
            x: (B, T, D).
            att_mask: (B, T, T) bool, true where attention is NOT allowed, or an ``AttentionMask``
                prepared once for all layers, or None.
            pos_emb: (1, 2T - 1, D) relative (``rel_pos``) or (1, L + R + 1, D) window
                (``rel_pos_local_attn``) position embeddings; unused by ``abs_pos``.
            pad_mask: (B, T) bool, true on padding frames (the only mask ``rel_pos_local_attn`` uses).

        Returns:
            (B, T, D).
        """
        residual = x
        x = self.feed_forward1(self.norm_feed_forward1(residual))
        residual = torch.add(residual, self.dropout(x), alpha=self.fc_factor)

        x = self.norm_self_att(residual)
        if self.self_attention_model == "rel_pos_local_attn":
            x = self.self_attn(query=x, key=x, value=x, pad_mask=pad_mask, pos_emb=pos_emb)
        else:
            x = self.self_attn(query=x, key=x, value=x, mask=att_mask, pos_emb=pos_emb)
        residual = residual + self.dropout(x)
        if self.is_adapter_available():
            packed = {"x": residual, "loc": "mha", "att_mask": att_mask, "pos_emb": pos_emb}
            residual = self.forward_enabled_adapters(packed)["x"]

        x = self.conv(self.norm_conv(residual), pad_mask=pad_mask)
        residual = residual + self.dropout(x)

        x = self.feed_forward2(self.norm_feed_forward2(residual))
        residual = torch.add(residual, self.dropout(x), alpha=self.fc_factor)

        x = self.norm_out(residual)
        if self.is_adapter_available():
            x = self.forward_enabled_adapters({"x": x, "loc": "post"})["x"]
        if self.is_access_enabled() and self.access_cfg.get("save_encoder_tensors", False):
            self.register_accessible_tensor(name="encoder", tensor=x)
        return x

    def forward_single_enabled_adapter_(
        self, input: dict[str, Any], adapter_module: nn.Module, *, adapter_name: str, adapter_strategy: Any
    ) -> dict[str, Any]:
        """Run one adapter where it belongs: attention adapters at ``loc="mha"``, ``LinearAdapter`` at ``"post"``.

        Args:
            input: ``{"x": (B, T, D), "loc": "mha" or "post", "att_mask": ..., "pos_emb": ...}``.
            adapter_module: the adapter.
            adapter_name: its name.
            adapter_strategy: how its output joins ``x``.

        Returns:
            ``input`` with ``"x"`` replaced by the result (unchanged when the adapter does not run here).
        """
        x, loc = input["x"], input["loc"]
        if loc == "post" and isinstance(adapter_module, LinearAdapter):
            input["x"] = adapter_strategy(x, adapter_module, module=self)
        elif loc == "mha" and isinstance(adapter_module, MultiHeadAttention):
            if self.self_attention_model == "rel_pos_local_attn":
                raise ValueError(
                    f"adapter {adapter_name!r} is an attention adapter, which needs a full attention mask; "
                    "layers with self_attention_model 'rel_pos_local_attn' have none. Use a LinearAdapter or "
                    "switch the encoder to 'rel_pos' (change_attention_model)."
                )
            arguments = {"query": x, "key": x, "value": x, "mask": input.get("att_mask")}
            if self.self_attention_model == "rel_pos":
                arguments["pos_emb"] = input.get("pos_emb")
            input["x"] = adapter_strategy(arguments, adapter_module, module=self)
        return input

"""``TransformerEncoder``: a stack of self-attention / feed-forward blocks (NeMo 1.23 layout).

The AED model may put one between the speech encoder and the decoder (``transf_encoder`` with
``num_layers > 0``). State-dict keys: ``layers.<i>.{layer_norm_1,first_sub_layer,layer_norm_2,
second_sub_layer}`` and ``final_layer_norm`` (pre-LN stacks only).
"""

from __future__ import annotations

import copy

import torch
from nemo.collections.asr.modules.transformer.transformer_modules import (
    MultiHeadAttention,
    PositionWiseFF,
    form_attention_mask,
)

__all__ = ["TransformerEncoder", "TransformerEncoderBlock"]


class TransformerEncoderBlock(torch.nn.Module):
    """Self-attention then feed-forward, each with a residual; pre- or post-LayerNorm (``pre_ln``)."""

    def __init__(
        self,
        hidden_size: int,
        inner_size: int,
        num_attention_heads: int = 1,
        attn_score_dropout: float = 0.0,
        attn_layer_dropout: float = 0.0,
        ffn_dropout: float = 0.0,
        hidden_act: str = "relu",
        pre_ln: bool = False,
    ) -> None:
        super().__init__()
        self.pre_ln = pre_ln
        self.layer_norm_1 = torch.nn.LayerNorm(hidden_size, eps=1e-5)
        self.first_sub_layer = MultiHeadAttention(
            hidden_size, num_attention_heads, attn_score_dropout, attn_layer_dropout
        )
        self.layer_norm_2 = torch.nn.LayerNorm(hidden_size, eps=1e-5)
        self.second_sub_layer = PositionWiseFF(hidden_size, inner_size, ffn_dropout, hidden_act)

    def forward(
        self, encoder_query: torch.Tensor, encoder_mask: torch.Tensor | None, encoder_keys: torch.Tensor
    ) -> torch.Tensor:
        """(B, Lq, H) queries attending to (B, Lk, H) keys under the additive mask -> (B, Lq, H)."""
        if self.pre_ln:
            keys = self.layer_norm_1(encoder_keys)
            states = encoder_query + self.first_sub_layer(
                self.layer_norm_1(encoder_query), keys, keys, encoder_mask
            )
            return states + self.second_sub_layer(self.layer_norm_2(states))
        states = self.layer_norm_1(
            encoder_query + self.first_sub_layer(encoder_query, encoder_keys, encoder_keys, encoder_mask)
        )
        return self.layer_norm_2(states + self.second_sub_layer(states))


class TransformerEncoder(torch.nn.Module):
    """``num_layers`` :class:`TransformerEncoderBlock` s (+ a final LayerNorm for pre-LN stacks).

    Args:
        num_layers, hidden_size, inner_size, num_attention_heads: the stack's shape.
        mask_future: causal self-attention.
        attn_score_dropout, attn_layer_dropout, ffn_dropout: dropouts of every block.
        hidden_act: feed-forward activation (``relu`` or ``gelu``).
        pre_ln: pre-LayerNorm blocks.
        pre_ln_final_layer_norm: with ``pre_ln``, normalise the stack's output.
    """

    def __init__(
        self,
        num_layers: int,
        hidden_size: int,
        inner_size: int,
        mask_future: bool = False,
        num_attention_heads: int = 1,
        attn_score_dropout: float = 0.0,
        attn_layer_dropout: float = 0.0,
        ffn_dropout: float = 0.0,
        hidden_act: str = "relu",
        pre_ln: bool = False,
        pre_ln_final_layer_norm: bool = True,
    ) -> None:
        super().__init__()
        self.final_layer_norm = (
            torch.nn.LayerNorm(hidden_size, eps=1e-5) if pre_ln and pre_ln_final_layer_norm else None
        )
        block = TransformerEncoderBlock(
            hidden_size,
            inner_size,
            num_attention_heads,
            attn_score_dropout,
            attn_layer_dropout,
            ffn_dropout,
            hidden_act,
            pre_ln,
        )
        self.layers = torch.nn.ModuleList(copy.deepcopy(block) for _ in range(num_layers))
        self.diag = 0 if mask_future else None

    def forward(
        self,
        encoder_states: torch.Tensor,
        encoder_mask: torch.Tensor,
        encoder_mems_list: list[torch.Tensor] | None = None,
        return_mems: bool = False,
    ) -> torch.Tensor | list[torch.Tensor]:
        """Encode (B, L, H) states with (B, L) validity mask.

        Args:
            encoder_states: (B, L, H).
            encoder_mask: (B, L) 1 for valid positions.
            encoder_mems_list: cached inputs of each layer for earlier positions (B, Lc, H), or None.
            return_mems: return every layer's (memory-extended) input and the output, as a list.

        Returns:
            (B, Lc + L, H), or the list of memories.
        """
        if encoder_mems_list is not None:
            raise NotImplementedError(
                "TransformerEncoder: encoder_mems_list (cached encoding) is not supported; pass None."
            )
        mask = form_attention_mask(encoder_mask, self.diag)
        memories = [encoder_states]
        for layer in self.layers:
            encoder_states = layer(encoder_states, mask, encoder_states)
            memories.append(encoder_states)
        if self.final_layer_norm is not None:
            encoder_states = self.final_layer_norm(encoder_states)
            memories.append(encoder_states)
        return memories if return_mems else memories[-1]

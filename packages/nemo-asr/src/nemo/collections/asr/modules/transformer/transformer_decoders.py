"""``TransformerDecoder``: a stack of self-attention / cross-attention / feed-forward blocks (NeMo 1.23 layout).

State-dict keys: ``layers.<i>.{layer_norm_1,first_sub_layer,layer_norm_2,second_sub_layer,layer_norm_3,
third_sub_layer}`` and ``final_layer_norm`` (pre-LN stacks only).

For step-by-step generation the decoder takes and returns a *memory list*: entry ``i`` holds the inputs of
layer ``i`` for every position decoded so far (the last entry the stack's output). Given the memories, only the
new positions are computed; their self-attention sees the cached positions plus the new ones up to themselves.
"""

from __future__ import annotations

import copy

import torch
from nemo.collections.asr.modules.transformer.transformer_modules import (
    MultiHeadAttention,
    PositionWiseFF,
    form_attention_mask,
)

__all__ = ["TransformerDecoder", "TransformerDecoderBlock"]


class TransformerDecoderBlock(torch.nn.Module):
    """Self-attention, cross-attention to the encoder, feed-forward; each with a residual and a LayerNorm.

    ``pre_ln=True`` normalises each sub-layer's input (and the self-attention keys); otherwise each residual sum
    is normalised (the original post-LN transformer).
    """

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
        self.second_sub_layer = MultiHeadAttention(
            hidden_size, num_attention_heads, attn_score_dropout, attn_layer_dropout
        )
        self.layer_norm_3 = torch.nn.LayerNorm(hidden_size, eps=1e-5)
        self.third_sub_layer = PositionWiseFF(hidden_size, inner_size, ffn_dropout, hidden_act)

    def forward(
        self,
        decoder_query: torch.Tensor,
        decoder_mask: torch.Tensor | None,
        decoder_keys: torch.Tensor,
        encoder_states: torch.Tensor,
        encoder_mask: torch.Tensor | None,
    ) -> torch.Tensor:
        """One block.

        Args:
            decoder_query: (B, Lq, H) positions to compute.
            decoder_mask: additive self-attention mask (B, 1, Lq|1, Lk).
            decoder_keys: (B, Lk, H) block inputs of every visible position (cached ones, then the queries).
            encoder_states: (B, Le, H) encoder output.
            encoder_mask: additive cross-attention mask (B, 1, 1, Le).

        Returns:
            (B, Lq, H).
        """
        if self.pre_ln:
            keys = self.layer_norm_1(decoder_keys)
            states = decoder_query + self.first_sub_layer(
                self.layer_norm_1(decoder_query), keys, keys, decoder_mask
            )
            normed = self.layer_norm_2(states)
            states = states + self.second_sub_layer(normed, encoder_states, encoder_states, encoder_mask)
            return states + self.third_sub_layer(self.layer_norm_3(states))
        states = self.layer_norm_1(
            decoder_query + self.first_sub_layer(decoder_query, decoder_keys, decoder_keys, decoder_mask)
        )
        states = self.layer_norm_2(
            states + self.second_sub_layer(states, encoder_states, encoder_states, encoder_mask)
        )
        return self.layer_norm_3(states + self.third_sub_layer(states))


def _step_mask(decoder_mask: torch.Tensor, cached: int, diagonal: int | None) -> torch.Tensor:
    """Additive self-attention mask of ``Lq`` new positions over ``cached + Lq`` keys.

    Cached keys are always visible; the new keys follow ``form_attention_mask(decoder_mask, diagonal)``.
    """
    new = form_attention_mask(decoder_mask, diagonal)
    if cached == 0:
        return new
    batch, _, rows, _ = new.shape
    return torch.cat([new.new_zeros(batch, 1, rows, cached), new], dim=-1)


class TransformerDecoder(torch.nn.Module):
    """``num_layers`` :class:`TransformerDecoderBlock` s, then a final LayerNorm when ``pre_ln`` and
    ``pre_ln_final_layer_norm``.

    Args:
        num_layers, hidden_size, inner_size, num_attention_heads: the stack's shape.
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
        block = TransformerDecoderBlock(
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
        # Causal masking of the self-attention: a query at i sees keys j <= i + diagonal (None: no masking).
        self.diagonal = 0

    def forward(
        self,
        decoder_states: torch.Tensor,
        decoder_mask: torch.Tensor,
        encoder_states: torch.Tensor,
        encoder_mask: torch.Tensor,
        decoder_mems_list: list[torch.Tensor] | None = None,
        return_mems: bool = False,
        return_mems_as_list: bool = True,
    ) -> torch.Tensor | list[torch.Tensor]:
        """Run the stack over new positions.

        Args:
            decoder_states: (B, Lq, H) embedded new positions.
            decoder_mask: (B, Lq) 1 for real tokens, 0 for padding.
            encoder_states: (B, Le, H) encoder output.
            encoder_mask: (B, Le) 1 for valid encoder frames.
            decoder_mems_list: memories of earlier positions (see the module docstring): ``num_layers + 1``
                (+1 with a final LayerNorm) tensors of shape (B, Lc, H); None when there are none.
            return_mems: return the updated memory list instead of the output.
            return_mems_as_list: with ``return_mems``, a list (True) or one stacked (N, B, Lc + Lq, H) tensor.

        Returns:
            (B, Lc + Lq, H): the output of every position (cached ones included), or the memory list.
        """
        cached = 0 if decoder_mems_list is None else decoder_mems_list[0].shape[1]
        self_mask = _step_mask(decoder_mask, cached, self.diagonal)
        cross_mask = form_attention_mask(encoder_mask)

        def with_memory(index: int, states: torch.Tensor) -> torch.Tensor:
            if decoder_mems_list is None:
                return states
            return torch.cat([decoder_mems_list[index], states], dim=1)

        memories = [with_memory(0, decoder_states)]
        for index, layer in enumerate(self.layers):
            decoder_states = layer(decoder_states, self_mask, memories[-1], encoder_states, cross_mask)
            memories.append(with_memory(index + 1, decoder_states))
        if self.final_layer_norm is not None:
            decoder_states = self.final_layer_norm(decoder_states)
            memories.append(with_memory(len(memories), decoder_states))
        if not return_mems:
            return memories[-1]
        return memories if return_mems_as_list else torch.stack(memories)

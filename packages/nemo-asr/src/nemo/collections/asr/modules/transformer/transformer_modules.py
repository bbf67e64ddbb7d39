"""Building blocks of the transformer stacks: embeddings, multi-head attention, feed-forward, attention masks.

Parameter names follow NeMo 1.23 (``token_embedding``, ``position_embedding.pos_enc``, ``query_net``,
``key_net``, ``value_net``, ``out_projection``, ``dense_in``, ``dense_out``...), so NeMo checkpoints load.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from nemo.utils import logging

__all__ = [
    "NEG_INF",
    "FixedPositionalEncoding",
    "MultiHeadAttention",
    "PositionWiseFF",
    "TransformerEmbedding",
    "form_attention_mask",
]

# Additive score of a masked attention position (NeMo uses a large finite value, not -inf, so a fully
# masked row gives a uniform distribution instead of NaNs).
NEG_INF = -10000.0


def form_attention_mask(input_mask: torch.Tensor | None, diagonal: int | None = None) -> torch.Tensor | None:
    """Additive attention mask from a key padding mask, optionally also hiding future positions.

    Args:
        input_mask: (B, L) 1 for real tokens, 0 for padding (as keys).
        diagonal: None: no causal masking; ``d``: a query at position ``i`` sees keys ``j <= i + d``.

    Returns:
        (B, 1, L or 1, L): 0 where attention is allowed, :data:`NEG_INF` elsewhere; None for no mask.
    """
    if input_mask is None:
        return None
    allowed = input_mask.bool()[:, None, None, :]
    if diagonal is not None:
        length = input_mask.shape[1]
        causal = torch.ones(length, length, dtype=torch.bool, device=input_mask.device).tril(diagonal)
        allowed = allowed & causal
    return (~allowed).float() * NEG_INF


class FixedPositionalEncoding(torch.nn.Module):
    """Sinusoidal position encodings (Vaswani et al. 2017), scaled by ``1/sqrt(hidden_size)``.

    The table is a buffer named ``pos_enc`` (saved in checkpoints, as in NeMo). Positions past
    ``max_sequence_length`` are computed on the fly for that call.
    """

    def __init__(self, hidden_size: int, max_sequence_length: int = 512) -> None:
        super().__init__()
        self._hidden_size = hidden_size
        self._max_sequence_length = max_sequence_length
        self.register_buffer("pos_enc", self._table(max_sequence_length))

    def _table(self, length: int, device: torch.device | None = None) -> torch.Tensor:
        """(length, hidden_size) encodings: sin on even channels, cos on odd ones."""
        positions = torch.arange(length, dtype=torch.float32, device=device)[:, None]
        frequencies = torch.exp(
            torch.arange(0, self._hidden_size, 2, dtype=torch.float32, device=device)
            * (-math.log(10000.0) / self._hidden_size)
        )
        table = torch.zeros(length, self._hidden_size, device=device)
        table[:, 0::2] = torch.sin(positions * frequencies)
        table[:, 1::2] = torch.cos(positions * frequencies)
        return table / math.sqrt(self._hidden_size)

    def forward(self, position_ids: torch.Tensor) -> torch.Tensor:
        """(B, L) position ids -> (B, L, hidden_size) encodings."""
        longest = int(position_ids.max()) + 1 if position_ids.numel() else 0
        table = self.pos_enc
        if longest > self._max_sequence_length:
            logging.warning(
                f"Position {longest - 1} is past max_sequence_length={self._max_sequence_length}; extending the "
                "sinusoidal table for this call. Results past the trained length may be poor."
            )
            table = self._table(longest, device=position_ids.device).to(self.pos_enc.dtype)
        return F.embedding(position_ids, table)


class TransformerEmbedding(torch.nn.Module):
    """Token embedding + position encoding (+ token type embedding), then LayerNorm and dropout.

    Args:
        vocab_size: number of token ids (id 0 is the embedding's padding index, as in NeMo).
        hidden_size: model width.
        max_sequence_length: positions of the encoding table.
        num_token_types: token type embeddings (0: none).
        embedding_dropout: dropout on the result.
        learn_positional_encodings: a learned ``nn.Embedding`` instead of sinusoids.
    """

    def __init__(
        self,
        vocab_size: int,
        hidden_size: int,
        max_sequence_length: int = 512,
        num_token_types: int = 2,
        embedding_dropout: float = 0.0,
        learn_positional_encodings: bool = False,
    ) -> None:
        super().__init__()
        self.max_sequence_length = max_sequence_length
        self.learn_positional_encodings = learn_positional_encodings
        self.token_embedding = torch.nn.Embedding(vocab_size, hidden_size, padding_idx=0)
        if learn_positional_encodings:
            self.position_embedding = torch.nn.Embedding(max_sequence_length, hidden_size)
        else:
            self.position_embedding = FixedPositionalEncoding(hidden_size, max_sequence_length)
        if num_token_types > 0:
            self.token_type_embedding = torch.nn.Embedding(num_token_types, hidden_size)
        self.layer_norm = torch.nn.LayerNorm(hidden_size, eps=1e-5)
        self.dropout = torch.nn.Dropout(embedding_dropout)

    def forward(
        self, input_ids: torch.Tensor, token_type_ids: torch.Tensor | None = None, start_pos: int = 0
    ) -> torch.Tensor:
        """(B, L) ids, positions ``start_pos .. start_pos + L - 1`` -> (B, L, hidden_size)."""
        length = input_ids.shape[1]
        if self.learn_positional_encodings and start_pos + length > self.max_sequence_length:
            raise ValueError(
                f"TransformerEmbedding: positions up to {start_pos + length - 1} exceed the learned table of "
                f"max_sequence_length={self.max_sequence_length}. Shorten the input or raise max_sequence_length."
            )
        positions = torch.arange(start_pos, start_pos + length, device=input_ids.device).expand(
            input_ids.shape[0], -1
        )
        embeddings = self.token_embedding(input_ids) + self.position_embedding(positions)
        if token_type_ids is not None:
            embeddings = embeddings + self.token_type_embedding(token_type_ids)
        return self.dropout(self.layer_norm(embeddings))


class MultiHeadAttention(torch.nn.Module):
    """Scaled dot-product attention over ``num_attention_heads`` heads, with an additive mask.

    Args:
        hidden_size: model width (a multiple of ``num_attention_heads``).
        num_attention_heads: heads.
        attn_score_dropout: dropout on the attention weights (training only).
        attn_layer_dropout: dropout on the output projection.
    """

    def __init__(
        self,
        hidden_size: int,
        num_attention_heads: int,
        attn_score_dropout: float = 0.0,
        attn_layer_dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if hidden_size % num_attention_heads:
            raise ValueError(
                f"MultiHeadAttention: hidden_size {hidden_size} is not a multiple of num_attention_heads "
                f"{num_attention_heads}; change one of them."
            )
        self.hidden_size = hidden_size
        self.num_attention_heads = num_attention_heads
        self.attn_head_size = hidden_size // num_attention_heads
        self.query_net = torch.nn.Linear(hidden_size, hidden_size)
        self.key_net = torch.nn.Linear(hidden_size, hidden_size)
        self.value_net = torch.nn.Linear(hidden_size, hidden_size)
        self.out_projection = torch.nn.Linear(hidden_size, hidden_size)
        self.attn_score_dropout = attn_score_dropout
        self.layer_dropout = torch.nn.Dropout(attn_layer_dropout)

    def _split_heads(self, states: torch.Tensor) -> torch.Tensor:
        """(B, L, H) -> (B, heads, L, H / heads)."""
        batch, length, _ = states.shape
        return states.view(batch, length, self.num_attention_heads, self.attn_head_size).transpose(1, 2)

    def forward(
        self,
        queries: torch.Tensor,
        keys: torch.Tensor,
        values: torch.Tensor,
        attention_mask: torch.Tensor | None,
    ) -> torch.Tensor:
        """Attend (B, Lq, H) queries to (B, Lk, H) keys/values; ``attention_mask`` (B, 1, Lq|1, Lk) is added."""
        context = F.scaled_dot_product_attention(
            self._split_heads(self.query_net(queries)),
            self._split_heads(self.key_net(keys)),
            self._split_heads(self.value_net(values)),
            attn_mask=None if attention_mask is None else attention_mask.to(queries.dtype),
            dropout_p=self.attn_score_dropout if self.training else 0.0,
        )
        batch, _, length, _ = context.shape
        context = context.transpose(1, 2).reshape(batch, length, self.hidden_size)
        return self.layer_dropout(self.out_projection(context))


class PositionWiseFF(torch.nn.Module):
    """``dense_out(act(dense_in(x)))`` then dropout; ``hidden_act`` is ``relu`` or ``gelu``."""

    _ACTIVATIONS = {"relu": F.relu, "gelu": F.gelu}

    def __init__(
        self, hidden_size: int, inner_size: int, ffn_dropout: float = 0.0, hidden_act: str = "relu"
    ) -> None:
        super().__init__()
        if hidden_act not in self._ACTIVATIONS:
            raise ValueError(
                f"PositionWiseFF: hidden_act {hidden_act!r} is not one of {sorted(self._ACTIVATIONS)}."
            )
        self.dense_in = torch.nn.Linear(hidden_size, inner_size)
        self.dense_out = torch.nn.Linear(inner_size, hidden_size)
        self.layer_dropout = torch.nn.Dropout(ffn_dropout)
        self.act_fn = self._ACTIVATIONS[hidden_act]

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        """(..., H) -> (..., H)."""
        return self.layer_dropout(self.dense_out(self.act_fn(self.dense_in(hidden_states))))

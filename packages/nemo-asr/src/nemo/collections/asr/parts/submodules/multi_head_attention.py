"""Self-attention and positional encodings of the Conformer (NeMo 1.23 names and state-dict keys).

* ``MultiHeadAttention``: ``linear_q``, ``linear_k``, ``linear_v``, ``linear_out``.
* ``RelPositionMultiHeadAttention``: adds ``linear_pos`` (no bias) and ``pos_bias_u`` / ``pos_bias_v``
  (Transformer-XL relative positions, https://arxiv.org/abs/1901.02860 section 3.3).
* ``PositionalEncoding`` / ``RelPositionalEncoding``: sinusoidal tables in a non-persistent ``pe`` buffer.

Masking follows NeMo: masked scores are set to -10000 and query rows that see no key (padding) output
zeros before ``linear_out``. The scores are computed by ``F.scaled_dot_product_attention``; for relative
positions the position term ("matrix bd") enters as an additive ``attn_mask``.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from nemo.collections.asr.parts.submodules.rand_dropout import RandDropout, dropout_mask
from torch import nn

__all__ = [
    "AttentionMask",
    "MultiHeadAttention",
    "PositionalEncoding",
    "RelPositionMultiHeadAttention",
    "RelPositionalEncoding",
]

# NeMo fills masked scores with this value rather than -inf, so that fully masked rows stay finite.
MASKED_SCORE = -10000.0


@dataclass(frozen=True)
class AttentionMask:
    """A boolean attention mask converted once for ``scaled_dot_product_attention`` and shared by layers.

    Attributes:
        bias: (B, 1, T1, T2) float, 0 where the query may attend the key and -10000 where it may not.
        empty_rows: (B, T1, 1) bool, true for queries that may attend no key at all (padding frames);
            their attention output is zero, as in NeMo.
    """

    bias: torch.Tensor
    empty_rows: torch.Tensor

    @classmethod
    def from_bool(cls, mask: torch.Tensor, dtype: torch.dtype = torch.float32) -> AttentionMask:
        """Build from NeMo's mask.

        Args:
            mask: (B, T1, T2) bool, true where the query must NOT attend the key.
            dtype: dtype of ``bias``.
        """
        if mask.dtype != torch.bool or mask.dim() != 3:
            raise ValueError(
                f"attention mask must be a (B, T1, T2) bool tensor (true = masked), got dtype={mask.dtype} "
                f"and shape={tuple(mask.shape)}."
            )
        bias = torch.zeros(mask.shape, dtype=dtype, device=mask.device).masked_fill_(mask, MASKED_SCORE)
        return cls(bias=bias.unsqueeze(1), empty_rows=mask.all(dim=-1, keepdim=True))


def _as_attention_mask(mask: torch.Tensor | AttentionMask | None) -> AttentionMask | None:
    if mask is None or isinstance(mask, AttentionMask):
        return mask
    return AttentionMask.from_bool(mask)


def _avoid_float16_autocast(device_type: str) -> contextlib.AbstractContextManager:
    """Under float16 autocast, run attention in bfloat16 (or float32 where bf16 is unsupported), like NeMo.

    Attention scores overflow float16's range; NeMo 1.23 switches the autocast dtype for this block.
    """
    if not torch.is_autocast_enabled(device_type) or torch.get_autocast_dtype(device_type) != torch.float16:
        return contextlib.nullcontext()
    bf16_ok = device_type != "cuda" or torch.cuda.is_bf16_supported()
    return torch.autocast(device_type, dtype=torch.bfloat16 if bf16_ok else torch.float32)


class MultiHeadAttention(nn.Module):
    """Multi-head attention with absolute (or no) positions.

    Args:
        n_head: number of heads H.
        n_feat: model width D; must be divisible by H (head width ``d_k = D / H``).
        dropout_rate: dropout on the attention probabilities (training only).
    """

    def __init__(self, n_head: int, n_feat: int, dropout_rate: float) -> None:
        super().__init__()
        if n_feat % n_head != 0:
            raise ValueError(
                f"attention width d_model={n_feat} is not divisible by n_heads={n_head}. "
                "Fix encoder.d_model or encoder.n_heads in the config."
            )
        self.dropout_rate = dropout_rate
        self.d_k = n_feat // n_head
        self.s_d_k = math.sqrt(self.d_k)
        self.h = n_head
        self.linear_q = nn.Linear(n_feat, n_feat)
        self.linear_k = nn.Linear(n_feat, n_feat)
        self.linear_v = nn.Linear(n_feat, n_feat)
        self.linear_out = nn.Linear(n_feat, n_feat)

    def _split_heads(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, D) -> (B, H, T, d_k)."""
        return x.view(x.size(0), -1, self.h, self.d_k).transpose(1, 2)

    def forward_qkv(
        self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Project and split into heads.

        Args:
            query: (B, T1, D).
            key: (B, T2, D).
            value: (B, T2, D).

        Returns:
            ``(q, k, v)``: (B, H, T1, d_k), (B, H, T2, d_k), (B, H, T2, d_k).
        """
        if query is key and key is value:
            # Self-attention: one GEMM over the stacked projection weights instead of three.
            weight = torch.cat((self.linear_q.weight, self.linear_k.weight, self.linear_v.weight))
            bias = torch.cat((self.linear_q.bias, self.linear_k.bias, self.linear_v.bias))
            q, k, v = F.linear(query, weight, bias).chunk(3, dim=-1)
        else:
            q, k, v = self.linear_q(query), self.linear_k(key), self.linear_v(value)
        return self._split_heads(q), self._split_heads(k), self._split_heads(v)

    def _attend(
        self,
        q: torch.Tensor,
        k: torch.Tensor,
        v: torch.Tensor,
        attn_bias: torch.Tensor | None,
        empty_rows: torch.Tensor | None,
    ) -> torch.Tensor:
        """``softmax(q k^T / sqrt(d_k) + attn_bias) v``, heads merged, empty rows zeroed, ``linear_out``.

        Args:
            q: (B, H, T1, d_k).
            k: (B, H, T2, d_k).
            v: (B, H, T2, d_k).
            attn_bias: (B, 1 or H, T1, T2) additive score term (mask and positions), or None.
            empty_rows: (B, T1, 1) bool, queries whose output is zeroed, or None.

        Returns:
            (B, T1, D).
        """
        if attn_bias is not None:
            attn_bias = attn_bias.to(q.dtype)
        if self.training and self.dropout_rate > 0.0 and q.device.type == "cpu":
            x = self._attend_with_dropout(q, k, v, attn_bias)
        else:
            x = F.scaled_dot_product_attention(
                q, k, v, attn_mask=attn_bias, dropout_p=self.dropout_rate if self.training else 0.0
            )
        x = x.transpose(1, 2).reshape(q.size(0), -1, self.h * self.d_k)
        if empty_rows is not None:
            x = x.masked_fill(empty_rows, 0.0)
        return self.linear_out(x)

    def _attend_with_dropout(
        self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, attn_bias: torch.Tensor | None
    ) -> torch.Tensor:
        """Attention with dropout on the probabilities, written out for the CPU.

        ``scaled_dot_product_attention`` takes its math path here and draws the dropout mask with
        ``bernoulli_``; this computes the same ``dropout(softmax(q k^T / sqrt(d_k) + attn_bias)) v`` with the
        cheaper mask of ``dropout_mask`` and the bias added inside the score GEMM.

        Args:
            q: (B, H, T1, d_k).
            k: (B, H, T2, d_k).
            v: (B, H, T2, d_k).
            attn_bias: (B, 1 or H, T1, T2) additive score term, or None.

        Returns:
            (B, H, T1, d_k).
        """
        b, h, t1, t2 = q.size(0), q.size(1), q.size(2), k.size(2)
        keys_t = k.reshape(b * h, t2, self.d_k).transpose(1, 2)
        queries = q.reshape(b * h, t1, self.d_k)
        if attn_bias is None:
            scores = torch.bmm(queries, keys_t).div_(self.s_d_k)
        else:
            bias = attn_bias.expand(b, h, t1, t2).reshape(b * h, t1, t2)
            scores = torch.baddbmm(bias, queries, keys_t, alpha=1.0 / self.s_d_k)
        probs = torch.softmax(scores, dim=-1)
        probs = probs * dropout_mask(probs, self.dropout_rate)
        return torch.bmm(probs, v.reshape(b * h, t2, self.d_k)).view(b, h, t1, self.d_k)

    def forward(
        self,
        query: torch.Tensor,
        key: torch.Tensor,
        value: torch.Tensor,
        mask: torch.Tensor | AttentionMask | None,
        pos_emb: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Attend.

        Args:
            query: (B, T1, D).
            key: (B, T2, D).
            value: (B, T2, D).
            mask: (B, T1, T2) bool, true where attention is NOT allowed (NeMo's convention), an
                ``AttentionMask`` prepared from one, or None.
            pos_emb: unused; accepted so that both attention classes share a call signature.

        Returns:
            (B, T1, D).
        """
        mask = _as_attention_mask(mask)
        with _avoid_float16_autocast(query.device.type):
            q, k, v = self.forward_qkv(query, key, value)
            if mask is None:
                return self._attend(q, k, v, None, None)
            return self._attend(q, k, v, mask.bias, mask.empty_rows)


class RelPositionMultiHeadAttention(MultiHeadAttention):
    """Multi-head attention with Transformer-XL relative positional scores.

    ``scores = ((q + u) k^T + rel_shift((q + v) p^T)) / sqrt(d_k)`` where ``p = linear_pos(pos_emb)``.

    Args:
        n_head: number of heads H.
        n_feat: model width D.
        dropout_rate: dropout on the attention probabilities (training only).
        pos_bias_u: (H, d_k) bias u shared across layers, or None to create one (zeros) here.
        pos_bias_v: (H, d_k) bias v shared across layers, or None to create one (zeros) here.
    """

    def __init__(
        self,
        n_head: int,
        n_feat: int,
        dropout_rate: float,
        pos_bias_u: nn.Parameter | None,
        pos_bias_v: nn.Parameter | None,
    ) -> None:
        super().__init__(n_head=n_head, n_feat=n_feat, dropout_rate=dropout_rate)
        self.linear_pos = nn.Linear(n_feat, n_feat, bias=False)
        if pos_bias_u is None or pos_bias_v is None:
            self.pos_bias_u = nn.Parameter(torch.zeros(self.h, self.d_k))
            self.pos_bias_v = nn.Parameter(torch.zeros(self.h, self.d_k))
        else:
            self.pos_bias_u = pos_bias_u
            self.pos_bias_v = pos_bias_v

    @staticmethod
    def rel_shift(x: torch.Tensor, n_keys: int | None = None) -> torch.Tensor:
        """Re-index position scores from "relative position" to "key index".

        Args:
            x: (B, H, T1, P) scores against positions ``P_max .. -P_max`` (``P = 2 * P_max + 1``, the
                layout ``RelPositionalEncoding`` returns), contiguous in its last two axes.
            n_keys: keep only the first ``n_keys`` key columns (at most ``P - T1 + 1``); None keeps
                ``P - 1`` columns, as NeMo's ``rel_shift`` returns.

        Returns:
            (B, H, T1, n_keys or P - 1) (or ``x`` itself when T1 == 1 and ``n_keys`` is None) with
            ``out[..., i, j] = x[..., i, T1 - 1 - i + j]``, i.e. the score of query i against key j at
            relative position ``i - j``; only the first ``P - T1 + 1`` columns are meaningful. A single
            strided view, no copy: its backward pass writes the gradient into one zeroed (B, H, T1, P)
            tensor.
        """
        b, h, qlen, pos_len = x.shape
        if qlen == 1 and n_keys is None:
            return x
        width = pos_len - 1 if n_keys is None else n_keys
        step = x.stride(3)
        return x.as_strided(
            (b, h, qlen, width),
            (x.stride(0), x.stride(1), x.stride(2) - step, step),
            x.storage_offset() + (qlen - 1) * step,
        )

    def forward(
        self,
        query: torch.Tensor,
        key: torch.Tensor,
        value: torch.Tensor,
        mask: torch.Tensor | AttentionMask | None,
        pos_emb: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Attend with relative positions.

        Args:
            query: (B, T1, D).
            key: (B, T2, D).
            value: (B, T2, D).
            mask: (B, T1, T2) bool, true where attention is NOT allowed, an ``AttentionMask``, or None.
            pos_emb: (1 or B, 2 * T2 - 1, D) embeddings of relative positions ``T2 - 1 .. -(T2 - 1)``.

        Returns:
            (B, T1, D).
        """
        if pos_emb is None:
            raise ValueError(
                "RelPositionMultiHeadAttention.forward needs pos_emb (the second output of "
                "RelPositionalEncoding); got None."
            )
        mask = _as_attention_mask(mask)
        with _avoid_float16_autocast(query.device.type):
            q, k, v = self.forward_qkv(query, key, value)
            # SDPA scales q k^T by 1 / sqrt(d_k) itself; the position term is scaled through the small
            # (1 or B, P, D) projection rather than the (B, H, T1, T2) scores.
            p = self._split_heads(self.linear_pos(pos_emb) / self.s_d_k)  # (1 or B, H, P, d_k)
            q_with_bias_u = q + self.pos_bias_u.unsqueeze(1)
            q_with_bias_v = q + self.pos_bias_v.unsqueeze(1)
            matrix_bd = self.rel_shift(torch.matmul(q_with_bias_v, p.transpose(-2, -1)), n_keys=k.size(2))
            if mask is None:
                return self._attend(q_with_bias_u, k, v, matrix_bd, None)
            return self._attend(q_with_bias_u, k, v, mask.bias + matrix_bd, mask.empty_rows)


class PositionalEncoding(nn.Module):
    """Absolute sinusoidal positional encoding added to the input.

    Args:
        d_model: embedding width D (even).
        dropout_rate: dropout on the output features.
        max_len: positions prepared up front; ``extend_pe`` grows the table.
        xscale: multiply the input by this before adding positions (``sqrt(d_model)`` when
            ``xscaling``), or None.
        dropout_rate_emb: dropout on the positional embeddings themselves.
    """

    def __init__(
        self,
        d_model: int,
        dropout_rate: float,
        max_len: int = 5000,
        xscale: float | None = None,
        dropout_rate_emb: float = 0.0,
    ) -> None:
        super().__init__()
        if d_model % 2 != 0:
            raise ValueError(
                f"sinusoidal positional encodings need an even d_model, got {d_model}. "
                "Fix encoder.d_model in the config."
            )
        self.d_model = d_model
        self.xscale = xscale
        self.dropout = RandDropout(p=dropout_rate)
        self.max_len = max_len
        self.dropout_emb = RandDropout(dropout_rate_emb) if dropout_rate_emb > 0 else None
        self.pe: torch.Tensor

    def create_pe(self, positions: torch.Tensor, dtype: torch.dtype = torch.float32) -> None:
        """Fill the ``pe`` buffer with the sinusoids of ``positions``.

        Args:
            positions: (N, 1) float32 positions.
            dtype: dtype of the buffer.
        """
        pe = torch.zeros(positions.size(0), self.d_model, device=positions.device)
        div_term = torch.exp(
            torch.arange(0, self.d_model, 2, dtype=torch.float32, device=positions.device)
            * -(math.log(10000.0) / self.d_model)
        )
        pe[:, 0::2] = torch.sin(positions * div_term)
        pe[:, 1::2] = torch.cos(positions * div_term)
        self.register_buffer("pe", pe.unsqueeze(0).to(dtype), persistent=False)

    def extend_pe(self, length: int, device: torch.device, dtype: torch.dtype = torch.float32) -> None:
        """Make sure ``pe`` covers positions ``0 .. length - 1``."""
        if hasattr(self, "pe") and self.pe.size(1) >= length:
            return
        positions = torch.arange(0, length, dtype=torch.float32, device=device).unsqueeze(1)
        self.create_pe(positions=positions, dtype=dtype)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Scale, add positions, apply dropout.

        Args:
            x: (B, T, D).

        Returns:
            ``(x, pos_emb)``: (B, T, D) and the (1, T, D) embeddings that were added.
        """
        if self.xscale:
            x = x * self.xscale
        pos_emb = self.pe[:, : x.size(1)]
        if self.dropout_emb is not None:
            pos_emb = self.dropout_emb(pos_emb)
        return self.dropout(x + pos_emb), pos_emb


class RelPositionalEncoding(PositionalEncoding):
    """Relative sinusoidal positional encoding: returns the embeddings instead of adding them.

    The table covers positions ``L - 1 .. -(L - 1)`` (left context positive, right context negative).
    Arguments are those of ``PositionalEncoding``.
    """

    def extend_pe(self, length: int, device: torch.device, dtype: torch.dtype = torch.float32) -> None:
        """Make sure ``pe`` covers relative positions ``length - 1 .. -(length - 1)``."""
        if hasattr(self, "pe") and self.pe.size(1) >= 2 * length - 1:
            return
        positions = torch.arange(length - 1, -length, -1, dtype=torch.float32, device=device).unsqueeze(1)
        self.create_pe(positions=positions, dtype=dtype)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Scale the input and slice the embeddings of its relative positions.

        Args:
            x: (B, T, D).

        Returns:
            ``(x, pos_emb)``: (B, T, D) scaled input after dropout, and (1, 2T - 1, D) embeddings of
            relative positions ``T - 1 .. -(T - 1)``.
        """
        if self.xscale:
            x = x * self.xscale
        center = self.pe.size(1) // 2 + 1
        pos_emb = self.pe[:, center - x.size(1) : center + x.size(1) - 1]
        if self.dropout_emb is not None:
            pos_emb = self.dropout_emb(pos_emb)
        return self.dropout(x), pos_emb

"""Self-attention and positional encodings of the Conformer (NeMo 1.23 names and state-dict keys).

* ``MultiHeadAttention``: ``linear_q``, ``linear_k``, ``linear_v``, ``linear_out``.
* ``RelPositionMultiHeadAttention``: adds ``linear_pos`` (no bias) and ``pos_bias_u`` / ``pos_bias_v``
  (Transformer-XL relative positions, https://arxiv.org/abs/1901.02860 section 3.3).
* ``RelPositionMultiHeadAttentionLongformer``: the same weights attending a sliding window
  (``rel_pos_local_attn``, https://arxiv.org/abs/2004.05150), optionally with global tokens
  (``global_q``, ``global_k``, ``global_v`` when ``global_attn_separate``).
* ``PositionalEncoding`` / ``RelPositionalEncoding`` / ``LocalAttRelPositionalEncoding``: sinusoidal
  tables in a non-persistent ``pe`` buffer.

Masking follows NeMo: masked scores are set to -10000 and query rows that see no key (padding) output
zeros before ``linear_out``. The scores are computed by ``F.scaled_dot_product_attention``; for relative
positions the position term ("matrix bd") enters as an additive ``attn_mask``.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from nemo.collections.asr.parts.submodules.rand_dropout import RandDropout, dropout_mask
from torch import nn

__all__ = [
    "AttentionMask",
    "LocalAttRelPositionalEncoding",
    "MultiHeadAttention",
    "PositionalEncoding",
    "RelPositionMultiHeadAttention",
    "RelPositionMultiHeadAttentionLongformer",
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
        if torch.jit.is_tracing():
            # Export: ONNX has no as_strided; shift by left-padding one column and re-viewing (Transformer-XL).
            shifted = F.pad(x, (1, 0)).reshape(b, h, pos_len + 1, qlen)[:, :, 1:]
            return shifted.reshape(b, h, qlen, pos_len)[..., :width]
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


def _window_position_index(left: int, right: int, block: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Which relative-position embedding each (query, key) pair of a window block uses, as NeMo 1.23 does.

    A block holds ``block`` queries and the ``block + 2w`` keys around them (``w = max(left, right)``):
    query ``a`` and key ``c`` are ``o = c - w - a`` frames apart (key minus query). NeMo's local attention
    scores the ``2w + 1`` offsets ``o = d - w`` (``d = 0 .. 2w``) and adds embedding ``e`` of the table
    ``left .. -right`` to offset index ``d`` by this rule:

    * ``d < left``: ``e = d``;
    * ``d >= 2w - right``: ``e = d - (2w - right) + left``;
    * otherwise no position term.

    With ``left == right`` this is ``e = d``, the embedding of relative position ``-o`` (Transformer-XL).
    With ``left != right`` NeMo 1.23 pairs some offsets with other positions (or none); it is kept so that
    its checkpoints give the same outputs.

    Args:
        left: left context L (>= 0).
        right: right context R (>= 0).
        block: queries per block.

    Returns:
        ``(index, has_position)``: (block, block + 2w) int64 embedding index (0 where unused) and bool.
    """
    w = max(left, right)
    query = torch.arange(block).unsqueeze(1)
    key = torch.arange(block + 2 * w).unsqueeze(0)
    d = key - query  # offset + w
    index = torch.full_like(d, -1)
    index = torch.where((d >= 0) & (d < left), d, index)
    upper = (d >= 2 * w - right) & (d <= 2 * w)
    index = torch.where(upper, d - (2 * w - right) + left, index)
    return index.clamp(min=0), index >= 0


class RelPositionMultiHeadAttentionLongformer(RelPositionMultiHeadAttention):
    """Relative-position attention restricted to a sliding window, plus optional global tokens.

    Each query ``i`` attends the keys ``j`` with ``-L <= j - i <= R`` (``[L, R] = att_context_size``)
    with the scores of ``RelPositionMultiHeadAttention`` (position embeddings from
    ``LocalAttRelPositionalEncoding``, positions ``L .. -R``). Memory grows linearly with time: queries are
    processed in blocks of ``w = max(L, R)`` frames, each against the ``3w`` keys around it.

    Global tokens (``global_tokens`` > 0): frames ``0, s, 2s, ...`` (``s = global_tokens_spacing``, at most
    ``global_tokens`` of them) are attended by every query and attend every frame themselves, Longformer
    style: ``score = (q / sqrt(d_k)) . k`` without position terms, projections ``global_q/k/v`` when
    ``global_attn_separate`` (else the regular ones). As in NeMo 1.23, the global keys are added to each
    query's softmax next to its window (a global frame inside the window counts twice), regular queries read
    the global frames' regular values, and the global keys are not masked for padding.

    Args:
        n_head: number of heads H.
        n_feat: model width D.
        dropout_rate: dropout on the attention probabilities (training only).
        pos_bias_u: (H, d_k) shared bias u, or None to create one here.
        pos_bias_v: (H, d_k) shared bias v, or None to create one here.
        att_context_size: ``[L, R]``, both >= 0 and not both 0.
        global_tokens: number of global tokens (0: none).
        global_tokens_spacing: frames between global tokens (>= 1).
        global_attn_separate: give the global tokens their own ``global_q``, ``global_k``, ``global_v``.
    """

    def __init__(
        self,
        n_head: int,
        n_feat: int,
        dropout_rate: float,
        pos_bias_u: nn.Parameter | None,
        pos_bias_v: nn.Parameter | None,
        att_context_size: list[int] | tuple[int, int],
        global_tokens: int = 0,
        global_tokens_spacing: int = 1,
        global_attn_separate: bool = False,
    ) -> None:
        super().__init__(
            n_head=n_head,
            n_feat=n_feat,
            dropout_rate=dropout_rate,
            pos_bias_u=pos_bias_u,
            pos_bias_v=pos_bias_v,
        )
        check_local_att_context_size(att_context_size)
        if global_tokens < 0 or global_tokens_spacing < 1:
            raise ValueError(
                f"global_tokens={global_tokens} and global_tokens_spacing={global_tokens_spacing} are invalid: "
                "expected global_tokens >= 0 and global_tokens_spacing >= 1. Fix encoder.global_tokens / "
                "encoder.global_tokens_spacing in the config."
            )
        self.att_context_size = [int(att_context_size[0]), int(att_context_size[1])]
        self.global_tokens = global_tokens
        self.global_tokens_spacing = global_tokens_spacing
        self.global_attn_separate = global_attn_separate
        if global_attn_separate:
            self.global_q = nn.Linear(n_feat, n_feat)
            self.global_k = nn.Linear(n_feat, n_feat)
            self.global_v = nn.Linear(n_feat, n_feat)

    def forward(
        self,
        query: torch.Tensor,
        key: torch.Tensor,
        value: torch.Tensor,
        pad_mask: torch.Tensor | None,
        pos_emb: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Attend within the window (and to and from the global tokens).

        Args:
            query: (B, T, D).
            key: (B, T, D).
            value: (B, T, D).
            pad_mask: (B, T) bool, true on padding frames, or None for none. Padding queries output zeros
                before ``linear_out`` (unless they are global tokens); padding keys get no weight.
            pos_emb: (1 or B, L + R + 1, D) embeddings of relative positions ``L .. -R``.

        Returns:
            (B, T, D).
        """
        if pos_emb is None:
            raise ValueError(
                "RelPositionMultiHeadAttentionLongformer.forward needs pos_emb (the second output of "
                "LocalAttRelPositionalEncoding); got None."
            )
        if query.size(1) != key.size(1):
            raise ValueError(
                f"local attention is self-attention: query has {query.size(1)} frames but key has {key.size(1)}."
            )
        with _avoid_float16_autocast(query.device.type):
            q, k, v = self.forward_qkv(query, key, value)  # (B, H, T, d_k)
            batch, _, frames, _ = q.shape
            valid = (
                ~pad_mask if pad_mask is not None else q.new_ones((batch, frames), dtype=torch.bool)
            )  # (B, T)
            local_scores, blocks = self._window_scores(q, k, valid, pos_emb)
            global_index = self._global_index(frames, q.device)
            if global_index is None:
                probs = torch.softmax(local_scores, dim=-1)
                probs = self._zero_padded_queries(probs, valid, blocks)
                out = self._window_values(self._dropout(probs), v, blocks, frames)
            else:
                gq, gk, gv = self._global_qkv(query, key, value, q, k, v)
                # (B, H, T, G) scores of every query against the global keys.
                to_global = torch.matmul(gq, gk[:, :, global_index].transpose(-2, -1))
                to_global = self._to_blocks(to_global, blocks)
                probs = torch.softmax(torch.cat((to_global, local_scores), dim=-1), dim=-1)
                probs = self._dropout(self._zero_padded_queries(probs, valid, blocks))
                n_global = global_index.numel()
                out = self._window_values(probs[..., n_global:], v, blocks, frames)
                global_probs = probs[..., :n_global].flatten(2, 3)[:, :, :frames]  # (B, H, T, G)
                out = out + torch.matmul(global_probs, v[:, :, global_index])
                out[:, :, global_index] = self._global_rows(gq[:, :, global_index], gk, gv, valid)
            out = out.transpose(1, 2).reshape(batch, frames, self.h * self.d_k)
        return self.linear_out(out)

    def _block_size(self, frames: int) -> int:
        return max(1, min(max(self.att_context_size), frames))

    def _to_blocks(self, x: torch.Tensor, block: int) -> torch.Tensor:
        """(B, H, T, N) -> (B, H, ceil(T / block), block, N), zero-padded at the end of time."""
        frames = x.size(2)
        n_blocks = -(-frames // block)
        x = F.pad(x, (0, 0, 0, n_blocks * block - frames))
        return x.view(x.size(0), x.size(1), n_blocks, block, x.size(-1))

    def _key_windows(self, x: torch.Tensor, block: int, frames: int) -> torch.Tensor:
        """(..., T, N) -> (..., n_blocks, block + 2w, N): the keys around each query block (zeros outside)."""
        w = max(self.att_context_size)
        n_blocks = -(-frames // block)
        x = F.pad(x, (0, 0, w, n_blocks * block - frames + w))
        return x.unfold(-2, block + 2 * w, block).transpose(-2, -1)

    def _window_scores(
        self, q: torch.Tensor, k: torch.Tensor, valid: torch.Tensor, pos_emb: torch.Tensor
    ) -> tuple[torch.Tensor, int]:
        """Scaled, masked window scores.

        Args:
            q: (B, H, T, d_k) queries.
            k: (B, H, T, d_k) keys.
            valid: (B, T) bool, true on real frames.
            pos_emb: (1 or B, L + R + 1, D).

        Returns:
            ``(scores, block)``: (B, H, n_blocks, block, block + 2w) with -10000 outside the window and on
            padding keys, and the block size.
        """
        left, right = self.att_context_size
        w = max(left, right)
        frames = q.size(2)
        block = self._block_size(frames)
        q_u = self._to_blocks(q + self.pos_bias_u.unsqueeze(1), block)
        q_v = q + self.pos_bias_v.unsqueeze(1)
        k_windows = self._key_windows(k, block, frames)  # (B, H, n_blocks, block + 2w, d_k)
        content = torch.matmul(q_u, k_windows.transpose(-2, -1))

        p = self._split_heads(self.linear_pos(pos_emb))  # (1 or B, H, L + R + 1, d_k)
        by_position = self._to_blocks(torch.matmul(q_v, p.transpose(-2, -1)), block)
        index, has_position = _window_position_index(left, right, block)
        index, has_position = index.to(q.device), has_position.to(q.device)
        position = torch.gather(
            by_position, -1, index.expand(*by_position.shape[:3], *index.shape)
        ).masked_fill(~has_position, 0.0)
        scores = (content + position) / self.s_d_k

        offset = (
            torch.arange(block + 2 * w, device=q.device) - w - torch.arange(block, device=q.device)[:, None]
        )
        in_window = (offset >= -left) & (offset <= right)  # (block, block + 2w)
        key_valid = self._key_windows(valid.unsqueeze(-1), block, frames).squeeze(
            -1
        )  # (B, n_blocks, 2w + block)
        allowed = in_window & key_valid.unsqueeze(-2)  # (B, n_blocks, block, block + 2w)
        return scores.masked_fill(~allowed.unsqueeze(1), MASKED_SCORE), block

    def _window_values(self, probs: torch.Tensor, v: torch.Tensor, block: int, frames: int) -> torch.Tensor:
        """(B, H, n_blocks, block, block + 2w) probabilities times the window values -> (B, H, T, d_k)."""
        out = torch.matmul(probs, self._key_windows(v, block, frames))  # (B, H, n_blocks, block, d_k)
        return out.flatten(2, 3)[:, :, :frames]

    def _zero_padded_queries(self, probs: torch.Tensor, valid: torch.Tensor, block: int) -> torch.Tensor:
        valid_blocks = self._to_blocks(valid[:, None, :, None], block)  # (B, 1, n_blocks, block, 1)
        return probs.masked_fill(~valid_blocks, 0.0)

    def _dropout(self, probs: torch.Tensor) -> torch.Tensor:
        if not self.training or self.dropout_rate == 0.0:
            return probs
        return probs * dropout_mask(probs, self.dropout_rate)

    def _global_index(self, frames: int, device: torch.device) -> torch.Tensor | None:
        """Frame indices of the global tokens (those below ``frames``), or None without global tokens."""
        if self.global_tokens == 0:
            return None
        end = min(self.global_tokens * self.global_tokens_spacing, frames)
        return torch.arange(0, end, self.global_tokens_spacing, device=device)

    def _global_qkv(
        self,
        query: torch.Tensor,
        key: torch.Tensor,
        value: torch.Tensor,
        q: torch.Tensor,
        k: torch.Tensor,
        v: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Global projections (B, H, T, d_k) each, the query already divided by sqrt(d_k)."""
        if self.global_attn_separate:
            q = self._split_heads(self.global_q(query))
            k = self._split_heads(self.global_k(key))
            v = self._split_heads(self.global_v(value))
        return q / self.s_d_k, k, v

    def _global_rows(
        self, gq: torch.Tensor, gk: torch.Tensor, gv: torch.Tensor, valid: torch.Tensor
    ) -> torch.Tensor:
        """Outputs of the global tokens, which attend every real frame.

        Args:
            gq: (B, H, G, d_k) scaled global queries.
            gk: (B, H, T, d_k) global keys.
            gv: (B, H, T, d_k) global values.
            valid: (B, T) bool.

        Returns:
            (B, H, G, d_k).
        """
        scores = torch.matmul(gq, gk.transpose(-2, -1))  # (B, H, G, T)
        scores = scores.masked_fill(~valid[:, None, None, :], torch.finfo(scores.dtype).min)
        return torch.matmul(self._dropout(torch.softmax(scores, dim=-1)), gv)


def check_local_att_context_size(att_context_size: Sequence[int] | None) -> None:
    """Raise unless ``att_context_size`` is a valid ``[left, right]`` window for local attention."""
    if (
        att_context_size is None
        or len(att_context_size) != 2
        or min(att_context_size) < 0
        or max(att_context_size) <= 0
    ):
        raise ValueError(
            f"att_context_size={att_context_size!r} does not define a window for self_attention_model "
            "'rel_pos_local_attn': give [left, right] with both >= 0 and at least one > 0 (e.g. [128, 128]). "
            "Fix encoder.att_context_size in the config."
        )


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

    # ``pe`` is a function of its length only: each process of a distributed run grows its own, and DDP leaves
    # it alone (see ModelPT._ddp_params_and_buffers_to_ignore).
    rank_local_buffers = ("pe",)

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


class LocalAttRelPositionalEncoding(PositionalEncoding):
    """Relative sinusoidal positional encoding of a fixed window, for ``rel_pos_local_attn``.

    The table holds the ``L + R + 1`` relative positions ``L .. -R`` of ``att_context_size = [L, R]``
    whatever the input length. Other arguments are those of ``PositionalEncoding``.
    """

    def __init__(
        self,
        att_context_size: Sequence[int],
        d_model: int,
        dropout_rate: float,
        max_len: int = 5000,
        xscale: float | None = None,
        dropout_rate_emb: float = 0.0,
    ) -> None:
        super().__init__(
            d_model=d_model,
            dropout_rate=dropout_rate,
            max_len=max_len,
            xscale=xscale,
            dropout_rate_emb=dropout_rate_emb,
        )
        self.left_context = int(att_context_size[0])
        self.right_context = int(att_context_size[1])

    def extend_pe(self, length: int, device: torch.device, dtype: torch.dtype = torch.float32) -> None:
        """Build the table of positions ``L .. -R`` once (``length`` does not matter)."""
        if hasattr(self, "pe"):
            return
        positions = torch.arange(
            self.left_context, -self.right_context - 1, -1, dtype=torch.float32, device=device
        ).unsqueeze(1)
        self.create_pe(positions=positions, dtype=dtype)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Scale the input and return the window's embeddings.

        Args:
            x: (B, T, D).

        Returns:
            ``(x, pos_emb)``: (B, T, D) scaled input after dropout and (1, L + R + 1, D) embeddings of
            relative positions ``L .. -R``.
        """
        if self.xscale:
            x = x * self.xscale
        pos_emb = self.pe[:, : self.left_context + self.right_context + 1]
        if self.dropout_emb is not None:
            pos_emb = self.dropout_emb(pos_emb)
        return self.dropout(x), pos_emb

"""Relative-position attention: the strided rel_shift, the CPU training path with dropout, the unmasked path."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from nemo.collections.asr.parts.submodules.multi_head_attention import (
    RelPositionalEncoding,
    RelPositionMultiHeadAttention,
)
from nemo.collections.asr.parts.submodules.rand_dropout import dropout_mask


def _nemo_rel_shift(x: torch.Tensor) -> torch.Tensor:
    """NeMo 1.23's rel_shift: left-pad one zero column, fold, drop the first row (copies)."""
    b, h, qlen, pos_len = x.shape
    x = F.pad(x, pad=(1, 0)).view(b, h, -1, qlen)[:, :, 1:].view(b, h, qlen, pos_len)
    return x


def _heads(y: torch.Tensor) -> torch.Tensor:
    """(B, T, 32) -> (B, 4, T, 8)."""
    return y.view(y.size(0), -1, 4, 8).transpose(1, 2)


def _attention(
    seed: int, dropout_rate: float
) -> tuple[RelPositionMultiHeadAttention, torch.Tensor, torch.Tensor]:
    torch.manual_seed(seed)
    attention = RelPositionMultiHeadAttention(4, 32, dropout_rate, None, None)
    with torch.no_grad():
        for param in attention.parameters():
            param.normal_(0.0, 0.3)
    encoding = RelPositionalEncoding(32, dropout_rate=0.0, max_len=40)
    encoding.extend_pe(40, torch.device("cpu"))
    x = torch.randn(2, 13, 32)
    _, pos_emb = encoding(x)
    return attention, x, pos_emb


def test_rel_shift_matches_nemo_values_and_gradients() -> None:
    torch.manual_seed(0)
    t = 9
    scores = torch.randn(2, 3, t, 2 * t - 1, requires_grad=True)
    got = RelPositionMultiHeadAttention.rel_shift(scores, n_keys=t)
    expected = _nemo_rel_shift(scores)[..., :t]
    torch.testing.assert_close(got, expected, atol=0, rtol=0)

    weights = torch.randn(2, 3, t, t)
    (grad_got,) = torch.autograd.grad((got * weights).sum(), scores)
    (grad_expected,) = torch.autograd.grad((expected * weights).sum(), scores)
    torch.testing.assert_close(grad_got, grad_expected, atol=0, rtol=0)
    # Without n_keys it keeps NeMo's P - 1 columns, whose first P - T + 1 are meaningful.
    full = RelPositionMultiHeadAttention.rel_shift(scores)
    assert full.shape == (2, 3, t, 2 * t - 2)
    torch.testing.assert_close(full[..., :t], expected)


def test_training_attention_applies_dropout_to_the_probabilities() -> None:
    attention, x, pos_emb = _attention(seed=1, dropout_rate=0.2)
    attention.train()
    lengths = torch.tensor([13, 9])
    valid = torch.arange(13).unsqueeze(0) < lengths.unsqueeze(1)
    mask = ~(valid.unsqueeze(1) & valid.unsqueeze(2))

    torch.manual_seed(5)
    got = attention(query=x, key=x, value=x, mask=mask, pos_emb=pos_emb)

    # Reference: NeMo's formula written out with the same dropout mask (same seed, same shape).
    q, k, v = (_heads(layer(x)) for layer in (attention.linear_q, attention.linear_k, attention.linear_v))
    p = _heads(attention.linear_pos(pos_emb))
    content = (q + attention.pos_bias_u.unsqueeze(1)) @ k.transpose(-2, -1)
    position = _nemo_rel_shift((q + attention.pos_bias_v.unsqueeze(1)) @ p.transpose(-2, -1))[..., :13]
    scores = ((content + position) / math.sqrt(8)).masked_fill(mask.unsqueeze(1), -10000.0)
    probs = torch.softmax(scores, dim=-1)
    torch.manual_seed(5)
    probs = probs * dropout_mask(probs, 0.2)
    out = (probs @ v).transpose(1, 2).reshape(2, 13, 32).masked_fill(~valid.unsqueeze(-1), 0.0)
    torch.testing.assert_close(got, attention.linear_out(out), atol=1e-5, rtol=1e-5)

    got.square().sum().backward()
    assert all(
        param.grad is not None and torch.isfinite(param.grad).all() for param in attention.parameters()
    )


def test_no_mask_gives_the_same_output_as_a_mask_that_masks_nothing() -> None:
    attention, x, pos_emb = _attention(seed=2, dropout_rate=0.1)
    attention.eval()
    with torch.no_grad():
        unmasked = attention(query=x, key=x, value=x, mask=None, pos_emb=pos_emb)
        masked = attention(
            query=x, key=x, value=x, mask=torch.zeros(2, 13, 13, dtype=torch.bool), pos_emb=pos_emb
        )
    torch.testing.assert_close(unmasked, masked, atol=1e-6, rtol=1e-6)

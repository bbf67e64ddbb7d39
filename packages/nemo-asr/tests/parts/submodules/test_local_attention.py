"""Sliding-window (``rel_pos_local_attn``) attention: against a direct formula, NeMo 1.23's values and the encoder."""

from __future__ import annotations

import math

import pytest
import torch
from nemo.collections.asr.modules.conformer_encoder import ConformerEncoder
from nemo.collections.asr.parts.submodules.multi_head_attention import (
    LocalAttRelPositionalEncoding,
    RelPositionMultiHeadAttentionLongformer,
)


def _window_attention_by_formula(
    module: RelPositionMultiHeadAttentionLongformer,
    x: torch.Tensor,
    lengths: list[int],
    pe_table: torch.Tensor,
) -> torch.Tensor:
    """Transformer-XL scores written out per (query, key) pair, restricted to ``-L <= j - i <= R``.

    ``pe_table[e]`` is the embedding of relative position ``L - e``; padded queries output zeros before
    ``linear_out``.
    """
    left, right = module.att_context_size
    batch, frames, width = x.shape
    heads, d_k = module.h, module.d_k
    q = module.linear_q(x).view(batch, frames, heads, d_k)
    k = module.linear_k(x).view(batch, frames, heads, d_k)
    v = module.linear_v(x).view(batch, frames, heads, d_k)
    p = module.linear_pos(pe_table).view(-1, heads, d_k)
    out = torch.zeros(batch, frames, heads, d_k)
    for b in range(batch):
        for i in range(lengths[b]):
            keys = [j for j in range(lengths[b]) if -left <= j - i <= right]
            scores = torch.stack(
                [
                    ((q[b, i] + module.pos_bias_u) * k[b, j]).sum(-1)
                    + ((q[b, i] + module.pos_bias_v) * p[left - (i - j)]).sum(-1)
                    for j in keys
                ],
                dim=-1,
            ) / math.sqrt(d_k)  # (H, n_keys)
            weights = torch.softmax(scores, dim=-1)
            out[b, i] = torch.einsum("hn,nhd->hd", weights, v[b, keys])
    return module.linear_out(out.reshape(batch, frames, width))


def _seeded(module: torch.nn.Module, seed: int) -> torch.nn.Module:
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for _, param in sorted(module.named_parameters()):
            param.copy_(torch.randn(param.shape, generator=generator) * 0.5)
    return module.eval()


@pytest.mark.parametrize(("context", "frames"), [((3, 3), 23), ((1, 1), 7), ((5, 5), 4)])
def test_window_attention_matches_the_formula_with_padding(context: tuple[int, int], frames: int) -> None:
    module = _seeded(RelPositionMultiHeadAttentionLongformer(2, 8, 0.0, None, None, list(context)), seed=1)
    x = torch.randn(2, frames, 8, generator=torch.Generator().manual_seed(2))
    lengths = [frames, max(1, frames - 5)]
    pad_mask = torch.arange(frames)[None] >= torch.tensor(lengths)[:, None]
    encoding = LocalAttRelPositionalEncoding(list(context), d_model=8, dropout_rate=0.0)
    encoding.extend_pe(frames, torch.device("cpu"))
    _, pos_emb = encoding(x)
    with torch.no_grad():
        got = module(x, x, x, pad_mask, pos_emb)
        expected = _window_attention_by_formula(module, x, lengths, pos_emb[0])
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)


# Outputs of NeMo 1.23's RelPositionMultiHeadAttentionLongformer, computed once with the NeMo venv on the same
# seeded weights and inputs (see _nemo_case) and rounded to 5 decimals.
_NEMO_ASYMMETRIC_2_4 = [
    -0.32889, 0.82305, -0.15085, 0.43546, -0.17654, 0.62260, 0.01397, 0.45309, -0.10549, 0.22115, 0.56956,
    0.50137, -0.27111, -0.28648, 1.56166, 0.57758, -0.14240, 0.51919, 0.14583, 0.45926, -0.14290, 0.65297,
    -0.00915, 0.49658, -0.12143, 0.49558, 0.22118, 0.51834, -0.11038, 0.06019, 0.87670, 0.54893, -0.49409,
    0.01621, 1.65423, 0.79965,
]  # fmt: skip
_NEMO_GLOBAL_3_SPACING_2_SEPARATE = [
    -1.34444, 0.14940, 0.13771, 0.76244, -0.54474, 0.67547, 0.38970, -0.43659, -1.29042, -0.00667, 0.10680,
    0.55966, -1.21531, 0.81139, -0.04111, 0.48341, -1.30275, -0.01449, 0.12483, 0.61044, 0.03097, 0.34002,
    0.76401, -0.95459, -1.05121, 1.22784, 0.00374, 0.18451, -0.39910, 0.82053, 0.44336, -0.63110, -0.19456,
    1.16497, 0.51893, -1.00220, -0.37102, 1.15719, 0.41676, -0.76340, -0.44987, 0.72095, 0.39382, -0.44842,
    -0.83841, -0.36234, 0.48170, 0.06712, -0.83841, -0.36234, 0.48170, 0.06712,
]  # fmt: skip
_NEMO_GLOBAL_1_BATCH_2 = [
    -0.12954, 0.18270, 0.69608, 0.53551, -0.25012, 0.69091, -0.02208, 0.43864, -0.11401, 0.33431, 0.42761,
    0.50126, -0.10838, -0.36456, 1.56945, 0.62271, -0.11653, 0.44879, 0.26127, 0.50130, -0.25348, 0.63568,
    0.08039, 0.46640, -0.16430, 0.35471, 0.45146, 0.50941, 0.07723, 0.26016, 0.34679, 0.50285, 0.06317,
    0.04286, 0.74677, 0.56307, -0.09839, 0.37925, 0.35522, 0.50603, -0.67507, 0.00368, 1.55120, 0.56686,
    -0.66384, 0.03964, 1.48119, 0.56085, -0.67215, 0.04227, 1.50773, 0.58094, -0.74196, 0.01643, 1.62165,
    0.58594, -0.74307, 0.44807, 0.91711, 0.51232, -0.76490, -0.11218, 1.89245, 0.64009, -0.87046, -0.03360,
    1.86499, 0.62315, 0.06866, 0.12027, 0.69773, 0.67351, 0.06866, 0.12027, 0.69773, 0.67351, 0.06866,
    0.12027, 0.69773, 0.67351,
]  # fmt: skip


def _nemo_case(batch, frames, width, heads, left, right, tokens, spacing, separate, lengths) -> torch.Tensor:
    generator = torch.Generator().manual_seed(7)
    module = RelPositionMultiHeadAttentionLongformer(
        heads,
        width,
        0.0,
        None,
        None,
        [left, right],
        global_tokens=tokens,
        global_tokens_spacing=spacing,
        global_attn_separate=separate,
    ).eval()
    with torch.no_grad():
        for _, param in sorted(module.named_parameters()):
            param.copy_(torch.randn(param.shape, generator=generator) * 0.5)
    x = torch.randn(batch, frames, width, generator=generator)
    pad_mask = torch.arange(frames)[None] >= torch.tensor(lengths)[:, None]
    encoding = LocalAttRelPositionalEncoding([left, right], d_model=width, dropout_rate=0.0)
    encoding.extend_pe(frames, torch.device("cpu"))
    with torch.no_grad():
        return module(x, x, x, pad_mask, encoding(x)[1]).flatten()


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ((1, 9, 4, 2, 2, 4, 0, 1, False, [9]), _NEMO_ASYMMETRIC_2_4),
        ((1, 13, 4, 1, 3, 3, 3, 2, True, [11]), _NEMO_GLOBAL_3_SPACING_2_SEPARATE),
        ((2, 10, 4, 2, 3, 3, 1, 1, False, [10, 7]), _NEMO_GLOBAL_1_BATCH_2),
    ],
    ids=["asymmetric-window", "global-tokens-separate", "global-token-batch"],
)
def test_outputs_match_nemo(case: tuple, expected: list[float]) -> None:
    torch.testing.assert_close(_nemo_case(*case), torch.tensor(expected), atol=2e-5, rtol=0)


TINY = dict(
    feat_in=16, n_layers=2, d_model=8, n_heads=2, conv_kernel_size=3, dropout=0.0, dropout_pre_encoder=0.0
)


def _encode(encoder: ConformerEncoder, seed: int = 3) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    features = torch.randn(2, 16, 60, generator=generator)
    with torch.no_grad():
        return encoder(audio_signal=features, length=torch.tensor([60, 41]))[0]


def test_local_encoder_equals_limited_context_rel_pos_encoder() -> None:
    torch.manual_seed(0)
    local = ConformerEncoder(
        **TINY, self_attention_model="rel_pos_local_attn", att_context_size=[2, 2]
    ).eval()
    limited = ConformerEncoder(**TINY, self_attention_model="rel_pos", att_context_size=[2, 2]).eval()
    limited.load_state_dict(local.state_dict(), strict=True)
    torch.testing.assert_close(_encode(local), _encode(limited), atol=1e-5, rtol=1e-5)


def test_change_attention_model_keeps_weights_and_state_dict_keys() -> None:
    torch.manual_seed(0)
    encoder = ConformerEncoder(**TINY).eval()
    keys = set(encoder.state_dict())
    limited = ConformerEncoder(**TINY, att_context_size=[3, 3]).eval()
    limited.load_state_dict(encoder.state_dict(), strict=True)

    encoder.change_attention_model("rel_pos_local_attn", [3, 3])
    assert type(encoder.layers[0].self_attn) is RelPositionMultiHeadAttentionLongformer
    assert encoder.self_attention_model == "rel_pos_local_attn" and encoder.att_context_size == [3, 3]
    assert set(encoder.state_dict()) == keys
    assert not any(module.training for module in encoder.modules()), "new modules must keep eval mode"
    torch.testing.assert_close(_encode(encoder), _encode(limited), atol=1e-5, rtol=1e-5)

    encoder.change_attention_model("rel_pos", [-1, -1])
    full = ConformerEncoder(**TINY).eval()
    full.load_state_dict(encoder.state_dict(), strict=True)
    torch.testing.assert_close(_encode(encoder), _encode(full), atol=1e-5, rtol=1e-5)


def test_global_tokens_add_nemo_state_dict_keys_and_train() -> None:
    torch.manual_seed(0)
    encoder = ConformerEncoder(
        **TINY,
        self_attention_model="rel_pos_local_attn",
        att_context_size=[4, 4],
        global_tokens=2,
        global_tokens_spacing=3,
        global_attn_separate=True,
    ).train()
    names = set(encoder.state_dict())
    assert {f"layers.0.self_attn.global_{p}.weight" for p in "qkv"} <= names
    outputs, _ = encoder(audio_signal=torch.randn(2, 16, 60), length=torch.tensor([60, 41]))
    outputs.sum().backward()
    assert all(param.grad is not None and torch.isfinite(param.grad).all() for param in encoder.parameters())


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (dict(self_attention_model="rel_pos_local_attn"), "does not define a window"),
        (
            dict(self_attention_model="rel_pos_local_attn", att_context_size=[-1, 8]),
            "does not define a window",
        ),
        (
            dict(self_attention_model="rel_pos_local_attn", att_context_size=[[4, 4], [2, 2]]),
            "several contexts",
        ),
        (dict(global_tokens=2), "needs self_attention_model 'rel_pos_local_attn'"),
    ],
)
def test_invalid_local_attention_configs_are_rejected(overrides: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ConformerEncoder(**{**TINY, **overrides})

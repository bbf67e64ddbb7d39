"""Position embeddings against values computed once with NeMo 1.23 (/tmp/nemo-ref venv) and written down."""

import pytest
import torch
from nemo.collections.nlp.modules.common.megatron.layer_type import LayerType
from nemo.collections.nlp.modules.common.megatron.position_embedding import (
    ALiBiRelativePositionEmbedding,
    KERPLERelativePositionEmbedding,
    RotaryEmbedding,
    SandwichRelativePositionEmbedding,
    T5RelativePositionEmbedding,
    XPOSPositionEmbedding,
)
from nemo.collections.nlp.modules.common.megatron.position_embedding.rotary_position_embedding import (
    apply_rotary_pos_emb,
)

ENC = LayerType.encoder


def _close(actual: torch.Tensor, expected) -> None:
    torch.testing.assert_close(actual, torch.tensor(expected, dtype=actual.dtype), atol=2e-6, rtol=0)


def test_alibi_three_heads_beyond_cache():
    # 3 heads (not a power of two), q=3 < k=5 > max_seq_len=4 (on-the-fly table); NeMo 1.23 output.
    bias = ALiBiRelativePositionEmbedding(True, 3, ENC, max_seq_len=4)(3, 5)
    _close(bias[0, 0], [[-0.125, -0.0625, 0.0, -0.0625, -0.125], [-0.1875, -0.125, -0.0625, 0.0, -0.0625],
                        [-0.25, -0.1875, -0.125, -0.0625, 0.0]])  # fmt: skip
    _close(bias[0, 1, 0], [-0.0078125, -0.00390625, 0.0, -0.00390625, -0.0078125])
    _close(bias[0, 2, 2], [-1.0, -0.75, -0.5, -0.25, 0.0])


def test_alibi_causal_with_disabled_head():
    bias = ALiBiRelativePositionEmbedding(False, 3, ENC, num_attention_heads_alibi=2, max_seq_len=8)(3, 5)
    assert bias.shape == (1, 3, 1, 5)
    _close(bias[0, :, 0], [[-0.25, -0.1875, -0.125, -0.0625, 0.0], [-0.015625, -0.01171875, -0.0078125, -0.00390625, 0.0],
                           [0.0, 0.0, 0.0, 0.0, 0.0]])  # fmt: skip
    with pytest.raises(ValueError, match="num_attention_heads_alibi"):
        ALiBiRelativePositionEmbedding(True, 2, ENC, num_attention_heads_alibi=3)


def test_kerple_causal_and_state_dict():
    module = KERPLERelativePositionEmbedding(False, 3, ENC, max_seq_len=8)
    bias = module(4, 4)
    _close(bias[0, 0, 3], [-0.086643, -0.068663, -0.043322, 0.0])
    _close(bias[0, 2, :, 0], [0.0, -0.173287, -0.274653, -0.346574])
    assert sorted(module.state_dict()) == ["kerple_a", "kerple_b", "kerple_p"]  # NeMo's keys, nothing cached


def test_sandwich_bidirectional():
    bias = SandwichRelativePositionEmbedding(True, 2, ENC, hidden_size=6, max_seq_len=2)(3, 3)
    _close(bias[0, 0, 0], [0.0, -0.00027, -0.001079])
    _close(bias[0, 1, 0], [0.0, -0.000135, -0.000539])


def _t5(bidirectional: bool) -> T5RelativePositionEmbedding:
    module = T5RelativePositionEmbedding(
        torch.nn.init.zeros_,
        bidirectional,
        1,
        ENC,
        relative_position_num_buckets=8,
        relative_position_max_distance=20,
    )
    with torch.no_grad():
        module.relative_position_embedding.weight.copy_(torch.arange(8.0)[:, None])  # bias value = bucket id
    return module


def test_t5_buckets_match_nemo():
    forward = _t5(True)(1, 30)[0, 0, 0].long().tolist()
    assert forward == [0, 5] + [6] * 5 + [7] * 23
    backward = _t5(False)(30, 1)[0, 0, :, 0].long().tolist()
    assert backward == [0, 1, 2, 3, 4, 4, 5, 5, 5, 6, 6, 6, 6, 6] + [7] * 16


def test_rotary_interpolation_and_passthrough():
    rope = RotaryEmbedding(4, seq_len_interpolation_factor=2, pretrained_max_position_embeddings=2)
    x = torch.arange(12, dtype=torch.float).view(2, 1, 1, 6) / 10
    out = apply_rotary_pos_emb(x, rope(2, offset=1))  # fixed scaling; channels 4, 5 pass through
    _close(out.flatten(), [-0.095885, 0.098499, 0.175517, 0.300496, 0.4, 0.5,
                           -0.348995, 0.690965, 0.937124, 0.906955, 1.0, 1.1])  # fmt: skip
    angles = rope(5)  # 5 > 2 * 2: dynamic scaling, positions * 2/5
    _close(angles[:, 0, 0, 0], [0.0, 0.4, 0.8, 1.2, 1.6])
    assert "inv_freq" in rope.state_dict()


def test_xpos_offset_and_downscale():
    xpos = XPOSPositionEmbedding(4, scale_base=8)
    y = torch.arange(24, dtype=torch.float).view(3, 1, 2, 4) / 10
    _close(xpos(y, offset=2)[2, 0, 1], [0.241122, -2.467894, 1.993092, 2.257926])
    _close(xpos(y, downscale=True)[1, 0, 0], [-0.277961, 0.991387, 0.935812, 1.050306])

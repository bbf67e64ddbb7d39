"""ConformerEncoder and its parts against NeMo 1.23's outputs and against plain-torch re-derivations."""

from __future__ import annotations

import io
import math
import tarfile
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from nemo.collections.asr.modules.conformer_encoder import (
    ConformerEncoder,
    compute_stochastic_depth_drop_probs,
)
from nemo.collections.asr.parts.submodules.batchnorm import FusedBatchNorm1d
from nemo.collections.asr.parts.submodules.conformer_modules import ConformerConvolution
from nemo.collections.asr.parts.submodules.multi_head_attention import (
    MultiHeadAttention,
    RelPositionalEncoding,
    RelPositionMultiHeadAttention,
)
from nemo.collections.asr.parts.submodules.subsampling import ConvSubsampling, StackingSubsampling
from omegaconf import OmegaConf

FIXTURES = Path(__file__).resolve().parents[4] / "tests" / "data" / "nemo-1.23"

TINY = dict(feat_in=40, n_layers=2, d_model=32, n_heads=4, conv_kernel_size=9)


def _read_archive(name: str) -> tuple[dict, dict[str, torch.Tensor]]:
    """Config (as a dict) and weights of a NeMo 1.23 fixture archive, read straight from the tar."""
    with tarfile.open(FIXTURES / f"{name}.nemo") as tar:
        config = OmegaConf.to_container(
            OmegaConf.create(tar.extractfile("./model_config.yaml").read().decode())
        )
        weights = torch.load(io.BytesIO(tar.extractfile("./model_weights.ckpt").read()), weights_only=True)
    return config, weights


def _randomize(module: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Non-trivial weights and BatchNorm statistics (zero biases would hide bias bugs)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for param in module.parameters():
            param.copy_(torch.randn(param.shape, generator=generator) * 0.2)
        for sub in module.modules():
            if isinstance(sub, torch.nn.BatchNorm1d):
                sub.running_mean.copy_(torch.randn(sub.num_features, generator=generator))
                sub.running_var.copy_(torch.rand(sub.num_features, generator=generator) + 0.5)
    return module


def _padding_mask(lengths: list[int], max_len: int) -> torch.Tensor:
    """(B, T) bool, true on padding."""
    return torch.arange(max_len).unsqueeze(0) >= torch.tensor(lengths).unsqueeze(1)


def _nemo_attention_mask(lengths: list[int], max_len: int) -> torch.Tensor:
    """(B, T, T) bool, true where NeMo masks attention (either frame is padding)."""
    valid = ~_padding_mask(lengths, max_len)
    return ~(valid.unsqueeze(1) & valid.unsqueeze(2))


def _reference_attention(scores: torch.Tensor, value: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """NeMo's masked softmax attention: fill -10000, softmax, zero masked probabilities; heads merged."""
    scores = scores.masked_fill(mask.unsqueeze(1), -10000.0)
    probs = torch.softmax(scores, dim=-1).masked_fill(mask.unsqueeze(1), 0.0)
    out = torch.matmul(probs, value)  # (B, H, T1, d_k)
    return out.transpose(1, 2).reshape(out.size(0), out.size(2), -1)


def _heads(x: torch.Tensor, n_heads: int) -> torch.Tensor:
    return x.view(x.size(0), x.size(1), n_heads, -1).transpose(1, 2)


# --- parity with NeMo 1.23 -------------------------------------------------------------------------------


def test_fixture_encoder_with_ctc_head_reproduces_nemo_log_probs() -> None:
    config, weights = _read_archive("conformer_ctc_char_tiny")
    encoder_config = {key: value for key, value in config["encoder"].items() if key != "_target_"}
    encoder = ConformerEncoder(**encoder_config)
    encoder_weights = {
        key[len("encoder.") :]: value for key, value in weights.items() if key.startswith("encoder.")
    }
    encoder.load_state_dict(encoder_weights, strict=True)
    encoder.eval()
    io_tensors = torch.load(FIXTURES / "conformer_ctc_char_tiny.io.pt", weights_only=True)

    with torch.no_grad():
        encoded, encoded_len = encoder(audio_signal=io_tensors["mel"], length=io_tensors["mel_len"])
        logits = F.conv1d(
            encoded, weights["decoder.decoder_layers.0.weight"], weights["decoder.decoder_layers.0.bias"]
        )
        log_probs = logits.transpose(1, 2).log_softmax(dim=-1)

    assert encoded.shape == (2, config["encoder"]["d_model"], io_tensors["log_probs"].size(1))
    assert encoded_len.dtype == torch.int64
    assert torch.equal(encoded_len, io_tensors["encoded_len"])
    torch.testing.assert_close(log_probs, io_tensors["log_probs"], atol=1e-4, rtol=0)


def test_ports_carry_nemo_names_and_neural_types() -> None:
    encoder = ConformerEncoder(**TINY).eval()
    assert list(encoder.input_types) == ["audio_signal", "length"]
    assert list(encoder.output_types) == ["outputs", "encoded_lengths"]
    outputs, lengths = encoder(audio_signal=torch.randn(2, 40, 50), length=torch.tensor([50, 30]))
    assert type(outputs.neural_type.elements_type).__name__ == "AcousticEncodedRepresentation"
    assert type(lengths.neural_type.elements_type).__name__ == "LengthsType"


# --- attention -------------------------------------------------------------------------------------------


def test_rel_pos_attention_matches_transformer_xl_formula_with_padding() -> None:
    torch.manual_seed(0)
    n_heads, d_model, lengths, t = 4, 32, [11, 7], 11
    attention = _randomize(RelPositionMultiHeadAttention(n_heads, d_model, 0.0, None, None)).eval()
    positional = RelPositionalEncoding(d_model, dropout_rate=0.0, max_len=50)
    positional.extend_pe(50, torch.device("cpu"))
    x = torch.randn(2, t, d_model)
    _, pos_emb = positional(x)
    mask = _nemo_attention_mask(lengths, t)

    # Relative position of query i to key j is i - j; pos_emb row r holds position (t - 1) - r.
    q = _heads(attention.linear_q(x), n_heads)
    k = _heads(attention.linear_k(x), n_heads)
    v = _heads(attention.linear_v(x), n_heads)
    p = _heads(attention.linear_pos(pos_emb), n_heads)[0]  # (H, 2t - 1, d_k)
    rows = (t - 1) - (torch.arange(t).unsqueeze(1) - torch.arange(t).unsqueeze(0))  # (t, t)
    p_ij = p[:, rows]  # (H, t, t, d_k)
    content = torch.einsum("bhid,bhjd->bhij", q + attention.pos_bias_u.unsqueeze(1), k)
    position = torch.einsum("bhid,hijd->bhij", q + attention.pos_bias_v.unsqueeze(1), p_ij)
    expected = attention.linear_out(_reference_attention((content + position) / math.sqrt(8), v, mask))

    with torch.no_grad():
        got = attention(query=x, key=x, value=x, mask=mask, pos_emb=pos_emb)
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)
    # Padding queries output zeros before linear_out, as NeMo does.
    torch.testing.assert_close(got[1, 7:], attention.linear_out.bias.expand(4, -1).detach())


def test_abs_pos_attention_matches_masked_softmax_for_cross_attention() -> None:
    torch.manual_seed(1)
    attention = _randomize(MultiHeadAttention(n_head=2, n_feat=16, dropout_rate=0.0)).eval()
    query, memory = torch.randn(2, 5, 16), torch.randn(2, 9, 16)
    mask = torch.zeros(2, 5, 9, dtype=torch.bool)
    mask[0, :, 6:] = True
    mask[1, 3:] = True  # two queries see nothing

    q, k, v = (_heads(layer(x), 2) for layer, x in ((attention.linear_q, query), (attention.linear_k, memory),
                                                      (attention.linear_v, memory)))  # fmt: skip
    expected = attention.linear_out(_reference_attention(q @ k.transpose(-2, -1) / math.sqrt(8), v, mask))
    with torch.no_grad():
        got = attention(query=query, key=memory, value=memory, mask=mask)
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)


def test_rel_positional_encoding_scales_input_and_returns_centered_positions() -> None:
    d_model = 16
    encoding = RelPositionalEncoding(d_model, dropout_rate=0.0, max_len=20, xscale=4.0).eval()
    encoding.extend_pe(20, torch.device("cpu"))
    x = torch.randn(1, 6, d_model)
    scaled, pos_emb = encoding(x)
    torch.testing.assert_close(scaled, x * 4.0)
    positions = torch.arange(5, -6, -1, dtype=torch.float32).unsqueeze(1)  # 5 .. -5
    freqs = 10000.0 ** (-torch.arange(0, d_model, 2, dtype=torch.float32) / d_model)
    expected = torch.stack((torch.sin(positions * freqs), torch.cos(positions * freqs)), dim=-1).flatten(1)
    torch.testing.assert_close(pos_emb[0], expected, atol=1e-5, rtol=0)


# --- convolution module ----------------------------------------------------------------------------------


@pytest.mark.parametrize("norm_type", ["batch_norm", "layer_norm", "fused_batch_norm"])
def test_conv_module_matches_conv1d_composition(norm_type: str) -> None:
    torch.manual_seed(2)
    module = _randomize(ConformerConvolution(d_model=16, kernel_size=5, norm_type=norm_type)).eval()
    x, pad_mask = torch.randn(2, 12, 16), _padding_mask([12, 8], 12)

    h = F.glu(module.pointwise_conv1(x.transpose(1, 2)), dim=1).masked_fill(pad_mask.unsqueeze(1), 0.0)
    h = F.conv1d(h, module.depthwise_conv.weight, module.depthwise_conv.bias, padding=2, groups=16)
    if norm_type == "layer_norm":
        h = module.batch_norm(h.transpose(1, 2)).transpose(1, 2)
    elif norm_type == "fused_batch_norm":
        h = h * module.batch_norm.weight[:, None] + module.batch_norm.bias[:, None]
    else:
        h = module.batch_norm(h)
    expected = module.pointwise_conv2(h * torch.sigmoid(h)).transpose(1, 2)

    with torch.no_grad():
        got = module(x, pad_mask=pad_mask)
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)
    expected_norm = {
        "layer_norm": torch.nn.LayerNorm,
        "batch_norm": torch.nn.BatchNorm1d,
        "fused_batch_norm": FusedBatchNorm1d,
    }[norm_type]
    assert isinstance(module.batch_norm, expected_norm)


def test_causal_conv_context_only_sees_the_past() -> None:
    torch.manual_seed(3)
    module = _randomize(ConformerConvolution(16, kernel_size=5, conv_context_size=[4, 0])).eval()
    x = torch.randn(1, 10, 16)
    changed = x.clone()
    changed[:, 6:] += 1.0
    with torch.no_grad():
        a, b = module(x), module(changed)
    torch.testing.assert_close(a[:, :6], b[:, :6])
    assert not torch.allclose(a[:, 6:], b[:, 6:])


# --- subsampling -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("subsampling", "factor", "causal", "expected_conv_keys"),
    [
        ("striding", 4, False, ["0", "2"]),
        ("striding", 8, True, ["0", "2", "4"]),
        ("dw_striding", 4, False, ["0", "2", "3"]),
        ("dw_striding", 8, False, ["0", "2", "3", "5", "6"]),
        ("vggnet", 4, False, ["0", "2", "5", "7"]),
    ],
)
def test_conv_subsampling_layout_lengths_and_outputs(
    subsampling: str, factor: int, causal: bool, expected_conv_keys: list[str]
) -> None:
    torch.manual_seed(4)
    module = ConvSubsampling(subsampling, factor, feat_in=41, feat_out=24, conv_channels=8, is_causal=causal)
    keys = {key.rsplit(".", 1)[0] for key in module.state_dict()}
    assert keys == {f"conv.{index}" for index in expected_conv_keys} | {"out"}

    lengths = [77, 60, 9]
    x = torch.randn(3, 77, 41)
    got, got_lengths = module(x, torch.tensor(lengths))
    # Reference: the plain nn.Sequential forward; each item's length is the frame count it yields alone.
    reference = module.conv(x.unsqueeze(1))
    b, c, t, f = reference.shape
    torch.testing.assert_close(got, module.out(reference.transpose(1, 2).reshape(b, t, c * f)))
    alone = [module.conv(x[i : i + 1, :n].unsqueeze(1)).size(2) for i, n in enumerate(lengths)]
    assert got_lengths.tolist() == alone


def test_conv_subsampling_batch_chunking_gives_the_same_result() -> None:
    torch.manual_seed(5)
    module = ConvSubsampling("dw_striding", 4, feat_in=20, feat_out=16, conv_channels=8)
    x, lengths = torch.randn(4, 30, 20), torch.tensor([30, 25, 20, 10])
    whole, _ = module(x, lengths)
    module.change_subsampling_conv_chunking_factor(2)
    chunked, _ = module(x, lengths)
    torch.testing.assert_close(chunked, whole)
    with pytest.raises(ValueError, match="subsampling_conv_chunking_factor=3"):
        module.change_subsampling_conv_chunking_factor(3)


def test_stacking_subsampling_stacks_consecutive_frames() -> None:
    module = StackingSubsampling(subsampling_factor=4, feat_in=3, feat_out=5)
    x = torch.randn(2, 10, 3)
    got, lengths = module(x, torch.tensor([10, 5]))
    stacked = F.pad(x, (0, 0, 0, 2)).reshape(2, 3, 12)  # frames 4k..4k+3 side by side
    torch.testing.assert_close(got, module.proj_out(stacked))
    assert lengths.tolist() == [3, 1]


# --- whole encoder ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "overrides",
    [
        dict(),
        dict(self_attention_model="abs_pos"),
        dict(subsampling="dw_striding", subsampling_factor=8),
        dict(conv_norm_type="layer_norm", untie_biases=False, xscaling=False),
        dict(att_context_size=[6, 2]),
    ],
    ids=["rel_pos", "abs_pos", "dw_striding8", "layer_norm_tied", "limited_context"],
)
def test_other_items_and_their_lengths_do_not_change_an_items_output(overrides: dict) -> None:
    encoder = _randomize(ConformerEncoder(**TINY, **overrides)).eval()
    torch.manual_seed(6)
    first = torch.zeros(1, 40, 123)
    first[..., :70] = torch.randn(1, 40, 70)  # zero padding, as the preprocessor produces
    batch_a = torch.cat([first, torch.randn(1, 40, 123)])
    batch_b = torch.cat([first, torch.randn(1, 40, 123)])
    with torch.no_grad():
        out_a, len_a = encoder(audio_signal=batch_a, length=torch.tensor([70, 123]))
        out_b, len_b = encoder(audio_signal=batch_b, length=torch.tensor([70, 91]))
    assert len_a[0] == len_b[0] and len_a[1] != len_b[1]
    torch.testing.assert_close(out_a[0], out_b[0], atol=1e-5, rtol=1e-5)
    assert not torch.allclose(out_a[1], out_b[1])


@pytest.mark.parametrize("self_attention_model", ["rel_pos", "abs_pos"])
def test_conformer_layer_ignores_whatever_is_in_padding_frames(self_attention_model: str) -> None:
    encoder = _randomize(ConformerEncoder(**TINY, self_attention_model=self_attention_model)).eval()
    layer = encoder.layers[0]
    torch.manual_seed(8)
    x = torch.randn(2, 15, 32)
    garbage = x.clone()
    garbage[0, 9:] = 100.0 * torch.randn(6, 32)
    _, pos_emb = encoder.pos_enc(x)
    pad_mask = _padding_mask([9, 15], 15)
    att_mask = _nemo_attention_mask([9, 15], 15)
    with torch.no_grad():
        clean = layer(x=x, att_mask=att_mask, pos_emb=pos_emb, pad_mask=pad_mask)
        dirty = layer(x=garbage, att_mask=att_mask, pos_emb=pos_emb, pad_mask=pad_mask)
    torch.testing.assert_close(dirty[0, :9], clean[0, :9], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(dirty[1], clean[1])


def test_abs_pos_and_dw_striding_encoders_have_nemo_state_dict_layout() -> None:
    abs_pos = ConformerEncoder(**TINY, self_attention_model="abs_pos")
    assert not any("linear_pos" in key or "pos_bias" in key for key in abs_pos.state_dict())
    assert {"layers.1.self_attn.linear_q.weight", "layers.1.self_attn.linear_out.bias"} <= set(
        abs_pos.state_dict()
    )

    dw = ConformerEncoder(**TINY, subsampling="dw_striding", subsampling_factor=8, feat_out=48)
    pre_encode = {key for key in dw.state_dict() if key.startswith("pre_encode.")}
    conv_keys = [f"pre_encode.conv.{i}.{p}" for i in (0, 2, 3, 5, 6) for p in ("weight", "bias")]
    assert pre_encode == set(conv_keys) | {"pre_encode.out.weight", "pre_encode.out.bias"}
    assert dw.state_dict()["pre_encode.out.weight"].shape == (32, 32 * 5)  # 40 -> 20 -> 10 -> 5 mel bins
    assert dw.state_dict()["out_proj.weight"].shape == (48, 32)

    outputs, lengths = dw(audio_signal=torch.randn(2, 40, 100), length=torch.tensor([100, 64]))
    assert outputs.shape == (2, 48, 13)
    assert lengths.tolist() == [13, 8]


def test_tied_biases_are_one_parameter_listed_under_every_layer() -> None:
    encoder = ConformerEncoder(**TINY, untie_biases=False)
    assert encoder.layers[0].self_attn.pos_bias_u is encoder.layers[1].self_attn.pos_bias_u
    assert {"layers.0.self_attn.pos_bias_v", "layers.1.self_attn.pos_bias_v"} <= set(encoder.state_dict())


def test_attention_masks_follow_nemo_context_rules() -> None:
    encoder = ConformerEncoder(**TINY, att_context_size=[3, 1])
    pad_mask, att_mask = encoder._create_masks([3, 1], torch.tensor([8, 5]), 8, torch.float32)
    nemo_context = torch.ones(8, 8, dtype=torch.bool).triu(diagonal=-3).tril(diagonal=1)
    expected = _nemo_attention_mask([8, 5], 8) | ~nemo_context
    assert torch.equal(pad_mask, _padding_mask([8, 5], 8))
    assert torch.equal(att_mask.bias[:, 0] != 0, expected)

    chunked = ConformerEncoder(**TINY, att_context_size=[4, 1], att_context_style="chunked_limited")
    _, att_mask = chunked._create_masks([4, 1], torch.tensor([7]), 7, torch.float32)
    chunk = torch.arange(7) // 2
    diff = chunk.unsqueeze(1) - chunk.unsqueeze(0)
    assert torch.equal(att_mask.bias[0, 0] == 0, (diff >= 0) & (diff <= 2))


# --- stochastic depth ------------------------------------------------------------------------------------


def test_stochastic_depth_probabilities() -> None:
    assert compute_stochastic_depth_drop_probs(5, 0.4, "linear", 1) == pytest.approx(
        [0.0, 0.1, 0.2, 0.3, 0.4]
    )
    assert compute_stochastic_depth_drop_probs(5, 0.4, "uniform", 3) == pytest.approx([0.0] * 3 + [0.4] * 2)
    assert compute_stochastic_depth_drop_probs(2, 0.5, "linear", 2) == [0.0, 0.0]
    with pytest.raises(ValueError, match="stochastic_depth_mode has to be one of .*'cubic'"):
        compute_stochastic_depth_drop_probs(4, 0.2, "cubic", 1)
    with pytest.raises(ValueError, match=r"stochastic_depth_drop_prob has to be in \[0, 1\), got 1.0"):
        compute_stochastic_depth_drop_probs(4, 1.0, "linear", 1)


def test_stochastic_depth_drops_or_rescales_layers_in_training_only() -> None:
    no_dropout = dict(dropout=0.0, dropout_pre_encoder=0.0, dropout_emb=0.0, dropout_att=0.0)
    config = dict(TINY, n_layers=3, conv_norm_type="layer_norm", **no_dropout)
    encoder = _randomize(
        ConformerEncoder(**config, stochastic_depth_drop_prob=0.5, stochastic_depth_mode="uniform")
    )
    plain = ConformerEncoder(**config)
    plain.load_state_dict(encoder.state_dict())
    x, lengths = torch.randn(2, 40, 60), torch.tensor([60, 45])
    assert encoder.layer_drop_probs == [0.0, 0.5, 0.5]

    encoder.eval()
    plain.eval()
    with torch.no_grad():
        torch.testing.assert_close(
            encoder(audio_signal=x, length=lengths)[0], plain(audio_signal=x, length=lengths)[0]
        )

    captured: list[tuple[torch.Tensor, torch.Tensor]] = []
    for layer in encoder.layers:
        layer.register_forward_hook(
            lambda _m, args, kwargs, out: captured.append((kwargs["x"], out)), with_kwargs=True
        )
    encoder.train()
    torch.manual_seed(7)
    outcomes = set()
    for _ in range(12):
        captured.clear()
        outputs, _ = encoder(audio_signal=x, length=lengths)
        for index, drop_prob in enumerate(encoder.layer_drop_probs):
            layer_in, layer_out = captured[index]
            following = captured[index + 1][0] if index + 1 < len(captured) else outputs.transpose(1, 2)
            if drop_prob == 0.0:
                torch.testing.assert_close(following, layer_out)
            elif torch.allclose(following, layer_in):
                outcomes.add("dropped")
            else:
                kept = (layer_out - layer_in) / (1.0 - drop_prob) + layer_in
                torch.testing.assert_close(following, kept, atol=1e-5, rtol=1e-5)
                outcomes.add("kept")
    assert outcomes == {"dropped", "kept"}

    outputs.sum().backward()  # a dropped layer still receives (zero) gradients, as DDP requires
    assert all(param.grad is not None for param in encoder.parameters())


# --- configuration ---------------------------------------------------------------------------------------


def test_training_step_gives_finite_gradients_everywhere() -> None:
    encoder = ConformerEncoder(**TINY, subsampling="dw_striding", dropout_att=0.1).train()
    outputs, _ = encoder(audio_signal=torch.randn(3, 40, 64), length=torch.tensor([64, 50, 33]))
    outputs.square().mean().backward()
    grads = [param.grad for param in encoder.parameters()]
    assert all(grad is not None and torch.isfinite(grad).all() for grad in grads)


def test_positional_table_grows_with_long_inputs() -> None:
    encoder = ConformerEncoder(**TINY, pos_emb_max_len=16).eval()
    outputs, lengths = encoder(audio_signal=torch.randn(1, 40, 200), length=torch.tensor([200]))
    assert encoder.max_audio_length == 200
    assert outputs.shape[-1] == lengths.item() == 50


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (dict(subsampling="fancy"), "subsampling='fancy'"),
        (dict(self_attention_model="local_attn"), "self_attention_model='local_attn'"),
        (dict(conv_norm_type="batchnorm"), "conv_norm_type='batchnorm'"),
        (dict(conv_context_size=[3, 3]), "conv_context_size=\\[3, 3\\]"),
        (dict(att_context_size=[5, 1], att_context_style="chunked_limited"), "multiple of the chunk size"),
        (dict(n_heads=5), "not divisible by n_heads=5"),
        (dict(reduction="pooling", reduction_factor=2, reduction_position=0), "reduction='pooling'"),
    ],
)
def test_invalid_configs_are_rejected_with_the_config_key(overrides: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ConformerEncoder(**{**TINY, **overrides})

"""SpeakerDecoder (x-vector, TAP, attentive pooling; angular), ECAPAEncoder and the TDNN pooling layers: NeMo 1.23's
state-dict keys and outputs (``speaker_expected.pt``), length masking, and the config errors."""

import pytest
import torch
from nemo.collections.asr.modules import ECAPAEncoder, SpeakerDecoder
from nemo.collections.asr.parts.submodules.tdnn_attention import AttentivePoolLayer, StatsPoolLayer

ATOL = 1e-5


def _state(expected: dict, prefix: str) -> dict:
    return {key[len(prefix) :]: value for key, value in expected.items() if key.startswith(prefix)}


def _close(found: torch.Tensor, want: torch.Tensor, name: str) -> None:
    assert found.shape == want.shape, f"{name}: shape {tuple(found.shape)} != {tuple(want.shape)}"
    diff = (found.float() - want.float()).abs().max().item()
    assert diff <= ATOL, f"{name}: max abs diff {diff} > {ATOL}"


def _decoder(pool_mode: str) -> SpeakerDecoder:
    return SpeakerDecoder(
        feat_in=12,
        num_classes=5,
        emb_sizes=[10, 8],
        pool_mode=pool_mode,
        angular=pool_mode == "attention",
        attention_channels=6,
    )


@pytest.mark.parametrize("pool_mode", ["xvector", "tap", "attention"])
def test_decoder_matches_nemo_in_eval(expected, pool_mode):
    prefix = f"decoder/{pool_mode}"
    decoder = _decoder(pool_mode)
    decoder.load_state_dict(_state(expected, f"{prefix}/state/"), strict=True)
    decoder.eval()

    with torch.no_grad():
        logits, embs = decoder(encoder_output=expected[f"{prefix}/x"], length=expected[f"{prefix}/length"])

    _close(logits, expected[f"{prefix}/logits"], f"{pool_mode} logits")
    _close(embs, expected[f"{prefix}/embs"], f"{pool_mode} embs")


@pytest.mark.parametrize("pool_mode", ["xvector", "tap", "attention"])
def test_decoder_training_step_moves_batch_norm_statistics_as_nemo(expected, pool_mode):
    prefix = f"decoder/{pool_mode}"
    decoder = _decoder(pool_mode)
    decoder.load_state_dict(_state(expected, f"{prefix}/state/"), strict=True)
    decoder.train()

    with torch.no_grad():
        logits, embs = decoder(encoder_output=expected[f"{prefix}/x"], length=expected[f"{prefix}/length"])

    _close(logits, expected[f"{prefix}/train_logits"], f"{pool_mode} train logits")
    _close(embs, expected[f"{prefix}/train_embs"], f"{pool_mode} train embs")
    after = _state(expected, f"{prefix}/state_after_train/")
    for key, value in decoder.state_dict().items():
        if value.dtype.is_floating_point:
            _close(value, after[key], f"{pool_mode} {key} after a training forward")
        else:
            assert torch.equal(value, after[key]), f"{pool_mode} {key}: {value} != {after[key]}"


def test_angular_decoder_normalises_only_its_input():
    decoder = _decoder("attention").eval()
    x = torch.randn(2, 12, 9)
    with torch.no_grad():
        decoder.final.weight.mul_(3.0)
        logits, _ = decoder(encoder_output=x, length=torch.tensor([9, 5]))

    assert decoder.final.bias is None
    # With unit-norm inputs each logit is bounded by its weight row's norm (3x the initial rows here).
    assert (logits.abs() <= decoder.final.weight.norm(dim=1) + 1e-5).all()
    assert logits.abs().max() > 1.0, "weights are not normalised (NeMo 1.23 leaves them as they are)"


def test_decoder_ignores_frames_past_each_length():
    decoder = _decoder("attention").eval()
    x = torch.randn(1, 12, 15)
    noisy = x.clone()
    noisy[:, :, 10:] = 100.0
    with torch.no_grad():
        _, clean_emb = decoder(encoder_output=x[:, :, :10], length=torch.tensor([10]))
        _, padded_emb = decoder(encoder_output=noisy, length=torch.tensor([10]))
    _close(padded_emb, clean_emb, "embedding with padding")


def test_decoder_state_dict_keys_are_nemos(expected):
    for pool_mode in ("xvector", "attention"):
        want = set(_state(expected, f"decoder/{pool_mode}/state/"))
        assert set(_decoder(pool_mode).state_dict()) == want


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"pool_mode": "max"}, "decoder.pool_mode"),
        ({"emb_sizes": []}, "decoder.emb_sizes"),
    ],
)
def test_decoder_config_errors_name_the_key(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SpeakerDecoder(feat_in=12, num_classes=5, **kwargs)


def test_ecapa_encoder_matches_nemo(expected):
    encoder = ECAPAEncoder(
        feat_in=20, filters=[32, 32, 32, 64], kernel_sizes=[5, 3, 3, 1], dilations=[1, 2, 3, 1], scale=4
    )
    encoder.load_state_dict(_state(expected, "ecapa/state/"), strict=True)
    encoder.eval()

    with torch.no_grad():
        outputs, length = encoder(audio_signal=expected["ecapa/x"], length=expected["ecapa/length"])

    _close(outputs, expected["ecapa/outputs"], "ECAPA outputs")
    assert torch.equal(length, expected["ecapa/length"])


def test_ecapa_encoder_refuses_filters_that_do_not_add_up_when_run():
    # NeMo 1.23 builds such an encoder (its speaker-model test does) and fails only in forward.
    encoder = ECAPAEncoder(
        feat_in=20, filters=[32, 32, 32, 48], kernel_sizes=[5, 3, 3, 1], dilations=[1, 1, 1, 1]
    )
    with pytest.raises(ValueError, match="encoder.filters"):
        encoder.eval()(audio_signal=torch.randn(2, 20, 30), length=torch.tensor([30, 30]))


def test_stats_pool_xvector_uses_only_valid_frames():
    x = torch.randn(2, 4, 10)
    pool = StatsPoolLayer(feat_in=4, pool_mode="xvector")
    pooled = pool(x, torch.tensor([10, 6]))

    assert pool.feat_in == 8
    _close(pooled[1, :4], x[1, :, :6].mean(dim=-1), "mean of the valid frames")
    _close(pooled[1, 4:], x[1, :, :6].std(dim=-1), "deviation of the valid frames (length - 1)")
    _close(pooled[0], torch.cat([x[0].mean(dim=-1), x[0].std(dim=-1)]), "full-length item")


def test_stats_pool_tap_is_the_mean():
    x = torch.randn(2, 4, 10)
    pooled = StatsPoolLayer(feat_in=4, pool_mode="tap")(x, torch.tensor([10, 3]))
    _close(pooled[1], x[1, :, :3].mean(dim=-1), "TAP mean")


def test_attentive_pool_weights_sum_to_one_over_valid_frames():
    pool = AttentivePoolLayer(inp_filters=4, attention_channels=3).eval()
    x = torch.ones(1, 4, 8) * torch.arange(1.0, 5.0).reshape(1, 4, 1)
    with torch.no_grad():
        pooled = pool(x, torch.tensor([5]))
    # A constant signal per channel: the weighted mean is that constant, the deviation ~0.
    _close(pooled[0, :4, 0], torch.arange(1.0, 5.0), "attentive mean of constant channels")
    assert pooled[0, 4:, 0].abs().max() < 1e-4


def _attention_over_repeated_statistics(layer: AttentivePoolLayer, x: torch.Tensor, length: torch.Tensor):
    """NeMo's formulation, written out: the statistics repeated over every frame, concatenated, convolved."""
    mask = (torch.arange(x.size(2))[None, :] < length[:, None]).unsqueeze(1)
    weights = mask / length[:, None, None]
    mean = (x * weights).sum(2)
    std = ((x - mean.unsqueeze(2)).pow(2) * weights).sum(2).clamp(min=layer.eps).sqrt()
    stats = torch.cat([mean, std], dim=1).unsqueeze(2).expand(-1, -1, x.size(2))
    scores = layer.attention_layer(torch.cat([x, stats], dim=1))
    alpha = torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=2)
    mu = (x * alpha).sum(2)
    sigma = ((x - mu.unsqueeze(2)).pow(2) * alpha).sum(2).clamp(min=layer.eps).sqrt()
    return torch.cat([mu, sigma], dim=1).unsqueeze(2)


@pytest.mark.parametrize("kernel_size", [1, 3])
def test_attentive_pool_equals_convolving_the_repeated_statistics(kernel_size):
    """Kernel 1 takes the per-utterance shortcut; kernel 3 (zero padding reaches the statistics) cannot."""
    torch.manual_seed(0)
    layer = AttentivePoolLayer(inp_filters=12, attention_channels=6, kernel_size=kernel_size)
    if kernel_size > 1:  # as in NeMo, the output convolution is unpadded and would shorten T: pad it here
        layer.attention_layer[2] = torch.nn.Conv1d(6, 12, kernel_size, padding=kernel_size // 2)
    with torch.no_grad():
        layer.attention_layer[0].conv_layer.bias.normal_()
    layer.train()
    x = torch.randn(3, 12, 20, requires_grad=True)
    length = torch.tensor([20, 13, 7])

    pooled = layer(x, length)
    (pooled * torch.linspace(-1, 1, 24).view(1, 24, 1)).sum().backward()
    grads = [x.grad.clone()] + [p.grad.clone() for p in layer.parameters()]
    x.grad = None
    layer.zero_grad()
    want = _attention_over_repeated_statistics(layer, x, length)
    (want * torch.linspace(-1, 1, 24).view(1, 24, 1)).sum().backward()
    want_grads = [x.grad] + [p.grad for p in layer.parameters()]

    _close(pooled, want, "pooled")
    for index, (found, expected) in enumerate(zip(grads, want_grads, strict=True)):
        _close(found, expected, f"gradient {index}")

"""HiFi-GAN building blocks against independent references: torch's own weight norm, the LSGAN formulas,
NeMo's generator configs (v1, v2, v3) and their output lengths."""

import pytest
import torch
import torch.nn.functional as F
from nemo.collections.tts.losses.hifigan_losses import DiscriminatorLoss, FeatureMatchingLoss, GeneratorLoss
from nemo.collections.tts.modules.hifigan_modules import (
    Generator,
    MultiPeriodDiscriminator,
    MultiScaleDiscriminator,
    WeightNormConv1d,
    WeightNormConvTranspose1d,
)
from torch.nn.utils.parametrizations import weight_norm

# NeMo 1.23's examples/tts/conf/hifigan/model/generator/*.yaml, channels narrowed for CPU tests.
GENERATORS = {
    "v1": dict(resblock=1, upsample_rates=[8, 8, 2, 2], upsample_kernel_sizes=[16, 16, 4, 4],
               resblock_kernel_sizes=[3, 7, 11], resblock_dilation_sizes=[[1, 3, 5]] * 3),
    "v2": dict(resblock=1, upsample_rates=[8, 8, 2, 2], upsample_kernel_sizes=[16, 16, 4, 4],
               resblock_kernel_sizes=[3, 7, 11], resblock_dilation_sizes=[[1, 3, 5]] * 3),
    "v3": dict(resblock=2, upsample_rates=[8, 8, 4], upsample_kernel_sizes=[16, 16, 8],
               resblock_kernel_sizes=[3, 5, 7], resblock_dilation_sizes=[[1, 2], [2, 6], [3, 12]]),
    "v1_44100": dict(resblock=1, upsample_rates=[8, 8, 4, 2], upsample_kernel_sizes=[16, 16, 4, 4],
                     resblock_kernel_sizes=[3, 7, 11], resblock_dilation_sizes=[[1, 3, 5]] * 3),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_generator_configs_upsample_by_the_hop(name: str) -> None:
    torch.manual_seed(0)
    generator = Generator(upsample_initial_channel=32, **GENERATORS[name]).eval()
    hop = 1
    for rate in GENERATORS[name]["upsample_rates"]:
        hop *= rate
    with torch.inference_mode():
        audio = generator(x=torch.randn(2, 80, 7))
    assert audio.shape == (2, 1, 7 * hop)
    assert audio.abs().max() <= 1
    block_keys = {k for k in generator.state_dict() if k.startswith("resblocks.0.0.")}
    expected = "convs1.0.weight_v" if GENERATORS[name]["resblock"] == 1 else "convs.0.weight_v"
    assert f"resblocks.0.0.{expected}" in block_keys


@pytest.mark.parametrize("name", ["v1", "v3"])
def test_inference_in_the_2d_layout_matches_the_1d_convolutions(name: str) -> None:
    torch.manual_seed(0)
    generator = Generator(upsample_initial_channel=64, **GENERATORS[name]).eval()
    mel = torch.randn(2, 80, 9)
    with torch.inference_mode():
        fast = generator(x=mel)  # CPU without autograd: the 2-D channels-last layout
    reference = generator(x=mel).detach()  # autograd on: the 1-D convolutions, as NeMo runs them
    assert fast.shape == reference.shape == (2, 1, 9 * 256)
    assert fast.is_contiguous()
    torch.testing.assert_close(fast, reference, rtol=0, atol=1e-6)


def test_weight_norm_conv_matches_torch_parametrization() -> None:
    torch.manual_seed(0)
    ours = WeightNormConv1d(6, 5, 3, padding=2, dilation=2)
    reference = weight_norm(torch.nn.Conv1d(6, 5, 3, padding=2, dilation=2))
    with torch.no_grad():
        reference.parametrizations.weight.original0.copy_(ours.weight_g * 1.5)
        reference.parametrizations.weight.original1.copy_(ours.weight_v)
        reference.bias.copy_(ours.bias)
        ours.weight_g.mul_(1.5)
    x = torch.randn(2, 6, 11, requires_grad=True)
    torch.testing.assert_close(ours(x), reference(x))
    ours(x).square().sum().backward()
    grad_ours = ours.weight_g.grad.clone()
    reference(x).square().sum().backward()
    torch.testing.assert_close(grad_ours, reference.parametrizations.weight.original0.grad)


def test_transposed_weight_norm_is_over_input_channels() -> None:
    conv = WeightNormConvTranspose1d(8, 4, 16, 8, padding=4)
    assert conv.weight_g.shape == (8, 1, 1) and conv.weight_v.shape == (8, 4, 16)
    reference = torch._weight_norm(conv.weight_v, conv.weight_g, 0)
    torch.testing.assert_close(reference.flatten(1).norm(dim=1), conv.weight_g.flatten())


def test_inference_cache_follows_weight_changes() -> None:
    torch.manual_seed(0)
    conv = WeightNormConv1d(4, 4, 3, padding=1).eval()
    x = torch.randn(1, 4, 9)
    with torch.inference_mode():
        first = conv(x)
    with torch.no_grad():
        conv.weight_v.mul_(-1)  # in place, as an optimizer step
    with torch.inference_mode():
        flipped = conv(x)
    torch.testing.assert_close(flipped - conv.bias[:, None], -(first - conv.bias[:, None]))
    conv.load_state_dict({k: v * 2 if k == "weight_g" else v for k, v in conv.state_dict().items()})
    with torch.inference_mode():
        doubled = conv(x)
    torch.testing.assert_close(doubled - conv.bias[:, None], 2 * (flipped - conv.bias[:, None]))


def test_remove_weight_norm_keeps_outputs_and_renames_keys() -> None:
    torch.manual_seed(0)
    generator = Generator(upsample_initial_channel=16, **GENERATORS["v3"]).eval()
    x = torch.randn(1, 80, 5)
    with torch.inference_mode():
        before = generator(x=x)
    generator.remove_weight_norm()
    with torch.inference_mode():
        after = generator(x=x)
    torch.testing.assert_close(after, before)
    keys = set(generator.state_dict())
    assert "conv_pre.weight" in keys and "conv_pre.weight_g" not in keys
    with pytest.raises(ValueError, match="already removed"):
        generator.conv_pre.remove_weight_norm()


def test_discriminators_batch_real_and_generated_like_separate_calls() -> None:
    torch.manual_seed(0)
    y, y_hat = torch.randn(2, 1, 1000), torch.randn(2, 1, 1000)
    for multi in (MultiPeriodDiscriminator(debug=True), MultiScaleDiscriminator(debug=True)):
        multi.eval()
        with torch.no_grad():
            real_scores, gen_scores, real_maps, gen_maps = multi(y=y, y_hat=y_hat)
            alone_real, alone_real_maps = multi.discriminate(y)
            alone_gen, alone_gen_maps = multi.discriminate(y_hat)
        for got, want in zip([*real_scores, *gen_scores], [*alone_real, *alone_gen]):
            torch.testing.assert_close(got, want)
        for got, want in zip(real_maps + gen_maps, alone_real_maps + alone_gen_maps):
            for a, b in zip(got, want):
                torch.testing.assert_close(a, b)


def test_period_discriminator_folds_and_reflect_pads() -> None:
    mpd = MultiPeriodDiscriminator(debug=True)
    _, fmaps = mpd.discriminators[2].forward(torch.randn(3, 1, 1001))  # period 5: 1001 -> 1005 samples
    assert fmaps[0].shape[-1] == 5 and len(fmaps) == 6
    assert fmaps[0].shape[-2] == (201 + 2 * 2 - 5) // 3 + 1


def test_losses_match_the_lsgan_formulas() -> None:
    torch.manual_seed(0)
    real = [torch.randn(2, 7), torch.randn(2, 3)]
    gen = [torch.randn(2, 7), torch.randn(2, 3)]
    loss, real_terms, gen_terms = DiscriminatorLoss()(disc_real_outputs=real, disc_generated_outputs=gen)
    expected_real = [float(((1 - r) ** 2).mean()) for r in real]
    expected_gen = [float((g**2).mean()) for g in gen]
    assert real_terms == pytest.approx(expected_real) and gen_terms == pytest.approx(expected_gen)
    assert float(loss) == pytest.approx(sum(expected_real) + sum(expected_gen))
    g_loss, g_terms = GeneratorLoss()(disc_outputs=gen)
    assert float(g_loss) == pytest.approx(sum(float(((1 - g) ** 2).mean()) for g in gen))
    assert len(g_terms) == 2 and all(t.ndim == 0 for t in g_terms)
    maps_r = [[torch.randn(2, 4, 5), torch.randn(2, 1, 3)], [torch.randn(2, 6)]]
    maps_g = [[torch.randn(2, 4, 5), torch.randn(2, 1, 3)], [torch.randn(2, 6)]]
    fm = FeatureMatchingLoss()(fmap_r=maps_r, fmap_g=maps_g)
    expected_fm = 2 * sum(F.l1_loss(g, r) for rs, gs in zip(maps_r, maps_g) for r, g in zip(rs, gs))
    torch.testing.assert_close(fm, expected_fm)


def test_frozen_generator_passes_gradients_to_its_input_after_inference() -> None:
    """A frozen vocoder used first for inference still backpropagates to its input (e.g. a mel loss upstream)."""
    torch.manual_seed(0)
    generator = Generator(upsample_initial_channel=16, **GENERATORS["v3"]).eval().requires_grad_(False)
    mel = torch.randn(1, 80, 4)
    with torch.inference_mode():
        expected = generator(x=mel)
    mel.requires_grad_(True)
    audio = generator(x=mel)
    torch.testing.assert_close(audio.detach(), expected)
    audio.square().sum().backward()
    assert mel.grad is not None and mel.grad.abs().sum() > 0


def test_2d_layout_follows_a_plain_weight_changed_in_place_after_removing_weight_norm() -> None:
    torch.manual_seed(0)
    conv = WeightNormConv1d(4, 4, 3, padding=1)
    conv.remove_weight_norm()
    x = torch.randn(1, 4, 10)
    with torch.no_grad():
        conv(x.unsqueeze(2))  # fills the channels-last cache
        conv.weight.mul_(2.0)
        planes = conv(x.unsqueeze(2).contiguous(memory_format=torch.channels_last)).squeeze(2)
        torch.testing.assert_close(planes, conv(x), rtol=0, atol=1e-6)

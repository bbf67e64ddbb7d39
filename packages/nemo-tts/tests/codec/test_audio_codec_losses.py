"""Audio codec losses, against hand calculations and torchmetrics' SI-SDR."""

import pytest
import torch
from nemo.collections.tts.losses.audio_codec_loss import (
    DiscriminatorHingedLoss,
    DiscriminatorSquaredLoss,
    FeatureMatchingLoss,
    GeneratorHingedLoss,
    GeneratorSquaredLoss,
    MaskedMAELoss,
    MaskedMSELoss,
    RelativeFeatureMatchingLoss,
    SISDRLoss,
    TimeDomainLoss,
)
from torchmetrics.functional.audio import scale_invariant_signal_distortion_ratio


def test_masked_losses_average_channels_and_divide_by_length():
    # Item 0: |d| = [[1, 2], [3, 0]] over 2 frames -> mean over D = [2, 1], sum 3, / len 2 = 1.5.
    # Item 1: |d| = [[4, 9], [0, 9]] with len 1 (frame 1 is zero in both tensors in practice, here it is not:
    # the loss does not mask, it divides by the length) -> mean over D = [2, 9], sum 11, / 1 = 11.
    predicted = torch.tensor([[[1.0, 2.0], [3.0, 0.0]], [[4.0, 9.0], [0.0, 9.0]]])
    target = torch.zeros(2, 2, 2)
    lengths = torch.tensor([2, 1])
    assert MaskedMAELoss()(predicted=predicted, target=target, target_len=lengths).item() == pytest.approx(
        6.25
    )
    assert (
        MaskedMAELoss(loss_scale=2.0)(predicted=predicted, target=target, target_len=lengths).item() == 12.5
    )
    # Squares: item 0 [[1, 4], [9, 0]] -> [5, 2] -> 7 / 2 = 3.5; item 1 [[16, 81], [0, 81]] -> [8, 81] -> 89.
    assert MaskedMSELoss()(predicted=predicted, target=target, target_len=lengths).item() == pytest.approx(
        46.25
    )


def test_masked_loss_rejects_length_mismatch():
    with pytest.raises(ValueError, match="frames"):
        MaskedMAELoss()(
            predicted=torch.zeros(1, 1, 3), target=torch.zeros(1, 1, 4), target_len=torch.tensor([3])
        )


def test_time_domain_loss_is_masked_mae_of_waveforms():
    real = torch.tensor([[0.0, 1.0, 2.0, 0.0]])
    gen = torch.tensor([[1.0, 1.0, 0.0, 0.0]])
    assert TimeDomainLoss()(
        audio_real=real, audio_gen=gen, audio_len=torch.tensor([3])
    ).item() == pytest.approx(1.0)


def test_si_sdr_matches_torchmetrics_on_each_unpadded_item():
    torch.manual_seed(3)
    lengths = torch.tensor([300, 120, 257])
    real = torch.randn(3, 300)
    gen = real + 0.3 * torch.randn(3, 300)
    mask = torch.arange(300).unsqueeze(0) < lengths.unsqueeze(1)
    real, gen = real * mask, gen * mask
    expected = torch.stack(
        [
            scale_invariant_signal_distortion_ratio(gen[i, :n], real[i, :n], zero_mean=True)
            for i, n in enumerate(lengths.tolist())
        ]
    ).mean()
    loss = SISDRLoss()(audio_real=real, audio_gen=gen, audio_len=lengths)
    torch.testing.assert_close(loss, -expected, rtol=1e-5, atol=1e-5)


def test_feature_matching_losses():
    real = [[torch.ones(1, 4), torch.full((1, 2), 2.0)], [torch.zeros(1, 3)]]
    gen = [[torch.zeros(1, 4), torch.full((1, 2), 1.0)], [torch.full((1, 3), 3.0)]]
    # Discriminator 0: layers 1 and 1 -> mean 1; discriminator 1: 3 -> total (1 + 3) / 2 = 2.
    assert FeatureMatchingLoss()(fmaps_real=real, fmaps_gen=gen).item() == pytest.approx(2.0)
    # Relative: layer errors / (|real| + 1e-3): 1 / 1.001, 1 / 2.001; 3 / 0.001.
    expected = ((1 / 1.001 + 1 / 2.001) / 2 + 3 / 0.001) / 2
    assert RelativeFeatureMatchingLoss()(fmaps_real=real, fmaps_gen=gen).item() == pytest.approx(
        expected, rel=1e-5
    )


def test_gan_losses():
    real = [torch.tensor([[[2.0, 0.5]]]), torch.tensor([[[0.0, 1.0]]])]
    gen = [torch.tensor([[[-2.0, 0.5]]]), torch.tensor([[[1.0, -0.5]]])]
    # Generator hinge: mean(relu(1 - g)) = [mean(3, 0.5), mean(0, 1.5)] = [1.75, 0.75] -> 1.25.
    assert GeneratorHingedLoss()(disc_scores_gen=gen).item() == pytest.approx(1.25)
    # Generator squared: mean((1 - g)^2) = [(9 + 0.25) / 2, (0 + 2.25) / 2] -> (4.625 + 1.125) / 2.
    assert GeneratorSquaredLoss()(disc_scores_gen=gen).item() == pytest.approx(2.875)
    # Discriminator hinge: D0 real relu(1-r) = [0, .5] -> .25, gen relu(1+g) = [0, 1.5] -> .75 => .5;
    # D1 real [1, 0] -> .5, gen [2, .5] -> 1.25 => .875. Mean .6875.
    assert DiscriminatorHingedLoss()(disc_scores_real=real, disc_scores_gen=gen).item() == pytest.approx(
        0.6875
    )
    # Discriminator squared: D0 real [1, .25] -> .625, gen [4, .25] -> 2.125 => 1.375;
    # D1 real [1, 0] -> .5, gen [1, .25] -> .625 => .5625. Mean .96875.
    assert DiscriminatorSquaredLoss()(disc_scores_real=real, disc_scores_gen=gen).item() == pytest.approx(
        0.96875
    )

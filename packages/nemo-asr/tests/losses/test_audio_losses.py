"""SDR helpers and SDRLoss against torchmetrics, least-squares fits and values from NeMo 1.23."""

import numpy as np
import pytest
import scipy.linalg
import torch
from nemo.collections.asr.losses import SDRLoss
from nemo.collections.asr.losses.audio_losses import (
    calculate_sdr_batch,
    convolution_invariant_target,
    scale_invariant_target,
    temporal_mean,
)
from torchmetrics.functional.audio import scale_invariant_signal_distortion_ratio, signal_noise_ratio


def _signals(seed: int, shape=(3, 2, 60)) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    target = torch.randn(*shape, generator=generator, dtype=torch.float64)
    return target + 0.4 * torch.randn(*shape, generator=generator, dtype=torch.float64), target


def test_temporal_mean_over_valid_samples():
    x = torch.arange(12.0).reshape(2, 1, 6)
    torch.testing.assert_close(temporal_mean(x), x.mean(-1))
    lengths = torch.tensor([2, 5])
    torch.testing.assert_close(temporal_mean(x, input_length=lengths, eps=0.0), torch.tensor([[0.5], [8.0]]))
    mask = torch.tensor([[1, 0, 1, 0, 0, 0], [0, 0, 0, 0, 0, 1]])
    torch.testing.assert_close(
        temporal_mean(x, mask=mask, keepdim=True, eps=0.0), torch.tensor([[[1.0]], [[11.0]]])
    )
    with pytest.raises(RuntimeError, match="only one of them"):
        temporal_mean(x, input_length=lengths, mask=mask)


def test_sdr_matches_torchmetrics_snr_and_si_sdr():
    estimate, target = _signals(0)
    torch.testing.assert_close(
        calculate_sdr_batch(estimate, target, eps=0.0), signal_noise_ratio(estimate, target, zero_mean=True)
    )
    torch.testing.assert_close(
        calculate_sdr_batch(estimate, target, scale_invariant=True, eps=1e-12),
        scale_invariant_signal_distortion_ratio(estimate, target, zero_mean=True),
    )


def test_lengths_and_masks_restrict_the_sdr_to_valid_samples():
    estimate, target = _signals(1)
    lengths = torch.tensor([60, 31, 7])
    by_length = calculate_sdr_batch(estimate, target, input_length=lengths, eps=0.0)
    mask = torch.zeros(3, 60)
    for b, length in enumerate(lengths.tolist()):
        expected = signal_noise_ratio(estimate[b, :, :length], target[b, :, :length], zero_mean=True)
        torch.testing.assert_close(by_length[b], expected)
        mask[b, :length] = 1
    torch.testing.assert_close(calculate_sdr_batch(estimate, target, mask=mask, eps=0.0), by_length)


def test_invariant_targets_are_least_squares_fits():
    estimate, target = _signals(2, shape=(1, 1, 50))
    e, t = estimate[0, 0].numpy(), target[0, 0].numpy()
    gain = np.dot(e, t) / np.dot(t, t)
    np.testing.assert_allclose(scale_invariant_target(estimate, target)[0, 0].numpy(), gain * t, rtol=1e-7)
    # Full-length convolution matrix and zero-padded estimate: the normal equations of full correlations.
    taps = 4
    matrix = scipy.linalg.toeplitz(np.r_[t, np.zeros(taps - 1)], np.r_[t[0], np.zeros(taps - 1)])
    solution, *_ = np.linalg.lstsq(matrix, np.r_[e, np.zeros(taps - 1)], rcond=None)
    fitted = convolution_invariant_target(estimate, target, filter_length=taps)[0, 0].numpy()
    np.testing.assert_allclose(fitted, (matrix @ solution)[:50], atol=1e-5)
    # Past the valid length the targets are zero.
    lengths = torch.tensor([20])
    assert torch.all(scale_invariant_target(estimate, target, input_length=lengths)[..., 20:] == 0)
    assert torch.all(
        convolution_invariant_target(estimate, target, input_length=lengths, filter_length=2)[..., 20:] == 0
    )


def test_sdr_loss_values_computed_with_nemo():
    rng = np.random.default_rng(0)
    rng.normal(size=64), rng.normal(size=64)  # the draws NeMo's script used first for another value
    x = torch.tensor(rng.normal(size=(2, 2, 40)))
    y = x + 0.5 * torch.tensor(rng.normal(size=(2, 2, 40)))
    # Printed once by NeMo 1.23's SDRLoss (/tmp/nemo-ref venv) on these inputs.
    loss = SDRLoss(convolution_invariant=True, convolution_filter_length=3)
    assert loss(estimate=y, target=x, input_length=torch.tensor([40, 25])).item() == pytest.approx(
        -7.533647503898024, abs=1e-9
    )
    mask = torch.tensor(rng.integers(0, 2, size=(2, 40)))
    weighted = SDRLoss(weight=[0.25, 0.75], sdr_max=20)
    assert weighted(estimate=y, target=x, mask=mask).item() == pytest.approx(-5.544012685540384, abs=1e-9)
    assert list(weighted.state_dict()) == ["weight"] and list(loss.state_dict()) == []


def test_sdr_loss_is_minus_the_weighted_channel_sdr():
    estimate, target = _signals(3)
    sdr = signal_noise_ratio(estimate, target, zero_mean=True)  # (B, C)
    loss = SDRLoss(weight=[0.2, 0.8], eps=0.0)(estimate=estimate, target=target)
    torch.testing.assert_close(loss, -(0.2 * sdr[:, 0] + 0.8 * sdr[:, 1]).mean())
    # sdr_max bounds the ratio softly: a perfect estimate scores exactly sdr_max.
    perfect = SDRLoss(sdr_max=15.0, eps=0.0)(estimate=target, target=target)
    assert perfect.item() == pytest.approx(-15.0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"weight": [0.5, -0.5]}, "positive"),
        ({"weight": [0.5, 0.6]}, "sum to one"),
        ({"reduction": "sum"}, "only 'mean'"),
        ({"scale_invariant": True, "convolution_invariant": True}, "cannot both be set"),
    ],
)
def test_sdr_loss_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SDRLoss(**kwargs)

"""Cents, bins, targets and decoding against independent computations; the features on a pure tone."""

from __future__ import annotations

import math

import pytest

pytest.importorskip(
    "nemo_pitch", reason="nemo_pitch is not installed; install it with `pip install -e examples/nemo-pitch`"
)

import torch
from nemo_pitch.cents import (
    bin_centres,
    cents_to_hz,
    decode_cents,
    gaussian_targets,
    hz_to_cents,
    number_of_bins,
)
from nemo_pitch.features import LogSpectrogram

SAMPLE_RATE = 16000


def test_cents_follow_1200_log2_of_f_over_10_hz():
    frequencies = [10.0, 20.0, 65.4, 220.0, 440.0, 1046.5]
    expected = [1200.0 * math.log2(f / 10.0) for f in frequencies]
    cents = hz_to_cents(torch.tensor(frequencies, dtype=torch.float64))
    assert cents.tolist() == pytest.approx(expected, abs=1e-9)
    assert cents_to_hz(cents).tolist() == pytest.approx(frequencies, rel=1e-12)


def test_bins_are_20_cents_apart_from_fmin_and_cover_fmax():
    n_bins = number_of_bins(65.4, 1046.5, 20.0)
    centres = bin_centres(65.4, n_bins, 20.0)
    assert n_bins == 242  # 4 octaves and a little: ceil(1200 * log2(1046.5 / 65.4) / 20) = 241 steps
    assert centres[0].item() == pytest.approx(1200.0 * math.log2(6.54), abs=1e-3)
    assert torch.diff(centres).tolist() == pytest.approx([20.0] * (n_bins - 1), abs=1e-3)
    assert centres[-1].item() >= 1200.0 * math.log2(104.65)
    with pytest.raises(ValueError, match="fmin_hz < fmax_hz"):
        number_of_bins(500.0, 100.0, 20.0)


def test_a_blurred_target_decodes_back_to_its_pitch_between_bins():
    centres = bin_centres(65.4, 242, 20.0)
    for hz in (98.0, 220.0, 261.63, 440.0):
        target = gaussian_targets(hz_to_cents(torch.tensor([hz])), centres, 25.0)
        assert target.sum().item() == pytest.approx(1.0, abs=1e-6)
        decoded = cents_to_hz(decode_cents(torch.log(target), centres, window=4))
        assert 1200.0 * math.log2(decoded.item() / hz) == pytest.approx(0.0, abs=1.0)  # within 1 cent


def test_decoding_is_a_weighted_average_of_the_bins_around_the_argmax_only():
    centres = torch.tensor([0.0, 20.0, 40.0, 60.0, 80.0, 100.0])
    # The bin at 0 cents is far from the argmax (80): it must not pull the estimate.
    probabilities = torch.tensor([0.30, 0.0, 0.0, 0.10, 0.40, 0.20])
    logits = torch.log(probabilities.clamp_min(1e-30))
    expected = (0.10 * 60.0 + 0.40 * 80.0 + 0.20 * 100.0) / 0.70
    assert decode_cents(logits, centres, window=1).item() == pytest.approx(expected, abs=1e-4)
    assert decode_cents(logits, centres, window=0).item() == pytest.approx(80.0)
    edge = torch.log(torch.tensor([0.7, 0.3, 0.0, 0.0, 0.0, 0.0]).clamp_min(1e-30))
    assert decode_cents(edge, centres, window=2).item() == pytest.approx(0.3 * 20.0, abs=1e-4)


def test_a_220_hz_tone_peaks_in_its_spectrogram_bin_on_the_tracks_frame_grid():
    features = LogSpectrogram(sample_rate=SAMPLE_RATE, n_fft=1024, hop_length=160, max_freq_hz=4000.0)
    time = torch.arange(SAMPLE_RATE) / SAMPLE_RATE
    tone = 0.5 * torch.sin(2 * math.pi * 220.0 * time)
    signal = torch.zeros(2, SAMPLE_RATE)
    signal[0] = tone
    signal[1, :8000] = tone[:8000]
    spectrum, lengths = features(input_signal=signal, length=torch.tensor([SAMPLE_RATE, 8000]))
    assert features.n_bins == 257 and spectrum.shape == (2, 257, 101)
    assert lengths.tolist() == [101, 51]  # 1 + T // 160, as the reference tracks
    assert spectrum[0, :, 10:90].argmax(dim=0).unique().tolist() == [round(220.0 * 1024 / SAMPLE_RATE)]
    assert spectrum[1, :, 51:].abs().max().item() == 0.0  # frames past a clip's end are zeroed

"""audio_utils against independent references: closed forms, numpy/scipy, and values from NeMo 1.23."""

import math

import numpy as np
import pytest
import scipy.linalg
import scipy.signal
import soundfile as sf
import torch
from nemo.collections.asr.parts.utils import audio_utils as au


def test_level_conversions_match_their_definitions():
    mag = np.array([0.1, 1.0, 3.0])
    np.testing.assert_allclose(au.mag2db(mag), [-20.0, 0.0, 20 * math.log10(3.0)], atol=1e-9)
    np.testing.assert_allclose(au.db2mag(np.array([-20.0, 0.0, 6.0])), [0.1, 1.0, 10**0.3])
    assert au.db2mag(20.0) == pytest.approx(10.0)
    np.testing.assert_allclose(au.pow2db(mag**2), au.mag2db(mag), atol=1e-9)
    # RMS of a full-period sine is its amplitude over sqrt(2).
    assert au.rms(2.0 * np.sin(np.linspace(0, 2 * np.pi, 1000, endpoint=False))) == pytest.approx(
        math.sqrt(2)
    )


def test_theoretical_coherence_is_sinc_of_the_mic_distance():
    positions = np.array([[0.0, 0.0, 0.0], [0.03, 0.04, 0.0]])  # 5 cm apart
    coherence = au.theoretical_coherence(positions, sample_rate=16000, fft_length=8)
    assert coherence.shape == (5, 2, 2)
    for f in range(5):
        argument = 2 * np.pi * 16000 * f / 8 * 0.05 / au.SOUND_VELOCITY
        expected = 1.0 if f == 0 else math.sin(argument) / argument
        assert coherence[f, 0, 1] == pytest.approx(expected) and coherence[f, 1, 0] == pytest.approx(expected)
        assert coherence[f, 0, 0] == 1.0
    with pytest.raises(ValueError, match="only 'spherical'"):
        au.theoretical_coherence(positions, sample_rate=16000, field="cylindrical")
    with pytest.raises(ValueError, match="at least 2 microphones"):
        au.theoretical_coherence(positions[:1], sample_rate=16000)


def test_estimated_coherence_of_a_scaled_copy_is_one():
    rng = np.random.default_rng(0)
    first = rng.normal(size=(3, 50)) + 1j * rng.normal(size=(3, 50))
    S = np.stack([first, -2.0 * first, rng.normal(size=(3, 50))], axis=-1)  # (F, N, M)
    coherence = au.estimated_coherence(S)
    np.testing.assert_allclose(coherence[:, 0, 1], -1.0, atol=1e-9)
    np.testing.assert_allclose(coherence[:, 1, 0], -1.0, atol=1e-9)
    np.testing.assert_allclose(np.diagonal(coherence, axis1=1, axis2=2), 1.0)
    # Hand formula for one pair: mean cross-spectrum over the geometric mean of the PSDs.
    psd = np.mean(np.abs(S) ** 2, axis=1)
    expected = np.mean(S[:, :, 0] * S[:, :, 2].conj(), axis=1) / np.sqrt(psd[:, 0] * psd[:, 2])
    np.testing.assert_allclose(coherence[:, 0, 2], expected, rtol=1e-9)


@pytest.mark.parametrize("method", ["cholesky", "evd"])
def test_generated_noise_field_has_the_diffuse_coherence(method):
    """Coherence measured with scipy.signal.csd (Welch) matches the spherical-field model."""
    rng = np.random.default_rng(1)
    sample_rate, fft_length = 8000, 256
    positions = np.array([[0.0, 0.0, 0.0], [0.08, 0.0, 0.0], [0.16, 0.0, 0.0]])
    noise = rng.normal(size=(sample_rate * 8, 3)) * np.array([1.0, 3.0, 0.5])
    field = au.generate_approximate_noise_field(
        positions, noise, sample_rate=sample_rate, fft_length=fft_length, method=method
    )
    assert field.shape == noise.shape
    expected = au.theoretical_coherence(positions, sample_rate=sample_rate, fft_length=fft_length)
    for p, q in [(0, 1), (0, 2), (1, 2)]:
        _, cross = scipy.signal.csd(field[:, p], field[:, q], nperseg=fft_length)
        _, auto_p = scipy.signal.welch(field[:, p], nperseg=fft_length)
        _, auto_q = scipy.signal.welch(field[:, q], nperseg=fft_length)
        measured = cross / np.sqrt(auto_p * auto_q)
        assert np.mean((measured.real[1:] - expected[1:, p, q]) ** 2) < 2e-3
        assert np.mean(measured.imag[1:] ** 2) < 2e-3


def test_correlated_channels_are_refused():
    rng = np.random.default_rng(2)
    channel = rng.normal(size=4000)
    with pytest.raises(RuntimeError, match="corrcoef_threshold"):
        au.transform_to_match_coherence(np.stack([channel, channel], axis=1), np.ones((5, 2, 2)))


def test_get_segment_start_and_sdr_closed_forms():
    rng = np.random.default_rng(3)
    signal = rng.normal(size=500)
    assert au.get_segment_start(signal, signal[123:321]) == 123
    with pytest.raises(ValueError, match="shorter"):
        au.get_segment_start(signal[:10], signal)

    target = rng.normal(size=400)
    for sdr_db in (-5, 0, 12):
        estimate = target * (1 + 10 ** (-sdr_db / 20))  # distortion power is 10^(-sdr/10) of the target's
        assert au.calculate_sdr_numpy(estimate, target, remove_mean=False) == pytest.approx(sdr_db, abs=1e-6)
    # A scaled target is perfect under scale invariance (capped only by eps).
    assert au.calculate_sdr_numpy(3 * target, target, scale_invariant=True) > 70
    with pytest.raises(ValueError, match="cannot both be set"):
        au.calculate_sdr_numpy(target, target, scale_invariant=True, convolution_invariant=True)


def test_sdr_values_computed_with_nemo():
    rng = np.random.default_rng(0)
    target = rng.normal(size=64)
    estimate = target + 0.3 * rng.normal(size=64)
    # Both values printed once by NeMo 1.23's calculate_sdr_numpy (/tmp/nemo-ref venv) on these inputs.
    ci = au.calculate_sdr_numpy(estimate, target, convolution_invariant=True, convolution_filter_length=4)
    assert ci == pytest.approx(9.471025271499968, abs=1e-9)
    assert au.calculate_sdr_numpy(estimate, target, sdr_max=5.0) == pytest.approx(3.746694966965949, abs=1e-9)


def test_invariant_targets_are_least_squares_fits():
    rng = np.random.default_rng(4)
    target = rng.normal(size=120)
    estimate = np.convolve(target, [0.8, -0.3, 0.1])[:120] + 0.05 * rng.normal(size=120)
    # Brute-force reference: least squares over the explicit (full, T + taps - 1 rows) convolution matrix
    # against the zero-padded estimate, i.e. the normal equations of the full correlations.
    taps = 5
    column = np.r_[target, np.zeros(taps - 1)]
    matrix = scipy.linalg.toeplitz(column, np.r_[target[0], np.zeros(taps - 1)])
    solution, *_ = np.linalg.lstsq(matrix, np.r_[estimate, np.zeros(taps - 1)], rcond=None)
    fitted = au.convolution_invariant_target_numpy(estimate, target, filter_length=taps)
    np.testing.assert_allclose(fitted, (matrix @ solution)[:120], atol=1e-5)
    gain = np.dot(estimate, target) / np.dot(target, target)
    np.testing.assert_allclose(au.scale_invariant_target_numpy(estimate, target), gain * target, rtol=1e-6)


@pytest.mark.parametrize("delay", [0, 3])
def test_convolution_matrices_match_np_convolve(delay):
    rng = np.random.default_rng(5)
    x = rng.normal(size=(40, 2))
    h = rng.normal(size=(6, 2))
    matrix = au.convmtx_mc_numpy(x, filter_length=6, delay=delay)
    assert matrix.shape == (40, 12)
    expected = sum(np.convolve(np.r_[np.zeros(delay), x[:, m]], h[:, m])[:40] for m in range(2))
    np.testing.assert_allclose(matrix @ h.T.reshape(-1), expected, atol=1e-12)
    assert au.convmtx_numpy(x[:, 0], filter_length=3, n_steps=50).shape == (50, 3)
    with pytest.raises(ValueError, match="one-dimensional"):
        au.convmtx_numpy(x, filter_length=3)


def test_toeplitz_matches_scipy_and_wrap_to_pi():
    x = torch.randn(2, 3, 7, dtype=torch.float64)
    out = au.toeplitz(x)
    assert out.shape == (2, 3, 7, 7)
    for b in range(2):
        for c in range(3):
            np.testing.assert_array_equal(out[b, c].numpy(), scipy.linalg.toeplitz(x[b, c].numpy()))
    angles = torch.tensor([0.0, 3 * math.pi / 2, -3 * math.pi / 2, 7.0])
    expected = torch.tensor([0.0, -math.pi / 2, math.pi / 2, 7.0 - 2 * math.pi])
    torch.testing.assert_close(au.wrap_to_pi(angles), expected)


def test_get_samples_reads_channels_first_and_resamples(tmp_path):
    rng = np.random.default_rng(6)
    samples = rng.uniform(-0.5, 0.5, size=(800, 2)).astype(np.float32)
    path = tmp_path / "two.wav"
    sf.write(path, samples, 8000, subtype="FLOAT")
    np.testing.assert_array_equal(au.get_samples(str(path), target_sr=8000), samples.T)
    resampled = au.get_samples(str(path), target_sr=16000)
    assert resampled.shape == (2, 1600) and resampled.dtype == np.float32
    np.testing.assert_allclose(resampled, scipy.signal.resample_poly(samples, 2, 1, axis=0).T, atol=1e-6)


def test_select_channels_is_shared_with_audio_segment():
    signal = np.arange(12.0).reshape(6, 2)
    np.testing.assert_array_equal(au.select_channels(signal, "average"), signal.mean(axis=1))
    np.testing.assert_array_equal(au.select_channels(signal, [1]), signal[:, 1])
    with pytest.raises(ValueError):
        au.select_channels(signal, 2)

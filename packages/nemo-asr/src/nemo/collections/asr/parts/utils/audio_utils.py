"""Signal-processing helpers for (multi-channel) audio, under NeMo 1.23's names.

* levels: :func:`rms`, :func:`mag2db`, :func:`db2mag`, :func:`pow2db`;
* reading: :func:`get_samples` (soundfile + polyphase resampling), :func:`select_channels`;
* diffuse noise: :func:`theoretical_coherence`, :func:`estimated_coherence`,
  :func:`transform_to_match_coherence`, :func:`generate_approximate_noise_field`;
* signal-to-distortion ratio on numpy arrays: :func:`calculate_sdr_numpy`, with the
  :func:`scale_invariant_target_numpy` / :func:`convolution_invariant_target_numpy` targets;
* matrices: :func:`convmtx_numpy`, :func:`convmtx_mc_numpy` (numpy) and :func:`toeplitz` (torch, batched);
* misc: :func:`get_segment_start`, :func:`wrap_to_pi`, :func:`sinc_unnormalized`.

Numpy arrays hold time along the first axis, ``(T,)`` or ``(T, C)``; torch tensors along the last.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import scipy.linalg
import scipy.signal
import soundfile as sf
import torch
from nemo.collections.asr.parts.preprocessing.segment import ChannelSelectorType, select_channels
from scipy.spatial.distance import pdist, squareform

__all__ = [
    "SOUND_VELOCITY",
    "ChannelSelectorType",
    "calculate_sdr_numpy",
    "convmtx_mc_numpy",
    "convmtx_numpy",
    "convolution_invariant_target_numpy",
    "db2mag",
    "estimated_coherence",
    "generate_approximate_noise_field",
    "get_samples",
    "get_segment_start",
    "mag2db",
    "pow2db",
    "rms",
    "scale_invariant_target_numpy",
    "select_channels",
    "sinc_unnormalized",
    "theoretical_coherence",
    "toeplitz",
    "transform_to_match_coherence",
    "wrap_to_pi",
]

SOUND_VELOCITY = 343.0
"""Speed of sound in air, m/s."""


# ----------------------------------------------------------------------------------------------------------------
# Levels
# ----------------------------------------------------------------------------------------------------------------


def rms(x: np.ndarray) -> float:
    """Root mean square of all values of ``x`` (any shape, real or complex)."""
    return np.sqrt(np.mean(np.abs(x) ** 2))


def mag2db(mag: float | np.ndarray, eps: float | None = 1e-16) -> float | np.ndarray:
    """Magnitude (amplitude) ratio to dB: ``20 log10(mag + eps)``."""
    return 20 * np.log10(mag + (eps or 0.0))


def db2mag(db: float | np.ndarray) -> float | np.ndarray:
    """dB to magnitude (amplitude) ratio: ``10 ** (db / 20)``."""
    return 10 ** (db / 20)


def pow2db(power: float | np.ndarray, eps: float | None = 1e-16) -> float | np.ndarray:
    """Power ratio to dB: ``10 log10(power + eps)``."""
    return 10 * np.log10(power + (eps or 0.0))


# ----------------------------------------------------------------------------------------------------------------
# Reading audio
# ----------------------------------------------------------------------------------------------------------------


def get_samples(audio_file: str, target_sr: int = 16000, dtype: str = "float32") -> np.ndarray:
    """Read a whole audio file and resample it to ``target_sr``.

    Resampling is polyphase filtering (``scipy.signal.resample_poly``) with the smallest integer up/down factors.

    Args:
        audio_file: path of any file soundfile reads (WAV, FLAC, OGG...).
        target_sr: output sample rate in Hz.
        dtype: sample type read from the file (``"float32"``, ``"float64"``, ``"int16"``, ``"int32"``).

    Returns:
        Samples, ``(T,)`` for a mono file and ``(C, T)`` (channels first) for a multi-channel file.
    """
    samples, sample_rate = sf.read(audio_file, dtype=dtype, always_2d=False)
    if sample_rate != target_sr:
        ratio = Fraction(int(target_sr), int(sample_rate))
        resampled = scipy.signal.resample_poly(samples, ratio.numerator, ratio.denominator, axis=0)
        samples = resampled.astype(samples.dtype if np.issubdtype(samples.dtype, np.floating) else np.float32)
    return samples.T


# ----------------------------------------------------------------------------------------------------------------
# Spatial coherence of diffuse noise
# ----------------------------------------------------------------------------------------------------------------


def sinc_unnormalized(x: float | np.ndarray) -> float | np.ndarray:
    """``sin(x) / x`` (1 at 0); numpy's ``sinc`` is the normalized ``sin(pi x) / (pi x)``."""
    return np.sinc(np.asarray(x) / np.pi)


def theoretical_coherence(
    mic_positions: np.ndarray,
    sample_rate: float,
    field: str = "spherical",
    fft_length: int = 512,
    sound_velocity: float = SOUND_VELOCITY,
) -> np.ndarray:
    """Coherence between microphones in an ideal diffuse noise field.

    For a spherically isotropic field the coherence of mics p and q at angular frequency w is
    ``sin(w d_pq / c) / (w d_pq / c)`` with ``d_pq`` their distance.

    Args:
        mic_positions: (M, 3) Cartesian positions in metres, M >= 2.
        sample_rate: sample rate in Hz.
        field: noise field model; only ``"spherical"`` is known.
        fft_length: FFT length, giving ``fft_length // 2 + 1`` subbands.
        sound_velocity: speed of sound in m/s.

    Returns:
        (F, M, M) real coherence, symmetric with ones on the diagonal.
    """
    mic_positions = np.asarray(mic_positions)
    if mic_positions.ndim != 2 or mic_positions.shape[1] != 3:
        raise ValueError(f"mic_positions must have shape (num_mics, 3), got {mic_positions.shape}.")
    num_mics = mic_positions.shape[0]
    if num_mics < 2:
        raise ValueError(f"theoretical_coherence needs at least 2 microphones, got {num_mics}.")
    if field != "spherical":
        raise ValueError(f"Unknown noise field {field!r}; only 'spherical' is supported.")
    distances = squareform(pdist(mic_positions))  # (M, M)
    omega = 2 * np.pi * sample_rate * np.arange(fft_length // 2 + 1) / fft_length  # (F,)
    return sinc_unnormalized(omega[:, None, None] * distances[None] / sound_velocity)


def estimated_coherence(S: np.ndarray, eps: float = 1e-16) -> np.ndarray:
    """Coherence of an STFT-domain multi-channel signal, averaged over frames.

    Args:
        S: (F, N, M) STFT, subbands x frames x channels, M >= 2.
        eps: added to the product of the two power spectral densities before the square root.

    Returns:
        (F, M, M) complex coherence, Hermitian with ones on the diagonal.
    """
    if S.ndim != 3:
        raise ValueError(f"estimated_coherence expects an STFT of shape (F, N, M), got {S.shape}.")
    num_channels = S.shape[-1]
    if num_channels < 2:
        raise ValueError(f"estimated_coherence needs at least 2 channels, got {num_channels}.")
    cross_psd = np.einsum("fnp,fnq->fpq", S, S.conj()) / S.shape[1]  # (F, M, M)
    psd = np.real(np.diagonal(cross_psd, axis1=1, axis2=2))  # (F, M)
    coherence = cross_psd / np.sqrt(psd[:, :, None] * psd[:, None, :] + eps)
    diagonal = np.arange(num_channels)
    coherence[:, diagonal, diagonal] = 1.0
    return coherence


def _coherence_mixing_matrices(desired_coherence: np.ndarray, method: str) -> np.ndarray:
    """Per-subband ``B`` with ``B B^H = desired_coherence``, so that ``B s`` has that coherence: (F, M, M).

    ``"cholesky"``: the lower Cholesky factor. ``"evd"``: the principal square root ``V sqrt(W) V^H`` from the
    eigendecomposition (negative round-off eigenvalues clipped to 0); unlike ``V sqrt(W)`` it does not depend on
    the eigenvectors' arbitrary signs, so it varies smoothly across subbands.
    """
    if method == "cholesky":
        return np.linalg.cholesky(desired_coherence)
    if method == "evd":
        eigenvalues, eigenvectors = np.linalg.eigh(desired_coherence)
        scaled = eigenvectors * np.sqrt(np.clip(eigenvalues, 0.0, None))[:, None, :]
        return scaled @ eigenvectors.conj().swapaxes(-1, -2)
    raise ValueError(f"Unknown method {method!r} for the coherence decomposition; use 'cholesky' or 'evd'.")


def transform_to_match_coherence(
    signal: np.ndarray,
    desired_coherence: np.ndarray,
    method: str = "cholesky",
    ref_channel: int = 0,
    corrcoef_threshold: float = 0.2,
) -> np.ndarray:
    """Mix independent channels so that their coherence approximates ``desired_coherence``.

    The channels lose their mean and are scaled to the power of ``ref_channel``; each STFT subband
    (Hann window, hop of a quarter FFT) except DC is then multiplied by a factor of the desired coherence
    (Habets, Cohen & Gannot, JASA 124(5), 2008).

    Args:
        signal: (T, M) mutually independent (uncorrelated) channels.
        desired_coherence: (F, M, M) target coherence, F = fft_length // 2 + 1.
        method: factorization of the coherence, ``"cholesky"`` or ``"evd"`` (eigendecomposition).
        ref_channel: channel whose power every channel is scaled to.
        corrcoef_threshold: largest allowed absolute correlation coefficient between input channels.

    Returns:
        (T, M) signal with approximately the desired coherence.
    """
    num_samples, num_channels = signal.shape
    num_subbands = desired_coherence.shape[0]
    if desired_coherence.shape[1:] != (num_channels, num_channels):
        raise ValueError(
            f"desired_coherence has shape {desired_coherence.shape}; expected (F, {num_channels}, {num_channels}) "
            f"for a signal with {num_channels} channels."
        )
    signal = signal - signal.mean(axis=0)
    power = np.mean(np.abs(signal) ** 2, axis=0)
    signal = signal * np.sqrt(power[ref_channel] / power)

    correlation = np.corrcoef(signal.T)
    np.fill_diagonal(correlation, 0.0)
    if np.max(np.abs(correlation)) > corrcoef_threshold:
        raise RuntimeError(
            f"Input channels must be independent, but their largest correlation coefficient is "
            f"{np.max(np.abs(correlation)):.3f} > corrcoef_threshold={corrcoef_threshold}."
        )

    fft_length = 2 * (num_subbands - 1)
    stft_args = {"window": "hann", "nperseg": fft_length, "noverlap": fft_length - fft_length // 4}
    _, _, spectrum = scipy.signal.stft(signal.T, **stft_args)  # (M, F, N)
    mixing = _coherence_mixing_matrices(desired_coherence[1:], method)  # (F - 1, M, M)
    mixed = np.zeros_like(spectrum)
    # mixed[:, f, n] = B[f] @ spectrum[:, f, n] for every subband but DC
    mixed[:, 1:, :] = np.einsum("fmk,kfn->mfn", mixing, spectrum[:, 1:, :])
    _, output = scipy.signal.istft(mixed, **stft_args)
    return output[:, :num_samples].T


def generate_approximate_noise_field(
    mic_positions: np.ndarray,
    noise_signal: np.ndarray,
    sample_rate: float,
    field: str = "spherical",
    fft_length: int = 512,
    method: str = "cholesky",
    sound_velocity: float = SOUND_VELOCITY,
) -> np.ndarray:
    """Turn independent noise channels into a (approximately) diffuse noise field at the given microphones.

    Args:
        mic_positions: (M, 3) microphone positions in metres.
        noise_signal: (T, M) mutually independent noise channels.
        sample_rate: sample rate in Hz.
        field: noise field model, see :func:`theoretical_coherence`.
        fft_length: even FFT length of the subband processing.
        method: coherence factorization, see :func:`transform_to_match_coherence`.
        sound_velocity: speed of sound in m/s.

    Returns:
        (T, M) noise whose coherence approximates the field's.
    """
    if fft_length % 2:
        raise ValueError(f"fft_length must be even, got {fft_length}.")
    coherence = theoretical_coherence(
        mic_positions,
        sample_rate=sample_rate,
        field=field,
        fft_length=fft_length,
        sound_velocity=sound_velocity,
    )
    return transform_to_match_coherence(noise_signal, coherence, method=method)


# ----------------------------------------------------------------------------------------------------------------
# Signal-to-distortion ratio (numpy)
# ----------------------------------------------------------------------------------------------------------------


def get_segment_start(signal: np.ndarray, segment: np.ndarray) -> int:
    """Index of ``signal`` where its excerpt ``segment`` starts (peak of their cross-correlation).

    Args:
        signal: (T,) signal.
        segment: (L,) excerpt of ``signal``, L < T.
    """
    if len(segment) >= len(signal):
        raise ValueError(
            f"segment must be shorter than signal, got len(segment)={len(segment)} and len(signal)={len(signal)}."
        )
    return int(np.argmax(scipy.signal.correlate(signal, segment, mode="valid")))


def scale_invariant_target_numpy(estimate: np.ndarray, target: np.ndarray, eps: float = 1e-8) -> np.ndarray:
    """``target`` scaled by the least-squares gain ``argmin_a ||a target - estimate||^2``.

    Args:
        estimate: (T,) estimate.
        target: (T,) reference.
        eps: added to the target power in the gain's denominator.
    """
    if estimate.ndim != 1 or target.ndim != 1:
        raise ValueError(f"Expected one-dimensional signals, got {estimate.shape} and {target.shape}.")
    gain = np.mean(estimate * target) / (np.mean(np.abs(target) ** 2) + eps)
    return gain * target


def convolution_invariant_target_numpy(
    estimate: np.ndarray,
    target: np.ndarray,
    filter_length: int,
    diag_reg: float | None = 1e-6,
    eps: float = 1e-8,
) -> np.ndarray:
    """``target`` filtered by the least-squares FIR filter ``argmin_h ||h * target - estimate||^2``.

    The normal equations (target autocorrelation Toeplitz matrix, cross-correlation right-hand side) are
    solved with ``scipy.linalg.solve_toeplitz``.

    Args:
        estimate: (T,) estimate.
        target: (T,) reference.
        filter_length: taps of the filter.
        diag_reg: relative loading of the zero-lag autocorrelation (None: none).
        eps: absolute loading of the zero-lag autocorrelation (with ``diag_reg``).

    Returns:
        (T,) filtered target.
    """
    if estimate.ndim != 1 or target.ndim != 1:
        raise ValueError(f"Expected one-dimensional signals, got {estimate.shape} and {target.shape}.")
    n_fft = 2 ** math.ceil(math.log2(len(target) + len(estimate) - 1))
    target_spectrum = np.fft.rfft(target, n=n_fft)
    autocorrelation = np.fft.irfft(np.abs(target_spectrum) ** 2, n=n_fft)[:filter_length]
    crosscorrelation = np.fft.irfft(target_spectrum.conj() * np.fft.rfft(estimate, n=n_fft), n=n_fft)[
        :filter_length
    ]
    if diag_reg is not None:
        autocorrelation[0] = autocorrelation[0] * (1 + diag_reg) + eps
    taps = scipy.linalg.solve_toeplitz(autocorrelation, crosscorrelation)
    return np.fft.irfft(target_spectrum * np.fft.rfft(taps, n=n_fft), n=n_fft)[: len(target)]


def calculate_sdr_numpy(
    estimate: np.ndarray,
    target: np.ndarray,
    scale_invariant: bool = False,
    convolution_invariant: bool = False,
    convolution_filter_length: int | None = None,
    remove_mean: bool = True,
    sdr_max: float | None = None,
    eps: float = 1e-8,
) -> float:
    """Signal-to-distortion ratio in dB, ``10 log10(P_t / (P_{e-t} + 10^(-sdr_max/10) P_t + eps) + eps)``.

    Args:
        estimate: (T,) estimate.
        target: (T,) reference.
        scale_invariant: compare against :func:`scale_invariant_target_numpy` (SI-SDR).
        convolution_invariant: compare against :func:`convolution_invariant_target_numpy`
            (a filter of length 1 is the scale-invariant target).
        convolution_filter_length: taps of that filter.
        remove_mean: subtract each signal's mean first.
        sdr_max: soft upper bound of the SDR in dB (None: unbounded).
        eps: regularization of the ratio and of the logarithm.
    """
    if scale_invariant and convolution_invariant:
        raise ValueError("scale_invariant and convolution_invariant cannot both be set; choose one.")
    if remove_mean:
        estimate = estimate - np.mean(estimate)
        target = target - np.mean(target)
    if scale_invariant or (convolution_invariant and convolution_filter_length == 1):
        target = scale_invariant_target_numpy(estimate, target, eps=eps)
    elif convolution_invariant:
        if convolution_filter_length is None:
            raise ValueError("convolution_invariant=True needs convolution_filter_length.")
        target = convolution_invariant_target_numpy(
            estimate, target, filter_length=convolution_filter_length, eps=eps
        )
    target_power = np.mean(np.abs(target) ** 2)
    distortion_power = np.mean(np.abs(estimate - target) ** 2)
    if sdr_max is not None:
        distortion_power = distortion_power + 10 ** (-sdr_max / 10) * target_power
    return 10 * np.log10(target_power / (distortion_power + eps) + eps)


# ----------------------------------------------------------------------------------------------------------------
# Matrices and angles
# ----------------------------------------------------------------------------------------------------------------


def convmtx_numpy(
    x: np.ndarray, filter_length: int, delay: int = 0, n_steps: int | None = None
) -> np.ndarray:
    """Causal convolution matrix of ``x`` delayed by ``delay`` samples: ``convmtx @ h == (x_delayed * h)[:n_steps]``.

    Args:
        x: (N,) signal.
        filter_length: number of columns (filter taps).
        delay: samples of delay (leading zeros).
        n_steps: number of rows (output samples); default N.

    Returns:
        (n_steps, filter_length) Toeplitz matrix.
    """
    if x.ndim != 1:
        raise ValueError(f"convmtx_numpy expects a one-dimensional signal, got shape {x.shape}.")
    n_steps = len(x) if n_steps is None else n_steps
    column = np.concatenate([np.zeros(delay, dtype=x.dtype), x])[:n_steps]
    column = np.pad(column, (0, n_steps - len(column)))
    first_row = np.zeros(filter_length, dtype=column.dtype)
    first_row[0] = column[0] if n_steps else 0
    return scipy.linalg.toeplitz(column, first_row)


def convmtx_mc_numpy(
    x: np.ndarray, filter_length: int, delay: int = 0, n_steps: int | None = None
) -> np.ndarray:
    """Convolution matrices of every channel of ``x`` side by side.

    Args:
        x: (N, M) signal.
        filter_length, delay, n_steps: as in :func:`convmtx_numpy`.

    Returns:
        (n_steps, M * filter_length); column block m belongs to channel m.
    """
    if x.ndim != 2:
        raise ValueError(
            f"convmtx_mc_numpy expects a (num_samples, num_channels) signal, got shape {x.shape}."
        )
    return np.hstack([convmtx_numpy(channel, filter_length, delay, n_steps) for channel in x.T])


def toeplitz(x: torch.Tensor) -> torch.Tensor:
    """Symmetric Toeplitz matrices whose first column is ``x`` (``scipy.linalg.toeplitz(x)`` for each row).

    Args:
        x: (..., T) tensor.

    Returns:
        (..., T, T) tensor with ``out[..., i, j] = x[..., |i - j|]``.
    """
    positions = torch.arange(x.size(-1), device=x.device)
    return x[..., (positions[:, None] - positions[None, :]).abs()]


def wrap_to_pi(x: torch.Tensor) -> torch.Tensor:
    """Angles in radians wrapped to [-pi, pi)."""
    return torch.remainder(x + math.pi, 2 * math.pi) - math.pi

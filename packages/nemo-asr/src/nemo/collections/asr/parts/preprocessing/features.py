"""Log-mel filterbank features, computed as NeMo 1.23's ``FilterbankFeatures`` computes them.

The pipeline per batch of waveforms ``(B, T)``:

1. dither (training only): add ``dither * N(0, 1)`` noise;
2. pre-emphasis ``y[t] = x[t] - preemph * x[t - 1]`` (``y[0] = x[0]``);
3. short-time Fourier transform: reflect padding of ``n_fft // 2`` samples on both sides (what
   ``torch.stft(center=True)`` does), frames of ``n_fft`` samples every ``hop_length`` samples, the
   window (``win_length`` samples, centred in ``n_fft``), real FFT;
4. power ``|X|^mag_power``, mel filterbank ``fb @ power``, ``log(mel + guard)``;
5. per-feature (or per-utterance) normalisation over each item's valid frames;
6. frames past each item's length set to ``pad_value``; time padded to a multiple of ``pad_to``.

Steps 2 and 3 are fused: the pre-emphasised signal is written straight into the padded buffer, the
frames are a strided view of it, and the power spectrum is computed as ``re^2 + im^2`` in the
``(B, T', F)`` layout the FFT produces, so the only full-size temporaries are the windowed frames and
the spectrum. Outputs match NeMo 1.23 to float32 rounding.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping
from typing import Any

import torch
import torch.nn.functional as F
from nemo.utils import logging
from torch import nn

CONSTANT = 1e-5
"""NeMo's small constant: added to the standard deviation in normalisation (and to the power
spectrum when gradients flow through the features)."""

_WINDOWS: dict[str, Callable[..., torch.Tensor] | None] = {
    "hann": torch.hann_window,
    "hamming": torch.hamming_window,
    "blackman": torch.blackman_window,
    "bartlett": torch.bartlett_window,
    "none": None,
}
_NORMALIZE_TYPES = ("per_feature", "all_features", "{'fixed_mean': [...], 'fixed_std': [...]}", "None")


def normalize_batch(
    x: torch.Tensor, seq_len: torch.Tensor, normalize_type: str | Mapping[str, Any] | None
) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
    """Normalise features over each item's valid frames, as NeMo 1.23 does.

    Args:
        x: features (B, D, T).
        seq_len: valid frames per item (B,); frames at or past ``seq_len[b]`` are ignored by the
            statistics (they are normalised too, with the item's statistics).
        normalize_type: ``"per_feature"`` (mean and unbiased std of each feature row),
            ``"all_features"`` (one mean and std per item), a mapping with ``fixed_mean`` and
            ``fixed_std`` (D values each), or anything else for no normalisation.
            ``CONSTANT`` (1e-5) is added to the std.

    Returns:
        ``(normalized (B, D, T), mean, std)``; mean and std are (B, D) for ``per_feature``,
        (B,) for ``all_features``, (D,) for fixed statistics and ``None`` without normalisation.

    Raises:
        ValueError: ``per_feature`` got an item with a single valid frame (its std is undefined).
    """
    if normalize_type == "per_feature" or normalize_type == "all_features":
        valid = (torch.arange(x.shape[-1], device=x.device) < seq_len.unsqueeze(1)).unsqueeze(1)
        frames = valid.sum(dim=2)
        if normalize_type == "per_feature":
            _check_more_than_one_frame(frames)
            reduce_dims: tuple[int, ...] = (2,)
            count = frames.to(x.dtype)
        else:
            reduce_dims = (1, 2)
            count = frames.squeeze(1).to(x.dtype) * x.shape[1]
        mean = torch.where(valid, x, 0.0).sum(dim=reduce_dims) / count
        centered = x - mean.view(*mean.shape, *([1] * len(reduce_dims)))
        std = torch.linalg.vector_norm(torch.where(valid, centered, 0.0), dim=reduce_dims)
        std = std / torch.sqrt(count - 1.0) + CONSTANT
        return centered / std.view(*std.shape, *([1] * len(reduce_dims))), mean, std
    if (
        isinstance(normalize_type, Mapping)
        and "fixed_mean" in normalize_type
        and "fixed_std" in normalize_type
    ):
        mean = torch.as_tensor(normalize_type["fixed_mean"], dtype=x.dtype, device=x.device)
        std = torch.as_tensor(normalize_type["fixed_std"], dtype=x.dtype, device=x.device)
        if mean.numel() != x.shape[1] or std.numel() != x.shape[1]:
            raise ValueError(
                f"normalize.fixed_mean has {mean.numel()} values and normalize.fixed_std {std.numel()}; "
                f"expected one per feature ({x.shape[1]}). Fix the preprocessor's `normalize` config."
            )
        return (x - mean.view(1, -1, 1)) / std.view(1, -1, 1), mean, std
    return x, None, None


def _check_more_than_one_frame(frames: torch.Tensor) -> None:
    """Raise when an item has exactly one valid frame (skipped while a CUDA graph is captured)."""
    if frames.is_cuda and torch.cuda.is_current_stream_capturing():
        return
    if bool(torch.any(frames == 1)):
        raise ValueError(
            "normalize_batch with `per_feature` normalize_type received a tensor of length 1: its std is "
            "undefined (NaN). Make sure each audio item has enough samples for more than one feature frame "
            "(at least `hop_length` samples for mel spectrograms)."
        )


def splice_frames(x: torch.Tensor, frame_splicing: int) -> torch.Tensor:
    """Stack ``frame_splicing`` copies of the features along the feature axis, as NeMo 1.23 does.

    NeMo's ``splice_frames`` concatenates ``torch.cat([x[:, :, :n], x[:, :, n:]], dim=2)`` for
    ``n = 1 .. frame_splicing - 1``, which reassembles ``x`` itself; the result is therefore ``x``
    repeated, and this function reproduces exactly that.

    Args:
        x: features (B, D, T).
        frame_splicing: number of stacked copies.

    Returns:
        (B, D * frame_splicing, T).
    """
    return x.repeat(1, frame_splicing, 1)


def hz_to_mel_slaney(freqs: torch.Tensor) -> torch.Tensor:
    """Slaney's mel scale (librosa's default): linear below 1 kHz, logarithmic above."""
    linear = freqs * (3.0 / 200.0)
    logarithmic = 15.0 + torch.log(freqs.clamp_min(1000.0) / 1000.0) / (math.log(6.4) / 27.0)
    return torch.where(freqs >= 1000.0, logarithmic, linear)


def mel_to_hz_slaney(mels: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`hz_to_mel_slaney`."""
    linear = mels * (200.0 / 3.0)
    logarithmic = 1000.0 * torch.exp((math.log(6.4) / 27.0) * (mels.clamp_min(15.0) - 15.0))
    return torch.where(mels >= 15.0, logarithmic, linear)


def mel_filterbank(
    sample_rate: int, n_fft: int, n_mels: int, fmin: float, fmax: float, norm: str | None
) -> torch.Tensor:
    """Slaney-scale triangular mel filterbank, bit-equal to ``librosa.filters.mel(htk=False)``.

    ``torchaudio.functional.melscale_fbanks(..., norm="slaney", mel_scale="slaney")`` computes the same
    weights in float32; NeMo's weights come from librosa, which computes in float64 and stores float32.
    The float32 rounding of the band edges moves some weights by up to ~1e-7, which the log of
    near-silent bands amplifies to ~5e-5 in the features, so the weights are computed here in float64
    with librosa's two roundings (triangles, then the slaney normalisation).

    Args:
        sample_rate: audio sample rate in Hz.
        n_fft: FFT size; the filterbank covers ``n_fft // 2 + 1`` bins.
        n_mels: number of mel bands.
        fmin: lowest frequency in Hz.
        fmax: highest frequency in Hz.
        norm: ``"slaney"`` (each band divided by its width, librosa's default) or ``None``.

    Returns:
        (n_mels, n_fft // 2 + 1) float32 weights.

    Raises:
        ValueError: ``norm`` is neither ``"slaney"`` nor ``None``.
    """
    if norm not in ("slaney", None):
        raise ValueError(
            f"mel_norm={norm!r} is not supported; expected 'slaney' or None. "
            "Fix `mel_norm` in the preprocessor config."
        )
    fft_freqs = torch.linspace(0.0, sample_rate / 2.0, n_fft // 2 + 1, dtype=torch.float64)
    mel_edges = torch.tensor([float(fmin), float(fmax)], dtype=torch.float64)
    mel_min, mel_max = hz_to_mel_slaney(mel_edges).tolist()
    band_freqs = mel_to_hz_slaney(torch.linspace(mel_min, mel_max, n_mels + 2, dtype=torch.float64))
    widths = band_freqs.diff()
    ramps = band_freqs.unsqueeze(1) - fft_freqs.unsqueeze(0)
    rising = -ramps[:-2] / widths[:-1].unsqueeze(1)
    falling = ramps[2:] / widths[1:].unsqueeze(1)
    weights = torch.minimum(rising, falling).clamp_min(0.0).float()
    if norm == "slaney":
        enorm = 2.0 / (band_freqs[2:] - band_freqs[:-2])
        weights = (weights.double() * enorm.unsqueeze(1)).float()
    return weights


def preemphasize_and_pad(x: torch.Tensor, preemph: float | None, pad: int) -> torch.Tensor:
    """Pre-emphasis followed by reflect padding, written into one new buffer.

    Equal to ``F.pad(cat([x[:, :1], x[:, 1:] - preemph * x[:, :-1]], 1), (pad, pad), "reflect")``
    with the same float32 rounding as NeMo's pre-emphasis.

    Args:
        x: waveforms (B, T).
        preemph: pre-emphasis coefficient, or ``None`` for none.
        pad: reflect padding on each side (0 for none); needs ``T > pad``.

    Returns:
        (B, T + 2 * pad).

    Raises:
        ValueError: the signal is too short for the reflect padding.
    """
    batch, length = x.shape
    if length <= pad:
        raise ValueError(
            f"The audio batch has {length} samples per item; the STFT's reflect padding of {pad} samples needs "
            f"at least {pad + 1}. Pad the audio or use a smaller n_fft / window."
        )
    out = x.new_empty(batch, length + 2 * pad)
    body = out[:, pad : pad + length]
    if preemph is None:
        body.copy_(x)
    else:
        body[:, 0] = x[:, 0]
        body[:, 1:] = x[:, 1:] - preemph * x[:, :-1]
    if pad > 0:
        out[:, :pad] = out[:, pad + 1 : 2 * pad + 1].flip(-1)
        out[:, pad + length :] = out[:, length - 1 : pad + length - 1].flip(-1)
    return out


class FilterbankFeatures(nn.Module):
    """Log-mel spectrogram featurizer behind ``AudioToMelSpectrogramPreprocessor`` (NeMo 1.23).

    Buffers (state-dict keys): ``window`` (win_length,) and ``fb`` (1, nfilt, n_fft // 2 + 1).

    Args:
        sample_rate: audio sample rate in Hz.
        n_window_size: window length in samples (``win_length``).
        n_window_stride: hop between frames in samples (``hop_length``).
        window: ``hann``, ``hamming``, ``blackman``, ``bartlett`` (symmetric) or ``none`` (rectangular).
        normalize: ``per_feature``, ``all_features``, fixed statistics or ``None``; see
            :func:`normalize_batch`.
        n_fft: FFT size; defaults to the next power of two >= ``n_window_size``.
        preemph: pre-emphasis coefficient, or ``None``.
        nfilt: number of mel bands.
        lowfreq: lowest filterbank frequency in Hz.
        highfreq: highest filterbank frequency in Hz (default ``sample_rate / 2``).
        log: take the log of the mel energies.
        log_zero_guard_type: ``add`` (``log(x + guard)``) or ``clamp`` (``log(max(x, guard))``).
        log_zero_guard_value: the guard: a number, ``"tiny"`` or ``"eps"`` (of the features' dtype).
        dither: standard deviation of the noise added in training mode.
        pad_to: pad the time axis to a multiple of this (0: no padding), or ``"max"`` for the frame
            count of ``max_duration``.
        max_duration: longest expected audio in seconds (for ``pad_to="max"``).
        frame_splicing: stacked copies along the feature axis (see :func:`splice_frames`).
        exact_pad: reflect-pad ``(n_fft - hop) // 2`` samples before dithering and use no STFT
            centring, so that there are ``ceil(T / hop)`` frames.
        pad_value: value of the frames past each item's length and of the time padding.
        mag_power: exponent of the magnitude spectrum (2.0: power spectrum).
        use_grads: let gradients flow through the features (adds ``CONSTANT`` to the power).
        rng: ``random.Random`` for the narrowband augmentation.
        nb_augmentation_prob: training-time probability of zeroing an item's bins above
            ``nb_max_freq``.
        nb_max_freq: cut-off frequency of the narrowband augmentation in Hz.
        mel_norm: ``"slaney"`` or ``None`` (see :func:`mel_filterbank`).
        stft_exact_pad: deprecated, accepted for config compatibility (warns).
        stft_conv: deprecated, accepted for config compatibility (warns).
    """

    def __init__(
        self,
        sample_rate: int = 16000,
        n_window_size: int = 320,
        n_window_stride: int = 160,
        window: str = "hann",
        normalize: str | Mapping[str, Any] | None = "per_feature",
        n_fft: int | None = None,
        preemph: float | None = 0.97,
        nfilt: int = 64,
        lowfreq: float = 0,
        highfreq: float | None = None,
        log: bool = True,
        log_zero_guard_type: str = "add",
        log_zero_guard_value: float | str = 2**-24,
        dither: float = CONSTANT,
        pad_to: int | str = 16,
        max_duration: float = 16.7,
        frame_splicing: int = 1,
        exact_pad: bool = False,
        pad_value: float = 0,
        mag_power: float = 2.0,
        use_grads: bool = False,
        rng: random.Random | None = None,
        nb_augmentation_prob: float = 0.0,
        nb_max_freq: int = 4000,
        mel_norm: str | None = "slaney",
        stft_exact_pad: bool = False,
        stft_conv: bool = False,
    ) -> None:
        super().__init__()
        if stft_conv or stft_exact_pad:
            logging.warning(
                "stft_conv and stft_exact_pad are deprecated and ignored; use exact_pad=True for the "
                "exact-padding STFT. Remove them from the preprocessor config."
            )
        for key, value in (("n_window_size", n_window_size), ("n_window_stride", n_window_stride)):
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(
                    f"FilterbankFeatures needs a positive integer {key}, got {value!r}. Set window_size / "
                    "window_stride (seconds) or n_window_size / n_window_stride (samples) in the preprocessor "
                    "config."
                )
        if exact_pad and n_window_stride % 2 == 1:
            raise NotImplementedError(
                f"exact_pad=True needs an even hop length, got n_window_stride={n_window_stride}. "
                "Use an even window_stride in samples or exact_pad=False."
            )
        if window not in _WINDOWS:
            raise ValueError(
                f"Unknown window={window!r}; expected one of {sorted(_WINDOWS)}. Fix `window` in the "
                "preprocessor config."
            )
        if log_zero_guard_type not in ("add", "clamp"):
            raise ValueError(
                f"log_zero_guard_type={log_zero_guard_type!r} was not understood; expected 'add' or 'clamp'. "
                "Fix `log_zero_guard_type` in the preprocessor config."
            )
        if isinstance(log_zero_guard_value, str) and log_zero_guard_value not in ("tiny", "eps"):
            raise ValueError(
                f"log_zero_guard_value={log_zero_guard_value!r} was not understood; expected a number, 'tiny' "
                "or 'eps'. Fix `log_zero_guard_value` in the preprocessor config."
            )
        if not (pad_to == "max" or (isinstance(pad_to, int) and pad_to >= 0)):
            raise ValueError(
                f"pad_to={pad_to!r} is invalid; expected an integer >= 0 or 'max'. Fix `pad_to` in the "
                "preprocessor config."
            )
        logging.info(f"PADDING: {pad_to}")

        self.win_length = n_window_size
        self.hop_length = n_window_stride
        self.n_fft = n_fft or 2 ** math.ceil(math.log2(self.win_length))
        if self.n_fft < self.win_length:
            raise ValueError(
                f"n_fft={self.n_fft} is smaller than the window ({self.win_length} samples); expected "
                f"n_fft >= {self.win_length}. Raise `n_fft` or shorten `window_size` in the preprocessor config."
            )
        self.exact_pad = exact_pad
        self.stft_pad_amount = (self.n_fft - self.hop_length) // 2 if exact_pad else None
        if exact_pad:
            logging.info("STFT using exact pad")

        window_fn = _WINDOWS[window]
        self.register_buffer("window", window_fn(self.win_length, periodic=False) if window_fn else None)

        self.normalize = normalize
        self.log = log
        self.dither = dither
        self.frame_splicing = frame_splicing
        self.nfilt = nfilt
        self.preemph = preemph
        self.pad_to = pad_to
        self.pad_value = pad_value
        self.mag_power = mag_power
        self.log_zero_guard_type = log_zero_guard_type
        self.log_zero_guard_value = log_zero_guard_value
        self.use_grads = use_grads

        highfreq = highfreq or sample_rate / 2
        fb = mel_filterbank(sample_rate, self.n_fft, nfilt, lowfreq, highfreq, mel_norm)
        self.register_buffer("fb", fb.unsqueeze(0))

        self.max_length = int(self.get_seq_len(torch.tensor(max_duration * sample_rate)))

        self._rng = random.Random() if rng is None else rng
        self.nb_augmentation_prob = nb_augmentation_prob
        self._nb_max_fft_bin = int((nb_max_freq / sample_rate) * self.n_fft)
        if self.nb_augmentation_prob > 0.0 and nb_max_freq >= sample_rate / 2:
            self.nb_augmentation_prob = 0.0

    @property
    def filter_banks(self) -> torch.Tensor:
        """The mel filterbank (1, nfilt, n_fft // 2 + 1)."""
        return self.fb

    def get_seq_len(self, seq_len: torch.Tensor) -> torch.Tensor:
        """Frame counts (B,) for sample counts (B,): ``(len + 2 * pad - n_fft) // hop + 1``.

        ``pad`` is ``n_fft // 2`` (centred STFT) or ``(n_fft - hop) // 2`` with ``exact_pad``.
        """
        pad_amount = 2 * self.stft_pad_amount if self.stft_pad_amount is not None else 2 * (self.n_fft // 2)
        frames = torch.div(seq_len + pad_amount - self.n_fft, self.hop_length, rounding_mode="floor") + 1
        return frames.to(dtype=torch.long)

    def log_zero_guard_value_fn(self, x: torch.Tensor) -> float:
        """The log guard as a number (resolving ``"tiny"`` / ``"eps"`` for ``x``'s dtype)."""
        if self.log_zero_guard_value == "tiny":
            return torch.finfo(x.dtype).tiny
        if self.log_zero_guard_value == "eps":
            return torch.finfo(x.dtype).eps
        return self.log_zero_guard_value

    def forward(
        self, x: torch.Tensor, seq_len: torch.Tensor, linear_spec: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Compute the features.

        Args:
            x: waveforms (B, T), float.
            seq_len: valid samples per item (B,).
            linear_spec: return the (power) spectrogram (B, n_fft // 2 + 1, T') before the mel
                filterbank instead of the features.

        Returns:
            ``(features (B, nfilt * frame_splicing, T'), frames (B,))`` where ``T'`` is the frame count
            of the longest item, padded up to a multiple of ``pad_to``.
        """
        with torch.set_grad_enabled(self.use_grads and torch.is_grad_enabled()):
            with torch.autocast(device_type=x.device.type, enabled=False):
                return self._features(x, seq_len, linear_spec)

    def _features(
        self, x: torch.Tensor, seq_len: torch.Tensor, linear_spec: bool
    ) -> tuple[torch.Tensor, torch.Tensor]:
        seq_len = self.get_seq_len(seq_len)
        spec = self._power_spectrum(x)
        if linear_spec:
            return spec.transpose(1, 2), seq_len

        x = torch.matmul(self.fb.to(spec.dtype), spec.transpose(1, 2))
        if self.log:
            guard = self.log_zero_guard_value_fn(x)
            x = torch.log(x + guard if self.log_zero_guard_type == "add" else torch.clamp(x, min=guard))
        if self.frame_splicing > 1:
            x = splice_frames(x, self.frame_splicing)
        if self.normalize:
            x, _, _ = normalize_batch(x, seq_len, normalize_type=self.normalize)
        return self._mask_and_pad(x, seq_len), seq_len

    def _power_spectrum(self, x: torch.Tensor) -> torch.Tensor:
        """``|STFT(x)|^mag_power`` as (B, T', n_fft // 2 + 1), after dither and pre-emphasis."""
        if self.exact_pad:
            x = F.pad(x.unsqueeze(1), (self.stft_pad_amount, self.stft_pad_amount), "reflect").squeeze(1)
        if self.training and self.dither > 0:
            x = x + self.dither * torch.randn_like(x)
        x = preemphasize_and_pad(x, self.preemph, 0 if self.exact_pad else self.n_fft // 2)

        frames = x.unfold(-1, self.n_fft, self.hop_length)
        spec = torch.fft.rfft(frames * self._padded_window(x))
        power = spec.real.square() + spec.imag.square()
        if self.use_grads:
            power = power + CONSTANT

        if self.training and self.nb_augmentation_prob > 0.0:
            drop = [self._rng.random() < self.nb_augmentation_prob for _ in range(power.shape[0])]
            drop_mask = torch.tensor(drop, device=power.device).view(-1, 1, 1)
            power[:, :, self._nb_max_fft_bin :].masked_fill_(drop_mask, 0.0)

        if self.mag_power != 2.0:
            power = power.pow(self.mag_power / 2.0)
        return power

    def _padded_window(self, x: torch.Tensor) -> torch.Tensor:
        """The window (n_fft,) centred in ``n_fft`` zeros, as ``torch.stft`` applies it."""
        if self.window is None:
            window = torch.ones(self.win_length, dtype=x.dtype, device=x.device)
        else:
            window = self.window.to(dtype=x.dtype)
        left = (self.n_fft - self.win_length) // 2
        return F.pad(window, (left, self.n_fft - self.win_length - left))

    def _mask_and_pad(self, x: torch.Tensor, seq_len: torch.Tensor) -> torch.Tensor:
        """Set frames past each length to ``pad_value`` and pad the time axis as ``pad_to`` asks."""
        num_frames = x.shape[-1]
        invalid = torch.arange(num_frames, device=x.device) >= seq_len.unsqueeze(1)
        x = x.masked_fill_(invalid.unsqueeze(1), self.pad_value)
        if self.pad_to == "max":
            if num_frames > self.max_length:
                raise ValueError(
                    f"pad_to='max' pads to {self.max_length} frames (max_duration), but the batch has "
                    f"{num_frames} frames. Raise max_duration or use an integer pad_to."
                )
            return F.pad(x, (0, self.max_length - num_frames), value=self.pad_value)
        if self.pad_to > 0 and num_frames % self.pad_to != 0:
            return F.pad(x, (0, self.pad_to - num_frames % self.pad_to), value=self.pad_value)
        return x


def __getattr__(name: str):
    """NeMo's ``features.WaveformFeaturizer``, which lives in ``waveform_featurizer.py`` (imported on first use)."""
    if name == "WaveformFeaturizer":
        from nemo.collections.asr.parts.preprocessing.waveform_featurizer import WaveformFeaturizer

        return WaveformFeaturizer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

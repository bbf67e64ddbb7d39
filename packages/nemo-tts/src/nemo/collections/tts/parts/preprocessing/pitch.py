"""Frame-level pitch (F0) for TTS training data: WORLD's DIO with StoneMask refinement (pyworld).

NeMo 1.23 computes pitch with ``librosa.pyin``. ``benchmarks/bench_tts_pitch.py`` measured pyin and four
other trackers on the bundled speech (docs/benchmarks.md): DIO + StoneMask runs about 30 times faster than
pyin and makes the same voicing call on 88 % of frames; praat's autocorrelation tracker (parselmouth) agrees
a little better and is faster still but is GPL-3.0 licensed, WORLD's Harvest is slower and agrees less,
torchcrepe needs librosa and is as slow as pyin on a CPU. The frame grid is NeMo's: ``1 + len // hop_length``
frames, frame ``k`` centred on sample ``k * hop_length`` (``torch.stft(center=True)``), so pitch lines up
with the mel spectrogram; unvoiced frames are 0 Hz (NeMo's ``fill_na=0.0``).
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["estimate_pitch"]


def _pyworld():
    """The pyworld module (nemo-tts depends on ``pyworld-prebuilt``, which ships wheels for every Python)."""
    try:
        import pyworld
    except ImportError as err:
        raise ImportError(
            f"Pitch estimation needs pyworld, which cannot be imported ({err}). Install it with "
            "`pip install pyworld-prebuilt` (a nemo-tts dependency; the `pyworld` sdist needs a C compiler)."
        ) from err
    return pyworld


def estimate_pitch(
    audio: torch.Tensor | np.ndarray,
    sample_rate: int,
    hop_length: int,
    win_length: int,
    fmin: float,
    fmax: float,
) -> torch.Tensor:
    """F0 of each frame of a mono waveform, 0 where unvoiced.

    Args:
        audio: (T,) waveform, float in [-1, 1], on any device.
        sample_rate: its sample rate in Hz.
        hop_length: samples between frame centres (the mel spectrogram's hop).
        win_length: the spectrogram's window length; DIO sizes its own analysis windows from ``fmin``, so
            this only checks that ``hop_length`` fits inside one window.
        fmin: lowest F0 searched, Hz (NeMo: ``librosa.note_to_hz("C2")`` = 65.4 Hz).
        fmax: highest F0 searched, Hz (NeMo: ``librosa.note_to_hz("C7")`` = 2093 Hz).

    Returns:
        (1 + T // hop_length,) float32 CPU tensor of F0 in Hz, 0 for unvoiced frames.

    Raises:
        ValueError: a 2-D waveform, a non-positive hop, a hop longer than the window, or fmin >= fmax.
    """
    if isinstance(audio, torch.Tensor):
        audio = audio.detach().to("cpu", torch.float64).numpy()
    signal = np.ascontiguousarray(audio, dtype=np.float64)
    if signal.ndim != 1:
        raise ValueError(
            f"estimate_pitch expects a mono (T,) waveform, got shape {signal.shape}. Mix it down."
        )
    if not 0 < hop_length <= win_length:
        raise ValueError(
            f"estimate_pitch: hop_length must be in (0, win_length={win_length}], got {hop_length}. "
            "Check the dataset's hop_length and win_length."
        )
    if not 0 < fmin < fmax:
        raise ValueError(
            f"estimate_pitch: need 0 < pitch_fmin < pitch_fmax, got {fmin} and {fmax}. Fix the config."
        )
    n_frames = 1 + signal.shape[0] // hop_length
    pyworld = _pyworld()
    period_ms = 1000.0 * hop_length / sample_rate
    f0, times = pyworld.dio(signal, sample_rate, f0_floor=fmin, f0_ceil=fmax, frame_period=period_ms)
    f0 = pyworld.stonemask(signal, f0, times, sample_rate)
    pitch = torch.zeros(n_frames, dtype=torch.float32)
    count = min(n_frames, f0.shape[0])
    pitch[:count] = torch.from_numpy(f0[:count])
    return pitch

import numpy as np
import pytest
import soundfile as sf
import torch
from nemo.collections.tts.parts.preprocessing.pitch import estimate_pitch

FMIN, FMAX = 65.40639132514966, 2093.004522404789


@pytest.mark.parametrize("frequency", [110.0, 220.0, 440.0])
def test_a_tone_gives_its_frequency_and_silence_gives_zero(tone, frequency):
    audio = np.concatenate([np.zeros(11025, np.float32), tone(frequency, 1.0, 22050)])
    pitch = estimate_pitch(torch.from_numpy(audio), 22050, 256, 1024, FMIN, FMAX)
    assert pitch.dtype == torch.float32 and pitch.shape == (1 + audio.shape[0] // 256,)
    assert (pitch[:30] == 0).all()
    cents = 1200 * torch.log2(pitch[50:120] / frequency).abs()
    assert float(cents.max()) < 5.0


def test_frames_are_centred_on_multiples_of_the_hop():
    """An exponential sweep 100 -> 400 Hz over 1.5 s (1600 cents/s): frame k must give the sweep's F0 at time
    k * hop / sample_rate; a one-frame offset would be ~19 cents off."""
    sample_rate, hop, rate = 22050, 256, np.log(4.0) / 1.5
    t = np.arange(int(1.5 * sample_rate)) / sample_rate
    audio = (0.5 * np.sin(2 * np.pi * 100.0 * (np.exp(rate * t) - 1) / rate)).astype(np.float32)
    pitch = estimate_pitch(audio, sample_rate, hop, 1024, FMIN, FMAX).double()
    expected = 100.0 * torch.exp(rate * torch.arange(pitch.shape[0], dtype=torch.float64) * hop / sample_rate)
    cents = 1200 * torch.log2(pitch[10:-10] / expected[10:-10]).abs()
    assert float(cents.max()) < 10.0


def test_frame_count_follows_the_hop(tone):
    audio = tone(200.0, 0.5, 16000)
    for hop in (160, 200, 256):
        assert estimate_pitch(audio, 16000, hop, 800, FMIN, FMAX).shape == (1 + audio.shape[0] // hop,)


def test_agrees_with_nemos_pyin_on_speech(data_dir, nemo_reference):
    """NeMo's pitch (librosa.pyin, saved by generate_nemo_reference.py) on the two clips: same frames, same
    voicing on two thirds of them or more (pyin keeps trailing frames voiced), F0 within a semitone on most
    frames both call voiced."""
    for index, name in enumerate(("activated", "call-waiting")):
        audio, rate = sf.read(data_dir / f"{name}.wav", dtype="float32")
        ours = estimate_pitch(audio, rate, 256, 1024, FMIN, FMAX)
        pyin = nemo_reference[f"item{index}_pitch_pyin"]
        assert ours.shape == pyin.shape
        assert float(((ours > 0) == (pyin > 0)).float().mean()) > 0.65
        both = (ours > 0) & (pyin > 0)
        cents = 1200 * torch.log2(ours[both] / pyin[both]).abs()
        assert float((cents < 100).float().mean()) > 0.8


def test_bad_arguments_are_clear_errors(tone):
    audio = tone(200.0, 0.2, 16000)
    with pytest.raises(ValueError, match=r"mono \(T,\) waveform, got shape \(2, 3200\)"):
        estimate_pitch(np.stack([audio, audio]), 16000, 256, 1024, FMIN, FMAX)
    with pytest.raises(ValueError, match=r"hop_length must be in \(0, win_length=512\], got 1024"):
        estimate_pitch(audio, 16000, 1024, 512, FMIN, FMAX)
    with pytest.raises(ValueError, match="need 0 < pitch_fmin < pitch_fmax, got 300.0 and 100.0"):
        estimate_pitch(audio, 16000, 256, 1024, 300.0, 100.0)

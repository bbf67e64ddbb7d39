import io

import numpy as np
import pytest
import soundfile as sf
from nemo.collections.asr.parts.preprocessing.segment import AudioSegment, select_channels

SR = 16000


def tone(seconds: float, freq: float = 440.0, sr: int = SR) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


@pytest.fixture
def mono_wav(tmp_path):
    path = tmp_path / "mono.wav"
    sf.write(path, tone(1.0), SR, subtype="PCM_16")
    return path


def test_from_file_reads_float32_like_soundfile(mono_wav):
    segment = AudioSegment.from_file(str(mono_wav))
    expected, _ = sf.read(mono_wav, dtype="float32")
    assert segment.samples.dtype == np.float32
    np.testing.assert_array_equal(segment.samples, expected)
    assert (segment.sample_rate, segment.num_samples, segment.num_channels) == (SR, SR, 1)
    assert segment.duration == pytest.approx(1.0)


def test_offset_duration_and_int_values(mono_wav):
    expected, _ = sf.read(mono_wav, dtype="float32")
    segment = AudioSegment.from_file(mono_wav, offset=0.25, duration=0.5, int_values=True)
    np.testing.assert_allclose(segment.samples, expected[4000:12000], atol=1e-7)


def test_reads_from_a_binary_file_object(mono_wav):
    segment = AudioSegment.from_file(io.BytesIO(mono_wav.read_bytes()))
    np.testing.assert_array_equal(segment.samples, sf.read(mono_wav, dtype="float32")[0])


def test_resampling_on_load_keeps_the_tone(tmp_path):
    path = tmp_path / "8k.wav"
    sf.write(path, tone(0.5, sr=8000), 8000, subtype="FLOAT")
    segment = AudioSegment.from_file(path, target_sr=SR)
    assert (segment.sample_rate, segment.orig_sr, segment.num_samples) == (SR, SR, 8000)
    interior = slice(400, 7600)
    np.testing.assert_allclose(segment.samples[interior], tone(0.5)[interior], atol=2e-3)


def test_channel_selection_on_stereo_flac(tmp_path):
    left, right = tone(0.2, 300), tone(0.2, 500)
    path = tmp_path / "stereo.flac"
    sf.write(path, np.stack([left, right], axis=1), SR, subtype="PCM_24")
    both = AudioSegment.from_file(path)
    assert both.samples.shape == (3200, 2) and both.num_channels == 2
    np.testing.assert_allclose(
        AudioSegment.from_file(path, channel_selector="average").samples, (left + right) / 2, atol=1e-6
    )
    np.testing.assert_allclose(AudioSegment.from_file(path, channel_selector=1).samples, right, atol=1e-6)
    np.testing.assert_allclose(AudioSegment.from_file(path, channel_selector=[0]).samples, left, atol=1e-6)
    with pytest.raises(ValueError, match=r"Cannot select channels \[2\] from a signal with 2 channels"):
        AudioSegment.from_file(path, channel_selector=[2])


def test_channel_selector_on_mono_is_refused():
    with pytest.raises(ValueError, match="channel_selector=1 cannot be used on a one-channel signal"):
        select_channels(np.zeros(10, np.float32), 1)


def reference_trim_bounds(samples: np.ndarray, top_db: float, frame: int, hop: int) -> tuple[int, int]:
    """librosa's trim rule, frame by frame: centred zero-padded frames, power in dB below the max."""
    padded = np.pad(samples.astype(np.float64), frame // 2)
    powers = np.array(
        [np.mean(padded[i * hop : i * hop + frame] ** 2) for i in range(1 + len(samples) // hop)]
    )
    db = 10 * np.log10(np.maximum(powers, 1e-10)) - 10 * np.log10(powers.max())
    loud = [i for i, value in enumerate(db) if value > -top_db]
    return loud[0] * hop, min(len(samples), (loud[-1] + 1) * hop)


def test_trim_cuts_leading_and_trailing_silence():
    silence = np.zeros(SR, np.float32)
    samples = np.concatenate([silence, tone(1.0), silence])
    start, end = reference_trim_bounds(samples, 60, 2048, 512)
    trimmed = AudioSegment(samples, SR, trim=True)
    np.testing.assert_array_equal(trimmed.samples, samples[start:end])
    assert start < SR < 2 * SR < end


def test_integer_samples_are_scaled():
    segment = AudioSegment(np.array([16384, -32768], dtype=np.int16), SR)
    np.testing.assert_array_equal(segment.samples, np.array([0.5, -1.0], np.float32))
    with pytest.raises(TypeError, match="dtype complex64"):
        AudioSegment(np.zeros(4, np.complex64), SR)


def test_gain_pad_and_subsegment():
    segment = AudioSegment(np.full(SR, 0.1, np.float32), SR)
    segment.normalize_db(-10)
    assert segment.rms_db == pytest.approx(-10, abs=1e-4)
    segment.pad(100, symmetric=True)
    assert segment.num_samples == SR + 100 and segment.samples[0] == 0 and segment.samples[-1] == 0
    segment.subsegment(0.25, -0.25)
    assert segment.num_samples == (SR + 100) - SR // 2
    with pytest.raises(ValueError, match="outside"):
        segment.subsegment(0.0, 5.0)


def test_missing_and_undecodable_files_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere.wav"):
        AudioSegment.from_file(tmp_path / "nowhere.wav")
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF not really audio")
    with pytest.raises(RuntimeError, match="Could not decode audio file .*broken.wav"):
        AudioSegment.from_file(str(broken))

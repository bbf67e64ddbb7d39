"""AudioSegment from a list of single-channel files, numeric trim references and equality."""

import numpy as np
import pytest
import soundfile as sf
from nemo.collections.asr.parts.preprocessing.segment import AudioSegment


@pytest.fixture
def channel_files(tmp_path):
    rng = np.random.default_rng(0)
    samples = rng.uniform(-0.5, 0.5, size=(1600, 3)).astype(np.float32)
    paths = []
    for channel in range(3):
        paths.append(str(tmp_path / f"ch{channel}.wav"))
        sf.write(paths[-1], samples[:, channel], 8000, subtype="FLOAT")
    sf.write(tmp_path / "multi.wav", samples, 8000, subtype="FLOAT")
    return paths, str(tmp_path / "multi.wav"), samples


def test_list_of_files_stacks_channels(channel_files):
    paths, multi, samples = channel_files
    segment = AudioSegment.from_file(paths, offset=0.05, duration=0.1)
    np.testing.assert_array_equal(segment.samples, samples[400:1200])
    assert segment == AudioSegment.from_file(multi, offset=0.05, duration=0.1)
    np.testing.assert_array_equal(AudioSegment.from_file(paths, channel_selector=1).samples, samples[:, 1])
    np.testing.assert_allclose(
        AudioSegment.from_file(paths, channel_selector="average").samples, samples.mean(axis=1), atol=1e-7
    )
    resampled = AudioSegment.from_file(paths, target_sr=16000)
    assert resampled.sample_rate == 16000 and resampled.samples.shape == (3200, 3)


def test_list_errors(channel_files, tmp_path):
    paths, multi, _ = channel_files
    with pytest.raises(RuntimeError, match="Channel cannot be selected"):
        AudioSegment.from_file(paths, channel_selector=3)
    with pytest.raises(RuntimeError, match="Expecting a single-channel audio signal"):
        AudioSegment.from_file([multi, multi])
    sf.write(tmp_path / "short.wav", np.zeros(100, np.float32), 8000)
    with pytest.raises(RuntimeError, match="same length"):
        AudioSegment.from_file([paths[0], str(tmp_path / "short.wav")])


# (start, end) sample indices that librosa 0.11's ``librosa.effects.trim`` returned once for this signal and
# these settings (computed offline: importing librosa costs seconds of numba compilation).
@pytest.mark.parametrize(
    ("ref", "kept"), [(0.05, (192, 7872)), (np.max, (832, 7232)), (np.mean, (576, 7488))]
)
def test_trim_reference_matches_librosa(ref, kept):
    rng = np.random.default_rng(1)
    samples = (np.hanning(8000) * rng.normal(size=8000)).astype(np.float32)
    trimmed = AudioSegment(
        samples, 8000, trim=True, trim_ref=ref, trim_top_db=20, trim_frame_length=256, trim_hop_length=64
    )
    np.testing.assert_array_equal(trimmed.samples, samples[kept[0] : kept[1]])


def test_equality():
    samples = np.arange(10, dtype=np.float32)
    assert AudioSegment(samples, 8000) == AudioSegment(samples.copy(), 8000)
    assert AudioSegment(samples, 8000) != AudioSegment(samples, 16000)
    assert AudioSegment(samples, 8000) != AudioSegment(samples[:5], 8000)
    assert AudioSegment(samples, 8000) != samples

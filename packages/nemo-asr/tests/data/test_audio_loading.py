import numpy as np
import pytest
import soundfile as sf
from nemo.collections.asr.data.audio_loading import AudioLoader


class HalfGain:
    """A user-supplied augmentor: NeMo's perturb(segment) interface."""

    def perturb(self, segment):
        segment.gain_db(20 * np.log10(0.5))


def test_augmentor_trim_and_missing_file(tmp_path):
    samples = np.concatenate([np.zeros(8000), np.full(8000, 0.5), np.zeros(8000)]).astype(np.float32)
    sf.write(tmp_path / "a.wav", samples, 16000, subtype="FLOAT")
    loader = AudioLoader(16000, augmentor=HalfGain())
    np.testing.assert_allclose(
        loader.load(str(tmp_path / "a.wav"), None, 0, "here").numpy(), samples * 0.5, atol=1e-6
    )
    trimmed = AudioLoader(16000, trim=True).load(str(tmp_path / "a.wav"), 0.0, 0, "here")
    assert 8000 <= trimmed.shape[0] < 12000
    with pytest.raises(FileNotFoundError, match=r"m.json:9: .*gone.wav"):
        loader.load(str(tmp_path / "gone.wav"), None, 0, "m.json:9")

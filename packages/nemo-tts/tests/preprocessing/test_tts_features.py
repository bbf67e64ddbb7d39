"""Mel / energy / pitch featurizers: values against NeMo 1.23, saving, segment loading and collation."""

import numpy as np
import pytest
import soundfile as sf
import torch
from nemo.collections.tts.parts.preprocessing.features import (
    EnergyFeaturizer,
    MelSpectrogramFeaturizer,
    PitchFeaturizer,
)

SAMPLE_RATE = 8000
ENTRY = {"audio_filepath": "voice/a.wav"}


@pytest.fixture
def audio_dir(tmp_path):
    t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
    wave = 0.3 * np.sin(2 * np.pi * 200 * t) + 0.1 * np.sin(2 * np.pi * 1234 * t)
    (tmp_path / "voice").mkdir()
    sf.write(tmp_path / "voice" / "a.wav", wave, SAMPLE_RATE, subtype="FLOAT")
    return tmp_path


def _mel() -> MelSpectrogramFeaturizer:
    return MelSpectrogramFeaturizer(
        sample_rate=SAMPLE_RATE, mel_dim=20, win_length=256, hop_length=100, highfreq=4000
    )


def test_mel_and_energy_match_nemo(audio_dir):
    spec = _mel().compute_mel_spec(ENTRY, audio_dir)
    assert spec.shape == (20, 81) and spec.dtype == np.float32
    # Frame 10 (first 6 bands) and the total, computed once with NeMo 1.23 (/tmp/nemo-ref/bin/python).
    np.testing.assert_allclose(
        spec[:6, 10], [3.1465790, 4.2816877, 1.2013750, 0.13114609, 0.04132171, 0.01917656], rtol=1e-4
    )
    assert float(spec.sum()) == pytest.approx(1249.46875, rel=1e-5)
    energy = EnergyFeaturizer(_mel()).compute_energy(ENTRY, audio_dir)
    np.testing.assert_allclose(energy, np.sqrt((spec.astype(np.float64) ** 2).sum(axis=0)), rtol=1e-5)
    # NeMo 1.23's energy at frames 0, 10, 40, 80.
    np.testing.assert_allclose(energy[[0, 10, 40, 80]], [9.892220, 6.702031, 6.702095, 9.342404], rtol=1e-4)


def test_save_load_segments_and_collate(audio_dir):
    featurizer = EnergyFeaturizer(_mel(), feature_name="en")
    feature_dir = audio_dir / "features"
    featurizer.save(ENTRY, audio_dir, feature_dir)
    path = feature_dir / "en" / "voice" / "a.npy"
    assert path.exists()
    full = featurizer.load(ENTRY, audio_dir, feature_dir)["en"]
    assert full.dtype == torch.float32 and full.shape == (81,)
    # offset 0.25 s, duration 0.3 s at 8 kHz, hop 100: frames 20 .. 20 + 1 + 24.
    segment = featurizer.load({**ENTRY, "offset": 0.25, "duration": 0.3}, audio_dir, feature_dir)["en"]
    torch.testing.assert_close(segment, full[20:45])
    batch = featurizer.collate_fn([{"en": full}, {"en": segment}])["en"]
    assert batch.shape == (2, 81)
    torch.testing.assert_close(batch[1, :25], segment)
    assert torch.all(batch[1, 25:] == 0)

    np.save(path, np.zeros(3, dtype=np.float32))
    featurizer.save(ENTRY, audio_dir, feature_dir, overwrite=False)
    assert np.load(path).shape == (3,)
    with pytest.raises(KeyError, match="duration"):
        featurizer.load({**ENTRY, "offset": 0.25}, audio_dir, feature_dir)


def test_pitch_matches_nemo_and_saves_named_features(audio_dir):
    pytest.importorskip("librosa")
    featurizer = PitchFeaturizer(
        sample_rate=SAMPLE_RATE, win_length=512, hop_length=100, pitch_fmax=600, voiced_prob_name="prob"
    )
    featurizer.save(ENTRY, audio_dir, audio_dir / "f")
    loaded = featurizer.load(ENTRY, audio_dir, audio_dir / "f")
    assert sorted(loaded) == ["pitch", "prob", "voiced_mask"]
    pitch, voiced, prob = loaded["pitch"], loaded["voiced_mask"], loaded["prob"]
    assert pitch.shape == voiced.shape == prob.shape == (81,)
    assert pitch.dtype == torch.float32 and voiced.dtype == torch.bool and prob.dtype == torch.float32
    # NeMo 1.23 (librosa.pyin): 204.085 Hz, voiced with probability 0.82667 on frames 5, 40, 70; all 81 voiced.
    np.testing.assert_allclose(pitch[[5, 40, 70]], 204.0850067, rtol=1e-5)
    np.testing.assert_allclose(prob[[5, 40, 70]], 0.8266686, rtol=1e-4)
    assert int(voiced.sum()) == 81


def test_pitch_chunking_keeps_the_frame_grid(audio_dir):
    pytest.importorskip("librosa")
    kwargs = {"sample_rate": SAMPLE_RATE, "win_length": 512, "hop_length": 100, "pitch_fmax": 600}
    whole = PitchFeaturizer(batch_seconds=None, **kwargs).compute_pitch(ENTRY, audio_dir)[0]
    chunked = PitchFeaturizer(batch_seconds=0.3, batch_padding=5, **kwargs).compute_pitch(ENTRY, audio_dir)[0]
    assert chunked.shape == whole.shape
    # A steady tone: every frame away from the file edges gets the same pitch either way.
    np.testing.assert_allclose(chunked[5:-5], whole[5:-5], rtol=1e-3)

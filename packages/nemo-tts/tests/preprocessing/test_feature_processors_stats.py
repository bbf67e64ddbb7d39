"""Feature processors against hand-computed values."""

import json

import pytest
import torch
from nemo.collections.tts.parts.preprocessing.feature_processors import (
    FeatureScaler,
    LogCompression,
    MeanVarianceNormalization,
    MeanVarianceSpeakerNormalization,
)


def test_scaler_and_log_compression():
    example = {"x": torch.tensor([1.0, 3.0]), "y": torch.tensor([0.0, 0.25, 4.0])}
    FeatureScaler("x", add_value=1.0, div_value=4.0).process(example)
    torch.testing.assert_close(example["x"], torch.tensor([0.5, 1.0]))
    LogCompression("y", log_zero_guard_type="clamp", log_zero_guard_value=0.5).process(example)
    torch.testing.assert_close(example["y"], torch.log(torch.tensor([0.5, 0.5, 4.0])))
    with pytest.raises(ValueError, match="log_zero_guard_type"):
        LogCompression("y", log_zero_guard_type="floor")


@pytest.fixture
def stats_file(tmp_path):
    path = tmp_path / "stats.json"
    stats = {
        "default": {"pitch_mean": 100.0, "pitch_std": 50.0},
        "alice": {"pitch_mean": 200.0, "pitch_std": 25.0},
    }
    path.write_text(json.dumps(stats), encoding="utf-8")
    return path


def test_mean_variance_normalization_with_default_voiced_mask(stats_file):
    example = {"pitch": torch.tensor([150.0, 0.0, 50.0]), "voiced_mask": torch.tensor([True, False, True])}
    MeanVarianceNormalization("pitch", stats_path=stats_file).process(example)
    torch.testing.assert_close(example["pitch"], torch.tensor([1.0, 0.0, -1.0]))


def test_missing_statistic_names_the_key(stats_file):
    with pytest.raises(KeyError, match="energy_mean"):
        MeanVarianceNormalization("energy", stats_path=stats_file)


def test_speaker_normalization(stats_file):
    processor = MeanVarianceSpeakerNormalization(
        "pitch", stats_path=stats_file, speaker_field="spk", mask_field=None
    )
    example = {"pitch": torch.tensor([250.0, 175.0]), "spk": "alice"}
    processor.process(example)
    torch.testing.assert_close(example["pitch"], torch.tensor([2.0, -1.0]))
    with pytest.raises(ValueError, match="bob"):
        processor.process({"pitch": torch.tensor([1.0]), "spk": "bob"})
    fallback = MeanVarianceSpeakerNormalization(
        "pitch", stats_path=stats_file, speaker_field="spk", mask_field=None, fallback_to_default=True
    )
    example = {"pitch": torch.tensor([200.0]), "spk": "bob"}
    fallback.process(example)
    torch.testing.assert_close(example["pitch"], torch.tensor([2.0]))

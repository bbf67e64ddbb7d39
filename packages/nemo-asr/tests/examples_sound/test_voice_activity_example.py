"""``examples/asr/voice_activity.py``: its speech-frame counts and F1, checked against scikit-learn."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import precision_recall_fscore_support

EXAMPLE = Path(__file__).resolve().parents[4] / "examples" / "asr" / "voice_activity.py"


@pytest.fixture(scope="module")
def voice_activity():
    spec = importlib.util.spec_from_file_location("sound_example_voice_activity", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_frame_f1_over_clips_is_sklearns_binary_f1_of_the_concatenated_frames(voice_activity):
    rng = np.random.default_rng(0)
    clips = []
    for frames in (50, 7, 120):
        logits = rng.normal(size=(frames, 2)).astype(np.float32)
        labels = rng.integers(0, 2, size=frames + 1)  # one label more than frames: the last one is not scored
        clips.append((logits, labels))
    totals = np.sum([voice_activity.speech_frame_counts(lg, lb, 0.6) for lg, lb in clips], axis=0)
    scores = voice_activity.f1_scores(*totals)

    truth = np.concatenate([labels[: len(logits)] for logits, labels in clips])
    speech = np.concatenate([np.exp(lg[:, 1]) / np.exp(lg).sum(axis=1) for lg, _ in clips])
    precision, recall, f1, _ = precision_recall_fscore_support(truth, speech >= 0.6, average="binary")
    assert scores == pytest.approx({"precision": precision, "recall": recall, "f1": f1})


def test_no_speech_predicted_or_present_scores_zero(voice_activity):
    logits = np.tile(np.array([[5.0, -5.0]], dtype=np.float32), (10, 1))
    assert voice_activity.speech_frame_counts(logits, [0] * 10, 0.5) == (0, 0, 0)
    assert voice_activity.f1_scores(0, 0, 0) == {"precision": 0.0, "recall": 0.0, "f1": 0.0}

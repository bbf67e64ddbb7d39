import torch
from nemo.collections.asr.parts.utils.rnnt_utils import Hypothesis, NBestHypotheses, is_prefix


def test_hypothesis_defaults_and_words():
    hypothesis = Hypothesis(score=-1.5, y_sequence=torch.tensor([3, 4]), text="hello big world")
    assert hypothesis.words == ["hello", "big", "world"]
    assert (hypothesis.timestep, hypothesis.length, hypothesis.alignments) == ([], 0, None)
    assert Hypothesis(score=0.0, y_sequence=[]).timestep is not hypothesis.timestep
    assert NBestHypotheses([hypothesis]).n_best_hypotheses[0] is hypothesis


def test_non_blank_frame_confidence_picks_emitting_frames():
    hypothesis = Hypothesis(score=0.0, y_sequence=[1, 2], timestep=[0, 2], frame_confidence=[0.9, 0.1, 0.8])
    assert hypothesis.non_blank_frame_confidence == [0.9, 0.8]
    assert Hypothesis(score=0.0, y_sequence=[]).non_blank_frame_confidence == []


def test_is_prefix_is_strict():
    assert is_prefix([1, 2, 3], [1, 2]) and is_prefix([1], [])
    assert not is_prefix([1, 2], [1, 2]) and not is_prefix([1, 2, 3], [2])

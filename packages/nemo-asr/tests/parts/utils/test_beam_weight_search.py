"""Choosing beam_alpha / beam_beta on a dev set: the cached-log-prob grid equals decoding each point from audio."""

import pytest
import torch
from nemo.collections.asr.parts.lm.ngram_lm import estimate_ngram_lm
from nemo.collections.asr.parts.utils.beam_weight_search import (
    BeamWeightPoint,
    best_point,
    search_beam_weights,
    with_beam_weights,
)


def test_each_grid_point_scores_what_decoding_the_audio_with_those_weights_scores(
    tiny_asr_config, speech, tmp_path, reference_edit_distance
):
    def corpus_wer(hypotheses: list[str], references: list[str]) -> float:
        errors = sum(reference_edit_distance(r.split(), h.split()) for h, r in zip(hypotheses, references))
        return errors / sum(len(r.split()) for r in references)

    from nemo.collections.asr.models import EncDecCTCModel

    torch.manual_seed(0)
    model = EncDecCTCModel(tiny_asr_config("ctc")).eval()
    lm = tmp_path / "words.arpa"
    estimate_ngram_lm(speech.texts, order=2).write_arpa(lm)
    decoding = {"strategy": "beam", "beam": {"beam_size": 4, "kenlm_path": str(lm)}}
    alphas, betas = [0.0, 3.0], [0.0, 4.0]

    points = search_beam_weights(model, speech.paths, speech.texts, decoding, alphas, betas, batch_size=3)

    assert [(p.beam_alpha, p.beam_beta) for p in points] == [(a, b) for a in alphas for b in betas]
    for point in points:
        model.change_decoding_strategy(with_beam_weights(decoding, point.beam_alpha, point.beam_beta))
        hypotheses = model.transcribe(speech.paths, batch_size=2, verbose=False)
        assert point.wer == pytest.approx(corpus_wer(hypotheses, speech.texts))
    assert len({point.wer for point in points}) > 1, "the weights never changed the transcripts"


def test_the_best_point_has_the_lowest_wer_then_cer_then_comes_first():
    points = [
        BeamWeightPoint(0.5, 0.0, wer=0.30, cer=0.10),
        BeamWeightPoint(1.0, 0.0, wer=0.25, cer=0.12),
        BeamWeightPoint(1.0, 1.0, wer=0.25, cer=0.11),
        BeamWeightPoint(1.5, 1.0, wer=0.25, cer=0.11),
    ]
    assert best_point(points) is points[2]
    with pytest.raises(ValueError, match="no grid points"):
        best_point([])


def test_weights_are_set_on_a_copy_and_bad_grids_are_refused(tiny_asr_config):
    decoding = {"strategy": "beam", "beam": {"beam_size": 4, "beam_alpha": 9.0}}
    chosen = with_beam_weights(decoding, 0.5, 1)
    assert chosen["beam"] == {"beam_size": 4, "beam_alpha": 0.5, "beam_beta": 1.0}
    assert decoding["beam"]["beam_alpha"] == 9.0
    with pytest.raises(ValueError, match="2 audio files but 1 references"):
        search_beam_weights(None, ["a.wav", "b.wav"], ["a"], decoding, [1.0], [1.0])
    with pytest.raises(ValueError, match="the grid is empty"):
        search_beam_weights(None, ["a.wav"], ["a"], decoding, [], [1.0])

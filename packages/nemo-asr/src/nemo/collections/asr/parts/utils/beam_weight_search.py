"""Choose a CTC beam search's LM weights (``beam_alpha``, ``beam_beta``) on a development set.

The acoustic model runs once; every grid point only re-runs the search over the saved log-probabilities, as
NeMo 1.23's ``eval_beamsearch_ngram`` script does. Choose on a dev split, never on the test split you report.

    points = search_beam_weights(model, dev_audio, dev_texts, decoding, alphas=[0.5, 1.0], betas=[0.0, 1.0])
    best = best_point(points)
    model.change_decoding_strategy(with_beam_weights(decoding, best.beam_alpha, best.beam_beta))
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from nemo.collections.asr.metrics.wer import word_error_rate

__all__ = ["BeamWeightPoint", "best_point", "search_beam_weights", "with_beam_weights"]


@dataclass(frozen=True)
class BeamWeightPoint:
    """One grid point: its weights and the WER/CER it scored (fractions) on the set searched."""

    beam_alpha: float
    beam_beta: float
    wer: float
    cer: float


def with_beam_weights(decoding: dict[str, Any], beam_alpha: float, beam_beta: float) -> dict[str, Any]:
    """A copy of a ``decoding`` config (``{"strategy": "beam", "beam": {...}}``) with the two weights set."""
    chosen = copy.deepcopy(decoding)
    chosen.setdefault("beam", {}).update(beam_alpha=float(beam_alpha), beam_beta=float(beam_beta))
    return chosen


def search_beam_weights(
    model,
    audio: Sequence[str],
    references: Sequence[str],
    decoding: dict[str, Any],
    alphas: Sequence[float],
    betas: Sequence[float],
    batch_size: int = 8,
) -> list[BeamWeightPoint]:
    """Score every ``(beam_alpha, beam_beta)`` of the grid on ``audio`` against ``references``.

    Args:
        model: a CTC model (``EncDecCTCModel`` or its BPE variant). Its decoding is left set to the last grid
            point: set the one you choose with ``change_decoding_strategy`` afterwards.
        audio: audio file paths.
        references: their transcripts, in the same order.
        decoding: the beam decoding config (``strategy``, ``beam`` with ``kenlm_path`` etc.); its own
            ``beam_alpha``/``beam_beta`` are replaced at each point.
        alphas, betas: the values to try; every pair is scored, alphas outermost.
        batch_size: for the acoustic model.

    Returns:
        One ``BeamWeightPoint`` per pair, in grid order.
    """
    if len(audio) != len(references):
        raise ValueError(f"got {len(audio)} audio files but {len(references)} references: pass one per file.")
    if not alphas or not betas:
        raise ValueError(
            f"the grid is empty (alphas={list(alphas)}, betas={list(betas)}): give each a value."
        )
    log_probs = model.transcribe(list(audio), batch_size=batch_size, logprobs=True)
    points = []
    for alpha in alphas:
        for beta in betas:
            model.change_decoding_strategy(with_beam_weights(decoding, alpha, beta))
            hypotheses = [_decode(model, utterance) for utterance in log_probs]
            points.append(
                BeamWeightPoint(
                    beam_alpha=float(alpha),
                    beam_beta=float(beta),
                    wer=word_error_rate(hypotheses, list(references)),
                    cer=word_error_rate(hypotheses, list(references), use_cer=True),
                )
            )
    return points


def best_point(points: Sequence[BeamWeightPoint]) -> BeamWeightPoint:
    """The point with the lowest WER; ties go to the lower CER, then to the earlier point in the grid."""
    if not points:
        raise ValueError("no grid points to choose from.")
    return min(enumerate(points), key=lambda item: (item[1].wer, item[1].cer, item[0]))[1]


def _decode(model, log_probs: torch.Tensor) -> str:
    """Text of one utterance's (T, V+1) log-probabilities under the model's current decoding."""
    lengths = torch.tensor([log_probs.shape[0]], dtype=torch.long)
    best, _ = model.decoding.ctc_decoder_predictions_tensor(log_probs[None], decoder_lengths=lengths)
    return best[0] if isinstance(best[0], str) else best[0].text

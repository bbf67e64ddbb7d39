"""Decoding results: NeMo's ``Hypothesis`` and ``NBestHypotheses`` (shared by CTC and RNN-T decoding)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

__all__ = ["Hypothesis", "NBestHypotheses", "decoded_results", "is_prefix"]


@dataclass
class Hypothesis:
    """One decoded sequence.

    Args:
        score: log-probability (or the search's score) of the hypothesis.
        y_sequence: token ids. Greedy CTC keeps one label per frame here, shape (T,), until
            ``decode_hypothesis`` folds it; beam search stores the folded ids.
        text: the decoded text (set by ``decode_hypothesis``).
        dec_out: decoder outputs per step (RNN-T).
        dec_state: decoder state (RNN-T).
        timestep: frame index of each emitted token.
        alignments: per-frame alignment, e.g. ``(log_probs (T, V), labels (T,))`` for greedy CTC.
        frame_confidence: confidence per frame.
        token_confidence: confidence per token.
        word_confidence: confidence per word.
        length: number of valid frames in ``y_sequence`` (0 means all of them).
        y: emitted outputs (RNN-T).
        lm_state: language-model state.
        lm_scores: language-model scores.
        ngram_lm_state: n-gram language-model state.
        tokens: token strings of the text, when asked for.
        last_token: last emitted token (RNN-T).
    """

    score: float
    y_sequence: list[int] | torch.Tensor
    text: str | None = None
    dec_out: list[torch.Tensor] | None = None
    dec_state: Any = None
    timestep: list[int] | torch.Tensor = field(default_factory=list)
    alignments: Any = None
    frame_confidence: list[float] | list[list[float]] | None = None
    token_confidence: list[float] | None = None
    word_confidence: list[float] | None = None
    length: int | torch.Tensor = 0
    y: list[torch.Tensor] | None = None
    lm_state: dict[str, Any] | list[Any] | None = None
    lm_scores: torch.Tensor | None = None
    ngram_lm_state: dict[str, Any] | list[Any] | None = None
    tokens: list[int] | list[str] | torch.Tensor | None = None
    last_token: torch.Tensor | None = None

    @property
    def non_blank_frame_confidence(self) -> list[float]:
        """Frame confidences of the frames that emitted a token (``timestep`` picks them)."""
        if not self.frame_confidence or not len(self.timestep):
            return []
        return [self.frame_confidence[int(t)] for t in self.timestep]

    @property
    def words(self) -> list[str]:
        """The text split on whitespace."""
        return self.text.split() if isinstance(self.text, str) else self.text


@dataclass
class NBestHypotheses:
    """The ``beam_size`` best hypotheses of one utterance, best first."""

    n_best_hypotheses: list[Hypothesis] | None


def decoded_results(
    hypotheses: list[Hypothesis] | list[NBestHypotheses],
    decode: Callable[[list[Hypothesis]], list[Hypothesis]],
    return_hypotheses: bool,
) -> tuple[list[str] | list[Hypothesis], list[str] | list[list[Hypothesis]] | None]:
    """What NeMo's ``*_decoder_predictions_tensor`` return, from a search's hypotheses.

    Args:
        hypotheses: one Hypothesis per utterance, or one NBestHypotheses per utterance (n-best search).
        decode: sets ``text`` on a list of hypotheses and returns it.
        return_hypotheses: return Hypothesis objects instead of their texts.

    Returns:
        ``(best, all)``: ``best`` one text (or Hypothesis) per utterance; ``all`` is ``None`` for one-best
        searches, else every n-best text flattened over the batch (or, with ``return_hypotheses``, one list of
        Hypothesis per utterance, best first).
    """
    if hypotheses and isinstance(hypotheses[0], NBestHypotheses):
        all_hypotheses = [decode(n_best.n_best_hypotheses) for n_best in hypotheses]
        best = [n_best[0] for n_best in all_hypotheses]
        if return_hypotheses:
            return best, all_hypotheses
        return [h.text for h in best], [h.text for n_best in all_hypotheses for h in n_best]
    hypotheses = decode(hypotheses)
    if return_hypotheses:
        return hypotheses, None
    return [h.text for h in hypotheses], None


def is_prefix(x: list[int], pref: list[int]) -> bool:
    """Whether ``pref`` is a strict prefix of ``x`` (shorter than ``x`` and equal to its start)."""
    return len(pref) < len(x) and list(x[: len(pref)]) == list(pref)

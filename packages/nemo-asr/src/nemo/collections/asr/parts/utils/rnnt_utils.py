"""Decoding results: NeMo's ``Hypothesis`` and ``NBestHypotheses`` (shared by CTC and RNN-T decoding)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from nemo.collections.asr.parts.utils.batched_hyps import BatchedAlignments, BatchedHyps

__all__ = [
    "BatchedAlignments",
    "BatchedHyps",
    "HATJointOutput",
    "Hypothesis",
    "NBestHypotheses",
    "batched_hyps_to_hypotheses",
    "decoded_results",
    "is_prefix",
]


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

    With ``compute_timestamps``, decoding replaces ``timestep`` by a dict: ``{"timestep": [frame of each token],
    "char": [{"char", "start_offset", "end_offset"}, ...], "word": [{"word", "start_offset", "end_offset"}, ...]}``.
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
        """Confidences of the emissions that are tokens, in order (blanks left out).

        CTC: ``frame_confidence`` holds one score per frame and ``timestep`` (a list, or the ``"timestep"`` entry
        of the timestamp dict) names the frames that emitted a token. RNN-T: ``frame_confidence`` holds one list
        per frame, one score per emission, the last of which is the closing blank unless the frame hit
        ``max_symbols``; the emissions at the token frames other than that blank are picked.
        """
        if not self.frame_confidence:
            return []
        timestep = self.timestep["timestep"] if isinstance(self.timestep, dict) else self.timestep
        frames = [int(t) for t in timestep]
        if not frames:
            return []
        if not isinstance(self.frame_confidence[0], list):
            return [self.frame_confidence[t] for t in frames]
        scores: list[float] = []
        for frame in sorted(set(frames)):
            emitted = frames.count(frame)
            scores.extend(self.frame_confidence[frame][:emitted])
        return scores

    @property
    def words(self) -> list[str]:
        """The text split on whitespace (``[]`` before decoding sets ``text``)."""
        if self.text is None:
            return []
        return self.text.split() if isinstance(self.text, str) else self.text


@dataclass
class NBestHypotheses:
    """The ``beam_size`` best hypotheses of one utterance, best first."""

    n_best_hypotheses: list[Hypothesis] | None


@dataclass
class HATJointOutput:
    """What ``HATJoint`` returns with ``return_hat_ilm`` set.

    Args:
        hat_logprobs: (B, T, U, V+1) joint log-probabilities, blank last.
        ilm_logprobs: (B, 1, U, V) log-probabilities of the internal language model (no blank).
    """

    hat_logprobs: torch.Tensor | None = None
    ilm_logprobs: torch.Tensor | None = None


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


def batched_hyps_to_hypotheses(
    batched_hyps: BatchedHyps, alignments: BatchedAlignments | None = None
) -> list[Hypothesis]:
    """One Hypothesis per utterance from a batched search's tensors.

    ``y_sequence`` and ``timestep`` are views of the valid labels. With ``alignments``, ``alignments`` (and
    ``frame_confidence`` when stored) become NeMo's per-frame lists: one list per frame that has emissions,
    holding ``(logits (V+1,), label)`` pairs (or scores) in emission order.
    """
    lengths = batched_hyps.current_lengths.tolist()
    hypotheses = [
        Hypothesis(
            score=float(batched_hyps.scores[row].item()),
            y_sequence=batched_hyps.transcript[row, :length],
            timestep=batched_hyps.timesteps[row, :length],
            alignments=None,
            dec_state=None,
        )
        for row, length in enumerate(lengths)
    ]
    if alignments is None:
        return hypotheses
    emitted = alignments.current_lengths.tolist()
    logits = alignments.logits.cpu() if alignments.logits is not None else None
    labels = alignments.labels.cpu() if alignments.labels is not None else None
    confidence = alignments.frame_confidence.cpu() if alignments.frame_confidence is not None else None
    timesteps = alignments.timesteps.cpu()
    for row, hypothesis in enumerate(hypotheses):
        _, per_frame = torch.unique_consecutive(timesteps[row, : emitted[row]], return_counts=True)
        bounds = [0, *torch.cumsum(per_frame, 0).tolist()]
        frames = list(zip(bounds[:-1], bounds[1:]))
        hypothesis.alignments = []
        if logits is not None and labels is not None:
            hypothesis.alignments = [
                [(logits[row, i], labels[row, i]) for i in range(a, b)] for a, b in frames
            ]
        if confidence is not None:
            hypothesis.frame_confidence = [[confidence[row, i] for i in range(a, b)] for a, b in frames]
    return hypotheses

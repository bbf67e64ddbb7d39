"""Greedy (best path) CTC search: ``GreedyCTCInfer``, ``GreedyBatchedCTCInfer`` and ``GreedyCTCInferConfig``.

Config (``decoding.greedy``, NeMo 1.23's keys)::

    preserve_alignments: false        # Hypothesis.alignments = (log_probs (T, V), labels (T,))
    compute_timestamps: false         # Hypothesis.timestep = frames that emitted a non-blank label
    preserve_frame_confidence: false  # Hypothesis.frame_confidence = one score per frame (older key; prefer
                                      # decoding.confidence_cfg)
    confidence_method_cfg: {name: entropy, entropy_type: tsallis, alpha: 0.33, entropy_norm: exp}

Both classes run the same vectorized search over the whole batch (NeMo's ``GreedyCTCInfer`` loops over
utterances; results are the same).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from nemo.collections.asr.parts.utils.asr_confidence_utils import (
    ConfidenceMethodConfig,
    ConfidenceMethodMixin,
    as_confidence_method_config,
)
from nemo.collections.asr.parts.utils.rnnt_utils import Hypothesis
from omegaconf import OmegaConf

__all__ = ["GreedyBatchedCTCInfer", "GreedyCTCInfer", "GreedyCTCInferConfig"]


@dataclass
class GreedyCTCInferConfig:
    """``decoding.greedy``: options of the greedy search."""

    preserve_alignments: bool = False
    compute_timestamps: bool = False
    preserve_frame_confidence: bool = False
    confidence_method_cfg: ConfidenceMethodConfig | None = field(default_factory=ConfidenceMethodConfig)

    def __post_init__(self) -> None:
        self.confidence_method_cfg = OmegaConf.structured(
            as_confidence_method_config(self.confidence_method_cfg)
        )


class GreedyCTCInfer(ConfidenceMethodMixin):
    """Greedy CTC search over a whole batch at once.

    Args:
        blank_id: index of the blank class (the last one).
        preserve_alignments: keep ``(log_probs (T_b, V), labels (T_b,))`` of each utterance in
            ``Hypothesis.alignments``.
        compute_timestamps: keep the frames that emitted a non-blank label in ``Hypothesis.timestep``.
        preserve_frame_confidence: keep one confidence score per frame in ``Hypothesis.frame_confidence``
            (turns on ``compute_timestamps``, which token confidence needs).
        confidence_method_cfg: how a frame's log-probabilities become a score, see ``ConfidenceMethodConfig``.
    """

    def __init__(
        self,
        blank_id: int,
        preserve_alignments: bool = False,
        compute_timestamps: bool = False,
        preserve_frame_confidence: bool = False,
        confidence_method_cfg: Any = None,
    ) -> None:
        self.blank_id = blank_id
        self.preserve_alignments = preserve_alignments
        self.compute_timestamps = bool(compute_timestamps) or bool(preserve_frame_confidence)
        self.preserve_frame_confidence = preserve_frame_confidence
        self._init_confidence_method(confidence_method_cfg)

    def __call__(
        self, decoder_output: torch.Tensor, decoder_lengths: torch.Tensor | None = None
    ) -> tuple[list[Hypothesis]]:
        """Pick the best label of every frame.

        Args:
            decoder_output: (B, T, V) log-probabilities, or (B, T) integer labels already picked.
            decoder_lengths: (B,) valid frames per utterance; ``None`` means all T.

        Returns:
            A one-tuple holding one Hypothesis per utterance: ``y_sequence`` the (T_b,) frame labels (not yet
            folded), ``score`` the sum of the chosen non-blank log-probabilities (-1.0 for label input),
            ``length`` T_b (0, meaning all frames, when ``decoder_lengths`` is None), and as configured ``alignments``, ``timestep``, ``frame_confidence``.

        Raises:
            ValueError: for label input with ``preserve_alignments`` or ``preserve_frame_confidence`` (both need
                log-probabilities), or for a tensor that is neither 2-D nor 3-D.
        """
        if decoder_output.dim() not in (2, 3):
            raise ValueError(
                "decoder_output must be (B, T) labels or (B, T, V) log-probabilities; got shape "
                f"{tuple(decoder_output.shape)}."
            )
        from_labels = decoder_output.dim() == 2
        if from_labels and (self.preserve_alignments or self.preserve_frame_confidence):
            raise ValueError(
                "preserve_alignments / preserve_frame_confidence need (B, T, V) log-probabilities, but the "
                "decoder output holds labels. Pass log-probabilities or turn both options off."
            )
        batch, frames = decoder_output.shape[:2]
        if decoder_lengths is None:
            lengths = [frames] * batch
        else:
            lengths = torch.as_tensor(decoder_lengths).detach().to("cpu", torch.long).tolist()
        with torch.no_grad():
            output = decoder_output.detach().cpu()
            if from_labels:
                labels = output.long()
                scores = [-1.0] * batch
            else:
                best_log_probs, labels = output.max(dim=-1)
                valid = torch.arange(frames) < torch.tensor(lengths)[:, None]
                emitted = valid & (labels != self.blank_id)
                scores = (
                    torch.where(emitted, best_log_probs, torch.zeros_like(best_log_probs)).sum(-1).tolist()
                )
            hypotheses = [
                self._hypothesis(output[row, :length], labels[row, :length], score, from_labels)
                for row, (length, score) in enumerate(zip(lengths, scores))
            ]
            if decoder_lengths is not None:  # as NeMo: length stays 0 ("all frames") without lengths
                for hypothesis, length in zip(hypotheses, lengths):
                    hypothesis.length = length
        return (hypotheses,)

    def _hypothesis(
        self, output: torch.Tensor, labels: torch.Tensor, score: float, from_labels: bool
    ) -> Hypothesis:
        """One utterance's Hypothesis from its (T_b, V) log-probs (or labels) and (T_b,) best labels."""
        hypothesis = Hypothesis(score=score, y_sequence=labels, timestep=[])
        if self.preserve_alignments:
            hypothesis.alignments = (output.clone(), labels.clone())
        if self.compute_timestamps:
            hypothesis.timestep = torch.nonzero(labels != self.blank_id)[:, 0].tolist()
        if self.preserve_frame_confidence and not from_labels:
            hypothesis.frame_confidence = self._get_confidence(output)
        return hypothesis


class GreedyBatchedCTCInfer(GreedyCTCInfer):
    """The batched greedy CTC search (same arguments and results as :class:`GreedyCTCInfer`)."""

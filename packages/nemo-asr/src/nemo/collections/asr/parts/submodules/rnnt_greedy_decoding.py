"""Greedy RNN-T decoding over a whole batch at once (NeMo's ``greedy`` and ``greedy_batch`` strategies).

At each encoder frame every utterance may emit up to ``max_symbols_per_step`` tokens. All utterances
advance together: the joint and the prediction network run on the full batch, and a mask keeps the
state of utterances that emitted blank (or are past their length) unchanged.

Config (``decoding.greedy``, NeMo 1.23's keys)::

    max_symbols: 10                   # (or max_symbols_per_step) tokens one frame may emit
    preserve_alignments: false        # Hypothesis.alignments: per frame, (log_probs (V+1,), label) per emission
    preserve_frame_confidence: false  # Hypothesis.frame_confidence: per frame, one score per emission (older
                                      # key; prefer decoding.confidence_cfg)
    confidence_method_cfg: {name: entropy, entropy_type: tsallis, alpha: 0.33, entropy_norm: exp}
    loop_labels: false                # NeMo's alternative loop order; same results, accepted for configs

Per utterance, each frame's emissions are its tokens followed by the blank that closed the frame (no blank when
the frame hit ``max_symbols``); frames past the utterance's length record nothing. Alignments hold the
log-probabilities the search used (NeMo on a GPU stores the joint's raw logits there instead).
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

__all__ = [
    "GreedyBatchedRNNTInfer",
    "GreedyBatchedRNNTInferConfig",
    "GreedyRNNTInfer",
    "GreedyRNNTInferConfig",
]


@dataclass
class GreedyRNNTInferConfig:
    """``decoding.greedy`` for ``strategy: greedy``."""

    max_symbols_per_step: int | None = 10
    preserve_alignments: bool = False
    preserve_frame_confidence: bool = False
    confidence_method_cfg: ConfidenceMethodConfig | None = field(default_factory=ConfidenceMethodConfig)

    def __post_init__(self) -> None:
        self.confidence_method_cfg = OmegaConf.structured(
            as_confidence_method_config(self.confidence_method_cfg)
        )


@dataclass
class GreedyBatchedRNNTInferConfig(GreedyRNNTInferConfig):
    """``decoding.greedy`` for ``strategy: greedy_batch``."""

    loop_labels: bool = False


def _select_state(mask: torch.Tensor, new: tuple[torch.Tensor, ...], old: tuple[torch.Tensor, ...]):
    """Per-utterance choice between two LSTM states; states are tuples of (L, B, H)."""
    keep = mask.view(1, -1, 1)
    return tuple(torch.where(keep, n, o) for n, o in zip(new, old))


class GreedyBatchedRNNTInfer(ConfidenceMethodMixin):
    """Greedy batch decoding of an RNN-T model.

    Args:
        decoder_model: the prediction network (``RNNTDecoder``), with ``predict`` and ``blank_idx``.
        joint_model: the joint network (``RNNTJoint``), with ``joint(f, g)``.
        blank_index: id of the blank token (the last output).
        max_symbols_per_step: most tokens one frame may emit (NeMo's ``max_symbols``; None means 10).
        preserve_alignments: keep every emission's ``(log_probs (V+1,), label)`` per frame in
            ``Hypothesis.alignments``.
        preserve_frame_confidence: keep every emission's confidence per frame in ``Hypothesis.frame_confidence``.
        confidence_method_cfg: how log-probabilities become a score, see ``ConfidenceMethodConfig``.
        loop_labels: NeMo's label-looping variant gives the same hypotheses; accepted, same search.
    """

    def __init__(
        self,
        decoder_model: torch.nn.Module,
        joint_model: torch.nn.Module,
        blank_index: int,
        max_symbols_per_step: int | None = 10,
        preserve_alignments: bool = False,
        preserve_frame_confidence: bool = False,
        confidence_method_cfg: Any = None,
        loop_labels: bool = False,
    ) -> None:
        self.decoder = decoder_model
        self.joint = joint_model
        self._blank_index = blank_index
        self.blank_index = blank_index
        if max_symbols_per_step is not None and max_symbols_per_step <= 0:
            raise ValueError(
                f"decoding.greedy.max_symbols must be > 0 (or null for 10), got {max_symbols_per_step}."
            )
        self.max_symbols = max_symbols_per_step or 10
        self.preserve_alignments = preserve_alignments
        self.preserve_frame_confidence = preserve_frame_confidence
        self.loop_labels = loop_labels
        self._init_confidence_method(confidence_method_cfg)

    @torch.no_grad()
    def __call__(
        self,
        encoder_output: torch.Tensor,
        encoded_lengths: torch.Tensor,
        partial_hypotheses: list[Hypothesis] | None = None,
    ) -> tuple[list[Hypothesis]]:
        """Decode a batch.

        Args:
            encoder_output: (B, D, T) encoder features (NeMo's layout).
            encoded_lengths: (B,) valid frames.
            partial_hypotheses: streaming continuation; not supported (must be None).

        Returns:
            A one-item tuple (NeMo's decoders return tuples) holding one Hypothesis per utterance with
            ``y_sequence`` ((U,) long tensor of token ids), ``score`` (sum of the chosen tokens' log-probs),
            ``timestep`` (frame of each token), ``length`` (the utterance's valid frames, as NeMo) and, as
            configured, ``alignments`` and ``frame_confidence`` (one list per valid frame).
        """
        if partial_hypotheses is not None:
            raise ValueError(
                "partial_hypotheses (streaming) is not supported by the greedy RNN-T search here; pass None."
            )
        frames = encoder_output.transpose(1, 2)  # (B, T, D)
        batch_size, max_time, _ = frames.shape
        device = frames.device
        lengths = encoded_lengths.to(device)
        record = self.preserve_alignments or self.preserve_frame_confidence
        tokens: list[list[int]] = [[] for _ in range(batch_size)]
        timesteps: list[list[int]] = [[] for _ in range(batch_size)]
        alignments: list[list[list[Any]]] = [[] for _ in range(batch_size)]
        confidences: list[list[list[float]]] = [[] for _ in range(batch_size)]
        scores = torch.zeros(batch_size, device=device)
        last_label = torch.full((batch_size,), self.blank_index, dtype=torch.long, device=device)
        prediction, state = self.decoder.predict(None, None, add_sos=False, batch_size=batch_size)
        for t in range(max_time):
            active = t < lengths
            if not bool(active.any()):
                break
            if record:
                for row in active.nonzero().flatten().tolist():
                    alignments[row].append([])
                    confidences[row].append([])
            frame = frames[:, t : t + 1, :]  # (B, 1, D)
            open_rows = active.clone()  # utterances still emitting at this frame
            for _ in range(self.max_symbols):
                logits = self.joint.joint(frame, prediction)[:, 0, 0, :]  # (B, V+1)
                log_probs = logits.float().log_softmax(dim=-1)
                best_score, best = log_probs.max(dim=-1)
                if record:
                    self._record(open_rows, log_probs, best, alignments, confidences)
                emits = open_rows & (best != self.blank_index)
                open_rows = emits
                if not bool(emits.any()):
                    break
                scores += torch.where(emits, best_score, torch.zeros_like(best_score))
                for row in emits.nonzero().flatten().tolist():
                    tokens[row].append(int(best[row]))
                    timesteps[row].append(t)
                last_label = torch.where(emits, best, last_label)
                new_prediction, new_state = self.decoder.predict(
                    last_label.unsqueeze(1), state, add_sos=False, batch_size=batch_size
                )
                prediction = torch.where(emits.view(-1, 1, 1), new_prediction, prediction)
                state = _select_state(emits, new_state, state)
        lengths_cpu = encoded_lengths.detach().cpu()
        hypotheses = []
        for row in range(batch_size):
            hypothesis = Hypothesis(
                score=float(scores[row]),
                y_sequence=torch.tensor(tokens[row], dtype=torch.long),
                timestep=timesteps[row],
                length=lengths_cpu[row],
            )
            if self.preserve_alignments:
                hypothesis.alignments = alignments[row]
            if self.preserve_frame_confidence:
                hypothesis.frame_confidence = confidences[row]
            hypotheses.append(hypothesis)
        return (hypotheses,)

    def _record(
        self,
        rows: torch.Tensor,
        log_probs: torch.Tensor,
        labels: torch.Tensor,
        alignments: list[list[list[Any]]],
        confidences: list[list[list[float]]],
    ) -> None:
        """Append this step's emission of each open utterance to its current frame's lists."""
        selected = rows.nonzero().flatten().tolist()
        if not selected:
            return
        cpu_log_probs = log_probs.detach().cpu()
        cpu_labels = labels.detach().cpu().to(torch.int32)
        scores = self._get_confidence(log_probs) if self.preserve_frame_confidence else None
        for row in selected:
            if self.preserve_alignments:
                alignments[row][-1].append((cpu_log_probs[row], cpu_labels[row]))
            if scores is not None:
                confidences[row][-1].append(scores[row])


class GreedyRNNTInfer(GreedyBatchedRNNTInfer):
    """NeMo's per-utterance greedy search; here the batched search, which gives the same hypotheses."""

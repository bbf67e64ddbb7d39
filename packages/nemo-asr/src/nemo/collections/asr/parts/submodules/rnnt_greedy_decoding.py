"""Greedy RNN-T decoding over a whole batch at once (NeMo's ``greedy`` and ``greedy_batch`` strategies).

At each encoder frame every utterance may emit up to ``max_symbols_per_step`` tokens. All utterances
advance together: the joint and the prediction network run on the full batch, and a mask keeps the
state of utterances that emitted blank (or are past their length) unchanged.

Config (``decoding.greedy``, NeMo 1.23's keys)::

    max_symbols: 10                   # (or max_symbols_per_step) tokens one frame may emit; null: no limit
    preserve_alignments: false        # Hypothesis.alignments: per frame, (log_probs (V+1,), label) per emission
    preserve_frame_confidence: false  # Hypothesis.frame_confidence: per frame, one score per emission (older
                                      # key; prefer decoding.confidence_cfg)
    confidence_method_cfg: {name: entropy, entropy_type: tsallis, alpha: 0.33, entropy_norm: exp}
    loop_labels: false                # NeMo's alternative loop order; same results, accepted for configs

Multi-blank transducers (``GreedyMultiblankRNNTInfer`` / ``GreedyBatchedMultiblankRNNTInfer``) put their big
blanks just before the standard blank: ``blank_index - 1 - i`` is the big blank lasting ``big_blank_durations[i]``
frames; emitting it closes the frame and skips the following ``duration - 1`` frames.

``partial_hypotheses`` (one Hypothesis per utterance, e.g. from a previous chunk) continue each search from the
hypothesis' ``last_token`` and ``dec_state``; the returned ``y_sequence`` holds the earlier tokens followed by the
new ones, while ``score`` and ``timestep`` cover the new tokens only (as NeMo).

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
    "GreedyBatchedMultiblankRNNTInfer",
    "GreedyBatchedRNNTInfer",
    "GreedyBatchedRNNTInferConfig",
    "GreedyRNNTInfer",
    "GreedyMultiblankRNNTInfer",
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


def _merge_states(decoder: torch.nn.Module, new_state: Any, state: Any, mask: torch.Tensor) -> None:
    """In place: ``state`` takes ``new_state`` for the utterances where ``mask`` (B,) is True.

    Uses the decoder's ``batch_replace_states_mask`` (LSTM ``(L, B, H)`` tensors, stateless ``(B, C-1)``
    histories, ...); a decoder without it must offer ``batch_copy_states(old, new, ids)``.
    """
    if hasattr(decoder, "batch_replace_states_mask"):
        decoder.batch_replace_states_mask(new_state, state, mask)
    else:
        decoder.batch_copy_states(state, new_state, mask.nonzero().flatten())


class GreedyBatchedRNNTInfer(ConfidenceMethodMixin):
    """Greedy batch decoding of an RNN-T model.

    Args:
        decoder_model: the prediction network (``RNNTDecoder`` or ``StatelessTransducerDecoder``), with
            ``predict``, ``initialize_state`` and the ``batch_*_state(s)`` helpers.
        joint_model: the joint network (``RNNTJoint``), with ``joint(f, g)``.
        blank_index: id of the (standard) blank token, the last output.
        max_symbols_per_step: most tokens one frame may emit (NeMo's ``max_symbols``); None: no limit.
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
        max_symbols_per_step: int | None = None,
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
                f"decoding.greedy.max_symbols must be > 0 (or null for no limit), got {max_symbols_per_step}."
            )
        self.max_symbols = max_symbols_per_step
        self.preserve_alignments = preserve_alignments
        self.preserve_frame_confidence = preserve_frame_confidence
        self.loop_labels = loop_labels
        self._init_confidence_method(confidence_method_cfg)

    @property
    def _first_blank_id(self) -> int:
        """Outputs with an id at or above this one close a frame (blank-like)."""
        return self.blank_index

    def _next_start_frames(
        self, t: int, active: torch.Tensor, closing: torch.Tensor, lengths: torch.Tensor
    ) -> torch.Tensor | None:
        """Frame each utterance resumes at after frame ``t``; None: the next frame for all (plain RNN-T).

        Args:
            t: the frame just decoded.
            active: (B,) bool, utterances that decoded frame ``t``.
            closing: (B,) long, the blank-like output that closed frame ``t`` per utterance (-1: none).
            lengths: (B,) valid frames.
        """
        return None

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
            partial_hypotheses: None, or one Hypothesis per utterance to continue (from its ``last_token`` and
                ``dec_state``; a hypothesis without ``last_token`` starts afresh).

        Returns:
            A one-item tuple (NeMo's decoders return tuples) holding one Hypothesis per utterance with
            ``y_sequence`` ((U,) long tensor of token ids), ``score`` (sum of the new tokens' log-probs),
            ``timestep`` (frame of each new token), ``length`` (the utterance's valid frames, as NeMo),
            ``last_token`` and ``dec_state`` (the decoder state of one utterance, on the CPU) and, as
            configured, ``alignments`` and ``frame_confidence`` (one list per decoded frame).
        """
        frames = encoder_output.transpose(1, 2)  # (B, T, D)
        batch_size, max_time, _ = frames.shape
        if partial_hypotheses is not None and len(partial_hypotheses) != batch_size:
            raise ValueError(
                f"partial_hypotheses has {len(partial_hypotheses)} hypotheses for a batch of {batch_size}; "
                "pass one per utterance (or None)."
            )
        device = frames.device
        lengths = encoded_lengths.to(device)
        record = self.preserve_alignments or self.preserve_frame_confidence
        tokens: list[list[int]] = [[] for _ in range(batch_size)]
        timesteps: list[list[int]] = [[] for _ in range(batch_size)]
        alignments: list[list[list[Any]]] = [[] for _ in range(batch_size)]
        confidences: list[list[list[float]]] = [[] for _ in range(batch_size)]
        scores = torch.zeros(batch_size, device=device)
        last_token = torch.full((batch_size,), -1, dtype=torch.long, device=device)
        # ``state`` has already consumed ``last_token``; ``state_before`` is the state that consumes it next
        # (what NeMo keeps in ``Hypothesis.dec_state``, so a continued search feeds ``last_token`` to it)
        prediction, state, state_before = self._start(frames, partial_hypotheses, last_token)
        resume_at = torch.zeros(batch_size, dtype=torch.long, device=device)
        for t in range(max_time):
            active = (t < lengths) & (resume_at <= t)
            if not bool((t < lengths).any()):
                break
            if not bool(active.any()):
                continue
            if record:
                for row in active.nonzero().flatten().tolist():
                    alignments[row].append([])
                    confidences[row].append([])
            frame = frames[:, t : t + 1, :]  # (B, 1, D)
            open_rows = active.clone()  # utterances still emitting at this frame
            closing = torch.full((batch_size,), -1, dtype=torch.long, device=device)
            step = 0
            while self.max_symbols is None or step < self.max_symbols:
                step += 1
                logits = self.joint.joint(frame, prediction)[:, 0, 0, :]  # (B, V+1)
                log_probs = logits.float().log_softmax(dim=-1)
                best_score, best = log_probs.max(dim=-1)
                if record:
                    self._record(open_rows, log_probs, best, alignments, confidences)
                blank_like = best >= self._first_blank_id
                closing = torch.where(open_rows & blank_like, best, closing)
                emits = open_rows & ~blank_like
                open_rows = emits
                if not bool(emits.any()):
                    break
                scores += torch.where(emits, best_score, torch.zeros_like(best_score))
                for row in emits.nonzero().flatten().tolist():
                    tokens[row].append(int(best[row]))
                    timesteps[row].append(t)
                last_token = torch.where(emits, best, last_token)
                # rows that do not emit feed a harmless id (0); their output and state are discarded
                labels = torch.where(emits, best, torch.zeros_like(best)).unsqueeze(1)
                new_prediction, new_state = self.decoder.predict(
                    labels, state, add_sos=False, batch_size=batch_size
                )
                prediction = torch.where(emits.view(-1, 1, 1), new_prediction, prediction)
                _merge_states(self.decoder, state, state_before, emits)
                _merge_states(self.decoder, new_state, state, emits)
            next_frames = self._next_start_frames(t, active, closing, lengths)
            if next_frames is not None:
                resume_at = torch.where(active, next_frames, resume_at)
        return (
            self._pack(
                partial_hypotheses,
                tokens,
                timesteps,
                scores,
                last_token,
                state_before,
                alignments,
                confidences,
                encoded_lengths,
            ),
        )

    def _start(
        self, frames: torch.Tensor, partial_hypotheses: list[Hypothesis] | None, last_token: torch.Tensor
    ) -> tuple[torch.Tensor, Any, Any]:
        """Prediction (B, 1, H), decoder state, and the state before ``last_token`` (the continued hypotheses'
        ``dec_state``; for the others a placeholder) at the first frame; fills ``last_token`` (B,) in place.

        Fresh utterances start from the start-of-sequence step (``predict(None, None)``); continued ones from
        ``predict(last_token, dec_state)``. The state is always a real (mutable) batch state: a decoder whose
        start step returns None (the stateless one) starts from ``initialize_state``.
        """
        batch_size = frames.size(0)
        prediction, state = self.decoder.predict(None, None, add_sos=False, batch_size=batch_size)
        if state is None:
            state = self.decoder.initialize_state(frames[:, 0, :])
        state = [s.clone() for s in state]
        state_before = [s.clone() for s in state]
        if partial_hypotheses is None:
            return prediction, state, state_before
        resumed_rows = [row for row, h in enumerate(partial_hypotheses) if h.last_token is not None]
        if not resumed_rows:
            return prediction, state, state_before
        device = frames.device
        fresh = self.decoder.initialize_state(frames[:, 0, :])
        row_states = []
        for row, hypothesis in enumerate(partial_hypotheses):
            if hypothesis.last_token is not None and hypothesis.dec_state is not None:
                row_states.append(hypothesis.dec_state)
            else:
                row_states.append(self.decoder.batch_select_state(fresh, row))
        start_state = [s.to(device) for s in self.decoder.batch_concat_states(row_states)]
        resumed = torch.zeros(batch_size, dtype=torch.bool, device=device)
        resumed[resumed_rows] = True
        for row in resumed_rows:
            last_token[row] = int(partial_hypotheses[row].last_token)
        labels = torch.where(resumed, last_token, torch.zeros_like(last_token)).unsqueeze(1)
        resumed_prediction, resumed_state = self.decoder.predict(
            labels, start_state, add_sos=False, batch_size=batch_size
        )
        prediction = torch.where(resumed.view(-1, 1, 1), resumed_prediction, prediction)
        _merge_states(self.decoder, resumed_state, state, resumed)
        _merge_states(self.decoder, start_state, state_before, resumed)
        return prediction, state, state_before

    def _pack(
        self,
        partial_hypotheses: list[Hypothesis] | None,
        tokens: list[list[int]],
        timesteps: list[list[int]],
        scores: torch.Tensor,
        last_token: torch.Tensor,
        state: Any,
        alignments: list[list[list[Any]]],
        confidences: list[list[list[float]]],
        encoded_lengths: torch.Tensor,
    ) -> list[Hypothesis]:
        """One Hypothesis per utterance (see ``__call__``)."""
        lengths_cpu = encoded_lengths.detach().cpu()
        cpu_state = [s.detach().cpu() for s in state]
        hypotheses = []
        for row in range(len(tokens)):
            earlier: list[int] = []
            if partial_hypotheses is not None and partial_hypotheses[row].y_sequence is not None:
                earlier = [
                    int(i) for i in torch.as_tensor(partial_hypotheses[row].y_sequence).flatten().tolist()
                ]
            row_last = int(last_token[row])
            hypothesis = Hypothesis(
                score=float(scores[row]),
                y_sequence=torch.tensor(earlier + tokens[row], dtype=torch.long),
                timestep=timesteps[row],
                length=lengths_cpu[row],
                last_token=None if row_last < 0 else row_last,
                dec_state=self.decoder.batch_select_state(cpu_state, row) if row_last >= 0 else None,
            )
            if self.preserve_alignments:
                hypothesis.alignments = alignments[row]
            if self.preserve_frame_confidence:
                hypothesis.frame_confidence = confidences[row]
            hypotheses.append(hypothesis)
        return hypotheses

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
    """NeMo's per-utterance greedy search; here the batched search, which gives the same hypotheses.

    Arguments as ``GreedyBatchedRNNTInfer`` without ``loop_labels``.
    """

    def __init__(
        self,
        decoder_model: torch.nn.Module,
        joint_model: torch.nn.Module,
        blank_index: int,
        max_symbols_per_step: int | None = None,
        preserve_alignments: bool = False,
        preserve_frame_confidence: bool = False,
        confidence_method_cfg: Any = None,
    ) -> None:
        super().__init__(
            decoder_model,
            joint_model,
            blank_index,
            max_symbols_per_step=max_symbols_per_step,
            preserve_alignments=preserve_alignments,
            preserve_frame_confidence=preserve_frame_confidence,
            confidence_method_cfg=confidence_method_cfg,
        )


class _MultiblankDurations:
    """Big-blank bookkeeping shared by the two multi-blank searches.

    ``blank_index - 1 - i`` is the big blank of ``durations[i]`` frames; ids from ``blank_index - len(durations)``
    up are blank-like.
    """

    def __init__(self, blank_index: int, big_blank_durations: list[int]) -> None:
        durations = [int(d) for d in big_blank_durations]
        if not durations or any(d < 1 for d in durations):
            raise ValueError(
                f"big_blank_durations must be a non-empty list of frame counts >= 1, got {big_blank_durations!r}."
            )
        self.durations = durations
        self.first_blank_id = blank_index - len(durations)
        # id -> frames covered; id -> 1 + position i of the big blank (0 for tokens and the standard blank)
        self.frames_by_id = torch.ones(blank_index + 1, dtype=torch.long)
        self.rank_by_id = torch.zeros(blank_index + 1, dtype=torch.long)
        for position, duration in enumerate(durations):
            self.frames_by_id[blank_index - 1 - position] = duration
            self.rank_by_id[blank_index - 1 - position] = position + 1

    def frames(self, closing: torch.Tensor) -> torch.Tensor:
        """Frames covered by each closing output (B,); 1 for anything but a big blank (-1: no blank)."""
        return self._lookup(self.frames_by_id, closing, 1)

    def ranks(self, closing: torch.Tensor) -> torch.Tensor:
        """1 + big-blank position of each closing output (B,); 0 for anything but a big blank."""
        return self._lookup(self.rank_by_id, closing, 0)

    @staticmethod
    def _lookup(table: torch.Tensor, ids: torch.Tensor, default: int) -> torch.Tensor:
        """``table[ids]`` (B,), ``default`` where an id is outside the table."""
        table = table.to(ids.device)
        inside = (ids >= 0) & (ids < table.numel())
        return torch.where(inside, table[ids.clamp(0, table.numel() - 1)], torch.full_like(ids, default))


class _MultiblankSearch:
    """NeMo's multi-blank constructor and blank ids, shared by the per-utterance and batched searches (mix in
    before the greedy class)."""

    def __init__(
        self,
        decoder_model: torch.nn.Module,
        joint_model: torch.nn.Module,
        blank_index: int,
        big_blank_durations: list[int],
        max_symbols_per_step: int | None = None,
        preserve_alignments: bool = False,
        preserve_frame_confidence: bool = False,
        confidence_method_cfg: Any = None,
    ) -> None:
        super().__init__(
            decoder_model,
            joint_model,
            blank_index,
            max_symbols_per_step=max_symbols_per_step,
            preserve_alignments=preserve_alignments,
            preserve_frame_confidence=preserve_frame_confidence,
            confidence_method_cfg=confidence_method_cfg,
        )
        self.big_blank_durations = big_blank_durations
        self._durations = _MultiblankDurations(blank_index, big_blank_durations)

    @property
    def _first_blank_id(self) -> int:
        return self._durations.first_blank_id


class GreedyMultiblankRNNTInfer(_MultiblankSearch, GreedyRNNTInfer):
    """Greedy search of a multi-blank RNN-T; each utterance skips frames after its own big blanks (NeMo's
    per-utterance behaviour).

    Args:
        big_blank_durations: frames covered by each big blank; output ``blank_index - 1 - i`` lasts
            ``big_blank_durations[i]`` frames.
        others: as ``GreedyRNNTInfer``; ``blank_index`` is the standard blank (the last output).
    """

    def _next_start_frames(
        self, t: int, active: torch.Tensor, closing: torch.Tensor, lengths: torch.Tensor
    ) -> torch.Tensor | None:
        return t + self._durations.frames(closing)


class GreedyBatchedMultiblankRNNTInfer(_MultiblankSearch, GreedyBatchedRNNTInfer):
    """Batched greedy search of a multi-blank RNN-T, all utterances on the same frames (NeMo's batched
    behaviour): after a frame the whole batch skips ahead by the big blank of the smallest position that every
    utterance still decoding emitted (one frame when any utterance closed with the standard blank or none), so
    results can differ from ``GreedyMultiblankRNNTInfer`` for batches larger than one.

    Args:
        big_blank_durations: frames covered by each big blank; output ``blank_index - 1 - i`` lasts
            ``big_blank_durations[i]`` frames.
        others: as ``GreedyRNNTInfer``; ``blank_index`` is the standard blank (the last output).
    """

    def _next_start_frames(
        self, t: int, active: torch.Tensor, closing: torch.Tensor, lengths: torch.Tensor
    ) -> torch.Tensor | None:
        # finished utterances count as having emitted the longest-positioned big blank
        ranks = torch.where(t < lengths, self._durations.ranks(closing), len(self._durations.durations))
        level = int(ranks.min())
        skip = self._durations.durations[level - 1] if level > 0 else 1
        return torch.full_like(closing, t + skip)

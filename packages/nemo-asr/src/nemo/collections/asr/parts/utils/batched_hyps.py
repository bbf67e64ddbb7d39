"""Batched greedy-search storage: ``BatchedHyps`` and ``BatchedAlignments`` (NeMo 1.23, in ``rnnt_utils``).

Kept in a module of its own, without postponed annotations, so that TorchScript can compile both classes
(``torch.jit.script`` reads their annotations as written). Import them from ``rnnt_utils``.
"""

# TorchScript needs typing.Optional here, not ``X | None``.
# ruff: noqa: UP045

from typing import Optional

import torch

__all__ = ["BatchedAlignments", "BatchedHyps"]


def _check_sizes(batch_size: int, init_length: int) -> None:
    if init_length <= 0:
        raise ValueError(f"init_length must be > 0, got {init_length}")
    if batch_size <= 0:
        raise ValueError(f"batch_size must be > 0, got {batch_size}")


class BatchedHyps:
    """The growing hypotheses of a batched greedy search, kept as tensors (TorchScript-compatible).

    Storage doubles along the label axis when full, so appending stays amortized O(1).

    Args:
        batch_size: number of utterances (> 0).
        init_length: labels allocated per utterance at first (> 0).
        device: where the tensors live.
        float_dtype: dtype of ``scores``.

    Attributes:
        current_lengths: (B,) labels stored per utterance.
        transcript: (B, L) label ids; the first ``current_lengths[b]`` of row b are valid.
        timesteps: (B, L) frame index of each label.
        scores: (B,) summed label scores.
        last_timestep: (B,) frame of the last label (-1 before any).
        last_timestep_lasts: (B,) labels emitted so far at ``last_timestep``.
    """

    def __init__(
        self,
        batch_size: int,
        init_length: int,
        device: Optional[torch.device] = None,
        float_dtype: Optional[torch.dtype] = None,
    ):
        _check_sizes(batch_size, init_length)
        self._max_length = init_length
        self.current_lengths = torch.zeros(batch_size, device=device, dtype=torch.long)
        self.transcript = torch.zeros((batch_size, init_length), device=device, dtype=torch.long)
        self.timesteps = torch.zeros((batch_size, init_length), device=device, dtype=torch.long)
        self.scores = torch.zeros(batch_size, device=device, dtype=float_dtype)
        self.last_timestep = torch.full((batch_size,), -1, device=device, dtype=torch.long)
        self.last_timestep_lasts = torch.zeros(batch_size, device=device, dtype=torch.long)

    def _allocate_more(self):
        """Double the label axis of ``transcript`` and ``timesteps``."""
        self.transcript = torch.cat((self.transcript, torch.zeros_like(self.transcript)), dim=-1)
        self.timesteps = torch.cat((self.timesteps, torch.zeros_like(self.timesteps)), dim=-1)
        self._max_length = 2 * self._max_length

    def add_results_(
        self,
        active_indices: torch.Tensor,
        labels: torch.Tensor,
        time_indices: torch.Tensor,
        scores: torch.Tensor,
    ):
        """Append one non-blank label to each utterance in ``active_indices`` (in place).

        Args:
            active_indices: (A,) rows of the batch that emitted a label.
            labels: (A,) the labels (no blanks).
            time_indices: (A,) their frames.
            scores: (A,) their scores, added to ``scores``.
        """
        if active_indices.shape[0] == 0:
            return
        if int(self.current_lengths.max().item()) >= self._max_length:
            self._allocate_more()
        self.scores[active_indices] += scores
        positions = self.current_lengths[active_indices]
        self.transcript[active_indices, positions] = labels
        self.timesteps[active_indices, positions] = time_indices
        same_frame = self.last_timestep[active_indices] == time_indices
        self.last_timestep_lasts[active_indices] = torch.where(
            same_frame, self.last_timestep_lasts[active_indices] + 1, torch.ones_like(time_indices)
        )
        self.last_timestep[active_indices] = time_indices
        self.current_lengths[active_indices] += 1


class BatchedAlignments:
    """Every emission of a batched greedy search (blanks included): frames, and optionally logits, labels, scores.

    Args:
        batch_size: number of utterances (> 0).
        logits_dim: size of one joint output (V + 1).
        init_length: emissions allocated per utterance at first (> 0); storage doubles when full.
        device: where the tensors live.
        float_dtype: dtype of ``logits`` and ``frame_confidence``.
        store_alignments: keep ``logits`` (B, L, logits_dim) and ``labels`` (B, L).
        store_frame_confidence: keep ``frame_confidence`` (B, L).

    Attributes:
        current_lengths: (B,) emissions stored per utterance.
        timesteps: (B, L) frame of each emission.
    """

    def __init__(
        self,
        batch_size: int,
        logits_dim: int,
        init_length: int,
        device: Optional[torch.device] = None,
        float_dtype: Optional[torch.dtype] = None,
        store_alignments: bool = True,
        store_frame_confidence: bool = False,
    ):
        _check_sizes(batch_size, init_length)
        self.with_alignments = store_alignments
        self.with_frame_confidence = store_frame_confidence
        self._max_length = init_length
        self.timesteps = torch.zeros((batch_size, init_length), device=device, dtype=torch.long)
        self.current_lengths = torch.zeros(batch_size, device=device, dtype=torch.long)
        self.logits: Optional[torch.Tensor] = None
        self.labels: Optional[torch.Tensor] = None
        self.frame_confidence: Optional[torch.Tensor] = None
        if store_alignments:
            self.logits = torch.zeros((batch_size, init_length, logits_dim), device=device, dtype=float_dtype)
            self.labels = torch.zeros((batch_size, init_length), device=device, dtype=torch.long)
        if store_frame_confidence:
            self.frame_confidence = torch.zeros((batch_size, init_length), device=device, dtype=float_dtype)

    def _allocate_more(self):
        """Double the emission axis of every stored tensor."""
        self.timesteps = torch.cat((self.timesteps, torch.zeros_like(self.timesteps)), dim=-1)
        logits = self.logits
        labels = self.labels
        if logits is not None and labels is not None:
            self.logits = torch.cat((logits, torch.zeros_like(logits)), dim=1)
            self.labels = torch.cat((labels, torch.zeros_like(labels)), dim=-1)
        confidence = self.frame_confidence
        if confidence is not None:
            self.frame_confidence = torch.cat((confidence, torch.zeros_like(confidence)), dim=-1)
        self._max_length = 2 * self._max_length

    def add_results_(
        self,
        active_indices: torch.Tensor,
        time_indices: torch.Tensor,
        logits: Optional[torch.Tensor] = None,
        labels: Optional[torch.Tensor] = None,
        confidence: Optional[torch.Tensor] = None,
    ):
        """Append one emission to each utterance in ``active_indices`` (in place).

        Args:
            active_indices: (A,) rows of the batch.
            time_indices: (A,) frame of each emission.
            logits: (A, logits_dim) joint outputs, stored with ``labels`` when alignments are kept.
            labels: (A,) emitted labels (blank allowed).
            confidence: (A,) frame confidence, stored when kept.
        """
        if active_indices.shape[0] == 0:
            return
        if int(self.current_lengths.max().item()) >= self._max_length:
            self._allocate_more()
        positions = self.current_lengths[active_indices]
        self.timesteps[active_indices, positions] = time_indices
        stored_logits = self.logits
        stored_labels = self.labels
        if (
            stored_logits is not None
            and stored_labels is not None
            and logits is not None
            and labels is not None
        ):
            stored_logits[active_indices, positions] = logits
            stored_labels[active_indices, positions] = labels
        stored_confidence = self.frame_confidence
        if stored_confidence is not None and confidence is not None:
            stored_confidence[active_indices, positions] = confidence
        self.current_lengths[active_indices] += 1

"""Contrastive loss of self-supervised pre-training (NeMo 1.23's ``ContrastiveLoss``, after wav2vec 2.0).

At every masked step the decoder output must pick the true target among sampled distractors: the score of a
candidate is its cosine similarity with the output divided by ``logit_temp``, and the loss is the cross entropy
with the true target at index 0. Targets are the unmasked spectrogram steps (``combine_time_steps`` frames
each), quantized by a ``GumbelVectorQuantizer`` (``quantized_targets``) or projected by a linear layer.
A distractor equal to the target scores ``-inf``. With quantized targets the quantizer's diversity term is added
(``prob_ppl_weight`` times the number of predicted steps), and the quantizer's ids are kept in ``target_ids`` for
other losses (``MLMLoss``). The sum is scaled by ``multiplier / batch size``.

State-dict keys as in NeMo: ``quantizer.vars``, ``quantizer.weight_proj.*`` or ``target_proj.*``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from nemo.collections.asr.parts.submodules.ssl_quantizers import GumbelVectorQuantizer
from nemo.core import Loss, typecheck
from nemo.core.neural_types import (
    AcousticEncodedRepresentation,
    LengthsType,
    LossType,
    NeuralType,
    SpectrogramType,
)
from torch import nn

__all__ = ["ContrastiveLoss"]


class ContrastiveLoss(Loss):
    """Identify the true (quantized) spectrogram step of each masked position among distractors.

    Args:
        in_dim: spectrogram channels.
        proj_dim: channels of the decoder outputs and of the targets.
        combine_time_steps: spectrogram frames per step.
        num_negatives: distractors per masked step.
        quantized_targets: quantize targets (else project them linearly).
        codebook_size: quantizer entries per group.
        prob_ppl_weight: weight of the quantizer's diversity term.
        logit_temp: temperature dividing the cosine similarities.
        reduce: cross-entropy reduction (``"sum"``, ``"mean"``, ...).
        sample_from_same_utterance_only: draw distractors from the same utterance (every utterance must have
            the same number of masked steps, as ``MaskedPatchAugmentation`` gives).
        sample_from_non_masked: draw distractors from all steps, not only masked ones.
        sample_from_codebook: draw distractors from the whole quantizer codebook (needs quantized targets and
            ``sample_from_same_utterance_only=False``).
        group_loss: must be false (per-group scoring is not supported; see ``__init__``).
        num_groups: quantizer groups.
        quantizer_temp_start: initial Gumbel temperature.
        quantizer_temp_min: lowest Gumbel temperature.
        quantizer_temp_decay: temperature decay per update.
        mask_threshold: fraction of masked values above which a step counts as masked.
        store_ids: keep the quantizer ids in ``target_ids`` (``target_lengths`` None, or the reduced lengths).
        reduce_ids: collapse runs of equal ids (``target_ids`` then (B, U) with lengths ``target_lengths``).
        multiplier: scale of the final loss (divided by the batch size).
    """

    @property
    def input_types(self) -> dict[str, NeuralType]:
        """``spectrograms`` and ``spec_masks`` (B, D, T), ``decoder_outputs`` (B, T', C), ``decoder_lengths``."""
        return {
            "spectrograms": NeuralType(("B", "D", "T"), SpectrogramType()),
            "spec_masks": NeuralType(("B", "D", "T"), SpectrogramType()),
            "decoder_outputs": NeuralType(("B", "T", "D"), AcousticEncodedRepresentation()),
            "decoder_lengths": NeuralType(tuple("B"), LengthsType(), optional=True),
        }

    @property
    def output_types(self) -> dict[str, NeuralType]:
        """``loss``: scalar."""
        return {"loss": NeuralType(elements_type=LossType())}

    @property
    def needs_labels(self) -> bool:
        """False: the targets come from the spectrogram."""
        return False

    def __init__(
        self,
        in_dim: int,
        proj_dim: int = 128,
        combine_time_steps: int = 1,
        num_negatives: int = 100,
        quantized_targets: bool = False,
        codebook_size: int = 320,
        prob_ppl_weight: float = 0.1,
        logit_temp: float = 0.1,
        reduce: str = "sum",
        sample_from_same_utterance_only: bool = True,
        sample_from_non_masked: bool = False,
        sample_from_codebook: bool = False,
        group_loss: bool = False,
        num_groups: int = 2,
        quantizer_temp_start: float = 2,
        quantizer_temp_min: float = 0.5,
        quantizer_temp_decay: float = 0.999995,
        mask_threshold: float = 0.8,
        store_ids: bool = True,
        reduce_ids: bool = False,
        multiplier: float = 16.0,
    ) -> None:
        super().__init__()
        if group_loss:
            # NeMo 1.23 reshapes the quantizer's single shared codebook as if it held one codebook per group:
            # it fails for most sizes and scores against mixed-up vectors otherwise.
            raise ValueError(
                "group_loss=True is not supported: the quantizer shares one codebook across groups, so there are "
                "no per-group codebooks to score against. Set group_loss: false."
            )
        needs_quantizer = ["sample_from_codebook"] if sample_from_codebook else []
        if needs_quantizer and not quantized_targets:
            raise ValueError(
                f"{needs_quantizer[0]}=True needs quantized_targets=True (it uses the quantizer codebook)."
            )
        if needs_quantizer and sample_from_same_utterance_only:
            raise ValueError(
                f"{needs_quantizer[0]}=True applies only with sample_from_same_utterance_only=False; set that."
            )
        self.quantized_targets = quantized_targets
        self.num_negatives = num_negatives
        self.prob_ppl_weight = prob_ppl_weight
        self.logit_temp = logit_temp
        self.reduce = reduce
        self.combine_time_steps = combine_time_steps
        self.sample_from_same_utterance_only = sample_from_same_utterance_only
        self.sample_from_non_masked = sample_from_non_masked
        self.sample_from_codebook = sample_from_codebook
        self.group_loss = group_loss
        self.mask_threshold = mask_threshold
        self.multiplier = multiplier
        self.store_ids = store_ids
        self.reduce_ids = reduce_ids
        self.target_ids: torch.Tensor | None = None
        self.target_lengths: torch.Tensor | None = None
        if quantized_targets:
            self.quantizer = GumbelVectorQuantizer(
                dim=in_dim * combine_time_steps,
                num_vars=codebook_size,
                temp=(quantizer_temp_start, quantizer_temp_min, quantizer_temp_decay),
                groups=num_groups,
                combine_groups=True,
                vq_dim=proj_dim,
                time_first=True,
            )
        else:
            self.target_proj = nn.Linear(in_dim * combine_time_steps, proj_dim)

    def sample_negatives(self, y: torch.Tensor, num: int) -> tuple[torch.Tensor, torch.Tensor]:
        """For each of ``num`` rows, ``num_negatives`` distinct rows of ``y`` (first axis) drawn uniformly.

        Args:
            y: (N, ...) candidates.
            num: rows to draw for.

        Returns:
            ``(negatives (num_negatives, num, ...), indices (num, num_negatives))``.
        """
        indices = torch.multinomial(torch.ones((num, y.shape[0]), device=y.device), self.num_negatives)
        negatives = y[indices.view(-1)].view((num, self.num_negatives) + y.shape[1:]).transpose(0, 1)
        return negatives, indices

    def _targets(self, steps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Quantized (storing ids) or projected targets (B, T', C) and the diversity term (or None)."""
        if not self.quantized_targets:
            return self.target_proj(steps), None
        if not self.store_ids:
            targets, diversity, _ = self.quantizer(steps)
            return targets, diversity
        targets, diversity, _, ids = self.quantizer(steps, return_ids=True)
        self.target_ids, self.target_lengths = ids, None
        if self.reduce_ids:
            self.target_ids, self.target_lengths = _collapse_runs(ids)
        return targets, diversity

    @typecheck()
    def forward(
        self,
        spectrograms: torch.Tensor,
        spec_masks: torch.Tensor,
        decoder_outputs: torch.Tensor,
        decoder_lengths: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """The loss (see the module docstring); ``decoder_lengths`` is not used (masks mark the steps)."""
        batch = spectrograms.shape[0]
        steps = spectrograms.transpose(-2, -1)
        steps = steps.reshape(batch, steps.shape[1] // self.combine_time_steps, -1)  # (B, T', C_in)
        masks = spec_masks.transpose(-2, -1).reshape(batch, steps.shape[1], -1)
        masked = masks.mean(-1) > self.mask_threshold  # (B, T')
        targets, diversity = self._targets(steps)
        outputs, positives = decoder_outputs[masked], targets[masked]  # (M, C)

        if self.sample_from_same_utterance_only:
            per_utterance_out = outputs.reshape(batch, -1, outputs.shape[-1]).transpose(0, 1)  # (T'', B, C)
            per_utterance_pos = positives.reshape(batch, -1, positives.shape[-1]).transpose(0, 1)
            pool = targets.transpose(0, 1) if self.sample_from_non_masked else per_utterance_pos
            negatives, _ = self.sample_negatives(pool, per_utterance_pos.size(0))  # (N, T'', B, C)
            outputs = per_utterance_out.reshape(-1, outputs.shape[-1])
            positives = per_utterance_pos.reshape(-1, positives.shape[-1])
            negatives = negatives.reshape(self.num_negatives, -1, negatives.shape[-1])
        elif self.sample_from_codebook:
            negatives = self.quantizer.sample_from_codebook(self.num_negatives, positives.size(0))
        elif self.sample_from_non_masked:
            negatives, _ = self.sample_negatives(targets.reshape(-1, targets.shape[-1]), positives.size(0))
        else:
            negatives, _ = self.sample_negatives(positives, positives.size(0))

        scores = self._calculate_similarity(outputs, negatives, positives).transpose(0, 1)  # (M, 1 + N)
        labels = torch.zeros(scores.size(0), dtype=torch.long, device=scores.device)
        loss = F.cross_entropy(scores, labels, reduction=self.reduce)
        if self.prob_ppl_weight != 0 and diversity is not None:
            loss = loss + self.prob_ppl_weight * diversity * labels.numel()
        return loss * (self.multiplier / batch)

    def _calculate_similarity(
        self, logits: torch.Tensor, negatives: torch.Tensor, targets: torch.Tensor
    ) -> torch.Tensor:
        """Cosine similarities / ``logit_temp`` of ``logits`` (M, C) with ``[targets; negatives]``: (1 + N, M).

        A negative identical to its target scores ``-inf``.
        """
        same_as_target = (targets == negatives).all(-1)  # (N, M)
        candidates = torch.cat([targets.unsqueeze(0), negatives], dim=0)
        scores = torch.cosine_similarity(logits.float().unsqueeze(0), candidates.float(), dim=-1).type_as(
            logits
        )
        scores = scores / self.logit_temp
        blocked = torch.cat([torch.zeros_like(same_as_target[:1]), same_as_target], dim=0)
        return scores.masked_fill(blocked, float("-inf"))

    def set_num_updates(self, num_updates: int) -> None:
        """Anneal the quantizer temperature (no-op without quantized targets)."""
        if self.quantized_targets:
            self.quantizer.set_num_updates(num_updates)


def _collapse_runs(ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Collapse runs of equal consecutive ids per row: ``(ids (B, U_max) zero-padded, lengths (B,))``."""
    rows = [torch.unique_consecutive(row) for row in ids]
    lengths = torch.tensor([len(row) for row in rows], device=ids.device)
    padded = ids.new_zeros(ids.shape[0], int(lengths.max()))
    for index, row in enumerate(rows):
        padded[index, : len(row)] = row
    return padded, lengths

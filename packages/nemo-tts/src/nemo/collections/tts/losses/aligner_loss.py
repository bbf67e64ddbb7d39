"""The learned-alignment losses of FastPitch (NeMo 1.23's names): the forward-sum (CTC over the soft
alignment, every token in order) and the binarization loss (soft attention kept close to the hard path).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from nemo.core.classes import Loss, typecheck
from nemo.core.neural_types import LengthsType, LogprobsType, LossType, NeuralType, ProbsType

__all__ = ["BinLoss", "ForwardSumLoss"]


class ForwardSumLoss(Loss):
    """CTC loss of the alignment log-scores against the token sequence 1..T_text (0 is the blank, scored
    ``blank_logprob``), over ``out_lens`` frames, times ``loss_scale``."""

    def __init__(self, blank_logprob: float = -1, loss_scale: float = 1.0):
        super().__init__()
        self.log_softmax = torch.nn.LogSoftmax(dim=-1)
        self.ctc_loss = torch.nn.CTCLoss(zero_infinity=True)
        self.blank_logprob = blank_logprob
        self.loss_scale = loss_scale

    @property
    def input_types(self) -> dict[str, NeuralType]:
        return {
            "attn_logprob": NeuralType(("B", "S", "T_spec", "T_text"), LogprobsType()),
            "in_lens": NeuralType(("B",), LengthsType()),
            "out_lens": NeuralType(("B",), LengthsType()),
        }

    @property
    def output_types(self) -> dict[str, NeuralType]:
        return {"forward_sum_loss": NeuralType(elements_type=LossType())}

    @typecheck()
    def forward(
        self, attn_logprob: torch.Tensor, in_lens: torch.Tensor, out_lens: torch.Tensor
    ) -> torch.Tensor:
        """(B, 1, T_spec, T_text) log-scores, (B,) text and spectrogram lengths -> scalar loss."""
        max_key_len = attn_logprob.shape[-1]
        # (T_spec, B, 1 + T_text): blank first, tokens past each text's length made impossible.
        logprob = F.pad(attn_logprob.squeeze(1).permute(1, 0, 2), (1, 0), value=self.blank_logprob)
        key_inds = torch.arange(max_key_len + 1, device=logprob.device, dtype=torch.long)
        logprob = logprob.masked_fill(key_inds.view(1, 1, -1) > in_lens.view(1, -1, 1), -1e15)
        logprob = self.log_softmax(logprob)
        targets = key_inds[1:].unsqueeze(0).expand(in_lens.numel(), -1)
        cost = self.ctc_loss(logprob, targets, input_lengths=out_lens, target_lengths=in_lens)
        return cost * self.loss_scale


class BinLoss(Loss):
    """Mean negative log of the soft attention on the hard path's cells, times ``loss_scale``."""

    def __init__(self, loss_scale: float = 1.0):
        super().__init__()
        self.loss_scale = loss_scale

    @property
    def input_types(self) -> dict[str, NeuralType]:
        return {
            "hard_attention": NeuralType(("B", "S", "T_spec", "T_text"), ProbsType()),
            "soft_attention": NeuralType(("B", "S", "T_spec", "T_text"), ProbsType()),
        }

    @property
    def output_types(self) -> dict[str, NeuralType]:
        return {"bin_loss": NeuralType(elements_type=LossType())}

    @typecheck()
    def forward(self, hard_attention: torch.Tensor, soft_attention: torch.Tensor) -> torch.Tensor:
        """(B, 1, T_spec, T_text) hard (0/1) and soft attention -> scalar loss."""
        log_sum = torch.log(torch.clamp(soft_attention[hard_attention == 1], min=1e-12)).sum()
        return -log_sum / hard_attention.sum() * self.loss_scale

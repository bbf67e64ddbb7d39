"""Gumbel-softmax vector quantizer of self-supervised pre-training (wav2vec 2.0, https://arxiv.org/abs/2006.11477).

NeMo 1.23's ``GumbelVectorQuantizer``: same arguments and state-dict keys (``vars``, ``weight_proj.*``), so the
quantizer inside a NeMo ``ContrastiveLoss`` checkpoint loads strictly.

Each frame is projected to ``groups`` sets of ``num_vars`` logits; every group picks one codebook vector (a
straight-through hard Gumbel-softmax sample in training, the argmax in evaluation) and the picks are concatenated
into a ``vq_dim`` vector. The returned diversity term is ``(G V - perplexity) / (G V)``, where the perplexity is
that of the batch-averaged softmax of each group, summed over groups.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from nemo.collections.asr.parts.submodules.jasper import jasper_activations
from nemo.core import NeuralModule
from nemo.core.neural_types import EncodedRepresentation, LossType, NeuralType
from torch import nn

__all__ = ["GumbelVectorQuantizer"]


class GumbelVectorQuantizer(NeuralModule):
    """Quantize frames to codebook vectors with a Gumbel softmax.

    Args:
        dim: input channels C.
        num_vars: codebook entries per group V.
        temp: ``(start, minimum, decay)`` of the Gumbel temperature; after ``n`` updates it is
            ``max(start * decay**n, minimum)``.
        groups: codebook groups G (``vq_dim`` must be divisible by it).
        combine_groups: all groups share one codebook of V entries (else G codebooks).
        vq_dim: output channels.
        time_first: inputs and outputs are (B, T, C) (else (B, C, T)).
        activation: activation between projection layers (``weight_proj_depth > 1``), a ``jasper_activations`` name.
        weight_proj_depth: layers of the logit projection.
        weight_proj_factor: width factor of the inner projection layers.
    """

    def __init__(
        self,
        dim: int,
        num_vars: int,
        temp: Sequence[float],
        groups: int,
        combine_groups: bool,
        vq_dim: int,
        time_first: bool,
        activation: str = "gelu",
        weight_proj_depth: int = 1,
        weight_proj_factor: int = 1,
    ) -> None:
        super().__init__()
        if vq_dim % groups != 0:
            raise ValueError(
                f"vq_dim={vq_dim} must be divisible by groups={groups} (each group gives vq_dim/groups)."
            )
        if len(temp) != 3:
            raise ValueError(f"temp={list(temp)} must be (start, minimum, decay) of the Gumbel temperature.")
        if activation not in jasper_activations:
            raise ValueError(
                f"activation={activation!r} is unknown; expected one of {sorted(jasper_activations)}."
            )
        self.groups = groups
        self.combine_groups = combine_groups
        self.input_dim = dim
        self.num_vars = num_vars
        self.time_first = time_first
        codebooks = 1 if combine_groups else groups
        self.vars = nn.Parameter(torch.empty(1, codebooks * num_vars, vq_dim // groups).uniform_())
        if weight_proj_depth > 1:
            inner = dim * weight_proj_factor
            layers: list[nn.Module] = []
            for index in range(weight_proj_depth - 1):
                layers.append(
                    nn.Sequential(
                        nn.Linear(dim if index == 0 else inner, inner), jasper_activations[activation]()
                    )
                )
            layers.append(nn.Linear(inner, groups * num_vars))
            self.weight_proj: nn.Module = nn.Sequential(*layers)
        else:
            self.weight_proj = nn.Linear(dim, groups * num_vars)
            nn.init.normal_(self.weight_proj.weight, mean=0.0, std=1.0)
            nn.init.zeros_(self.weight_proj.bias)
        self.max_temp, self.min_temp, self.temp_decay = (float(value) for value in temp)
        self.curr_temp = self.max_temp
        self.codebook_indices: torch.Tensor | None = None

    @property
    def input_types(self) -> dict[str, NeuralType]:
        """``x``: (B, T, C) with ``time_first``, else (B, C, T)."""
        axes = ("B", "T", "D") if self.time_first else ("B", "D", "T")
        return {"x": NeuralType(axes, EncodedRepresentation())}

    @property
    def output_types(self) -> dict[str, NeuralType]:
        """Quantized ``x`` (layout of the input) and the ``quantize_prob_ppl`` diversity term."""
        axes = ("B", "T", "D") if self.time_first else ("B", "D", "T")
        return {
            "x": NeuralType(axes, EncodedRepresentation()),
            "quantize_prob_ppl": NeuralType(elements_type=LossType()),
        }

    def set_num_updates(self, num_updates: int) -> None:
        """Anneal the temperature to ``max(start * decay**num_updates, minimum)``."""
        self.curr_temp = max(self.max_temp * self.temp_decay**num_updates, self.min_temp)

    def get_codebook_indices(self) -> torch.Tensor:
        """Flat codebook rows of every combination of one entry per group ((V^G * G,) int64, cached)."""
        if self.codebook_indices is None:
            combos = torch.tensor(
                list(itertools.product(range(self.num_vars), repeat=self.groups)), dtype=torch.long
            )
            if not self.combine_groups:
                combos = combos + torch.arange(self.groups) * self.num_vars
            self.codebook_indices = combos.flatten().to(self.vars.device)
        return self.codebook_indices

    def sample_from_codebook(self, b: int, n: int) -> torch.Tensor:
        """``b * n`` random codebook vectors (one entry per group, concatenated), shaped (b, n, vq_dim)."""
        combos = self.get_codebook_indices().view(-1, self.groups)
        if n >= combos.size(0):
            raise ValueError(
                f"cannot sample {n} vectors per row from a codebook of {combos.size(0)} combinations."
            )
        picks = combos[torch.randint(0, combos.size(0), (b * n,))]
        return self.vars.squeeze(0).index_select(0, picks.flatten()).view(b, n, -1)

    def forward(self, x: torch.Tensor, return_ids: bool = False) -> tuple:
        """Quantize.

        Args:
            x: (B, T, C) (``time_first``) or (B, C, T).
            return_ids: also return each frame's codebook id, ``sum_g id_g * V^(G - 1 - g)`` ((B, T) int64).

        Returns:
            ``(quantized, diversity, temperature[, ids])``; ``quantized`` in the input layout with ``vq_dim``
            channels.
        """
        if not self.time_first:
            x = x.transpose(1, 2)
        batch, frames, _ = x.shape
        logits = self.weight_proj(x.reshape(batch * frames, -1)).view(
            batch * frames, self.groups, self.num_vars
        )
        ids = logits.argmax(-1)  # (BT, G)
        hard = F.one_hot(ids, self.num_vars).to(logits.dtype)

        average = torch.softmax(logits.float(), dim=-1).mean(dim=0)  # (G, V)
        perplexity = torch.exp(-(average * torch.log(average + 1e-7)).sum(-1)).sum()
        total = self.num_vars * self.groups
        diversity = (total - perplexity) / total

        if self.training:
            onehot = F.gumbel_softmax(logits.float(), tau=self.curr_temp, hard=True).type_as(logits)
        else:
            onehot = hard
        codebook = self.vars.squeeze(0)  # (G' V, vq_dim / G)
        if self.combine_groups:
            codebook = codebook.repeat(self.groups, 1)
        codebook = codebook.view(self.groups, self.num_vars, -1)
        quantized = torch.einsum("ngv,gvd->ngd", onehot, codebook).reshape(batch, frames, -1)
        if not self.time_first:
            quantized = quantized.transpose(1, 2)
        if not return_ids:
            return quantized, diversity, self.curr_temp
        place = self.num_vars ** torch.arange(self.groups - 1, -1, -1, device=ids.device)
        frame_ids = (ids * place).sum(-1).view(batch, frames)
        return quantized, diversity, self.curr_temp, frame_ids

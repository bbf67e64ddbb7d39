"""Residual vector quantization of NeMo 1.23's EnCodec-style codec (``encodec_modules``), with its names,
constructor arguments and state-dict keys.

- :class:`EuclideanCodebook`: nearest-code quantization; codes start from k-means on the first batch and are
  trained by exponential moving averages, with dead codes replaced by batch vectors.
- :class:`ResidualVectorQuantizer` (https://arxiv.org/abs/2107.03312): each codebook quantizes what the
  previous ones left; training returns a commitment loss and passes gradients straight through.
- :class:`GroupResidualVectorQuantizer` (HiFi-Codec, https://arxiv.org/abs/2305.02765): one RVQ per channel
  group.

Not provided here: NeMo's SEANet encoder/decoder and STFT discriminators.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
import torch.nn.functional as F
from nemo.collections.tts.losses.audio_codec_loss import MaskedMSELoss
from nemo.collections.tts.modules.audio_codec_modules import VectorQuantizerBase
from nemo.collections.tts.parts.utils.helpers import mask_sequence_tensor
from nemo.core.classes.module import NeuralModule
from nemo.core.classes.typecheck import typecheck
from nemo.core.neural_types.elements import EncodedRepresentation, Index, LengthsType, LossType
from nemo.core.neural_types.neural_type import NeuralType
from torch import nn

__all__ = ["EuclideanCodebook", "GroupResidualVectorQuantizer", "ResidualVectorQuantizer"]


def _broadcast_from_rank0(tensors: Iterable[torch.Tensor]) -> None:
    """Copy rank 0's values into every rank's ``tensors`` when running distributed (no-op otherwise)."""
    if not (torch.distributed.is_available() and torch.distributed.is_initialized()):
        return
    for tensor in tensors:
        torch.distributed.broadcast(tensor.data, src=0)


def _squared_distances(vectors: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
    """(N, D) x (K, D) -> (N, K) squared Euclidean distances."""
    return vectors.pow(2).sum(1, keepdim=True) - 2 * vectors @ codes.t() + codes.pow(2).sum(1).unsqueeze(0)


def _draw_rows(vectors: torch.Tensor, count: int) -> torch.Tensor:
    """``count`` rows of (N, D) ``vectors``: distinct ones when ``count <= N``, else drawn with replacement."""
    total = vectors.shape[0]
    if total >= count:
        rows = torch.randperm(total, device=vectors.device)[:count]
    else:
        rows = torch.randint(0, total, (count,), device=vectors.device)
    return vectors[rows]


def _kmeans(vectors: torch.Tensor, num_clusters: int, num_iters: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Lloyd's k-means from randomly drawn rows; an empty cluster keeps its previous centre.

    Args:
        vectors: (N, D) samples.
        num_clusters: K.
        num_iters: iterations (> 0).

    Returns:
        centres (K, D) and the number of samples assigned to each (K,) in the last iteration.
    """
    if num_iters <= 0:
        raise ValueError(f"k-means needs kmeans_iters > 0, got {num_iters}.")
    centres = _draw_rows(vectors, num_clusters)
    counts = torch.zeros(num_clusters, dtype=torch.long, device=vectors.device)
    for _ in range(num_iters):
        assignment = _squared_distances(vectors, centres).argmin(dim=1)
        counts = torch.bincount(assignment, minlength=num_clusters)
        sums = torch.zeros_like(centres).index_add_(0, assignment, vectors)
        means = sums / counts.clamp(min=1).unsqueeze(1).to(vectors.dtype)
        centres = torch.where(counts.unsqueeze(1) == 0, centres, means)
    return centres, counts


def _mask_time_major(tensor: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Zero the frames of (B, T, D) ``tensor`` past ``lengths`` (B,)."""
    return mask_sequence_tensor(tensor.transpose(1, 2), lengths).transpose(1, 2)


_TIME_MAJOR_INPUTS = {
    "inputs": NeuralType(("B", "T", "D"), EncodedRepresentation()),
    "input_len": NeuralType(tuple("B"), LengthsType()),
}


class EuclideanCodebook(NeuralModule):
    """A codebook of ``codebook_size`` vectors; each input vector maps to its nearest code.

    Args:
        codebook_size: number of codes K.
        codebook_dim: code dimension D.
        decay: EMA decay of the code statistics.
        threshold_ema_dead_code: in training, codes whose EMA usage falls below this are replaced by random
            vectors of the batch; None or 0 to never replace.
        kmeans_iters: k-means iterations run on the first batch to initialise the codes (in training or
            inference, whichever comes first); None or 0 to start from zero codes, marked initialised.

    Buffers (state dict): ``initialized`` (1,), ``cluster_size`` (K,), ``codes`` (K, D), ``codes_avg`` (K, D).
    """

    def __init__(
        self,
        codebook_size: int,
        codebook_dim: int,
        decay: float = 0.99,
        threshold_ema_dead_code: float | None = 2.0,
        kmeans_iters: int | None = 50,
    ) -> None:
        super().__init__()
        self.decay = decay
        self.codebook_size = codebook_size
        self.kmeans_iters = kmeans_iters
        self.threshold_ema_dead_code = threshold_ema_dead_code
        if kmeans_iters:
            codes = nn.init.kaiming_uniform_(torch.empty(codebook_size, codebook_dim))
        else:
            codes = torch.zeros(codebook_size, codebook_dim)
        self.register_buffer("initialized", torch.tensor([float(not kmeans_iters)]))
        self.register_buffer("cluster_size", torch.zeros(codebook_size))
        self.register_buffer("codes", codes)
        self.register_buffer("codes_avg", codes.clone())

    @property
    def input_types(self) -> dict[str, NeuralType]:
        return _TIME_MAJOR_INPUTS

    @property
    def output_types(self) -> dict[str, NeuralType]:
        return {
            "dequantized": NeuralType(("B", "T", "D"), EncodedRepresentation()),
            "indices": NeuralType(("B", "T"), Index()),
        }

    @torch.jit.ignore
    def _init_codes(self, vectors: torch.Tensor) -> None:
        if self.initialized.item():
            return
        codes, counts = _kmeans(vectors, self.codebook_size, self.kmeans_iters)
        self.codes.data.copy_(codes)
        self.codes_avg.data.copy_(codes)
        self.cluster_size.data.copy_(counts)
        self.initialized.data.fill_(1.0)
        _broadcast_from_rank0(self.buffers())

    def _expire_codes(self, vectors: torch.Tensor) -> None:
        if not self.threshold_ema_dead_code:
            return
        dead = self.cluster_size < self.threshold_ema_dead_code
        if not torch.any(dead):
            return
        replacements = _draw_rows(vectors, self.codebook_size)
        self.codes.data.copy_(torch.where(dead.unsqueeze(1), replacements, self.codes))
        _broadcast_from_rank0(self.buffers())

    def _update_codes(self, vectors: torch.Tensor, indices: torch.Tensor) -> None:
        """EMA update of the usage counts and code sums; codes become sums / Laplace-smoothed counts."""
        keep = self.decay
        counts = torch.bincount(indices, minlength=self.codebook_size).to(vectors.dtype)
        sums = torch.zeros_like(self.codes_avg).index_add_(0, indices, vectors)
        self.cluster_size.data.mul_(keep).add_(counts, alpha=1 - keep)
        self.codes_avg.data.mul_(keep).add_(sums, alpha=1 - keep)
        eps = 1e-5
        total = self.cluster_size.sum()
        smoothed = (self.cluster_size + eps) / (total + self.codebook_size * eps) * total
        self.codes.data.copy_(self.codes_avg / smoothed.unsqueeze(1))

    def _nearest(self, vectors: torch.Tensor) -> torch.Tensor:
        """(N, D) -> (N,) index of the nearest code."""
        return _squared_distances(vectors, self.codes).argmin(dim=1)

    @typecheck()
    def forward(self, inputs: torch.Tensor, input_len: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, T, D) -> (dequantized (B, T, D), indices (B, T)), zero past ``input_len``; trains the codes
        (EMA) in training mode."""
        flat = inputs.reshape(-1, inputs.shape[-1])
        self._init_codes(flat)
        flat_indices = self._nearest(flat)
        indices = flat_indices.view(inputs.shape[:-1])
        dequantized = F.embedding(indices, self.codes)
        if self.training:
            self._expire_codes(flat)
            self._update_codes(flat, flat_indices)
        return _mask_time_major(dequantized, input_len), mask_sequence_tensor(indices, input_len)

    @typecheck(input_types=_TIME_MAJOR_INPUTS, output_types={"indices": NeuralType(("B", "T"), Index())})
    def encode(self, inputs: torch.Tensor, input_len: torch.Tensor) -> torch.Tensor:
        """(B, T, D) -> indices (B, T)."""
        indices = self._nearest(inputs.reshape(-1, inputs.shape[-1])).view(inputs.shape[:-1])
        return mask_sequence_tensor(indices, input_len)

    @typecheck(
        input_types={
            "indices": NeuralType(("B", "T"), Index()),
            "input_len": NeuralType(tuple("B"), LengthsType()),
        },
        output_types={"dequantized": NeuralType(("B", "T", "D"), EncodedRepresentation())},
    )
    def decode(self, indices: torch.Tensor, input_len: torch.Tensor) -> torch.Tensor:
        """Indices (B, T) -> codes (B, T, D)."""
        return _mask_time_major(F.embedding(indices, self.codes), input_len)


_RVQ_OUTPUTS = {
    "dequantized": NeuralType(("B", "D", "T"), EncodedRepresentation()),
    "indices": NeuralType(("D", "B", "T"), Index()),
    "commit_loss": NeuralType((), LossType()),
}
_RVQ_INPUTS = {
    "inputs": NeuralType(("B", "D", "T"), EncodedRepresentation()),
    "input_len": NeuralType(tuple("B"), LengthsType()),
}
_RVQ_INDEX_INPUTS = {
    "indices": NeuralType(("D", "B", "T"), Index()),
    "input_len": NeuralType(tuple("B"), LengthsType()),
}
_RVQ_INDICES_OUT = {"indices": NeuralType(("D", "B", "T"), Index())}
_RVQ_DEQUANTIZED_OUT = {"dequantized": NeuralType(("B", "D", "T"), EncodedRepresentation())}


class ResidualVectorQuantizer(VectorQuantizerBase):
    """A stack of ``num_codebooks`` :class:`EuclideanCodebook` (``codebooks.{i}``), each quantizing the
    residual the previous ones left; the dequantized output is the sum of their codes.

    Args:
        num_codebooks: number of codebooks N.
        codebook_size: codes per codebook.
        codebook_dim: vector dimension D.
        decay, threshold_ema_dead_code, kmeans_iters: see :class:`EuclideanCodebook`.
    """

    def __init__(
        self,
        num_codebooks: int,
        codebook_size: int = 1024,
        codebook_dim: int = 128,
        decay: float = 0.99,
        threshold_ema_dead_code: float | None = 2.0,
        kmeans_iters: int | None = 50,
    ) -> None:
        super().__init__()
        self.codebook_dim = codebook_dim
        self.commit_loss_fn = MaskedMSELoss()
        self.codebooks = nn.ModuleList(
            [
                EuclideanCodebook(
                    codebook_size=codebook_size,
                    codebook_dim=codebook_dim,
                    decay=decay,
                    threshold_ema_dead_code=threshold_ema_dead_code,
                    kmeans_iters=kmeans_iters,
                )
                for _ in range(num_codebooks)
            ]
        )

    @property
    def output_types(self) -> dict[str, NeuralType]:
        return _RVQ_OUTPUTS

    @typecheck()
    def forward(
        self, inputs: torch.Tensor, input_len: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | float]:
        """(B, D, T) -> (dequantized (B, D, T), indices (N, B, T), commit_loss).

        In training the commitment loss is the sum over codebooks of the masked MSE between each residual and
        its (detached) codes, and gradients reach the input straight through; otherwise it is 0.0.
        """
        residual = inputs.transpose(1, 2)
        total = torch.zeros_like(residual)
        commit_loss: torch.Tensor | float = 0.0
        all_indices = []
        for codebook in self.codebooks:
            codes, indices = codebook(inputs=residual, input_len=input_len)
            if self.training:
                codes_const = codes.detach()
                commit_loss = commit_loss + self.commit_loss_fn(
                    predicted=residual.transpose(1, 2),
                    target=codes_const.transpose(1, 2),
                    target_len=input_len,
                )
                residual = residual - codes_const
                codes = residual + (codes - residual).detach()
            else:
                residual = residual - codes
            total = total + codes
            all_indices.append(indices)
        return total.transpose(1, 2), torch.stack(all_indices), commit_loss

    @typecheck(input_types=_RVQ_INPUTS, output_types=_RVQ_INDICES_OUT)
    def encode(self, inputs: torch.Tensor, input_len: torch.Tensor) -> torch.Tensor:
        """(B, D, T) -> indices (N, B, T)."""
        residual = inputs.transpose(1, 2)
        all_indices = []
        for codebook in self.codebooks:
            indices = codebook.encode(inputs=residual, input_len=input_len)
            residual = residual - codebook.decode(indices=indices, input_len=input_len)
            all_indices.append(indices)
        return torch.stack(all_indices)

    @typecheck(input_types=_RVQ_INDEX_INPUTS, output_types=_RVQ_DEQUANTIZED_OUT)
    def decode(self, indices: torch.Tensor, input_len: torch.Tensor) -> torch.Tensor:
        """Indices (N, B, T) -> dequantized (B, D, T)."""
        total = torch.zeros(indices.shape[1], indices.shape[2], self.codebook_dim, device=indices.device)
        for codebook_indices, codebook in zip(indices, self.codebooks):
            total = total + codebook.decode(indices=codebook_indices, input_len=input_len)
        return total.transpose(1, 2)


class GroupResidualVectorQuantizer(VectorQuantizerBase):
    """Splits the D channels into ``num_groups`` groups, each quantized by its own
    :class:`ResidualVectorQuantizer` (``rvqs.{g}``) with ``num_codebooks // num_groups`` codebooks.

    Args:
        num_codebooks: total number of codebooks (divisible by ``num_groups``).
        num_groups: number of groups.
        codebook_dim: total vector dimension D (divisible by ``num_groups``).
        **kwargs: other :class:`ResidualVectorQuantizer` arguments.
    """

    def __init__(self, num_codebooks: int, num_groups: int, codebook_dim: int, **kwargs) -> None:
        super().__init__()
        for name, value in (("num_codebooks", num_codebooks), ("codebook_dim", codebook_dim)):
            if value % num_groups != 0:
                raise ValueError(
                    f"GroupResidualVectorQuantizer: {name} ({value}) must be divisible by num_groups ({num_groups})."
                )
        self.num_codebooks = num_codebooks
        self.num_groups = num_groups
        self.codebook_dim = codebook_dim
        self.rvqs = nn.ModuleList(
            [
                ResidualVectorQuantizer(
                    num_codebooks=self.num_codebooks_per_group,
                    codebook_dim=self.codebook_dim_per_group,
                    **kwargs,
                )
                for _ in range(num_groups)
            ]
        )

    @property
    def num_codebooks_per_group(self) -> int:
        """Codebooks in each group's RVQ."""
        return self.num_codebooks // self.num_groups

    @property
    def codebook_dim_per_group(self) -> int:
        """Channels in each group."""
        return self.codebook_dim // self.num_groups

    @property
    def output_types(self) -> dict[str, NeuralType]:
        return _RVQ_OUTPUTS

    @typecheck()
    def forward(
        self, inputs: torch.Tensor, input_len: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | float]:
        """(B, D, T) -> (dequantized (B, D, T), indices (num_codebooks, B, T), summed commit_loss)."""
        parts = inputs.chunk(self.num_groups, dim=1)
        results = [rvq(inputs=part, input_len=input_len) for part, rvq in zip(parts, self.rvqs)]
        commit_loss = sum(r[2] for r in results)
        return (
            torch.cat([r[0] for r in results], dim=1),
            torch.cat([r[1] for r in results], dim=0),
            commit_loss,
        )

    @typecheck(input_types=_RVQ_INPUTS, output_types=_RVQ_INDICES_OUT)
    def encode(self, inputs: torch.Tensor, input_len: torch.Tensor) -> torch.Tensor:
        """(B, D, T) -> indices (num_codebooks, B, T)."""
        parts = inputs.chunk(self.num_groups, dim=1)
        return torch.cat(
            [rvq.encode(inputs=part, input_len=input_len) for part, rvq in zip(parts, self.rvqs)]
        )

    @typecheck(input_types=_RVQ_INDEX_INPUTS, output_types=_RVQ_DEQUANTIZED_OUT)
    def decode(self, indices: torch.Tensor, input_len: torch.Tensor) -> torch.Tensor:
        """Indices (num_codebooks, B, T) -> dequantized (B, D, T)."""
        parts = indices.chunk(self.num_groups, dim=0)
        return torch.cat(
            [rvq.decode(indices=part, input_len=input_len) for part, rvq in zip(parts, self.rvqs)], 1
        )

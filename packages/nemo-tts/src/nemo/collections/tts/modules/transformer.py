"""FastPitch's feed-forward transformer (FFT): self-attention plus a two-conv position-wise block per layer,
post-LayerNorm, with every padded position zeroed after each block.

NeMo 1.23's classes and state-dict keys (``layers.N.dec_attn.qkv_net``, ``layers.N.pos_ff.CoreNet.0`` ...).
The attention runs through ``torch.nn.functional.scaled_dot_product_attention`` with a key padding mask.

On a CPU the position-wise convolutions run on the time-major activations (B, T, C) directly: that memory is
(B, C, 1, T) in channels-last order, so each ``Conv1d`` runs as a 2-D convolution of height 1 on a view, with
no transposed copy (results agree to float rounding). It saves a few percent of ``generate_spectrogram`` on 2
cores; training, CUDA and export keep ``conv1d`` on the transposed view, as NeMo does.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from nemo.collections.common.parts.dropout import Dropout
from nemo.collections.tts.modules.submodules import (
    ConditionalInput,
    ConditionalLayerNorm,
    LinearNorm,
    channels_last_conv_weight,
)
from nemo.collections.tts.parts.utils.helpers import get_mask_from_lengths, mask_from_lens
from nemo.core.classes import NeuralModule
from nemo.core.neural_types import EncodedRepresentation, LengthsType, MaskType, NeuralType, TokenIndex
from torch import nn

__all__ = [
    "FFTransformer",
    "FFTransformerDecoder",
    "FFTransformerEncoder",
    "MultiHeadAttn",
    "PositionalEmbedding",
    "PositionwiseConvFF",
    "TransformerLayer",
    "mask_from_lens",
]


class PositionalEmbedding(nn.Module):
    """Sinusoidal position embedding: ``[sin(p * f), cos(p * f)]`` for the frequencies ``inv_freq`` (demb/2,)."""

    def __init__(self, demb: int):
        super().__init__()
        self.demb = demb
        inv_freq = 1 / (10000 ** (torch.arange(0.0, demb, 2.0) / demb))
        self.register_buffer("inv_freq", inv_freq)

    def forward(self, pos_seq: torch.Tensor, bsz: int | None = None) -> torch.Tensor:
        """(T,) float positions -> (1, T, demb), or (bsz, T, demb)."""
        sinusoid = torch.matmul(pos_seq.unsqueeze(-1), self.inv_freq.unsqueeze(0))
        pos_emb = torch.cat([sinusoid.sin(), sinusoid.cos()], dim=1).unsqueeze(0)
        return pos_emb if bsz is None else pos_emb.expand(bsz, -1, -1)


def _use_time_major_conv(x: torch.Tensor) -> bool:
    """Whether :func:`conv1d_time_major` runs the channels-last 2-D convolution: CPU inference, not exporting.

    With autograd the 2-D kernels' backward is slower than ``conv1d``'s (training step 0.71 s -> 0.80 s at
    FastPitch v1.05 widths), so training keeps ``conv1d``.
    """
    return (
        x.device.type == "cpu"
        and not torch.is_grad_enabled()
        and not torch.jit.is_tracing()
        and not torch.jit.is_scripting()
        and not torch.onnx.is_in_onnx_export()
    )


def conv1d_time_major(conv: nn.Conv1d, x: torch.Tensor) -> torch.Tensor:
    """Apply ``conv`` (stride 1, "same" padding) to time-major ``x`` (B, T, C_in); returns (B, T, C_out)."""
    if not _use_time_major_conv(x):
        return conv(x.transpose(1, 2)).transpose(1, 2)
    planes = x.transpose(1, 2).unsqueeze(2).contiguous(memory_format=torch.channels_last)
    out = F.conv2d(
        planes,
        channels_last_conv_weight(conv, conv.weight),
        conv.bias,
        (1, conv.stride[0]),
        (0, conv.padding[0]),
        (1, conv.dilation[0]),
        conv.groups,
    )
    return out.squeeze(2).transpose(1, 2)


class PositionwiseConvFF(nn.Module):
    """Conv -> ReLU -> Conv -> Dropout (``CoreNet``) with a residual connection and LayerNorm."""

    def __init__(
        self,
        d_model: int,
        d_inner: int,
        kernel_size: int | tuple[int, int],
        dropout: float,
        pre_lnorm: bool = False,
        condition_types: list[str] = (),
    ):
        super().__init__()
        self.d_model = d_model
        self.d_inner = d_inner
        self.dropout = dropout
        if not isinstance(kernel_size, tuple):
            kernel_size = (kernel_size, kernel_size)
        self.CoreNet = nn.Sequential(
            nn.Conv1d(d_model, d_inner, kernel_size[0], 1, kernel_size[0] // 2),
            nn.ReLU(),
            nn.Conv1d(d_inner, d_model, kernel_size[1], 1, kernel_size[1] // 2),
            Dropout(dropout),
        )
        self.layer_norm = ConditionalLayerNorm(
            d_model, condition_dim=d_model, condition_types=condition_types
        )
        self.pre_lnorm = pre_lnorm

    def forward(self, inp: torch.Tensor, conditioning: torch.Tensor | None = None) -> torch.Tensor:
        """(B, T, d_model) -> (B, T, d_model)."""
        if self.pre_lnorm:
            return self._core(self.layer_norm(inp, conditioning).to(inp.dtype)) + inp
        return self.layer_norm(inp + self._core(inp), conditioning).to(inp.dtype)

    def _core(self, x: torch.Tensor) -> torch.Tensor:
        """``CoreNet`` on time-major (B, T, d_model): conv -> ReLU -> conv -> dropout."""
        conv_in, relu, conv_out, dropout = self.CoreNet
        return dropout(conv1d_time_major(conv_out, relu(conv1d_time_major(conv_in, x))))


class MultiHeadAttn(nn.Module):
    """Multi-head self-attention (fused ``qkv_net``, bias-free ``o_net``) with a residual and LayerNorm."""

    def __init__(
        self,
        n_head: int,
        d_model: int,
        d_head: int,
        dropout: float,
        dropatt: float = 0.1,
        pre_lnorm: bool = False,
        condition_types: list[str] = (),
    ):
        super().__init__()
        self.n_head = n_head
        self.d_model = d_model
        self.d_head = d_head
        self.scale = 1 / (d_head**0.5)
        self.pre_lnorm = pre_lnorm
        self.qkv_net = nn.Linear(d_model, 3 * n_head * d_head)
        self.drop = Dropout(dropout)
        self.dropatt = Dropout(dropatt)
        self.o_net = nn.Linear(n_head * d_head, d_model, bias=False)
        self.layer_norm = ConditionalLayerNorm(
            d_model, condition_dim=d_model, condition_types=condition_types
        )

    def forward(
        self,
        inp: torch.Tensor,
        attn_mask: torch.Tensor | None = None,
        conditioning: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Self-attention over ``inp`` (B, T, d_model).

        Args:
            inp: (B, T, d_model).
            attn_mask: (B, T) bool, True at padded (ignored) key positions.
            conditioning: (B, 1, C) for a conditioned LayerNorm.

        Returns:
            (B, T, d_model).
        """
        residual = inp
        if self.pre_lnorm:
            inp = self.layer_norm(inp, conditioning)
        batch, length = inp.shape[0], inp.shape[1]
        qkv = self.qkv_net(inp).view(batch, length, 3, self.n_head, self.d_head).permute(2, 0, 3, 1, 4)
        keep = None if attn_mask is None else (~attn_mask)[:, None, None, :]
        attn_vec = F.scaled_dot_product_attention(
            qkv[0],
            qkv[1],
            qkv[2],
            attn_mask=keep,
            dropout_p=self.dropatt.p if self.training else 0.0,
            scale=self.scale,
        )
        attn_vec = attn_vec.transpose(1, 2).reshape(batch, length, self.n_head * self.d_head)
        attn_out = self.drop(self.o_net(attn_vec))
        if self.pre_lnorm:
            return residual + attn_out
        return self.layer_norm(residual + attn_out, conditioning)


class TransformerLayer(nn.Module):
    """Self-attention (``dec_attn``) then the conv block (``pos_ff``), padding zeroed after each."""

    def __init__(
        self,
        n_head: int,
        d_model: int,
        d_head: int,
        d_inner: int,
        kernel_size: int | tuple[int, int],
        dropout: float,
        condition_types: list[str] = (),
        dropatt: float = 0.1,
        pre_lnorm: bool = False,
    ):
        super().__init__()
        self.dec_attn = MultiHeadAttn(
            n_head,
            d_model,
            d_head,
            dropout,
            dropatt=dropatt,
            pre_lnorm=pre_lnorm,
            condition_types=condition_types,
        )
        self.pos_ff = PositionwiseConvFF(
            d_model, d_inner, kernel_size, dropout, pre_lnorm=pre_lnorm, condition_types=condition_types
        )

    def forward(
        self, dec_inp: torch.Tensor, mask: torch.Tensor, conditioning: torch.Tensor | None = None
    ) -> torch.Tensor:
        """(B, T, d_model) with ``mask`` (B, T, 1) (True/1 at valid positions) -> (B, T, d_model)."""
        output = self.dec_attn(dec_inp, attn_mask=~mask.squeeze(2).bool(), conditioning=conditioning)
        output = output * mask
        output = self.pos_ff(output, conditioning)
        return output * mask


class FFTransformerDecoder(NeuralModule):
    """Stack of :class:`TransformerLayer` over (B, T, d_model) inputs with sinusoidal positions; FastPitch's
    ``output_fft``.

    Args:
        n_layer: layers.
        n_head: attention heads.
        d_model: model width.
        d_head: width of each head.
        d_inner: hidden channels of the conv block.
        kernel_size: conv kernel size.
        dropout: dropout after attention and conv blocks.
        dropatt: dropout on attention weights.
        dropemb: dropout on the input embeddings.
        pre_lnorm: LayerNorm before each block instead of after.
        condition_types: conditioning by a speaker embedding (``add``, ``concat``, ``layernorm``).
    """

    def __init__(
        self,
        n_layer: int,
        n_head: int,
        d_model: int,
        d_head: int,
        d_inner: int,
        kernel_size: int,
        dropout: float,
        dropatt: float,
        dropemb: float = 0.0,
        pre_lnorm: bool = False,
        condition_types: list[str] = (),
    ):
        super().__init__()
        self.d_model = d_model
        self.n_head = n_head
        self.d_head = d_head
        self.pos_emb = PositionalEmbedding(self.d_model)
        self.drop = Dropout(dropemb)
        self.layers = nn.ModuleList()
        self.cond_input = ConditionalInput(d_model, d_model, list(condition_types))
        for _ in range(n_layer):
            self.layers.append(
                TransformerLayer(
                    n_head,
                    d_model,
                    d_head,
                    d_inner,
                    kernel_size,
                    dropout,
                    dropatt=dropatt,
                    pre_lnorm=pre_lnorm,
                    condition_types=list(condition_types),
                )
            )

    @property
    def input_types(self) -> dict[str, NeuralType]:
        return {
            "input": NeuralType(("B", "T", "D"), EncodedRepresentation()),
            "seq_lens": NeuralType(("B",), LengthsType()),
            "conditioning": NeuralType(("B", "T", "D"), EncodedRepresentation(), optional=True),
        }

    @property
    def output_types(self) -> dict[str, NeuralType]:
        return {
            "out": NeuralType(("B", "T", "D"), EncodedRepresentation()),
            "mask": NeuralType(("B", "T", "D"), MaskType()),
        }

    def forward(
        self, input: torch.Tensor, seq_lens: torch.Tensor, conditioning: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, T, d_model) inputs and (B,) lengths -> (B, T, d_model) outputs (zero past each length) and the
        (B, T, 1) bool mask."""
        return self._forward(input, mask_from_lens(seq_lens, input.shape[1]).unsqueeze(2), conditioning)

    def _forward(
        self, inp: torch.Tensor, mask: torch.Tensor, conditioning: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        float_mask = mask.to(inp.dtype)
        pos_seq = torch.arange(inp.shape[1], device=inp.device, dtype=inp.dtype)
        inp = inp + self.pos_emb(pos_seq) * float_mask
        out = self.drop(self.cond_input(inp, conditioning))
        for layer in self.layers:
            out = layer(out, mask=float_mask, conditioning=conditioning)
        return out, mask


class FFTransformerEncoder(FFTransformerDecoder):
    """:class:`FFTransformerDecoder` over token ids, embedded by ``word_emb``; FastPitch's ``input_fft``.

    Args (besides the decoder's):
        n_embed: vocabulary size (FastPitchModel sets it from the tokenizer).
        d_embed: embedding width (default ``d_model``).
        padding_idx: the pad token id; its positions are masked.
    """

    def __init__(
        self,
        n_layer: int,
        n_head: int,
        d_model: int,
        d_head: int,
        d_inner: int,
        kernel_size: int,
        dropout: float,
        dropatt: float,
        dropemb: float = 0.0,
        pre_lnorm: bool = False,
        n_embed: int | None = None,
        d_embed: int | None = None,
        padding_idx: int = 0,
        condition_types: list[str] = (),
    ):
        super().__init__(
            n_layer,
            n_head,
            d_model,
            d_head,
            d_inner,
            kernel_size,
            dropout,
            dropatt,
            dropemb,
            pre_lnorm,
            condition_types,
        )
        if n_embed is None:
            raise ValueError(
                "FFTransformerEncoder needs n_embed (the vocabulary size); got None. Set input_fft.n_embed, or "
                "build it through FastPitchModel, which sets it from text_tokenizer."
            )
        self.padding_idx = padding_idx
        self.word_emb = nn.Embedding(n_embed, d_embed or d_model, padding_idx=self.padding_idx)

    @property
    def input_types(self) -> dict[str, NeuralType]:
        return {
            "input": NeuralType(("B", "T"), TokenIndex()),
            "conditioning": NeuralType(("B", "T", "D"), EncodedRepresentation(), optional=True),
        }

    def forward(
        self, input: torch.Tensor, conditioning: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, T) token ids -> (B, T, d_model) encodings (zero at pads) and the (B, T, 1) bool mask."""
        return self._forward(self.word_emb(input), (input != self.padding_idx).unsqueeze(2), conditioning)


class FFTransformer(nn.Module):
    """A standalone FFT stack with a linear output (``dense``), over (B, in_dim, T) inputs."""

    def __init__(
        self,
        in_dim: int,
        out_dim: int = 1,
        n_layers: int = 6,
        n_head: int = 1,
        d_head: int = 64,
        d_inner: int = 1024,
        kernel_size: int = 3,
        dropout: float = 0.1,
        dropatt: float = 0.1,
        dropemb: float = 0.0,
    ):
        super().__init__()
        self.in_dim = in_dim
        self.out_dim = out_dim
        self.n_head = n_head
        self.d_head = d_head
        self.pos_emb = PositionalEmbedding(self.in_dim)
        self.drop = Dropout(dropemb)
        self.layers = nn.ModuleList(
            TransformerLayer(n_head, in_dim, d_head, d_inner, kernel_size, dropout, dropatt=dropatt)
            for _ in range(n_layers)
        )
        self.dense = LinearNorm(in_dim, out_dim)

    def forward(self, dec_inp: torch.Tensor, in_lens: torch.Tensor) -> torch.Tensor:
        """(B, in_dim, T) and (B,) lengths -> (B, out_dim, T)."""
        inp = dec_inp.transpose(1, 2)
        mask = get_mask_from_lengths(in_lens, inp[..., 0])[..., None].to(inp.dtype)
        pos_seq = torch.arange(inp.shape[1], device=inp.device, dtype=inp.dtype)
        out = self.drop(inp + self.pos_emb(pos_seq) * mask)
        for layer in self.layers:
            out = layer(out, mask=mask)
        return self.dense(out).transpose(1, 2)

"""``ConformerEncoder``: NeMo 1.23's Conformer encoder (https://arxiv.org/abs/2005.08100).

Same constructor arguments, port names, neural types and state-dict keys as NeMo 1.23, so a
``.nemo`` checkpoint's ``encoder.*`` weights load with ``strict=True`` and give the same outputs.

Data flow of ``forward`` (B batch, F features, T frames, D = ``d_model``):

    audio_signal (B, F, T) -> pre_encode (subsampling) -> (B, T', D)
    -> pos_enc (xscaling, positions) -> layers (ConformerLayer x n_layers) -> out_proj -> (B, D_out, T')

Masks for padding and limited attention context are built once per call and shared by all layers.
Not supported: cache-aware streaming inputs, ``rel_pos_local_attn`` / global tokens, and
``reduction`` (subsampling between layers).
"""

from __future__ import annotations

import math
import random
from collections import OrderedDict
from collections.abc import Sequence

import torch
from nemo.collections.asr.parts.submodules.conformer_modules import ConformerLayer
from nemo.collections.asr.parts.submodules.multi_head_attention import (
    AttentionMask,
    PositionalEncoding,
    RelPositionalEncoding,
)
from nemo.collections.asr.parts.submodules.subsampling import ConvSubsampling, StackingSubsampling
from nemo.core.classes.module import NeuralModule
from nemo.core.classes.typecheck import typecheck
from nemo.core.neural_types import AcousticEncodedRepresentation, LengthsType, NeuralType, SpectrogramType
from nemo.utils import logging
from torch import nn

__all__ = ["ConformerEncoder", "compute_stochastic_depth_drop_probs"]

_ATT_CONTEXT_STYLES = ("regular", "chunked_limited")


def compute_stochastic_depth_drop_probs(
    num_layers: int,
    stochastic_depth_drop_prob: float = 0.0,
    stochastic_depth_mode: str = "linear",
    stochastic_depth_start_layer: int = 1,
) -> list[float]:
    """Per-layer drop probabilities for stochastic depth (https://arxiv.org/abs/2102.03216).

    Layers before ``stochastic_depth_start_layer`` (1-based) are never dropped. From there on, ``linear``
    ramps the probability from ``p / L`` up to ``p`` over the ``L`` remaining layers; ``uniform`` uses ``p``
    for all of them.

    Args:
        num_layers: number of layers.
        stochastic_depth_drop_prob: final drop probability p, in [0, 1).
        stochastic_depth_mode: ``"linear"`` or ``"uniform"``.
        stochastic_depth_start_layer: first layer that may be dropped, in [1, num_layers].

    Returns:
        ``num_layers`` probabilities.
    """
    if not 0.0 <= stochastic_depth_drop_prob < 1.0:
        raise ValueError(
            f"stochastic_depth_drop_prob={stochastic_depth_drop_prob} is out of range: expected a value in "
            "[0, 1). Fix encoder.stochastic_depth_drop_prob in the config."
        )
    if not 1 <= stochastic_depth_start_layer <= num_layers:
        raise ValueError(
            f"stochastic_depth_start_layer={stochastic_depth_start_layer} is out of range: expected 1 to "
            f"n_layers={num_layers}. Fix encoder.stochastic_depth_start_layer in the config."
        )
    probs = [0.0] * stochastic_depth_start_layer
    remaining = num_layers - stochastic_depth_start_layer
    if remaining > 0:
        if stochastic_depth_mode == "linear":
            probs += [i / remaining * stochastic_depth_drop_prob for i in range(1, remaining + 1)]
        elif stochastic_depth_mode == "uniform":
            probs += [stochastic_depth_drop_prob] * remaining
        else:
            raise ValueError(
                f"stochastic_depth_mode={stochastic_depth_mode!r} is not supported: expected 'linear' or "
                "'uniform'. Fix encoder.stochastic_depth_mode in the config."
            )
    return probs


def _context_sizes(
    att_context_style: str,
    att_context_size: Sequence | None,
    att_context_probs: Sequence[float] | None,
    conv_context_size: str | Sequence[int] | None,
    conv_kernel_size: int,
) -> tuple[list[list[int]], list[int], list[float], list[int]]:
    """Normalize the context options the way NeMo does.

    Returns:
        ``(att_context_size_all, att_context_size, att_context_probs, conv_context_size)``: every
        ``[left, right]`` attention context (-1 = unlimited), the one used in evaluation (the first),
        the training probability of each, and the ``[left, right]`` context of the depthwise conv.
    """
    if att_context_style not in _ATT_CONTEXT_STYLES:
        raise ValueError(
            f"att_context_style={att_context_style!r} is not supported: expected one of "
            f"{_ATT_CONTEXT_STYLES}. Fix encoder.att_context_style in the config."
        )
    if not att_context_size:
        contexts = [[-1, -1]]
    elif isinstance(att_context_size[0], int):
        contexts = [list(att_context_size)]
    else:
        contexts = [list(context) for context in att_context_size]
    for i, (left, right) in enumerate(contexts):
        if att_context_style == "chunked_limited":
            if left > 0 and left % (right + 1) > 0:
                raise ValueError(
                    f"encoder.att_context_size[{i}]={[left, right]}: with att_context_style "
                    "'chunked_limited' the left context must be a multiple of the chunk size (right + 1)."
                )
            if right < 0 and len(contexts) <= 1:
                raise ValueError(
                    f"encoder.att_context_size[{i}]={[left, right]}: the right context can not be "
                    "unlimited (-1) with att_context_style 'chunked_limited'."
                )

    if att_context_probs:
        probs = [float(p) for p in att_context_probs]
        if len(probs) != len(contexts):
            raise ValueError(
                f"encoder.att_context_probs has {len(probs)} entries but encoder.att_context_size has "
                f"{len(contexts)}: give one probability per context size."
            )
        if not math.isclose(sum(probs), 1.0, abs_tol=1e-6):
            raise ValueError(
                f"encoder.att_context_probs={probs} sums to {sum(probs)}: it must be a distribution "
                "summing to 1."
            )
    else:
        probs = [1.0 / len(contexts)] * len(contexts)

    if conv_context_size is None:
        conv_context = [(conv_kernel_size - 1) // 2, (conv_kernel_size - 1) // 2]
    elif conv_context_size == "causal":
        conv_context = [conv_kernel_size - 1, 0]
    elif isinstance(conv_context_size, str) or len(conv_context_size) != 2:
        raise ValueError(
            f"encoder.conv_context_size={conv_context_size!r} is invalid: expected 'causal', null or "
            "[left, right]."
        )
    else:
        conv_context = [int(conv_context_size[0]), int(conv_context_size[1])]
        if sum(conv_context) + 1 != conv_kernel_size:
            raise ValueError(
                f"encoder.conv_context_size={conv_context} does not fit conv_kernel_size={conv_kernel_size}: "
                "expected left + right + 1 == conv_kernel_size."
            )
    return contexts, contexts[0], probs, conv_context


class ConformerEncoder(NeuralModule):
    """Conformer encoder: subsampling, positional encoding and a stack of Conformer blocks.

    Args:
        feat_in: input features F (e.g. 80 mel bins).
        n_layers: number of Conformer blocks.
        d_model: model width D.
        feat_out: output width; -1 (or D) keeps D, otherwise a final Linear ``out_proj`` maps D to it.
        causal_downsampling: pad the subsampling convolutions causally.
        subsampling: ``"striding"``, ``"dw_striding"``, ``"vggnet"``, ``"stacking"``, ``"stacking_norm"``,
            or None (with ``subsampling_factor`` 1) for a plain Linear.
        subsampling_factor: time reduction of the subsampling (a power of 2).
        subsampling_conv_chunking_factor: batch splitting of the subsampling convolutions (see
            ``ConvSubsampling``).
        subsampling_conv_channels: channels of the subsampling convolutions; -1 means D.
        reduction: extra subsampling between layers; not supported (must be None).
        reduction_position: position of ``reduction``.
        reduction_factor: factor of ``reduction``; must be 1.
        ff_expansion_factor: feed-forward hidden width is ``D * ff_expansion_factor``.
        self_attention_model: ``"rel_pos"`` (relative positions) or ``"abs_pos"`` (absolute).
        n_heads: attention heads.
        att_context_size: ``[left, right]`` frames each frame attends to (-1: unlimited), or a list of
            them to sample from in training; the first is used in evaluation.
        att_context_probs: sampling probabilities for the list in ``att_context_size``.
        att_context_style: ``"regular"`` (sliding window) or ``"chunked_limited"`` (chunks).
        xscaling: scale the subsampled features by ``sqrt(D)``.
        untie_biases: give each layer its own ``pos_bias_u`` / ``pos_bias_v`` (rel_pos only); false shares one
            pair across layers.
        pos_emb_max_len: positions prepared up front (grown on demand).
        conv_kernel_size: depthwise convolution kernel (odd).
        conv_norm_type: ``"batch_norm"``, ``"instance_norm"``, ``"layer_norm"`` or ``"group_normN"``.
        conv_context_size: ``[left, right]`` context of the depthwise conv, ``"causal"``, or None.
        dropout: dropout in and after every sub-block.
        dropout_pre_encoder: dropout on the subsampled features.
        dropout_emb: dropout on the relative position embeddings.
        dropout_att: dropout on the attention probabilities.
        stochastic_depth_drop_prob: final layer-drop probability (training only).
        stochastic_depth_mode: ``"linear"`` or ``"uniform"`` (see ``compute_stochastic_depth_drop_probs``).
        stochastic_depth_start_layer: first layer (1-based) that may be dropped.
        global_tokens: global tokens of ``rel_pos_local_attn``; not supported (must be 0).
        global_tokens_spacing: spacing of the global tokens.
        global_attn_separate: separate global attention projections.

    Example:
        >>> encoder = ConformerEncoder(feat_in=80, n_layers=2, d_model=64)
        >>> out, out_len = encoder(audio_signal=torch.randn(2, 80, 101), length=torch.tensor([101, 80]))
        >>> out.shape, out_len.tolist()
        (torch.Size([2, 64, 26]), [26, 20])
    """

    def __init__(
        self,
        feat_in: int,
        n_layers: int,
        d_model: int,
        feat_out: int = -1,
        causal_downsampling: bool = False,
        subsampling: str | None = "striding",
        subsampling_factor: int = 4,
        subsampling_conv_chunking_factor: int = 1,
        subsampling_conv_channels: int = -1,
        reduction: str | None = None,
        reduction_position: int | None = None,
        reduction_factor: int = 1,
        ff_expansion_factor: int = 4,
        self_attention_model: str = "rel_pos",
        n_heads: int = 4,
        att_context_size: Sequence | None = None,
        att_context_probs: Sequence[float] | None = None,
        att_context_style: str = "regular",
        xscaling: bool = True,
        untie_biases: bool = True,
        pos_emb_max_len: int = 5000,
        conv_kernel_size: int = 31,
        conv_norm_type: str = "batch_norm",
        conv_context_size: str | Sequence[int] | None = None,
        dropout: float = 0.1,
        dropout_pre_encoder: float = 0.1,
        dropout_emb: float = 0.1,
        dropout_att: float = 0.0,
        stochastic_depth_drop_prob: float = 0.0,
        stochastic_depth_mode: str = "linear",
        stochastic_depth_start_layer: int = 1,
        global_tokens: int = 0,
        global_tokens_spacing: int = 1,
        global_attn_separate: bool = False,
    ) -> None:
        super().__init__()
        if reduction and reduction_factor > 1:
            raise ValueError(
                f"encoder.reduction={reduction!r} (reduction_factor={reduction_factor}, reduction_position="
                f"{reduction_position}) is not supported by this ConformerEncoder. Set encoder.reduction to "
                "null or encoder.reduction_factor to 1."
            )
        if global_tokens != 0:
            raise ValueError(
                f"encoder.global_tokens={global_tokens} (spacing {global_tokens_spacing}, separate "
                f"{global_attn_separate}) needs self_attention_model 'rel_pos_local_attn', which is not "
                "supported. Set encoder.global_tokens to 0."
            )
        if self_attention_model not in ("rel_pos", "abs_pos"):
            raise ValueError(
                f"encoder.self_attention_model={self_attention_model!r} is not supported: expected 'rel_pos' "
                "or 'abs_pos'."
            )
        self.d_model = d_model
        self.n_layers = n_layers
        self._feat_in = feat_in
        self.att_context_style = att_context_style
        self.subsampling_factor = subsampling_factor
        self.subsampling_conv_chunking_factor = subsampling_conv_chunking_factor
        self.self_attention_model = self_attention_model
        (
            self.att_context_size_all,
            self.att_context_size,
            self.att_context_probs,
            self.conv_context_size,
        ) = _context_sizes(
            att_context_style, att_context_size, att_context_probs, conv_context_size, conv_kernel_size
        )
        self.xscale = math.sqrt(d_model) if xscaling else None

        self.pre_encode = self._make_pre_encode(
            subsampling,
            subsampling_factor,
            feat_in,
            d_model,
            d_model if subsampling_conv_channels == -1 else subsampling_conv_channels,
            subsampling_conv_chunking_factor,
            causal_downsampling,
        )
        self.reduction_subsampling = None
        self.reduction_position = None

        pos_bias_u = pos_bias_v = None
        if not untie_biases and self_attention_model == "rel_pos":
            pos_bias_u = nn.Parameter(torch.zeros(n_heads, d_model // n_heads))
            pos_bias_v = nn.Parameter(torch.zeros(n_heads, d_model // n_heads))

        self.pos_emb_max_len = pos_emb_max_len
        self.pos_enc: PositionalEncoding
        if self_attention_model == "rel_pos":
            self.pos_enc = RelPositionalEncoding(
                d_model=d_model,
                dropout_rate=dropout_pre_encoder,
                max_len=pos_emb_max_len,
                xscale=self.xscale,
                dropout_rate_emb=dropout_emb,
            )
        else:
            self.pos_enc = PositionalEncoding(
                d_model=d_model, dropout_rate=dropout_pre_encoder, max_len=pos_emb_max_len, xscale=self.xscale
            )

        self.layers = nn.ModuleList(
            ConformerLayer(
                d_model=d_model,
                d_ff=d_model * ff_expansion_factor,
                self_attention_model=self_attention_model,
                n_heads=n_heads,
                conv_kernel_size=conv_kernel_size,
                conv_norm_type=conv_norm_type,
                conv_context_size=self.conv_context_size,
                dropout=dropout,
                dropout_att=dropout_att,
                pos_bias_u=pos_bias_u,
                pos_bias_v=pos_bias_v,
            )
            for _ in range(n_layers)
        )

        if feat_out > 0 and feat_out != d_model:
            self.out_proj = nn.Linear(d_model, feat_out)
            self._feat_out = feat_out
        else:
            self.out_proj = None
            self._feat_out = d_model

        self.set_max_audio_length(self.pos_emb_max_len)
        self.layer_drop_probs = compute_stochastic_depth_drop_probs(
            len(self.layers), stochastic_depth_drop_prob, stochastic_depth_mode, stochastic_depth_start_layer
        )

    @staticmethod
    def _make_pre_encode(
        subsampling: str | None,
        subsampling_factor: int,
        feat_in: int,
        d_model: int,
        conv_channels: int,
        chunking_factor: int,
        causal: bool,
    ) -> nn.Module:
        if not subsampling or subsampling_factor <= 1:
            return nn.Linear(feat_in, d_model)
        if subsampling in ("stacking", "stacking_norm"):
            return StackingSubsampling(
                subsampling_factor=subsampling_factor,
                feat_in=feat_in,
                feat_out=d_model,
                norm=subsampling == "stacking_norm",
            )
        return ConvSubsampling(
            subsampling=subsampling,
            subsampling_factor=subsampling_factor,
            feat_in=feat_in,
            feat_out=d_model,
            conv_channels=conv_channels,
            subsampling_conv_chunking_factor=chunking_factor,
            activation=nn.ReLU(True),
            is_causal=causal,
        )

    @property
    def input_types(self) -> OrderedDict[str, NeuralType]:
        """``audio_signal`` (B, D, T) spectrogram and ``length`` (B,)."""
        return OrderedDict(
            {
                "audio_signal": NeuralType(("B", "D", "T"), SpectrogramType()),
                "length": NeuralType(tuple("B"), LengthsType()),
            }
        )

    @property
    def output_types(self) -> OrderedDict[str, NeuralType]:
        """``outputs`` (B, D, T) encoded frames and ``encoded_lengths`` (B,)."""
        return OrderedDict(
            {
                "outputs": NeuralType(("B", "D", "T"), AcousticEncodedRepresentation()),
                "encoded_lengths": NeuralType(tuple("B"), LengthsType()),
            }
        )

    def input_example(self, max_batch: int = 1, max_dim: int = 256) -> tuple[torch.Tensor, torch.Tensor]:
        """Random ``(audio_signal (max_batch, feat_in, max_dim), length (max_batch,))`` for tracing/export."""
        device = next(self.parameters()).device
        signal = torch.randn(max_batch, self._feat_in, max_dim, device=device)
        length = torch.randint(max_dim // 4, max_dim, (max_batch,), device=device, dtype=torch.int64)
        return signal, length

    def set_max_audio_length(self, max_audio_length: int) -> None:
        """Prepare positional encodings for inputs of up to ``max_audio_length`` frames."""
        self.max_audio_length = max_audio_length
        param = next(self.parameters())
        self.pos_enc.extend_pe(max_audio_length, param.device, param.dtype)

    def update_max_seq_length(self, seq_length: int, device: torch.device) -> None:
        """Grow the positional encodings to ``seq_length`` frames, agreeing on the length across ranks.

        Under ``torch.distributed`` the maximum over all ranks is used so that every rank holds
        buffers of the same size.
        """
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            global_max_len = torch.tensor([seq_length], dtype=torch.float32, device=device)
            torch.distributed.all_reduce(global_max_len, op=torch.distributed.ReduceOp.MAX)
            seq_length = int(global_max_len.item())
        if seq_length > self.max_audio_length:
            self.set_max_audio_length(seq_length)

    def change_subsampling_conv_chunking_factor(self, subsampling_conv_chunking_factor: int) -> None:
        """Change how the subsampling convolutions split the batch (see ``ConvSubsampling``)."""
        if not isinstance(self.pre_encode, ConvSubsampling):
            logging.info(
                f"pre_encode is {type(self.pre_encode).__name__}, which has no convolution chunking; "
                "subsampling_conv_chunking_factor left unchanged."
            )
            return
        self.pre_encode.change_subsampling_conv_chunking_factor(subsampling_conv_chunking_factor)
        self.subsampling_conv_chunking_factor = subsampling_conv_chunking_factor

    @typecheck()
    def forward(
        self, audio_signal: torch.Tensor, length: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Encode.

        Args:
            audio_signal: (B, F, T) features.
            length: (B,) valid frames per item; None means every frame is valid.

        Returns:
            ``(outputs, encoded_lengths)``: (B, D_out, T') and (B,) int64, ``T'`` being T after subsampling.
        """
        self.update_max_seq_length(seq_length=audio_signal.size(2), device=audio_signal.device)
        return self.forward_internal(audio_signal, length)

    def forward_internal(
        self, audio_signal: torch.Tensor, length: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``forward`` without type checks or positional-encoding growth (see ``forward``)."""
        if length is None:
            length = audio_signal.new_full((audio_signal.size(0),), audio_signal.size(-1), dtype=torch.int64)
        if self.training and len(self.att_context_size_all) > 1:
            att_context_size = random.choices(self.att_context_size_all, weights=self.att_context_probs)[0]
        else:
            att_context_size = self.att_context_size

        x = audio_signal.transpose(1, 2)
        if isinstance(self.pre_encode, nn.Linear):
            x = self.pre_encode(x)
        else:
            x, length = self.pre_encode(x=x, lengths=length)
        length = length.to(torch.int64)

        x, pos_emb = self.pos_enc(x)
        pad_mask, att_mask = self._create_masks(att_context_size, length, x.size(1), x.dtype)

        for drop_prob, layer in zip(self.layer_drop_probs, self.layers):
            layer_input = x
            x = layer(x=x, att_mask=att_mask, pos_emb=pos_emb, pad_mask=pad_mask)
            if self.training and drop_prob > 0.0:
                if torch.rand(1) < drop_prob:
                    # Dropped: keep the layer in the graph (zero gradients) so that every rank's
                    # parameters get gradients under DDP.
                    x = x * 0.0 + layer_input
                else:
                    x = (x - layer_input) / (1.0 - drop_prob) + layer_input

        if self.out_proj is not None:
            x = self.out_proj(x)
        return x.transpose(1, 2), length

    def _create_masks(
        self, att_context_size: list[int], length: torch.Tensor, max_len: int, dtype: torch.dtype
    ) -> tuple[torch.Tensor | None, AttentionMask | None]:
        """Padding mask and attention mask, built once per forward.

        Args:
            att_context_size: ``[left, right]`` attention context (-1 = unlimited).
            length: (B,) valid frames.
            max_len: T, frames in the batch.
            dtype: dtype of the attention bias.

        Returns:
            ``(pad_mask, att_mask)``: (B, T) bool, true on padding; and the prepared attention mask
            (a query may attend a key when both are valid frames and the key is within its context).
            On the CPU both are None when they would mask nothing (no padding, unlimited context), which
            spares every layer the masking work; the outputs are the same.
        """
        positions = torch.arange(max_len, device=length.device)
        valid = positions.unsqueeze(0) < length.unsqueeze(1)  # (B, T)
        context = self._context_mask(att_context_size, positions)
        # Checking for padding reads ``length`` on the host: worth it on the CPU, a stall on an accelerator.
        if context is None and length.device.type == "cpu" and bool(valid.all()):
            return None, None
        allowed = valid.unsqueeze(1) & valid.unsqueeze(2)  # (B, T, T)
        if context is not None:
            allowed = allowed & context
        return ~valid, AttentionMask.from_bool(~allowed, dtype=dtype)

    def _context_mask(self, att_context_size: list[int], positions: torch.Tensor) -> torch.Tensor | None:
        """(T, T) bool, true where query i may attend key j given the context limits; None if unlimited."""
        left, right = att_context_size
        if self.att_context_style == "chunked_limited" and right >= 0:
            chunk_size = right + 1
            left_chunks = left // chunk_size if left >= 0 else 10000
            chunk = torch.div(positions, chunk_size, rounding_mode="trunc")
            chunk_diff = chunk.unsqueeze(1) - chunk.unsqueeze(0)  # query chunk - key chunk
            return (chunk_diff >= 0) & (chunk_diff <= left_chunks)
        if left < 0 and right < 0:
            return None
        offset = positions.unsqueeze(0) - positions.unsqueeze(1)  # key index - query index
        mask = torch.ones_like(offset, dtype=torch.bool)
        if left >= 0:
            mask &= offset >= -left
        if right >= 0:
            mask &= offset <= right
        return mask

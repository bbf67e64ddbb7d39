"""``ConformerEncoder``: NeMo 1.23's Conformer encoder (https://arxiv.org/abs/2005.08100).

Same constructor arguments, port names, neural types and state-dict keys as NeMo 1.23, so a
``.nemo`` checkpoint's ``encoder.*`` weights load with ``strict=True`` and give the same outputs.

Data flow of ``forward`` (B batch, F features, T frames, D = ``d_model``):

    audio_signal (B, F, T) -> pre_encode (subsampling) -> (B, T', D)
    -> pos_enc (xscaling, positions) -> layers (ConformerLayer x n_layers) -> out_proj -> (B, D_out, T')

Masks for padding and limited attention context are built once per call and shared by all layers.
``self_attention_model="rel_pos_local_attn"`` attends a sliding window of ``att_context_size`` frames
(Longformer, optionally with global tokens) and needs memory linear in time; ``change_attention_model``
switches between the attention models of a built encoder, keeping its weights.
Not supported: cache-aware streaming inputs and ``reduction`` (subsampling between layers).
"""

from __future__ import annotations

import math
import random
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from nemo.collections.asr.parts.submodules.conformer_modules import ConformerLayer
from nemo.collections.asr.parts.submodules.multi_head_attention import (
    AttentionMask,
    LocalAttRelPositionalEncoding,
    MultiHeadAttention,
    PositionalEncoding,
    RelPositionalEncoding,
    RelPositionMultiHeadAttention,
    RelPositionMultiHeadAttentionLongformer,
    check_local_att_context_size,
)
from nemo.collections.asr.parts.submodules.subsampling import ConvSubsampling, StackingSubsampling
from nemo.collections.asr.parts.utils import adapter_utils
from nemo.core.classes.exportable import Exportable
from nemo.core.classes.mixins.access_mixins import AccessMixin
from nemo.core.classes.mixins.adapter_mixins import (
    AdapterModuleMixin,
    get_registered_adapter,
    register_adapter,
)
from nemo.core.classes.module import NeuralModule
from nemo.core.classes.typecheck import typecheck
from nemo.core.neural_types import AcousticEncodedRepresentation, LengthsType, NeuralType, SpectrogramType
from nemo.utils import logging
from torch import nn

__all__ = ["ConformerEncoder", "ConformerEncoderAdapter", "compute_stochastic_depth_drop_probs"]

_ATT_CONTEXT_STYLES = ("regular", "chunked_limited")
_SELF_ATTENTION_MODELS = ("rel_pos", "rel_pos_local_attn", "abs_pos")


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
            f"stochastic_depth_drop_prob has to be in [0, 1), got {stochastic_depth_drop_prob}. Fix "
            "encoder.stochastic_depth_drop_prob in the config."
        )
    if not 1 <= stochastic_depth_start_layer <= num_layers:
        raise ValueError(
            f"stochastic_depth_start_layer has to be in [1, n_layers={num_layers}], got "
            f"{stochastic_depth_start_layer}. Fix encoder.stochastic_depth_start_layer in the config."
        )
    if stochastic_depth_mode not in ("linear", "uniform"):
        raise ValueError(
            f"stochastic_depth_mode has to be one of ['linear', 'uniform'], got {stochastic_depth_mode!r}. "
            "Fix encoder.stochastic_depth_mode in the config."
        )
    probs = [0.0] * stochastic_depth_start_layer
    remaining = num_layers - stochastic_depth_start_layer
    if stochastic_depth_mode == "linear":
        probs += [i / remaining * stochastic_depth_drop_prob for i in range(1, remaining + 1)]
    else:
        probs += [stochastic_depth_drop_prob] * remaining
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


class ConformerEncoder(NeuralModule, Exportable, AccessMixin):
    """Conformer encoder: subsampling, positional encoding and a stack of Conformer blocks.

    InterCTC: while access is enabled (``AccessMixin``), the output of each layer ``i`` listed in the
    access config's ``interctc.capture_layers`` (0-based; read on the first such call and kept in
    ``interctc_capture_at_layers``) is recorded as ``interctc/layer_output_{i}`` ((B, D_out, T'), through
    ``out_proj`` when there is one) with its lengths as ``interctc/layer_length_{i}`` ((B,)).

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
        self_attention_model: ``"rel_pos"`` (relative positions), ``"rel_pos_local_attn"`` (relative positions
            in a sliding window of ``att_context_size``, both sides >= 0) or ``"abs_pos"`` (absolute).
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
        global_tokens: global tokens of ``rel_pos_local_attn`` (0: none; other models need 0).
        global_tokens_spacing: frames between the global tokens.
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
        if self_attention_model not in _SELF_ATTENTION_MODELS:
            raise ValueError(
                f"encoder.self_attention_model={self_attention_model!r} is not supported: expected one of "
                f"{_SELF_ATTENTION_MODELS}."
            )
        if global_tokens != 0 and self_attention_model != "rel_pos_local_attn":
            raise ValueError(
                f"encoder.global_tokens={global_tokens} (spacing {global_tokens_spacing}, separate "
                f"{global_attn_separate}) needs self_attention_model 'rel_pos_local_attn', not "
                f"{self_attention_model!r}. Set encoder.global_tokens to 0 or change the attention model."
            )
        self.d_model = d_model
        self.n_layers = n_layers
        self._feat_in = feat_in
        self.att_context_style = att_context_style
        self.subsampling_factor = subsampling_factor
        self.subsampling_conv_chunking_factor = subsampling_conv_chunking_factor
        self.self_attention_model = self_attention_model
        self.global_tokens = global_tokens
        self.global_tokens_spacing = global_tokens_spacing
        self.global_attn_separate = global_attn_separate
        # What change_attention_model needs to rebuild attention modules and positional encodings.
        self._attention_build_args = {
            "n_heads": n_heads,
            "dropout": dropout,
            "dropout_att": dropout_att,
            "dropout_emb": dropout_emb,
        }
        (
            self.att_context_size_all,
            self.att_context_size,
            self.att_context_probs,
            self.conv_context_size,
        ) = _context_sizes(
            att_context_style, att_context_size, att_context_probs, conv_context_size, conv_kernel_size
        )
        if self_attention_model == "rel_pos_local_attn":
            self._check_local_attention(self.att_context_size_all)
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
        # NeMo 1.23 gives the local-attention encoding the dropout of the layers, the others dropout_pre_encoder.
        self.pos_enc = self._make_pos_enc(
            self_attention_model,
            self.att_context_size,
            dropout if self_attention_model == "rel_pos_local_attn" else dropout_pre_encoder,
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
                att_context_size=self.att_context_size,
                global_tokens=global_tokens,
                global_tokens_spacing=global_tokens_spacing,
                global_attn_separate=global_attn_separate,
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
        # Layers whose outputs InterCTC records; read from the access config on the first recording call.
        self.interctc_capture_at_layers: list[int] | None = None

    @staticmethod
    def _check_local_attention(att_context_size_all: list[list[int]]) -> None:
        """Local attention has one fixed window per layer: a single ``[left, right]``, both >= 0."""
        if len(att_context_size_all) != 1:
            raise ValueError(
                f"encoder.att_context_size={att_context_size_all} lists several contexts, but "
                "self_attention_model 'rel_pos_local_attn' has one fixed window per layer. Give a single "
                "[left, right]."
            )
        check_local_att_context_size(att_context_size_all[0])

    def _make_pos_enc(
        self, self_attention_model: str, att_context_size: list[int], dropout_rate: float
    ) -> PositionalEncoding:
        """The positional encoding of ``self_attention_model`` (not yet extended to any length)."""
        settings = {
            "d_model": self.d_model,
            "dropout_rate": dropout_rate,
            "max_len": self.pos_emb_max_len,
            "xscale": self.xscale,
        }
        if self_attention_model == "rel_pos":
            return RelPositionalEncoding(
                dropout_rate_emb=self._attention_build_args["dropout_emb"], **settings
            )
        if self_attention_model == "rel_pos_local_attn":
            return LocalAttRelPositionalEncoding(
                att_context_size=att_context_size,
                dropout_rate_emb=self._attention_build_args["dropout_emb"],
                **settings,
            )
        return PositionalEncoding(**settings)

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

    @property
    def input_types_for_export(self) -> OrderedDict[str, NeuralType]:
        """Exported inputs: ``audio_signal`` (B, D, T) and ``length`` (B,); no streaming caches."""
        return self.input_types

    def forward_for_export(
        self,
        audio_signal: torch.Tensor,
        length: torch.Tensor,
        cache_last_channel: torch.Tensor | None = None,
        cache_last_time: torch.Tensor | None = None,
        cache_last_channel_len: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The exported computation: :meth:`forward_internal` (the positional table is not grown, so inputs of
        the exported graph may have up to ``max_audio_length`` frames). Streaming caches are refused.

        Returns:
            ``(outputs (B, D_out, T'), encoded_lengths (B,))``.
        """
        if any(cache is not None for cache in (cache_last_channel, cache_last_time, cache_last_channel_len)):
            raise NotImplementedError(
                "ConformerEncoder.forward_for_export got streaming caches (cache_last_channel, cache_last_time, "
                "cache_last_channel_len): cache-aware streaming is not available in this package; export the "
                "offline encoder (audio_signal, length)."
            )
        return self.forward_internal(audio_signal, length)

    def set_max_audio_length(self, max_audio_length: int) -> None:
        """Prepare positional encodings for inputs of up to ``max_audio_length`` frames."""
        self.max_audio_length = max_audio_length
        param = next(self.parameters())
        self.pos_enc.extend_pe(max_audio_length, param.device, param.dtype)

    def update_max_seq_length(self, seq_length: int, device: torch.device) -> None:
        """Grow the positional encodings to cover ``seq_length`` frames.

        Each process grows its own table: the table is a function of its length only and is not synchronized
        by DDP (``rank_local_buffers``), so unlike NeMo 1.23 no all-reduce runs per forward and processes may
        run different numbers of evaluation steps.
        """
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

    def change_attention_model(
        self,
        self_attention_model: str | None = None,
        att_context_size: Sequence[int] | None = None,
        update_config: bool = True,
        device: torch.device | None = None,
    ) -> None:
        """Switch every layer to another attention model or window, keeping the trained weights.

        The projections (and ``pos_bias_u`` / ``pos_bias_v``, now one pair per layer) are copied into the new
        attention modules; the positional encoding is rebuilt. As in NeMo 1.23 the new positional encoding
        uses the layers' ``dropout`` rate. Global-token settings (``rel_pos_local_attn`` only) are kept.

        Args:
            self_attention_model: ``"rel_pos"``, ``"rel_pos_local_attn"`` or ``"abs_pos"``; None keeps the
                current one.
            att_context_size: new ``[left, right]`` context; None (or empty) keeps the current one.
            update_config: accepted for NeMo's signature; the encoder keeps no config of its own (the
                model's ``change_attention_model`` updates ``cfg.encoder``).
            device: where to put the new modules; None uses the device of the current weights.
        """
        context = [int(c) for c in att_context_size] if att_context_size else list(self.att_context_size)
        model = self_attention_model if self_attention_model is not None else self.self_attention_model
        if model not in _SELF_ATTENTION_MODELS:
            raise ValueError(
                f"change_attention_model: self_attention_model={model!r} is not supported: expected one of "
                f"{_SELF_ATTENTION_MODELS}."
            )
        if model == "rel_pos_local_attn":
            check_local_att_context_size(context)
        elif self.global_tokens:
            raise ValueError(
                f"change_attention_model: this encoder has global_tokens={self.global_tokens}, which only "
                f"'rel_pos_local_attn' supports; {model!r} has none."
            )
        reference = next(self.parameters())
        device = device if device is not None else reference.device

        # New modules take the encoder's train/eval mode (a fresh module would start in training mode).
        self.pos_enc = self._make_pos_enc(model, context, self._attention_build_args["dropout"])
        self.pos_enc.to(device).train(self.training)
        self.self_attention_model = model
        self.att_context_size = context
        self.att_context_size_all = [context]
        self.att_context_probs = [1.0]
        self.set_max_audio_length(self.pos_emb_max_len)

        for layer in self.layers:
            new_attention = self._make_attention(model, context).to(device=device, dtype=reference.dtype)
            new_attention.train(self.training)
            new_attention.load_state_dict(layer.self_attn.state_dict(), strict=False)
            layer.self_attn = new_attention
            layer.self_attention_model = model

    def _make_attention(self, self_attention_model: str, att_context_size: list[int]) -> MultiHeadAttention:
        """A fresh attention module of ``self_attention_model`` with its own biases."""
        n_heads = self._attention_build_args["n_heads"]
        dropout_att = self._attention_build_args["dropout_att"]
        if self_attention_model == "rel_pos":
            return RelPositionMultiHeadAttention(n_heads, self.d_model, dropout_att, None, None)
        if self_attention_model == "rel_pos_local_attn":
            return RelPositionMultiHeadAttentionLongformer(
                n_heads,
                self.d_model,
                dropout_att,
                None,
                None,
                att_context_size=att_context_size,
                global_tokens=self.global_tokens,
                global_tokens_spacing=self.global_tokens_spacing,
                global_attn_separate=self.global_attn_separate,
            )
        return MultiHeadAttention(n_heads, self.d_model, dropout_att)

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

        capturing = self.is_access_enabled(getattr(self, "model_guid", None))
        for index, (drop_prob, layer) in enumerate(zip(self.layer_drop_probs, self.layers)):
            layer_input = x
            x = layer(x=x, att_mask=att_mask, pos_emb=pos_emb, pad_mask=pad_mask)
            if self.training and drop_prob > 0.0:
                if torch.rand(1) < drop_prob:
                    # Dropped: keep the layer in the graph (zero gradients) so that every rank's
                    # parameters get gradients under DDP.
                    x = x * 0.0 + layer_input
                else:
                    x = (x - layer_input) / (1.0 - drop_prob) + layer_input
            if capturing:
                self._capture_layer_output(index, x, length)

        if self.out_proj is not None:
            x = self.out_proj(x)
        return x.transpose(1, 2), length

    def _capture_layer_output(self, index: int, x: torch.Tensor, length: torch.Tensor) -> None:
        """Record layer ``index``'s output (B, T', D) as (B, D_out, T') for InterCTC when it is a capture layer."""
        if self.interctc_capture_at_layers is None:
            self.interctc_capture_at_layers = list(
                self.access_cfg.get("interctc", {}).get("capture_layers", [])
            )
        if index not in self.interctc_capture_at_layers:
            return
        if self.out_proj is not None:
            x = self.out_proj(x)
        self.register_accessible_tensor(name=f"interctc/layer_output_{index}", tensor=x.transpose(1, 2))
        self.register_accessible_tensor(name=f"interctc/layer_length_{index}", tensor=length)

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
        if self.self_attention_model == "rel_pos_local_attn":
            # The sliding window needs only the padding mask.
            if length.device.type == "cpu" and not torch.jit.is_tracing() and bool(valid.all()):
                return None, None
            return ~valid, None
        context = self._context_mask(att_context_size, positions)
        # Checking for padding reads ``length`` on the host: worth it on the CPU, a stall on an accelerator.
        if (
            context is None
            and length.device.type == "cpu"
            and not torch.jit.is_tracing()
            and bool(valid.all())
        ):
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


class ConformerEncoderAdapter(ConformerEncoder, AdapterModuleMixin):
    """``ConformerEncoder`` that takes adapters: each one is added to every Conformer layer.

    Accepted adapters: ``LinearAdapter``, ``MultiHeadAttentionAdapter`` and
    ``RelPositionMultiHeadAttentionAdapter``; their input width is set to ``d_model``.
    """

    def add_adapter(self, name: str, cfg: Any) -> None:
        cfg = adapter_utils.update_adapter_cfg_input_dim(self, cfg, module_dim=self.d_model)
        for layer in self.layers:
            layer.set_accepted_adapter_types(self.get_accepted_adapter_types())
            layer.add_adapter(name, cfg)

    def is_adapter_available(self) -> bool:
        return any(layer.is_adapter_available() for layer in self.layers)

    def set_enabled_adapters(self, name: str | None = None, enabled: bool = True) -> None:
        for layer in self.layers:
            layer.set_enabled_adapters(name=name, enabled=enabled)

    def get_enabled_adapters(self) -> list[str]:
        return sorted({name for layer in self.layers for name in layer.get_enabled_adapters()})

    def get_accepted_adapter_types(self) -> set[type]:
        if not super().get_accepted_adapter_types():
            self.set_accepted_adapter_types(
                [
                    adapter_utils.LINEAR_ADAPTER_CLASSPATH,
                    adapter_utils.MHA_ADAPTER_CLASSPATH,
                    adapter_utils.RELMHA_ADAPTER_CLASSPATH,
                ]
            )
        return super().get_accepted_adapter_types()


if get_registered_adapter(ConformerEncoder) is None:
    register_adapter(base_class=ConformerEncoder, adapter_class=ConformerEncoderAdapter)


@dataclass(unsafe_hash=True)
class ConformerChangeConfig:
    """What ``transcribe_speech.py`` may change in a Conformer before transcribing (``model_change.conformer``).

    ``None`` leaves the setting as it is. Hashable (``unsafe_hash``) so that a script may use an instance as a
    dataclass field default on Python 3.11+.

    Attributes:
        self_attention_model: ``rel_pos``, ``rel_pos_local_attn`` or ``abs_pos``.
        att_context_size: ``[left, right]`` frames of attention context, -1 for unlimited.
    """

    self_attention_model: str | None = None
    att_context_size: list[int] | None = None

"""Convolutional ASR encoders (Jasper / QuartzNet / Citrinet / TitaNet, ECAPA-TDNN) and their decoders.

``ConvASREncoder`` + ``ConvASRDecoder`` (CTC) or ``ConvASRDecoderClassification`` (utterance labels);
``ConvASREncoder`` or ``ECAPAEncoder`` + ``SpeakerDecoder`` (speaker embeddings and logits).

Built from NeMo 1.23 YAML exactly as NeMo builds them, with NeMo's state-dict keys
(``encoder.<block>.mconv.<i>...``, ``decoder_layers.0.weight``).

Example:
    >>> encoder = ConvASREncoder(
    ...     jasper=[{"filters": 64, "repeat": 1, "kernel": [11], "stride": [2], "dilation": [1],
    ...              "dropout": 0.0, "residual": False, "separable": True}],
    ...     activation="relu", feat_in=80)
    >>> decoder = ConvASRDecoder(feat_in=64, num_classes=28)
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from nemo.collections.asr.parts.submodules.jasper import (
    JasperBlock,
    MaskedConv1d,
    init_weights,
    jasper_activations,
)
from nemo.collections.asr.parts.submodules.tdnn_attention import (
    AttentivePoolLayer,
    StatsPoolLayer,
    TDNNModule,
    TDNNSEModule,
)
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
from nemo.core.neural_types import (
    AcousticEncodedRepresentation,
    LengthsType,
    LogitsType,
    LogprobsType,
    NeuralType,
    SpectrogramType,
)
from nemo.utils import logging
from omegaconf import MISSING, DictConfig, ListConfig, OmegaConf
from torch import nn

__all__ = [
    "ConvASRDecoder",
    "ConvASRDecoderClassification",
    "ConvASREncoder",
    "ConvASREncoderAdapter",
    "ECAPAEncoder",
    "SpeakerDecoder",
]

_REQUIRED_BLOCK_KEYS = ("filters", "repeat", "kernel", "stride", "dilation", "dropout", "residual")


class ConvASREncoder(NeuralModule, Exportable, AccessMixin):
    """Stack of :class:`JasperBlock` s: ``(B, feat_in, T)`` features -> ``(B, filters_last, T')``.

    With access enabled (``AccessMixin``), each block ``i`` in the access config's
    ``interctc.capture_layers`` records ``interctc/layer_output_{i}`` / ``interctc/layer_length_{i}``.

    Args:
        jasper: one dict per block with keys ``filters``, ``repeat``, ``kernel``, ``stride``,
            ``dilation``, ``dropout``, ``residual`` and optionally ``separable``, ``groups``,
            ``heads``, ``residual_mode``, ``residual_dense``, ``se``, ``se_reduction_ratio``,
            ``se_context_size``, ``se_interpolation_mode``, ``kernel_size_factor``,
            ``stride_last``, ``future_context``.
        activation: ``relu``, ``selu``, ``swish``, ``silu``, ``gelu`` or ``hardtanh``.
        feat_in: input features ``D`` (e.g. mel bins).
        normalization_mode: ``batch``, ``layer``, ``group`` or ``instance``.
        residual_mode: default residual mode of blocks (``add``, ``stride_add``, ``max``).
        norm_groups: groups for ``group`` normalization (-1: one per channel).
        conv_mask: mask padded frames before every convolution and track lengths.
        frame_splicing: input frames stacked by the preprocessor (multiplies ``feat_in``).
        init_mode: weight initialisation (see ``init_weights``).
        quantize: unsupported; must be False.
    """

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
        """``outputs`` (B, D, T) encodings and ``encoded_lengths`` (B,)."""
        return OrderedDict(
            {
                "outputs": NeuralType(("B", "D", "T"), AcousticEncodedRepresentation()),
                "encoded_lengths": NeuralType(tuple("B"), LengthsType()),
            }
        )

    def __init__(
        self,
        jasper: Sequence[Mapping[str, Any]],
        activation: str,
        feat_in: int,
        normalization_mode: str = "batch",
        residual_mode: str = "add",
        norm_groups: int = -1,
        conv_mask: bool = True,
        frame_splicing: int = 1,
        init_mode: str | None = "xavier_uniform",
        quantize: bool = False,
    ) -> None:
        super().__init__()
        if isinstance(jasper, (ListConfig, DictConfig)):
            jasper = OmegaConf.to_container(jasper, resolve=True)
        if activation not in jasper_activations:
            raise ValueError(
                f"Unknown encoder activation={activation!r}. Expected one of {sorted(jasper_activations)}; "
                "fix `encoder.activation` in the model config."
            )
        act = jasper_activations[activation]()
        if hasattr(act, "inplace"):
            act.inplace = True

        feat_in = feat_in * frame_splicing
        self._feat_in = feat_in
        residual_panes: list[int] = []
        self.dense_residual = False
        blocks = []
        for layer_idx, lcfg in enumerate(jasper):
            missing = [key for key in _REQUIRED_BLOCK_KEYS if key not in lcfg]
            if missing:
                raise ValueError(
                    f"encoder.jasper[{layer_idx}] lacks required keys {missing}; every block needs "
                    f"{list(_REQUIRED_BLOCK_KEYS)}. Add them to the block in the model config."
                )
            dense_res: list[int] = []
            if lcfg.get("residual_dense", False):
                residual_panes.append(feat_in)
                dense_res = list(residual_panes)
                self.dense_residual = True
            blocks.append(
                JasperBlock(
                    feat_in,
                    lcfg["filters"],
                    repeat=lcfg["repeat"],
                    kernel_size=lcfg["kernel"],
                    stride=lcfg["stride"],
                    dilation=lcfg["dilation"],
                    dropout=lcfg["dropout"],
                    residual=lcfg["residual"],
                    groups=lcfg.get("groups", 1),
                    separable=lcfg.get("separable", False),
                    heads=lcfg.get("heads", -1),
                    residual_mode=lcfg.get("residual_mode", residual_mode),
                    normalization=normalization_mode,
                    norm_groups=norm_groups,
                    activation=act,
                    residual_panes=dense_res,
                    conv_mask=conv_mask,
                    se=lcfg.get("se", False),
                    se_reduction_ratio=lcfg.get("se_reduction_ratio", 8),
                    se_context_window=lcfg.get("se_context_size", -1),
                    se_interpolation_mode=lcfg.get("se_interpolation_mode", "nearest"),
                    kernel_size_factor=lcfg.get("kernel_size_factor", 1.0),
                    stride_last=lcfg.get("stride_last", False),
                    future_context=lcfg.get("future_context", -1),
                    quantize=quantize,
                    layer_idx=layer_idx,
                )
            )
            feat_in = lcfg["filters"]
        self._feat_out = feat_in
        self.encoder = torch.nn.Sequential(*blocks)
        self.apply(lambda module: init_weights(module, mode=init_mode))
        self._masks_off_for_export: list[MaskedConv1d] = []

    def _prepare_for_export(self, **kwargs: Any) -> None:
        """Turn length masking off: exported graphs take full-length inputs (NeMo's behaviour)."""
        self._masks_off_for_export = [m for m in self.modules() if isinstance(m, MaskedConv1d) and m.use_mask]
        for module in self._masks_off_for_export:
            module.use_mask = False
        logging.warning(f"Turned off {len(self._masks_off_for_export)} masked convolutions for export")

    def _export_teardown(self) -> None:
        """Turn back on the masking that ``_prepare_for_export`` turned off."""
        for module in self._masks_off_for_export:
            module.use_mask = True
        self._masks_off_for_export = []

    @typecheck()
    def forward(self, audio_signal: torch.Tensor, length: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Encode a padded batch of features.

        Args:
            audio_signal: features ``(B, D, T)``.
            length: valid frames per item ``(B,)``.

        Returns:
            ``(outputs, encoded_lengths)``: ``(B, D', T')`` and ``(B,)``; padded frames of the output
            are not zeroed.
        """
        outputs, encoded_lengths = self.encoder(([audio_signal], length))
        return outputs[-1], encoded_lengths

    def input_example(self, max_batch: int = 1, max_dim: int = 8192) -> tuple[torch.Tensor, torch.Tensor]:
        """Random ``(audio_signal (max_batch, D, max_dim), length (max_batch,))`` on the module's device."""
        device = next(self.parameters()).device
        signal = torch.randn(max_batch, self._feat_in, max_dim, device=device)
        return signal, torch.full((max_batch,), max_dim, device=device, dtype=torch.long)


class ConvASRDecoder(NeuralModule, Exportable, AdapterModuleMixin):
    """CTC head: a 1x1 convolution to ``num_classes + 1`` outputs and a log-softmax.

    Takes ``LinearAdapter`` adapters (``add_adapter``), run on the encoder output before the convolution.

    Args:
        feat_in: encoder channels ``D``.
        num_classes: vocabulary size without blank; <= 0 takes ``len(vocabulary)``.
        init_mode: weight initialisation (see ``init_weights``).
        vocabulary: the labels; its length must equal ``num_classes``.
        add_blank: add the blank output (index ``num_classes``).
    """

    @property
    def input_types(self) -> OrderedDict[str, NeuralType]:
        """``encoder_output`` (B, D, T)."""
        return OrderedDict({"encoder_output": NeuralType(("B", "D", "T"), AcousticEncodedRepresentation())})

    @property
    def output_types(self) -> OrderedDict[str, NeuralType]:
        """``logprobs`` (B, T, V+1)."""
        return OrderedDict({"logprobs": NeuralType(("B", "T", "D"), LogprobsType())})

    def __init__(
        self,
        feat_in: int,
        num_classes: int,
        init_mode: str | None = "xavier_uniform",
        vocabulary: Sequence[str] | None = None,
        add_blank: bool = True,
    ) -> None:
        super().__init__()
        if vocabulary is None and num_classes <= 0:
            raise ValueError(
                f"ConvASRDecoder got num_classes={num_classes} and no vocabulary; set `decoder.num_classes` "
                "to the vocabulary size or give `decoder.vocabulary`."
            )
        if isinstance(vocabulary, ListConfig):
            vocabulary = OmegaConf.to_container(vocabulary)
        if num_classes <= 0:
            num_classes = len(vocabulary)
            logging.info(
                f"num_classes of ConvASRDecoder is set to the size of the vocabulary: {num_classes}."
            )
        if vocabulary is not None and num_classes != len(vocabulary):
            raise ValueError(
                f"decoder.vocabulary has {len(vocabulary)} labels but decoder.num_classes={num_classes}; "
                "they must be equal. Fix one of the two keys in the model config."
            )
        self.__vocabulary = vocabulary
        self._feat_in = feat_in
        self._num_classes = num_classes + 1 if add_blank else num_classes
        self.decoder_layers = torch.nn.Sequential(
            torch.nn.Conv1d(self._feat_in, self._num_classes, kernel_size=1, bias=True)
        )
        self.apply(lambda module: init_weights(module, mode=init_mode))
        self.temperature = 1.0
        self.set_accepted_adapter_types([adapter_utils.LINEAR_ADAPTER_CLASSPATH])

    @typecheck()
    def forward(self, encoder_output: torch.Tensor) -> torch.Tensor:
        """Per-frame label log-probabilities.

        Args:
            encoder_output: ``(B, D, T)``.

        Returns:
            ``(B, T, V+1)`` log-probabilities (divided by ``self.temperature`` before the softmax).
        """
        if self.is_adapter_available():
            encoder_output = self.forward_enabled_adapters(encoder_output.transpose(1, 2)).transpose(1, 2)
        conv = self.decoder_layers[0]
        logits = torch.nn.functional.linear(
            encoder_output.transpose(1, 2), conv.weight.squeeze(-1), conv.bias
        )
        if self.temperature != 1.0:
            logits = logits / self.temperature
        return torch.nn.functional.log_softmax(logits, dim=-1)

    def input_example(self, max_batch: int = 1, max_dim: int = 256) -> tuple[torch.Tensor]:
        """Random ``(encoder_output (max_batch, D, max_dim),)`` on the module's device."""
        return (torch.randn(max_batch, self._feat_in, max_dim, device=next(self.parameters()).device),)

    def add_adapter(self, name: str, cfg: Any) -> None:
        """Add an adapter (``LinearAdapter``) whose input width is set to ``feat_in``."""
        super().add_adapter(
            name=name, cfg=adapter_utils.update_adapter_cfg_input_dim(self, cfg, module_dim=self._feat_in)
        )

    @property
    def vocabulary(self) -> Sequence[str] | None:
        """The labels the decoder was built with (without blank)."""
        return self.__vocabulary

    @property
    def num_classes_with_blank(self) -> int:
        """Output size ``V + 1`` (``V`` when built with ``add_blank=False``)."""
        return self._num_classes


class ConvASREncoderAdapter(ConvASREncoder, AdapterModuleMixin):
    """``ConvASREncoder`` that takes adapters (``LinearAdapter``): each is added to every Jasper block."""

    def add_adapter(self, name: str, cfg: Any) -> None:
        for block in self.encoder:
            block_cfg = adapter_utils.update_adapter_cfg_input_dim(self, cfg, module_dim=block.planes)
            block.set_accepted_adapter_types(self.get_accepted_adapter_types())
            block.add_adapter(name, block_cfg)

    def is_adapter_available(self) -> bool:
        return any(block.is_adapter_available() for block in self.encoder)

    def set_enabled_adapters(self, name: str | None = None, enabled: bool = True) -> None:
        for block in self.encoder:
            block.set_enabled_adapters(name=name, enabled=enabled)

    def get_enabled_adapters(self) -> list[str]:
        return sorted({name for block in self.encoder for name in block.get_enabled_adapters()})

    def get_accepted_adapter_types(self) -> set[type]:
        if not super().get_accepted_adapter_types():
            self.set_accepted_adapter_types([adapter_utils.LINEAR_ADAPTER_CLASSPATH])
        return super().get_accepted_adapter_types()


if get_registered_adapter(ConvASREncoder) is None:
    register_adapter(base_class=ConvASREncoder, adapter_class=ConvASREncoderAdapter)


class ConvASRDecoderClassification(NeuralModule, Exportable):
    """Utterance classification head: time pooling then a linear layer.

    Args:
        feat_in: encoder channels ``D``.
        num_classes: number of classes ``K``.
        init_mode: weight initialisation (see ``init_weights``).
        return_logits: return logits; False returns softmax probabilities.
        pooling_type: ``avg`` or ``max`` over time.
    """

    @property
    def input_types(self) -> OrderedDict[str, NeuralType]:
        """``encoder_output`` (B, D, T)."""
        return OrderedDict({"encoder_output": NeuralType(("B", "D", "T"), AcousticEncodedRepresentation())})

    @property
    def output_types(self) -> OrderedDict[str, NeuralType]:
        """``logits`` (B, K)."""
        return OrderedDict({"logits": NeuralType(("B", "D"), LogitsType())})

    def __init__(
        self,
        feat_in: int,
        num_classes: int,
        init_mode: str | None = "xavier_uniform",
        return_logits: bool = True,
        pooling_type: str = "avg",
    ) -> None:
        super().__init__()
        self._feat_in = feat_in
        self._return_logits = return_logits
        self._num_classes = num_classes
        if pooling_type == "avg":
            self.pooling = torch.nn.AdaptiveAvgPool1d(1)
        elif pooling_type == "max":
            self.pooling = torch.nn.AdaptiveMaxPool1d(1)
        else:
            raise ValueError(
                f"Unknown decoder.pooling_type={pooling_type!r}; expected 'avg' or 'max'. Fix it in the model config."
            )
        self.decoder_layers = torch.nn.Sequential(
            torch.nn.Linear(self._feat_in, self._num_classes, bias=True)
        )
        self.apply(lambda module: init_weights(module, mode=init_mode))

    @typecheck()
    def forward(self, encoder_output: torch.Tensor) -> torch.Tensor:
        """Classify whole utterances.

        Args:
            encoder_output: ``(B, D, T)``; every frame is pooled, padding included.

        Returns:
            ``(B, K)`` logits, or probabilities when ``return_logits`` is False.
        """
        logits = self.decoder_layers(self.pooling(encoder_output).squeeze(-1))
        if self._return_logits:
            return logits
        return torch.nn.functional.softmax(logits, dim=-1)

    def input_example(self, max_batch: int = 1, max_dim: int = 256) -> tuple[torch.Tensor]:
        """Random ``(encoder_output (max_batch, D, max_dim),)`` on the module's device."""
        return (torch.randn(max_batch, self._feat_in, max_dim, device=next(self.parameters()).device),)

    @property
    def num_classes(self) -> int:
        """Number of classes ``K``."""
        return self._num_classes


class ECAPAEncoder(NeuralModule, Exportable):
    """ECAPA-TDNN encoder without Res2Net (NeMo's faster variant): ``(B, feat_in, T)`` -> ``(B, filters[-1], T)``.

    A :class:`TDNNModule` over the features, ``len(filters) - 2`` :class:`TDNNSEModule` blocks, and a
    TDNN (``feature_agg``) over the concatenated outputs of those blocks. Time is never subsampled.

    Args:
        feat_in: input features ``D`` (mel bins).
        filters: channels of the first TDNN, of each SE block, then of ``feature_agg``; the SE blocks'
            channels must add up to ``filters[-1]`` (e.g. ``[1024, 1024, 1024, 1024, 3072]``; checked when
            run).
        kernel_sizes: one kernel size per entry of ``filters``.
        dilations: one dilation per entry of ``filters``.
        scale: groups of the SE blocks' grouped convolutions.
        init_mode: weight initialisation (see ``init_weights``).
    """

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
        """``outputs`` (B, D, T) encodings and ``encoded_lengths`` (B,)."""
        return OrderedDict(
            {
                "outputs": NeuralType(("B", "D", "T"), AcousticEncodedRepresentation()),
                "encoded_lengths": NeuralType(tuple("B"), LengthsType()),
            }
        )

    def __init__(
        self,
        feat_in: int,
        filters: Sequence[int],
        kernel_sizes: Sequence[int],
        dilations: Sequence[int],
        scale: int = 8,
        init_mode: str = "xavier_uniform",
    ) -> None:
        super().__init__()
        filters, kernel_sizes, dilations = list(filters), list(kernel_sizes), list(dilations)
        if len(filters) < 3 or not len(filters) == len(kernel_sizes) == len(dilations):
            raise ValueError(
                f"ECAPAEncoder needs at least 3 filters and one kernel size and dilation per filter; got "
                f"filters={filters}, kernel_sizes={kernel_sizes}, dilations={dilations}. Fix `encoder.filters`, "
                "`encoder.kernel_sizes` and `encoder.dilations` in the model config."
            )
        self._feat_in = feat_in
        self._feat_out = filters[-1]
        self.layers = nn.ModuleList(
            [TDNNModule(feat_in, filters[0], kernel_size=kernel_sizes[0], dilation=dilations[0])]
        )
        for index in range(len(filters) - 2):
            self.layers.append(
                TDNNSEModule(
                    filters[index],
                    filters[index + 1],
                    group_scale=scale,
                    se_channels=128,
                    kernel_size=kernel_sizes[index + 1],
                    dilation=dilations[index + 1],
                )
            )
        self.feature_agg = TDNNModule(filters[-1], filters[-1], kernel_sizes[-1], dilations[-1])
        self.apply(lambda module: init_weights(module, mode=init_mode))

    def forward(
        self, audio_signal: torch.Tensor, length: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Encode a padded batch of features.

        Args:
            audio_signal: features ``(B, D, T)``.
            length: valid frames per item ``(B,)`` (they mask the SE averages).

        Returns:
            ``(outputs, length)``: ``(B, filters[-1], T)`` and the lengths unchanged.
        """
        x = self.layers[0](audio_signal, length=length)
        block_outputs = []
        for layer in self.layers[1:]:
            x = layer(x, length=length)
            block_outputs.append(x)
        joined = torch.cat(block_outputs, dim=1)
        if joined.size(1) != self._feat_out:
            # NeMo 1.23 builds such an encoder (its tests do); it only fails here, when run.
            raise ValueError(
                f"ECAPAEncoder concatenates its SE blocks' outputs ({joined.size(1)} channels) into the last layer, "
                f"which expects encoder.filters[-1]={self._feat_out}. Make the last entry of `encoder.filters` the "
                "sum of the middle ones."
            )
        return self.feature_agg(joined), length

    def input_example(self, max_batch: int = 1, max_dim: int = 256) -> tuple[torch.Tensor, torch.Tensor]:
        """Random ``(audio_signal (max_batch, D, max_dim), length (max_batch,))`` on the module's device."""
        device = next(self.parameters()).device
        signal = torch.randn(max_batch, self._feat_in, max_dim, device=device)
        return signal, torch.full((max_batch,), max_dim, device=device, dtype=torch.long)


class SpeakerDecoder(NeuralModule, Exportable):
    """Speaker head: pooling over time, embedding layers, then a linear layer to the speakers.

    ``xvector`` / ``tap`` pooling (:class:`StatsPoolLayer`) is followed by ``Linear -> BatchNorm -> ReLU``
    embedding layers; ``attention`` pooling (:class:`AttentivePoolLayer`) by ``BatchNorm -> 1x1 Conv``
    layers. The embedding is the last embedding layer's output before its ReLU.

    With ``angular`` (set by the model when its loss is angular) the final layer has no bias and its input
    is L2-normalised. Its weight rows are used as they are: NeMo 1.23 normalises only the input too.

    Args:
        feat_in: encoder channels ``C``.
        num_classes: number of speakers ``K``.
        emb_sizes: size of each embedding layer (an int for one layer).
        pool_mode: ``xvector`` (mean and deviation), ``tap`` (mean) or ``attention`` (attentive statistics).
        angular: normalise the final layer's input and drop its bias.
        attention_channels: hidden channels of the attentive pooling.
        init_mode: weight initialisation (see ``init_weights``).
    """

    @property
    def input_types(self) -> OrderedDict[str, NeuralType]:
        """``encoder_output`` (B, D, T) and optional ``length`` (B,)."""
        return OrderedDict(
            {
                "encoder_output": NeuralType(("B", "D", "T"), AcousticEncodedRepresentation()),
                "length": NeuralType(("B",), LengthsType(), optional=True),
            }
        )

    @property
    def output_types(self) -> OrderedDict[str, NeuralType]:
        """``logits`` (B, K) and ``embs`` (B, E)."""
        return OrderedDict(
            {
                "logits": NeuralType(("B", "D"), LogitsType()),
                "embs": NeuralType(("B", "D"), AcousticEncodedRepresentation()),
            }
        )

    def __init__(
        self,
        feat_in: int,
        num_classes: int,
        emb_sizes: int | Sequence[int] | None = 256,
        pool_mode: str = "xvector",
        angular: bool = False,
        attention_channels: int = 128,
        init_mode: str = "xavier_uniform",
    ) -> None:
        super().__init__()
        self.angular = angular
        self.emb_id = 2
        self._feat_in = feat_in
        self._num_classes = num_classes
        emb_sizes = [emb_sizes] if isinstance(emb_sizes, int) else list(emb_sizes or [])
        if not emb_sizes:
            raise ValueError(
                "SpeakerDecoder needs at least one embedding layer; got decoder.emb_sizes=[]. Set "
                "`decoder.emb_sizes` to the embedding size (e.g. 192) or a list of sizes."
            )
        self.pool_mode = pool_mode.lower()
        if self.pool_mode in ("xvector", "tap"):
            self._pooling: nn.Module = StatsPoolLayer(feat_in=feat_in, pool_mode=self.pool_mode)
            affine_type = "linear"
        elif self.pool_mode == "attention":
            self._pooling = AttentivePoolLayer(inp_filters=feat_in, attention_channels=attention_channels)
            affine_type = "conv"
        else:
            raise ValueError(
                f"SpeakerDecoder got pool_mode={pool_mode!r}; expected 'xvector', 'tap' or 'attention'. "
                "Fix `decoder.pool_mode` in the model config."
            )
        shapes = [self._pooling.feat_in, *(int(size) for size in emb_sizes)]
        self.emb_layers = nn.ModuleList(
            self.affine_layer(size_in, size_out, learn_mean=False, affine_type=affine_type)
            for size_in, size_out in zip(shapes[:-1], shapes[1:])
        )
        self.final = nn.Linear(shapes[-1], num_classes, bias=not angular)
        self.apply(lambda module: init_weights(module, mode=init_mode))

    def affine_layer(
        self, inp_shape: int, out_shape: int, learn_mean: bool = True, affine_type: str = "conv"
    ) -> nn.Sequential:
        """One embedding layer.

        Args:
            inp_shape: input size.
            out_shape: output size.
            learn_mean: affine batch norm after the linear layer (``linear`` type only).
            affine_type: ``conv`` (``BatchNorm -> 1x1 Conv``, on ``(B, C, 1)``) or ``linear``
                (``Linear -> BatchNorm -> ReLU``, on ``(B, C)``).
        """
        if affine_type == "conv":
            return nn.Sequential(
                nn.BatchNorm1d(inp_shape, affine=True, track_running_stats=True),
                nn.Conv1d(inp_shape, out_shape, kernel_size=1),
            )
        return nn.Sequential(
            nn.Linear(inp_shape, out_shape),
            nn.BatchNorm1d(out_shape, affine=learn_mean, track_running_stats=True),
            nn.ReLU(),
        )

    @typecheck()
    def forward(
        self, encoder_output: torch.Tensor, length: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Speaker logits and embedding of each utterance.

        Args:
            encoder_output: ``(B, C, T)``.
            length: valid frames per item ``(B,)``; without it every frame counts (``xvector``/``tap``)
                or only the first one (``attention``, as in NeMo 1.23).

        Returns:
            ``(logits, embs)``: ``(B, K)`` and ``(B, emb_sizes[-1])``.
        """
        pool = self._pooling(encoder_output, length)
        emb = pool
        for layer in self.emb_layers:
            emb = layer[: self.emb_id](pool)
            # NeMo runs a layer's first two modules twice per training step, so its batch norm's running
            # statistics take two momentum steps; doing the same keeps trained weights interchangeable.
            pool = layer(pool) if self.training else layer[self.emb_id :](emb)
        pool = pool.squeeze(-1)
        if self.angular:
            pool = F.normalize(pool, p=2, dim=1)
        return self.final(pool), emb.squeeze(-1)

    def input_example(self, max_batch: int = 1, max_dim: int = 256) -> tuple[torch.Tensor]:
        """Random ``(encoder_output (max_batch, C, max_dim),)`` on the module's device."""
        return (torch.randn(max_batch, self._feat_in, max_dim, device=next(self.parameters()).device),)

    @property
    def num_classes(self) -> int:
        """Number of speakers ``K``."""
        return self._num_classes


# ------------------------------------------------------------------------------------ structured configs
# NeMo 1.23's config dataclasses of the encoder/decoders above; ``MISSING`` fields must be set before the
# module is built.


@dataclass
class JasperEncoderConfig:
    """One entry of ``encoder.jasper``: a :class:`JasperBlock` of ``repeat`` sub-blocks."""

    filters: int = MISSING
    repeat: int = MISSING
    kernel: list[int] = MISSING
    stride: list[int] = MISSING
    dilation: list[int] = MISSING
    dropout: float = MISSING
    residual: bool = MISSING
    groups: int = 1
    separable: bool = False
    heads: int = -1
    residual_mode: str = "add"
    residual_dense: bool = False
    se: bool = False
    se_reduction_ratio: int = 8
    se_context_size: int = -1
    se_interpolation_mode: str = "nearest"
    kernel_size_factor: float = 1.0
    stride_last: bool = False


@dataclass
class ConvASREncoderConfig:
    """``encoder`` section for :class:`ConvASREncoder` (``quantize`` is left at its default, False)."""

    _target_: str = "nemo.collections.asr.modules.ConvASREncoder"
    jasper: list[JasperEncoderConfig] | None = field(default_factory=list)
    activation: str = MISSING
    feat_in: int = MISSING
    normalization_mode: str = "batch"
    residual_mode: str = "add"
    norm_groups: int = -1
    conv_mask: bool = True
    frame_splicing: int = 1
    init_mode: str | None = "xavier_uniform"


@dataclass
class ConvASRDecoderConfig:
    """``decoder`` section for :class:`ConvASRDecoder` (CTC head over ``vocabulary`` plus the blank)."""

    _target_: str = "nemo.collections.asr.modules.ConvASRDecoder"
    feat_in: int = MISSING
    num_classes: int = MISSING
    init_mode: str | None = "xavier_uniform"
    vocabulary: list[str] | None = field(default_factory=list)


@dataclass
class ConvASRDecoderClassificationConfig:
    """``decoder`` section for :class:`ConvASRDecoderClassification` (pooled utterance logits)."""

    _target_: str = "nemo.collections.asr.modules.ConvASRDecoderClassification"
    feat_in: int = MISSING
    num_classes: int = MISSING
    init_mode: str | None = "xavier_uniform"
    return_logits: bool = True
    pooling_type: str = "avg"

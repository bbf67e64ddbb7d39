"""Convolutional ASR encoder (Jasper / QuartzNet / Citrinet) and the CTC / classification decoders.

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
from typing import Any

import torch
from nemo.collections.asr.parts.submodules.jasper import (
    JasperBlock,
    MaskedConv1d,
    init_weights,
    jasper_activations,
)
from nemo.core.classes.exportable import Exportable
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
from omegaconf import DictConfig, ListConfig, OmegaConf

__all__ = ["ConvASRDecoder", "ConvASRDecoderClassification", "ConvASREncoder"]

_REQUIRED_BLOCK_KEYS = ("filters", "repeat", "kernel", "stride", "dilation", "dropout", "residual")


class ConvASREncoder(NeuralModule, Exportable):
    """Stack of :class:`JasperBlock` s: ``(B, feat_in, T)`` features -> ``(B, filters_last, T')``.

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


class ConvASRDecoder(NeuralModule, Exportable):
    """CTC head: a 1x1 convolution to ``num_classes + 1`` outputs and a log-softmax.

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

    @typecheck()
    def forward(self, encoder_output: torch.Tensor) -> torch.Tensor:
        """Per-frame label log-probabilities.

        Args:
            encoder_output: ``(B, D, T)``.

        Returns:
            ``(B, T, V+1)`` log-probabilities (divided by ``self.temperature`` before the softmax).
        """
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

    @property
    def vocabulary(self) -> Sequence[str] | None:
        """The labels the decoder was built with (without blank)."""
        return self.__vocabulary

    @property
    def num_classes_with_blank(self) -> int:
        """Output size ``V + 1`` (``V`` when built with ``add_blank=False``)."""
        return self._num_classes


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

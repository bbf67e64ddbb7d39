"""Spectrogram-reconstruction decoder of self-supervised pre-training (NeMo 1.23's ``ConvASRDecoderReconstruction``).

``decoder_layers`` is one ``nn.Sequential`` with NeMo's layer order, so state-dict keys match
(``decoder_layers.{i}.weight``):

1. 1x1 convolution ``feat_in -> feat_hidden``;
2. per strided layer: activation, depthwise stride-2 convolution (transposed with ``stride_transpose``, which
   doubles time; else halves it), 1x1 convolution, batch norm;
3. per non-strided layer: activation, depthwise convolution, 1x1 convolution, batch norm;
4. activation, 1x1 convolution ``feat_hidden -> feat_out``.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from nemo.collections.asr.parts.submodules.jasper import init_weights, jasper_activations
from nemo.core.classes.exportable import Exportable
from nemo.core.classes.module import NeuralModule
from nemo.core.classes.typecheck import typecheck
from nemo.core.neural_types import AcousticEncodedRepresentation, LogprobsType, NeuralType
from torch import nn

__all__ = ["ConvASRDecoderReconstruction"]


class ConvASRDecoderReconstruction(NeuralModule, Exportable):
    """Map encoder outputs (B, feat_in, T) to (B, T', feat_out) frames (log-probabilities with ``apply_softmax``).

    Args:
        feat_in: encoder channels.
        feat_out: output channels.
        feat_hidden: hidden channels.
        stride_layers: strided layers (each doubles time with ``stride_transpose``, else halves it).
        non_stride_layers: layers keeping time.
        kernel_size: depthwise kernel (odd, >= 3, when there is any such layer).
        init_mode: weight initialisation (see ``init_weights``).
        activation: a ``jasper_activations`` name.
        stride_transpose: strided layers are transposed convolutions.
        apply_softmax: output ``log_softmax`` over channels.
    """

    @property
    def input_types(self) -> OrderedDict[str, NeuralType]:
        """``encoder_output`` (B, D, T)."""
        return OrderedDict({"encoder_output": NeuralType(("B", "D", "T"), AcousticEncodedRepresentation())})

    @property
    def output_types(self) -> OrderedDict[str, NeuralType]:
        """``out`` (B, T, D): log-probabilities with ``apply_softmax``, else representations."""
        element = LogprobsType() if self.apply_softmax else AcousticEncodedRepresentation()
        return OrderedDict({"out": NeuralType(("B", "T", "D"), element)})

    def __init__(
        self,
        feat_in: int,
        feat_out: int,
        feat_hidden: int,
        stride_layers: int = 0,
        non_stride_layers: int = 0,
        kernel_size: int = 11,
        init_mode: str = "xavier_uniform",
        activation: str = "relu",
        stride_transpose: bool = True,
        apply_softmax: bool = False,
    ) -> None:
        super().__init__()
        if stride_layers + non_stride_layers > 0 and (kernel_size < 3 or kernel_size % 2 == 0):
            raise ValueError(
                f"kernel_size={kernel_size}: with strided or non-strided layers the decoder kernel must be odd and "
                ">= 3. Fix decoder.kernel_size in the config."
            )
        if activation not in jasper_activations:
            raise ValueError(
                f"activation={activation!r} is unknown; expected one of {sorted(jasper_activations)}."
            )
        self.feat_in = feat_in
        self._feat_in = feat_in
        self.feat_out = feat_out
        self.feat_hidden = feat_hidden
        self.apply_softmax = apply_softmax
        act = jasper_activations[activation]()
        hidden = feat_hidden
        layers: list[nn.Module] = [nn.Conv1d(feat_in, hidden, kernel_size=1, bias=True)]
        for _ in range(stride_layers):
            if stride_transpose:
                resample: nn.Module = nn.ConvTranspose1d(
                    hidden,
                    hidden,
                    kernel_size,
                    stride=2,
                    padding=(kernel_size - 3) // 2 + 1,
                    output_padding=1,
                    bias=True,
                    groups=hidden,
                )
            else:
                resample = nn.Conv1d(
                    hidden,
                    hidden,
                    kernel_size,
                    stride=2,
                    padding=(kernel_size - 1) // 2,
                    bias=True,
                    groups=hidden,
                )
            layers += [
                act,
                resample,
                nn.Conv1d(hidden, hidden, 1, bias=True),
                nn.BatchNorm1d(hidden, eps=1e-3),
            ]
        for _ in range(non_stride_layers):
            depthwise = nn.Conv1d(
                hidden, hidden, kernel_size, bias=True, groups=hidden, padding=kernel_size // 2
            )
            layers += [
                act,
                depthwise,
                nn.Conv1d(hidden, hidden, 1, bias=True),
                nn.BatchNorm1d(hidden, eps=1e-3),
            ]
        layers += [act, nn.Conv1d(hidden, feat_out, kernel_size=1, bias=True)]
        self.decoder_layers = nn.Sequential(*layers)
        self.apply(lambda module: init_weights(module, mode=init_mode))

    @typecheck()
    def forward(self, encoder_output: torch.Tensor) -> torch.Tensor:
        """(B, feat_in, T) -> (B, T', feat_out)."""
        out = self.decoder_layers(encoder_output).transpose(-2, -1)
        return torch.log_softmax(out, dim=-1) if self.apply_softmax else out

    def input_example(self, max_batch: int = 1, max_dim: int = 256) -> tuple[torch.Tensor]:
        """A random (max_batch, feat_in, max_dim) input on the module's device."""
        return (torch.randn(max_batch, self.feat_in, max_dim, device=next(self.parameters()).device),)

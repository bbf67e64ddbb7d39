"""``TokenClassifier``: the per-token output head of the AED models (NeMo 1.23's ``head`` target).

Dropout, then a :class:`~nemo.collections.common.parts.MultiLayerPerceptron` (state-dict keys ``mlp.layer0.*``,
...), optionally ending in log-softmax. The AED model ties ``mlp.layer0.weight`` to the decoder's token embedding.
"""

from __future__ import annotations

import torch
from nemo.collections.common.parts.multi_layer_perceptron import MultiLayerPerceptron
from nemo.collections.common.parts.transformer_utils import transformer_weights_init
from nemo.core.classes.module import NeuralModule
from nemo.core.classes.typecheck import typecheck
from nemo.core.neural_types import ChannelType, LogitsType, LogprobsType, NeuralType

__all__ = ["TokenClassifier"]


class TokenClassifier(NeuralModule):
    """Hidden states (B, T, H) -> class scores (B, T, C).

    Args:
        hidden_size: H.
        num_classes: C.
        num_layers: linear layers of the MLP.
        activation: torch function between them (``relu``...).
        log_softmax: output log-probabilities (else logits).
        dropout: dropout on the input states.
        use_transformer_init: re-initialise the linear layers with N(0, 0.02) weights and zero biases.
    """

    def __init__(
        self,
        hidden_size: int,
        num_classes: int,
        num_layers: int = 1,
        activation: str = "relu",
        log_softmax: bool = True,
        dropout: float = 0.0,
        use_transformer_init: bool = True,
    ) -> None:
        super().__init__()
        self._hidden_size = hidden_size
        self.log_softmax = log_softmax
        self.dropout = torch.nn.Dropout(dropout)
        self.mlp = MultiLayerPerceptron(
            hidden_size, num_classes, num_layers=num_layers, activation=activation, log_softmax=log_softmax
        )
        if use_transformer_init:
            self.apply(lambda module: transformer_weights_init(module, xavier=False))

    @property
    def input_types(self) -> dict[str, NeuralType]:
        return {"hidden_states": NeuralType(("B", "T", "D"), ChannelType())}

    @property
    def output_types(self) -> dict[str, NeuralType]:
        if self.log_softmax:
            return {"log_probs": NeuralType(("B", "T", "C"), LogprobsType())}
        return {"logits": NeuralType(("B", "T", "C"), LogitsType())}

    @typecheck()
    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        """(B, T, H) -> (B, T, C) log-probabilities (or logits)."""
        return self.mlp(self.dropout(hidden_states))

"""``SequenceClassifier``: one label per sequence, from the hidden state of one token (NeMo 1.23's head)."""

from __future__ import annotations

import torch
from nemo.collections.common.parts.multi_layer_perceptron import MultiLayerPerceptron
from nemo.collections.nlp.modules.common.classifier import Classifier
from nemo.core.classes.typecheck import typecheck
from nemo.core.neural_types import LogitsType, LogprobsType, NeuralType

__all__ = ["SequenceClassifier"]


class SequenceClassifier(Classifier):
    """An MLP over the hidden state of token ``idx_conditioned_on`` (``[CLS]``, the first, by default).

    Args:
        hidden_size: the encoder's hidden size ``D``.
        num_classes: number of labels ``C``.
        num_layers: linear layers of the MLP (``mlp.layer0``, ``mlp.layer2``, ...).
        activation: torch function between them.
        log_softmax: return log-probabilities instead of logits.
        dropout: dropout on the hidden states.
        use_transformer_init: BERT-style initial weights.
        idx_conditioned_on: which token's hidden state represents the sequence.
    """

    @property
    def output_types(self) -> dict[str, NeuralType]:
        if self.log_softmax:
            return {"log_probs": NeuralType(("B", "D"), LogprobsType())}
        return {"logits": NeuralType(("B", "D"), LogitsType())}

    def __init__(
        self,
        hidden_size: int,
        num_classes: int,
        num_layers: int = 2,
        activation: str = "relu",
        log_softmax: bool = True,
        dropout: float = 0.0,
        use_transformer_init: bool = True,
        idx_conditioned_on: int = 0,
    ) -> None:
        super().__init__(hidden_size=hidden_size, dropout=dropout)
        self.log_softmax = log_softmax
        self._idx_conditioned_on = idx_conditioned_on
        self.mlp = MultiLayerPerceptron(
            hidden_size=hidden_size,
            num_classes=num_classes,
            num_layers=num_layers,
            activation=activation,
            log_softmax=log_softmax,
        )
        self.post_init(use_transformer_init=use_transformer_init)

    @typecheck()
    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        """Classify each sequence.

        Args:
            hidden_states: ``(B, T, D)``.

        Returns:
            ``(B, C)`` logits (or log-probabilities).
        """
        return self.mlp(self.dropout(hidden_states)[:, self._idx_conditioned_on])

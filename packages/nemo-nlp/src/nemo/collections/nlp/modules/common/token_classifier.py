"""``TokenClassifier`` and ``BertPretrainingTokenClassifier``: one label per token (NeMo 1.23's heads)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from nemo.collections.common.parts.multi_layer_perceptron import MultiLayerPerceptron
from nemo.collections.nlp.modules.common.classifier import Classifier
from nemo.core.classes.typecheck import typecheck
from nemo.core.neural_types import LogitsType, LogprobsType, NeuralType

__all__ = ["BertPretrainingTokenClassifier", "TokenClassifier", "TokenClassifierConfig"]

ACT2FN = {"gelu": torch.nn.functional.gelu, "relu": torch.nn.functional.relu}


@dataclass
class TokenClassifierConfig:
    """Head settings as NeMo's configs give them."""

    num_layers: int = 1
    activation: str = "relu"
    log_softmax: bool = True
    dropout: float = 0.0
    use_transformer_init: bool = True


class _TokenHead(Classifier):
    """Output types shared by the token heads: ``(B, T, C)`` logits or log-probabilities."""

    @property
    def output_types(self) -> dict[str, NeuralType]:
        if self.log_softmax:
            return {"log_probs": NeuralType(("B", "T", "C"), LogprobsType())}
        return {"logits": NeuralType(("B", "T", "C"), LogitsType())}


class TokenClassifier(_TokenHead):
    """An MLP applied to every token's hidden state (named entities, punctuation, capitalisation).

    Args:
        hidden_size: the encoder's hidden size ``D``.
        num_classes: number of labels ``C``.
        num_layers: linear layers of the MLP (``mlp.layer0``, ``mlp.layer2``, ...).
        activation: torch function between them.
        log_softmax: return log-probabilities instead of logits.
        dropout: dropout on the hidden states.
        use_transformer_init: BERT-style initial weights.
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
        super().__init__(hidden_size=hidden_size, dropout=dropout)
        self.log_softmax = log_softmax
        self.mlp = MultiLayerPerceptron(
            hidden_size, num_classes, num_layers=num_layers, activation=activation, log_softmax=log_softmax
        )
        self.post_init(use_transformer_init=use_transformer_init)

    @typecheck()
    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        """Classify each token.

        Args:
            hidden_states: ``(B, T, D)``.

        Returns:
            ``(B, T, C)`` logits (or log-probabilities).
        """
        return self.mlp(self.dropout(hidden_states))


class BertPretrainingTokenClassifier(_TokenHead):
    """BERT's masked-language-model head: dense, activation and layer norm, then the MLP.

    Args: as :class:`TokenClassifier`; ``activation`` is ``'gelu'`` or ``'relu'``.
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
        super().__init__(hidden_size=hidden_size, dropout=dropout)
        if activation not in ACT2FN:
            raise ValueError(
                f"BertPretrainingTokenClassifier: activation {activation!r} is not supported; expected one of "
                f"{sorted(ACT2FN)}."
            )
        self.log_softmax = log_softmax
        self.dense = torch.nn.Linear(hidden_size, hidden_size)
        self.act = ACT2FN[activation]
        self.norm = torch.nn.LayerNorm(hidden_size, eps=1e-12)
        self.mlp = MultiLayerPerceptron(
            hidden_size, num_classes, num_layers=num_layers, activation=activation, log_softmax=log_softmax
        )
        self.post_init(use_transformer_init=use_transformer_init)

    @typecheck()
    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        """Classify each token.

        Args:
            hidden_states: ``(B, T, D)``.

        Returns:
            ``(B, T, C)`` logits (or log-probabilities).
        """
        transformed = self.norm(self.act(self.dense(self.dropout(hidden_states))))
        return self.mlp(transformed)

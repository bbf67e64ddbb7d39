"""``Classifier``: the base of NeMo's NLP heads, which all read encoder hidden states ``(B, T, D)``."""

from __future__ import annotations

import torch
from nemo.collections.common.parts.transformer_utils import transformer_weights_init
from nemo.core.classes.exportable import Exportable
from nemo.core.classes.module import NeuralModule
from nemo.core.neural_types import ChannelType, NeuralType

__all__ = ["Classifier"]


class Classifier(NeuralModule, Exportable):
    """Input dropout and weight initialisation shared by the classification heads.

    Args:
        hidden_size: the encoder's hidden size ``D``.
        dropout: dropout probability applied to the hidden states.
    """

    @property
    def input_types(self) -> dict[str, NeuralType]:
        return {"hidden_states": NeuralType(("B", "T", "D"), ChannelType())}

    def __init__(self, hidden_size: int, dropout: float = 0.0) -> None:
        super().__init__()
        self._hidden_size = hidden_size
        self.dropout = torch.nn.Dropout(dropout)

    def post_init(self, use_transformer_init: bool) -> None:
        """Finish a subclass's ``__init__``: BERT-style normal initial weights when ``use_transformer_init``."""
        if use_transformer_init:
            self.apply(lambda module: transformer_weights_init(module, xavier=False))

    def input_example(self, max_batch: int = 1, max_dim: int = 256) -> tuple[torch.Tensor]:
        """Random hidden states ``(max_batch, max_dim, D)`` on the head's device and dtype."""
        sample = next(self.parameters())
        return (torch.randn(max_batch, max_dim, self._hidden_size, device=sample.device, dtype=sample.dtype),)

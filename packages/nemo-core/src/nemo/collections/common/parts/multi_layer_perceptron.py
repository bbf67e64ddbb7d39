"""``MultiLayerPerceptron``: the classification head NeMo puts on top of encoders (NeMo 1.23's layout)."""

from __future__ import annotations

from collections.abc import Callable

import torch

__all__ = ["MultiLayerPerceptron"]


def _torch_activation(name: str) -> Callable[[torch.Tensor], torch.Tensor]:
    """The torch function called ``name`` (``relu``, ``tanh``, ``sigmoid``...), as NeMo looks it up."""
    function = getattr(torch, name, None)
    if not callable(function):
        raise ValueError(
            f"MultiLayerPerceptron: activation {name!r} is not a torch function. Expected the name of one, "
            "such as 'relu', 'tanh' or 'sigmoid' (torch.<name>)."
        )
    return function


class MultiLayerPerceptron(torch.nn.Module):
    """``num_layers`` linear layers with an activation between each two, optionally then log-softmax.

    The layers are attributes ``layer0``, ``layer1``, ...: a hidden linear layer at each even index, the
    activation after it at the next (odd) index, and the output linear layer last. With ``num_layers=2``:
    ``layer0`` linear, ``layer1`` activation, ``layer2`` linear. So the state-dict keys are NeMo's
    (``layer0.weight``, ``layer2.bias``...).

    Args:
        hidden_size: the size of the input and of each hidden layer.
        num_classes: the size of the output.
        num_layers: how many linear layers (below 1 counts as 1).
        activation: name of the torch function between linear layers (``torch.relu`` for ``'relu'``).
        log_softmax: end with ``log_softmax`` over the last dimension.
    """

    def __init__(
        self,
        hidden_size: int,
        num_classes: int,
        num_layers: int = 2,
        activation: str = "relu",
        log_softmax: bool = True,
    ) -> None:
        super().__init__()
        function = _torch_activation(activation) if num_layers > 1 else None
        self.layers = 0
        for _ in range(num_layers - 1):
            setattr(self, f"layer{self.layers}", torch.nn.Linear(hidden_size, hidden_size))
            setattr(self, f"layer{self.layers + 1}", function)
            self.layers += 2
        setattr(self, f"layer{self.layers}", torch.nn.Linear(hidden_size, num_classes))
        self.layers += 1
        self.log_softmax = log_softmax

    @property
    def last_linear_layer(self) -> torch.nn.Linear:
        """The output linear layer."""
        return getattr(self, f"layer{self.layers - 1}")

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        """Apply the layers.

        Args:
            hidden_states: ``(..., hidden_size)``.

        Returns:
            ``(..., num_classes)``: logits, or log-probabilities with ``log_softmax``.
        """
        output = hidden_states
        for index in range(self.layers):
            output = getattr(self, f"layer{index}")(output)
        if self.log_softmax:
            output = torch.log_softmax(output, dim=-1)
        return output

"""``RNNTDecoderJoint``: a transducer's prediction network and joint as one exportable graph.

NeMo 1.23 exports an RNN-T model as two graphs (see ``ExportableEncDecModel``): the encoder, and this one,
which a greedy decoding loop calls once per emitted label. Its ports (NeMo's names):

    inputs:  encoder_outputs (B, D_enc, T), targets (B, U) int, target_length (B,),
             input_states_1, input_states_2 (L, B, H): the LSTM state (h, c)
    outputs: outputs (B, T, U, V+1) joint scores, prednet_lengths (B,) (= target_length),
             output_states_1, output_states_2 (L, B, H): the new state

As in NeMo, ``targets`` are fed without a start-of-sequence step (the caller feeds the last label, or the
blank at the start) and the joint's outputs are left unnormalised (no log-softmax) in the exported graph:
greedy decoding needs only their argmax.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import torch
from nemo.core.classes.exportable import Exportable
from nemo.core.neural_types import (
    AcousticEncodedRepresentation,
    ElementType,
    LabelsType,
    LengthsType,
    LogprobsType,
    NeuralType,
)

__all__ = ["RNNTDecoderJoint"]

_LSTM_STATE_TENSORS = 2
_EXAMPLE_ENCODER_FRAMES = 4


def _state_type() -> NeuralType:
    return NeuralType(("D", "B", "D"), ElementType())


class RNNTDecoderJoint(torch.nn.Module, Exportable):
    """Prediction network + joint of a transducer, exported together (shares the weights of both).

    Args:
        decoder: a prediction network whose state is an LSTM's ``(h, c)`` (``RNNTDecoder``).
        joint: the joint (``RNNTJoint``); ``joint.joint(f, g)`` maps (B, T, D_enc) and (B, U, H) to
            (B, T, U, V+1).

    Raises:
        ValueError: the decoder's state is not two tensors (e.g. a stateless prediction network).
    """

    def __init__(self, decoder: torch.nn.Module, joint: torch.nn.Module) -> None:
        super().__init__()
        self.decoder = decoder
        self.joint = joint
        state = decoder.initialize_state(torch.zeros(1, 1))
        if len(state) != _LSTM_STATE_TENSORS:
            raise ValueError(
                f"RNNTDecoderJoint exports prediction networks with an LSTM state (h, c); "
                f"{type(decoder).__name__} keeps a state of {len(state)} tensor(s). Export the encoder alone "
                "(model.encoder.export(...)) and run this decoder in PyTorch."
            )
        # The joint's log_softmax setting while exporting: (saved value,) between prepare and teardown.
        self._saved_log_softmax: tuple[Any] | None = None

    @property
    def input_types(self) -> OrderedDict[str, NeuralType]:
        """``encoder_outputs``, ``targets``, ``target_length`` and the two state tensors."""
        return OrderedDict(
            {
                "encoder_outputs": NeuralType(("B", "D", "T"), AcousticEncodedRepresentation()),
                "targets": NeuralType(("B", "T"), LabelsType()),
                "target_length": NeuralType(tuple("B"), LengthsType()),
                "input_states_1": _state_type(),
                "input_states_2": _state_type(),
            }
        )

    @property
    def output_types(self) -> OrderedDict[str, NeuralType]:
        """``outputs`` joint scores, ``prednet_lengths`` and the two new state tensors."""
        return OrderedDict(
            {
                "outputs": NeuralType(("B", "T", "T", "D"), LogprobsType()),
                "prednet_lengths": NeuralType(tuple("B"), LengthsType()),
                "output_states_1": _state_type(),
                "output_states_2": _state_type(),
            }
        )

    def input_example(self, max_batch: int = 1, max_dim: int = 1) -> tuple[torch.Tensor, ...]:
        """Random encoder frames (max_batch, D_enc, 4), blank ``targets`` (max_batch, max_dim) int32, their
        lengths, and the decoder's initial state, on the weights' device."""
        device = next(self.parameters()).device
        encoder_outputs = torch.randn(
            max_batch, self.joint.encoder_hidden, _EXAMPLE_ENCODER_FRAMES, device=device
        )
        targets = torch.full((max_batch, max_dim), self.decoder.blank_idx, dtype=torch.int32, device=device)
        target_length = torch.full((max_batch,), max_dim, dtype=torch.int32, device=device)
        h, c = self.decoder.initialize_state(encoder_outputs)
        return encoder_outputs, targets, target_length, h, c

    def forward(
        self,
        encoder_outputs: torch.Tensor,
        targets: torch.Tensor,
        target_length: torch.Tensor,
        input_states_1: torch.Tensor,
        input_states_2: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Run the prediction network on ``targets`` from the given state, then the joint.

        Args:
            encoder_outputs: (B, D_enc, T).
            targets: (B, U) label ids (no start step is added).
            target_length: (B,), returned as ``prednet_lengths``.
            input_states_1, input_states_2: LSTM ``h`` and ``c``, each (L, B, H).

        Returns:
            ``(outputs (B, T, U, V+1), prednet_lengths (B,), h (L, B, H), c (L, B, H))``.
        """
        prediction, (h, c) = self.decoder.predict(
            targets.long(), state=(input_states_1, input_states_2), add_sos=False
        )
        scores = self.joint.joint(encoder_outputs.transpose(1, 2), prediction)
        return scores, target_length, h, c

    def _prepare_for_export(self, **kwargs: Any) -> None:
        """Leave the joint's scores unnormalised while exporting, as NeMo's exported graphs do."""
        if self._saved_log_softmax is None:
            self._saved_log_softmax = (self.joint.log_softmax,)
        self.joint.log_softmax = False

    def _export_teardown(self) -> None:
        """Give the joint back its ``log_softmax`` setting."""
        if self._saved_log_softmax is not None:
            (self.joint.log_softmax,) = self._saved_log_softmax
            self._saved_log_softmax = None

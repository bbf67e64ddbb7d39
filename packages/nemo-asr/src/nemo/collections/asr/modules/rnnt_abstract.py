"""Interfaces of a transducer's two networks, as the greedy and beam searches use them (NeMo 1.23's names).

:class:`AbstractRNNTJoint` is what a search needs from a joint: project the encoder frames and the prediction
outputs once, then join a projected pair. :class:`AbstractRNNTDecoder` is what it needs from a prediction
network: one ``predict`` step, state creation, and the helpers that pack, split and copy batched states.
A subclass implements the abstract methods; the batched helpers raise until a subclass provides them, so a
search that needs one fails with a message naming it.

Shapes: ``B`` batch, ``T`` frames, ``U`` tokens, ``H`` hidden size.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import torch
from nemo.core.classes.module import NeuralModule

__all__ = ["AbstractRNNTDecoder", "AbstractRNNTJoint"]


def _missing(owner: object, method: str) -> NotImplementedError:
    return NotImplementedError(
        f"{type(owner).__name__} does not implement {method}(); the decoding that called it needs a prediction "
        "network or joint that provides it."
    )


class AbstractRNNTJoint(NeuralModule, ABC):
    """A transducer joint: ``joint_after_projection(project_encoder(f), project_prednet(g))``."""

    @abstractmethod
    def joint_after_projection(self, f: torch.Tensor, g: torch.Tensor) -> Any:
        """Join projected encoder frames ``f`` (B, T, H) and prediction outputs ``g`` (B, U, H).

        Returns:
            Usually (B, T, U, V+1) scores; a joint may return a richer object (``HATJoint``).
        """

    @abstractmethod
    def project_encoder(self, encoder_output: torch.Tensor) -> torch.Tensor:
        """(B, T, D_enc) encoder frames -> (B, T, H)."""

    @abstractmethod
    def project_prednet(self, prednet_output: torch.Tensor) -> torch.Tensor:
        """(B, U, D_pred) prediction-network outputs -> (B, U, H)."""

    def joint(self, f: torch.Tensor, g: torch.Tensor) -> Any:
        """Project and join: ``f`` (B, T, D_enc), ``g`` (B, U, D_pred) -> (B, T, U, V+1)."""
        return self.joint_after_projection(self.project_encoder(f), self.project_prednet(g))

    @property
    def num_classes_with_blank(self) -> int:
        """Outputs per (t, u): vocabulary, blank and any extra outputs."""
        raise _missing(self, "num_classes_with_blank")

    @property
    def num_extra_outputs(self) -> int:
        """Outputs after the blank (durations, big blanks); 0 for a plain transducer."""
        raise _missing(self, "num_extra_outputs")


class AbstractRNNTDecoder(NeuralModule, ABC):
    """A transducer prediction network.

    Args:
        vocab_size: vocabulary size ``V`` without the blank.
        blank_idx: id of the blank: ``0`` or ``V``.
        blank_as_pad: the blank is an embedding row that embeds to zeros (so a blank can be fed back).
    """

    def __init__(self, vocab_size: int, blank_idx: int, blank_as_pad: bool) -> None:
        super().__init__()
        if blank_idx not in (0, vocab_size):
            raise ValueError(
                f"blank_idx={blank_idx} must be 0 or the vocabulary size ({vocab_size}), the blank being the first "
                "or the last token."
            )
        self.vocab_size = vocab_size
        self.blank_idx = blank_idx
        self.blank_as_pad = blank_as_pad

    @abstractmethod
    def predict(
        self,
        y: torch.Tensor | None = None,
        state: Any = None,
        add_sos: bool = False,
        batch_size: int | None = None,
    ) -> tuple[torch.Tensor, Any]:
        """One or more prediction steps.

        Args:
            y: (B, U) token ids, or None for a blank/start step.
            state: the network's state, or None to start fresh.
            add_sos: prepend a zero start-of-sequence step (output then has U+1 steps).
            batch_size: ``B`` when ``y`` and ``state`` are both None.

        Returns:
            ``(g, state)``: (B, U, H) outputs and the new state.
        """

    @abstractmethod
    def initialize_state(self, y: torch.Tensor) -> Any:
        """A fresh state for ``y.size(0)`` items on ``y``'s device."""

    @abstractmethod
    def score_hypothesis(self, hypothesis, cache: dict) -> tuple[torch.Tensor, Any, torch.Tensor]:
        """Prediction output (1, 1, H), new state and last token (1,) of one beam-search hypothesis.

        ``cache`` maps token sequences (tuples) to earlier ``(output, state)`` results.
        """

    def batch_score_hypothesis(
        self, hypotheses: list, cache: dict, batch_states: Any
    ) -> tuple[torch.Tensor, Any, torch.Tensor]:
        """:meth:`score_hypothesis` for several hypotheses in one network call."""
        raise _missing(self, "batch_score_hypothesis")

    def batch_initialize_states(self, batch_states: Any, decoder_states: list) -> Any:
        """Pack per-hypothesis states into one batched state."""
        raise _missing(self, "batch_initialize_states")

    def batch_select_state(self, batch_states: Any, idx: int) -> Any:
        """The state of batch item ``idx``."""
        raise _missing(self, "batch_select_state")

    def batch_concat_states(self, batch_states: list) -> Any:
        """Pack a list of per-item states (as :meth:`batch_select_state` returns them) into a batched state."""
        raise _missing(self, "batch_concat_states")

    def batch_copy_states(
        self, old_states: Any, new_states: Any, ids: Any, value: float | None = None
    ) -> Any:
        """In place, for items ``ids``: copy ``new_states`` into ``old_states``, or fill them with ``value``."""
        raise _missing(self, "batch_copy_states")

    def mask_select_states(self, states: Any, mask: torch.Tensor) -> Any:
        """The states of the items where ``mask`` (B,) is True."""
        raise _missing(self, "mask_select_states")

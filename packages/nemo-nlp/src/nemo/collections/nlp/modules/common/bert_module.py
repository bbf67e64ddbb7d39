"""``BertModule``: the typed interface of NeMo's language-model encoders (NeMo 1.23's names and types)."""

from __future__ import annotations

import os
import re

import torch
from nemo.core.classes.exportable import Exportable
from nemo.core.classes.module import NeuralModule
from nemo.core.connectors.weights import load_checkpoint
from nemo.core.neural_types import ChannelType, MaskType, NeuralType
from nemo.utils import logging

__all__ = ["BertModule"]

_ENCODER_PREFIX = re.compile(r"^bert.*?\.")


class BertModule(NeuralModule, Exportable):
    """An encoder taking token ids ``(B, T)`` and returning hidden states ``(B, T, D)``.

    The Hugging Face encoders of ``nemo.collections.nlp.modules.common.huggingface`` are both a
    ``transformers`` model and a ``BertModule``: ``forward(input_ids, attention_mask, token_type_ids)``
    returns the last hidden states.
    """

    @property
    def input_types(self) -> dict[str, NeuralType]:
        return {
            "input_ids": NeuralType(("B", "T"), ChannelType()),
            "attention_mask": NeuralType(("B", "T"), MaskType(), optional=True),
            "token_type_ids": NeuralType(("B", "T"), ChannelType(), optional=True),
        }

    @property
    def output_types(self) -> dict[str, NeuralType]:
        return {"last_hidden_states": NeuralType(("B", "T", "D"), ChannelType())}

    def restore_weights(self, restore_path: str) -> None:
        """Load encoder weights from a checkpoint (``lm_checkpoint``), as NeMo does.

        The file is a state dict or a Lightning checkpoint (its ``state_dict``). A leading ``bert...``
        prefix (``bert.``, ``bert_model.``) is stripped from the keys; keys this encoder does not have are
        ignored; every key it has must be there (``position_ids`` buffers aside).

        Args:
            restore_path: the checkpoint file; a missing file only logs a warning, as in NeMo.

        Raises:
            KeyError: the checkpoint lacks some of this encoder's weights.
        """
        if not os.path.exists(restore_path):
            logging.warning(
                f"BertModule.restore_weights: {restore_path} does not exist; the weights stay as they are."
            )
            return
        loaded = load_checkpoint(restore_path, map_location="cpu")
        weights = loaded.get("state_dict", loaded)
        first_key = next(iter(weights), "")
        match = _ENCODER_PREFIX.match(first_key)
        if match:
            weights = {
                key[match.end() :]: value for key, value in weights.items() if key.startswith(match.group())
            }
        own = self.state_dict()
        missing = [key for key in own if key not in weights and not key.endswith("position_ids")]
        if missing:
            raise KeyError(
                f"BertModule.restore_weights: {restore_path} lacks {len(missing)} of the encoder's weights, e.g. "
                f"{missing[:3]}. Expected a state dict of this encoder (keys like {list(own)[:2]}, optionally "
                "prefixed with 'bert.'). Check language_model.lm_checkpoint."
            )
        self.load_state_dict({key: weights[key] for key in own if key in weights}, strict=False)
        logging.info(f"Weights of {type(self).__name__} restored from {restore_path}")

    def input_example(self, max_batch: int = 1, max_dim: int = 256) -> tuple[dict[str, torch.Tensor]]:
        """Example inputs for export: random ids ``(max_batch, max_dim)``, a full attention mask, segment 0.

        Unlike NeMo, ``max_dim`` is capped at the encoder's ``max_position_embeddings`` and the ids stay below its
        ``vocab_size`` (NeMo draws ids below ``max_dim``), so the example runs on small encoders too.
        """
        device = next(self.parameters()).device
        config = getattr(self, "config", None)
        max_dim = min(max_dim, getattr(config, "max_position_embeddings", None) or max_dim)
        high = min(max_dim - 1, getattr(config, "vocab_size", None) or max_dim - 1)
        size = (max_batch, max_dim)
        return (
            {
                "input_ids": torch.randint(low=0, high=high, size=size, device=device),
                "attention_mask": torch.ones(size, dtype=torch.long, device=device),
                "token_type_ids": torch.zeros(size, dtype=torch.long, device=device),
            },
        )

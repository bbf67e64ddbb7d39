"""Hugging Face encoders as NeMo ``BertModule`` s: ``BertEncoder`` (NeMo 1.23's name) and one per architecture.

Each encoder class subclasses the ``transformers`` model class (``BertModel`` ...) and ``BertModule``, as
NeMo's do, so its state-dict keys are the Hugging Face ones (``embeddings.word_embeddings.weight`` ...) and
``save_pretrained``, ``resize_token_embeddings`` and ``config`` work on it directly. ``encoder_class_for``
builds the class for any ``transformers`` model class; NeMo's six names are module attributes, and any
``<Model class name minus "Model">Encoder`` attribute (``DebertaV2Encoder``) is built on first access, so
the classes pickle by name.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any

import torch
import transformers
from nemo.collections.nlp.modules.common.bert_module import BertModule
from nemo.core.classes.typecheck import typecheck

__all__ = [
    "AlbertEncoder",
    "BertEncoder",
    "CamembertEncoder",
    "DistilBertEncoder",
    "GPT2Encoder",
    "RobertaEncoder",
    "encoder_class_for",
]


def _encoder_forward(hf_class: type, passes_token_type_ids: bool) -> Any:
    """The typed ``forward`` of an encoder over ``hf_class``: its last hidden states."""

    @typecheck()
    def forward(
        self: Any,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Encode a batch.

        Args:
            input_ids: ``(B, T)`` token ids.
            attention_mask: ``(B, T)``, 1 for tokens, 0 for padding.
            token_type_ids: ``(B, T)`` segment ids; dropped for architectures without them (DistilBERT).

        Returns:
            ``(B, T, D)`` hidden states of the last layer.
        """
        inputs = {"input_ids": input_ids, "attention_mask": attention_mask}
        if passes_token_type_ids:
            inputs["token_type_ids"] = token_type_ids
        return hf_class.forward(self, **inputs)[0]

    return forward


@functools.cache
def encoder_class_for(hf_class: type) -> type:
    """The ``BertModule`` subclass of ``hf_class`` (a ``transformers`` ``PreTrainedModel``), built once.

    Args:
        hf_class: e.g. ``transformers.BertModel``, what ``AutoModel`` builds for a config.

    Returns:
        A class named ``<name minus "Model">Encoder`` (``BertEncoder``) in this module.
    """
    name = hf_class.__name__.removesuffix("Model") + "Encoder"
    passes_token_type_ids = "token_type_ids" in inspect.signature(hf_class.forward).parameters
    namespace = {
        "forward": _encoder_forward(hf_class, passes_token_type_ids),
        "__module__": __name__,
        "__qualname__": name,
        "__doc__": f"``transformers.{hf_class.__name__}`` as a NeMo ``BertModule``: hidden states ``(B, T, D)``.",
    }
    return type(name, (hf_class, BertModule), namespace)


BertEncoder = encoder_class_for(transformers.BertModel)
DistilBertEncoder = encoder_class_for(transformers.DistilBertModel)
RobertaEncoder = encoder_class_for(transformers.RobertaModel)
AlbertEncoder = encoder_class_for(transformers.AlbertModel)
CamembertEncoder = encoder_class_for(transformers.CamembertModel)
GPT2Encoder = encoder_class_for(transformers.GPT2Model)


def __getattr__(name: str) -> type:
    """``<Arch>Encoder`` for any ``transformers.<Arch>Model``, so that pickles of such encoders load."""
    hf_class = (
        getattr(transformers, name.removesuffix("Encoder") + "Model", None)
        if name.endswith("Encoder")
        else None
    )
    if not (isinstance(hf_class, type) and issubclass(hf_class, transformers.PreTrainedModel)):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return encoder_class_for(hf_class)

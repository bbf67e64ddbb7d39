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
    "freeze_unused_pooler",
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


def freeze_unused_pooler(encoder: torch.nn.Module) -> None:
    """Freeze the encoder's pooler (BERT's, ALBERT's), if it has one.

    The encoders return the last hidden states, so a pooler never gets a gradient. Its weights stay in the state
    dict (NeMo's and Hugging Face's keys), but as trainable parameters they would make DDP stop at the first step
    ("parameters that were not used in producing the loss") unless every run paid for ``find_unused_parameters``.
    Called at the end of ``__init__`` and again after ``from_pretrained``, which replaces the parameters.
    """
    pooler = getattr(encoder, "pooler", None)
    if isinstance(pooler, torch.nn.Module):
        pooler.requires_grad_(False)


def _post_init_freezing_the_pooler(hf_class: type) -> Any:
    """``post_init`` (the last step of a ``transformers`` model's ``__init__``), then :func:`freeze_unused_pooler`."""

    def post_init(self: Any) -> None:
        hf_class.post_init(self)
        freeze_unused_pooler(self)

    return post_init


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
        "post_init": _post_init_freezing_the_pooler(hf_class),
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

"""``get_lm_model`` and ``get_pretrained_lm_models_list`` (NeMo 1.23's names), on Hugging Face encoders only.

No Megatron: every encoder is a ``transformers`` model (see ``huggingface.huggingface_utils``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from nemo.collections.nlp.modules.common.bert_module import BertModule
from nemo.collections.nlp.modules.common.huggingface.huggingface_utils import (
    get_huggingface_lm_model,
    get_huggingface_pretrained_lm_models_list,
)
from nemo.core.connectors.restore_context import current_restore_context
from omegaconf import DictConfig

__all__ = ["get_lm_model", "get_pretrained_lm_models_list"]


def get_pretrained_lm_models_list(include_external: bool = False) -> list[str]:
    """Names of the pretrained encoders NeMo lists (with ``include_external``, plus those in the local cache)."""
    return get_huggingface_pretrained_lm_models_list(include_external=include_external)


def get_lm_model(
    config_dict: Mapping[str, Any] | None = None,
    config_file: str | None = None,
    vocab_file: str | None = None,
    trainer: Any = None,
    cfg: DictConfig | None = None,
) -> BertModule:
    """The encoder a model config's ``language_model`` section describes.

    With ``config_file`` or ``config_dict`` the architecture is built with random weights; otherwise
    ``cfg.language_model.pretrained_model_name`` (a local directory or a cached hub id) gives the pretrained
    weights. ``cfg.language_model.lm_checkpoint`` then replaces the weights, if set. Nothing is downloaded.

    Args:
        config_dict: the architecture (``language_model.config``): a ``config.json`` as a dict.
        config_file: the architecture as a ``config.json`` file; wins over ``config_dict``.
        vocab_file: unused (NeMo passes it to Megatron encoders, which are not supported).
        trainer: unused (Megatron only).
        cfg: the model config, holding ``language_model.pretrained_model_name`` and ``lm_checkpoint``.

    Returns:
        The encoder: ``forward(input_ids, attention_mask, token_type_ids)`` -> ``(B, T, D)``.

    Raises:
        FileNotFoundError: ``lm_checkpoint`` does not exist.
        OSError: the pretrained model is neither local nor cached, and no architecture is given.
    """
    language_model = (cfg.get("language_model") if cfg is not None else None) or {}
    model = get_huggingface_lm_model(
        pretrained_model_name=language_model.get("pretrained_model_name"),
        config_dict=config_dict,
        config_file=config_file,
    )
    checkpoint = language_model.get("lm_checkpoint")
    if checkpoint:
        if current_restore_context() is None and not os.path.exists(checkpoint):
            raise FileNotFoundError(
                f"language_model.lm_checkpoint {checkpoint!r} does not exist. Point it at the encoder's weights "
                "file, or set it to null."
            )
        model.restore_weights(restore_path=checkpoint)
    return model

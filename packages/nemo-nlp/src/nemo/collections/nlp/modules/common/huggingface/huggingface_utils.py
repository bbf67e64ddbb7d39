"""Hugging Face encoders for NeMo's NLP models, built without the network (NeMo 1.23's function names).

Where the architecture comes from, first match wins (NeMo's precedence):

1. ``config_file``: a ``config.json`` (``model_type`` and sizes), random weights;
2. ``config_dict``: the same as a dict (``language_model.config``), random weights; without a
   ``model_type`` key the type is read from ``pretrained_model_name``'s local config, else guessed from the
   name as transformers does (``bert-base-uncased`` -> ``bert``);
3. ``pretrained_model_name``: a local directory or a hub id in the local Hugging Face cache, with its
   pretrained weights.

Any architecture ``transformers.AutoModel`` knows works, not only NeMo's six.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator, Mapping
from typing import Any

import transformers
from nemo.collections.nlp.modules.common.bert_module import BertModule
from nemo.collections.nlp.modules.common.huggingface.encoders import encoder_class_for, freeze_unused_pooler
from nemo.core.connectors.restore_context import current_restore_context
from nemo.utils import logging

__all__ = [
    "VOCAB_FILE_NAME",
    "encoder_config",
    "get_huggingface_lm_model",
    "get_huggingface_pretrained_lm_models_list",
]

_NEMO_PRETRAINED_NAMES = (
    "bert-base-uncased",
    "bert-large-uncased",
    "bert-base-cased",
    "bert-large-cased",
    "bert-base-multilingual-uncased",
    "bert-base-multilingual-cased",
    "bert-base-chinese",
    "distilbert-base-uncased",
    "distilbert-base-cased",
    "distilbert-base-multilingual-cased",
    "roberta-base",
    "roberta-large",
    "distilroberta-base",
    "albert-base-v1",
    "albert-large-v1",
    "albert-base-v2",
    "albert-large-v2",
    "camembert-base",
    "gpt2",
    "gpt2-medium",
)

VOCAB_FILE_NAME = {
    "AlbertTokenizer": "spiece.model",
    "RobertaTokenizer": "vocab.json",
    "BertTokenizer": "vocab.txt",
    "DistilBertTokenizer": "vocab.txt",
    "CamembertTokenizer": "sentencepiece.bpe.model",
    "GPT2Tokenizer": "vocab.json",
    "T5Tokenizer": "spiece.model",
    "BartTokenizer": "vocab.json",
}
"""The vocabulary file ``save_vocabulary`` writes, per tokenizer class (NeMo's table)."""


def get_huggingface_pretrained_lm_models_list(include_external: bool = False) -> list[str]:
    """Names of the pretrained encoders NeMo 1.23 lists.

    Args:
        include_external: also list the models in the local Hugging Face cache.

    Returns:
        Hub ids. They load offline only when they are in the local cache.
    """
    names = list(_NEMO_PRETRAINED_NAMES)
    if include_external:
        names += [name for name in _cached_model_ids() if name not in names]
    return names


def _cached_model_ids() -> list[str]:
    """Ids of the models in the local Hugging Face cache (nothing is downloaded)."""
    from huggingface_hub import scan_cache_dir
    from huggingface_hub.errors import CacheNotFound

    try:
        return sorted(repo.repo_id for repo in scan_cache_dir().repos if repo.repo_type == "model")
    except CacheNotFound:
        return []


def encoder_config(
    pretrained_model_name: str | None,
    config_dict: Mapping[str, Any] | None = None,
    config_file: str | None = None,
) -> transformers.PretrainedConfig | None:
    """The encoder's architecture from ``config_file`` or ``config_dict``; ``None`` means pretrained weights.

    Raises:
        ValueError: the model type cannot be found.
    """
    if config_dict and config_file:
        logging.info(
            f"Both language_model.config and config_file are set; config_file {config_file} is used."
        )
    if config_file:
        if os.path.isfile(config_file):
            with open(config_file, encoding="utf-8") as handle:
                return _config_from_dict(
                    json.load(handle), pretrained_model_name, f"config_file {config_file}"
                )
        logging.warning(
            f"language_model.config_file {config_file} does not exist; using config or the pretrained model."
        )
    if config_dict:
        return _config_from_dict(dict(config_dict), pretrained_model_name, "language_model.config")
    return None


def _config_from_dict(values: dict[str, Any], name: str | None, where: str) -> transformers.PretrainedConfig:
    values = dict(values)
    model_type = values.pop("model_type", None) or _model_type_of(name)
    if model_type is None:
        raise ValueError(
            f"The encoder architecture in {where} has no model_type, and pretrained_model_name {name!r} neither "
            "has a local config.json nor names a known architecture. Add model_type (e.g. 'bert', 'roberta') to "
            "language_model.config."
        )
    try:
        return transformers.AutoConfig.for_model(model_type, **values)
    except ValueError as err:
        raise ValueError(
            f"The encoder architecture in {where} has model_type {model_type!r}, which transformers "
            f"{transformers.__version__} does not know ({err}). Use a model_type listed by "
            "transformers.CONFIG_MAPPING."
        ) from err


def _model_type_of(name: str | None) -> str | None:
    """The ``model_type`` of a local or cached model, else the longest architecture name inside ``name``."""
    if not name:
        return None
    with contextlib.suppress(OSError, ValueError):
        return transformers.AutoConfig.from_pretrained(name, local_files_only=True).model_type
    matches = [model_type for model_type in transformers.CONFIG_MAPPING if model_type in name]
    return max(matches, key=len) if matches else None


@contextlib.contextmanager
def _skip_initial_weights_while_restoring() -> Iterator[None]:
    """While ``restore_from`` builds a model its weights are loaded right after: skip drawing initial ones."""
    if current_restore_context() is None:
        yield
        return
    from transformers.initialization import no_init_weights

    with no_init_weights():
        yield


def get_huggingface_lm_model(
    pretrained_model_name: str | None,
    config_dict: Mapping[str, Any] | None = None,
    config_file: str | None = None,
) -> BertModule:
    """A Hugging Face encoder as a ``BertModule`` (see the module docstring for the precedence).

    Args:
        pretrained_model_name: a local directory or a cached hub id (weights, or just the model type).
        config_dict: the architecture (``language_model.config``), random weights.
        config_file: a ``config.json`` of the architecture, random weights.

    Returns:
        The encoder, e.g. a ``BertEncoder``, in training mode (as any newly built module).

    Raises:
        OSError: only ``pretrained_model_name`` is given and it is neither a local directory nor cached.
    """
    config = encoder_config(pretrained_model_name, config_dict, config_file)
    if config is not None:
        encoder_class = encoder_class_for(transformers.MODEL_MAPPING[type(config)])
        with _skip_initial_weights_while_restoring():
            return encoder_class(config)
    if not pretrained_model_name:
        raise ValueError(
            "language_model has neither pretrained_model_name, config nor config_file. Set pretrained_model_name "
            "to a local model directory, or give the architecture in language_model.config."
        )
    try:
        config = transformers.AutoConfig.from_pretrained(pretrained_model_name, local_files_only=True)
    except (OSError, ValueError) as err:
        raise OSError(
            f"language_model.pretrained_model_name {pretrained_model_name!r} is not a local model directory and is "
            "not in the local Hugging Face cache, and nothing is downloaded. Set it to a local directory holding "
            "config.json and the weights (e.g. written by save_pretrained), or give the architecture in "
            "language_model.config (or config_file) to start from random weights, or download the model first "
            f"with `huggingface-cli download {pretrained_model_name}` while online."
        ) from err
    encoder_class = encoder_class_for(transformers.MODEL_MAPPING[type(config)])
    encoder = encoder_class.from_pretrained(pretrained_model_name, config=config, local_files_only=True)
    freeze_unused_pooler(encoder)  # loading the weights replaced the parameters frozen in __init__
    # from_pretrained hands back eval mode, and Lightning (2.2 and later) keeps a module's mode at fit start:
    # left as it is, the encoder would fine-tune without its dropout. A built module starts in training mode.
    return encoder.train()

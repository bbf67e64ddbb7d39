"""Aggregate tokenizers of ASR models: ``tokenizer: {type: agg, langs: {...}}`` (NeMo 1.23's layout).

::

    tokenizer:
      type: agg
      langs:
        spl_tokens: {dir: <folder with tokenizer.model>, type: bpe}
        en: {dir: ..., type: bpe}
      custom_tokenizer:                 # optional; else a plain AggregateTokenizer
        _target_: nemo.collections.common.tokenizers.canary_tokenizer.CanaryTokenizer

Each language's files become artifacts under ``tokenizer.langs.<lang>.{model_path,vocab_path,
spe_tokenizer_vocab}`` (NeMo's keys), so ``.nemo`` archives from either side restore. ``ASRBPEMixin`` calls
:func:`setup_aggregate_tokenizer` for ``type: agg``.
"""

from __future__ import annotations

import os

from nemo.collections.common.tokenizers.aggregate_tokenizer import AggregateTokenizer
from nemo.collections.common.tokenizers.sentencepiece_tokenizer import SentencePieceTokenizer
from nemo.utils.model_utils import import_class_by_path
from omegaconf import DictConfig, OmegaConf

__all__ = ["setup_aggregate_tokenizer"]

LANGS_KEY = "langs"
# Config key -> file name inside a tokenizer folder; the first one must exist, the others are packed when present.
_FILES = {
    "model_path": "tokenizer.model",
    "vocab_path": "vocab.txt",
    "spe_tokenizer_vocab": "tokenizer.vocab",
}


def setup_aggregate_tokenizer(model, tokenizer_cfg: DictConfig) -> None:
    """Set ``model.tokenizer`` (and ``model.tokenizer_cfg``, ``model.tokenizer_dir = None``) from an ``agg`` config.

    Args:
        model: has ``register_artifact(config_path, src)`` (a ModelPT).
        tokenizer_cfg: the ``tokenizer`` section.
    """
    langs = tokenizer_cfg.get(LANGS_KEY)
    if not langs:
        raise ValueError(
            "tokenizer.type is 'agg' but tokenizer.langs is empty; list {language: {dir, type}}."
        )
    model.tokenizer_cfg = OmegaConf.to_container(tokenizer_cfg, resolve=True)
    model.tokenizer_dir = None
    tokenizers = {
        lang: _language_tokenizer(model, lang, model.tokenizer_cfg[LANGS_KEY][lang]) for lang in langs
    }
    custom = model.tokenizer_cfg.get("custom_tokenizer")
    if custom and custom.get("_target_"):
        # ``tokenizers: null`` is NeMo's placeholder for the tokenizers built here.
        extra = sorted(
            key for key, value in custom.items() if key != "_target_" and (key != "tokenizers" or value)
        )
        if extra:
            raise ValueError(
                f"tokenizer.custom_tokenizer: keys {extra} are not supported; give only _target_."
            )
        tokenizer_class = import_class_by_path(
            custom["_target_"], source="tokenizer.custom_tokenizer._target_"
        )
        model.tokenizer = tokenizer_class(tokenizers=tokenizers)
    else:
        model.tokenizer = AggregateTokenizer(tokenizers)


def _language_tokenizer(model, lang: str, lang_cfg: dict) -> SentencePieceTokenizer:
    """One language's sentencepiece tokenizer; its files registered as ``tokenizer.langs.<lang>.*`` artifacts."""
    lang_type = str(lang_cfg.get("type") or "").lower()
    if lang_type != "bpe":
        raise ValueError(
            f"tokenizer.langs.{lang}.type is {lang_type!r}; only 'bpe' (sentencepiece) tokenizers are supported."
        )
    folder = lang_cfg.get("dir")
    for key, file_name in _FILES.items():
        source = lang_cfg.get(key) or (os.path.join(folder, file_name) if folder else None)
        if source is None:
            raise ValueError(f"tokenizer.langs.{lang} needs dir (or model_path) to find its tokenizer files.")
        if key != "model_path" and not str(source).startswith("nemo:") and not os.path.exists(source):
            continue
        lang_cfg[key] = model.register_artifact(f"tokenizer.{LANGS_KEY}.{lang}.{key}", source)
    return SentencePieceTokenizer(model_path=lang_cfg["model_path"])

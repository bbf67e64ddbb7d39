"""``get_tokenizer`` and ``get_tokenizer_list`` (NeMo 1.23's names): the tokenizer a config names, offline."""

from __future__ import annotations

from collections.abc import Mapping

from nemo.collections.common.tokenizers.tokenizer_spec import TokenizerSpec
from nemo.collections.nlp.modules.common.lm_utils import get_pretrained_lm_models_list
from nemo.utils import logging

__all__ = ["get_tokenizer", "get_tokenizer_list"]

_UNSUPPORTED = ("yttm", "word", "regex", "megatron")


def get_tokenizer_list() -> list[str]:
    """The tokenizer names ``get_tokenizer`` accepts besides any local Hugging Face tokenizer."""
    return ["sentencepiece", "char", *get_pretrained_lm_models_list(include_external=True)]


def get_tokenizer(
    tokenizer_name: str,
    tokenizer_model: str | None = None,
    vocab_file: str | None = None,
    merges_file: str | None = None,
    special_tokens: Mapping[str, str] | None = None,
    use_fast: bool | None = True,
    bpe_dropout: float | None = 0.0,
) -> TokenizerSpec:
    """The tokenizer named ``tokenizer_name``.

    Args:
        tokenizer_name: ``'sentencepiece'`` (with ``tokenizer_model``), ``'char'`` (with ``vocab_file``), or a
            Hugging Face tokenizer for ``AutoTokenizer``: a local directory, or a hub id that is cached or comes
            with ``vocab_file``.
        tokenizer_model: the sentencepiece ``.model`` file.
        vocab_file: vocabulary file (Hugging Face WordPiece/BPE, or the character list).
        merges_file: BPE merges for a Hugging Face ``vocab.json``.
        special_tokens: special tokens by role (``{"bos_token": "<s>"}``).
        use_fast: the fast Hugging Face tokenizer (the default, unlike NeMo).
        bpe_dropout: only for YouTokenToMe in NeMo, which is not supported here.

    Returns:
        A ``TokenizerSpec``.

    Raises:
        ValueError: ``tokenizer_name`` is a NeMo tokenizer kind this package does not provide.
    """
    special_tokens = dict(special_tokens or {})
    if tokenizer_name == "sentencepiece":
        from nemo.collections.common.tokenizers.sentencepiece_tokenizer import SentencePieceTokenizer

        return SentencePieceTokenizer(
            model_path=tokenizer_model, special_tokens=special_tokens or None, legacy=True
        )
    if tokenizer_name == "char":
        from nemo.collections.common.tokenizers.char_tokenizer import CharTokenizer

        return CharTokenizer(vocab_file=vocab_file, **special_tokens)
    if tokenizer_name in _UNSUPPORTED or tokenizer_name.startswith("megatron"):
        raise ValueError(
            f"get_tokenizer: tokenizer_name {tokenizer_name!r} is a NeMo tokenizer kind that nemo-nlp does not "
            "provide. Use 'sentencepiece', 'char', or a Hugging Face tokenizer (a local directory, or a hub id "
            "with vocab_file)."
        )
    from nemo.collections.common.tokenizers.huggingface.auto_tokenizer import AutoTokenizer

    logging.info(
        f"Getting Hugging Face AutoTokenizer {tokenizer_name!r} (vocab_file {vocab_file}, merges_file {merges_file}, "
        f"special tokens {special_tokens}, use_fast {use_fast})"
    )
    return AutoTokenizer(
        pretrained_model_name=tokenizer_name,
        vocab_file=vocab_file,
        merges_file=merges_file,
        use_fast=use_fast,
        **special_tokens,
    )

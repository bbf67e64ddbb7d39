"""Build a Hugging Face tokenizer without the network: from a local directory, from vocabulary files, or
from the local Hugging Face cache.

A ``.nemo`` archive made by NeMo holds only the vocabulary file (``tokenizer.vocab_file``) next to a hub id
(``tokenizer.tokenizer_name``); NeMo asks the hub for the rest. Here the vocabulary decides instead:

- a WordPiece vocabulary (``vocab.txt``, one token a line, no merges file) gives BERT's tokenizer, lower-casing
  (and stripping accents) when no ordinary token holds an upper-case ASCII letter, as uncased checkpoints do;
- a byte-level BPE vocabulary (``vocab.json``) with its ``merges_file`` gives RoBERTa's tokenizer when the
  vocabulary has ``<s>`` and ``<mask>``, GPT-2's otherwise.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

try:
    import transformers
except ImportError as err:
    raise ImportError(
        "nemo.collections.common.tokenizers.huggingface needs the 'transformers' package, which is not "
        "installed. Install it with `pip install nemo-nlp` (or `pip install transformers`)."
    ) from err

__all__ = ["load_hf_tokenizer"]

_SPECIAL_LOOKING_TOKEN = re.compile(r"^(\[[^\]]+\]|<[^>]+>)$")
_ASCII_UPPER = re.compile(r"[A-Z]")


def load_hf_tokenizer(
    pretrained_model_name: str | None,
    vocab_file: str | None = None,
    merges_file: str | None = None,
    use_fast: bool = True,
) -> Any:
    """The Hugging Face tokenizer for a name or vocabulary files, never touching the network.

    Args:
        pretrained_model_name: a local directory holding a tokenizer (``tokenizer.json`` or vocabulary files
            with ``tokenizer_config.json``), or a hub id (``bert-base-uncased``) whose files are in the local
            Hugging Face cache. Only names the tokenizer when ``vocab_file`` is given.
        vocab_file: a vocabulary file; when given, the tokenizer is built from it (and ``merges_file``).
        merges_file: the BPE merges that go with a ``vocab.json``.
        use_fast: passed on to ``transformers.AutoTokenizer``; transformers 5 always builds the
            tokenizers-backed (fast) tokenizer.

    Returns:
        A ``transformers`` tokenizer.

    Raises:
        FileNotFoundError: ``vocab_file`` or ``merges_file`` is not a file.
        OSError: ``pretrained_model_name`` is neither a local directory nor in the local cache.
    """
    if vocab_file is not None:
        return _tokenizer_from_files(pretrained_model_name, vocab_file, merges_file)
    if not pretrained_model_name:
        raise ValueError(
            "AutoTokenizer got neither pretrained_model_name nor vocab_file. Pass a local tokenizer directory, "
            "a hub id whose files are in the local Hugging Face cache, or a vocab_file."
        )
    is_local = os.path.isdir(pretrained_model_name)
    try:
        return transformers.AutoTokenizer.from_pretrained(
            pretrained_model_name, use_fast=use_fast, local_files_only=True
        )
    except (OSError, ValueError) as err:
        if is_local:
            raise OSError(
                f"AutoTokenizer: the directory {pretrained_model_name!r} holds no tokenizer that transformers can "
                f"read ({err}). Expected tokenizer.json, or vocab.txt / vocab.json+merges.txt with "
                "tokenizer_config.json. Save one there with `tokenizer.save_pretrained(directory)` or pass "
                "vocab_file=<path to vocab.txt>."
            ) from err
        raise OSError(
            f"AutoTokenizer: {pretrained_model_name!r} is not a local directory and is not in the local Hugging "
            "Face cache, and nothing is downloaded. Pass a local directory holding the tokenizer (e.g. one "
            "written by `save_pretrained`), or vocab_file=<path to its vocab.txt> (plus merges_file for BPE "
            "vocabularies), or download it first with `huggingface-cli download "
            f"{pretrained_model_name}` while online."
        ) from err


def _tokenizer_from_files(name: str | None, vocab_file: str, merges_file: str | None) -> Any:
    """A BERT, RoBERTa or GPT-2 tokenizer over the given vocabulary (and merges) files."""
    for key, path in (("vocab_file", vocab_file), ("merges_file", merges_file)):
        if path is not None and not os.path.isfile(path):
            raise FileNotFoundError(
                f"AutoTokenizer({name!r}): {key} {path!r} is not a file. Pass the path of an existing file."
            )
    if merges_file is None:
        vocab = read_wordpiece_vocab(vocab_file)
        return transformers.BertTokenizer(vocab=vocab, do_lower_case=is_uncased_vocab(vocab))
    try:
        with open(vocab_file, encoding="utf-8") as handle:
            bpe_vocab = json.load(handle)
    except json.JSONDecodeError as err:
        raise ValueError(
            f"AutoTokenizer({name!r}): vocab_file {vocab_file!r} is not JSON ({err}), but merges_file "
            f"{merges_file!r} was given, which needs a byte-level BPE vocab.json. Pass the vocab.json that goes "
            "with these merges, or drop merges_file for a WordPiece vocab.txt."
        ) from err
    with open(merges_file, encoding="utf-8") as handle:
        merges = [tuple(line.split()) for line in handle if line.strip() and not line.startswith("#version")]
    if "<s>" in bpe_vocab and "<mask>" in bpe_vocab:
        return transformers.RobertaTokenizer(vocab=bpe_vocab, merges=merges)
    return transformers.GPT2Tokenizer(vocab=bpe_vocab, merges=merges)


def read_wordpiece_vocab(path: str) -> dict[str, int]:
    """A WordPiece ``vocab.txt`` as token -> id, the id being the token's line number from 0."""
    with open(path, encoding="utf-8") as handle:
        vocab = {line.rstrip("\n"): index for index, line in enumerate(handle)}
    if not vocab:
        raise ValueError(f"AutoTokenizer: vocab_file {path!r} is empty. Expected one token a line.")
    return vocab


def is_uncased_vocab(vocab: dict[str, int]) -> bool:
    """True when no token, special ones (``[CLS]``, ``<s>``) aside, holds an upper-case ASCII letter."""
    return not any(_ASCII_UPPER.search(token) and not _SPECIAL_LOOKING_TOKEN.match(token) for token in vocab)

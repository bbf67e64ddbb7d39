"""``AutoTokenizer``: a Hugging Face tokenizer behind NeMo's ``TokenizerSpec`` (NeMo 1.23's names).

Unlike NeMo, the fast (Rust ``tokenizers``) tokenizer is the default, and nothing is ever downloaded: the
tokenizer comes from a local directory, from vocabulary files, or from the local Hugging Face cache (see
``offline_loading``). transformers is not a dependency of nemo-core; it comes with nemo-nlp.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from nemo.collections.common.tokenizers.huggingface.offline_loading import load_hf_tokenizer
from nemo.collections.common.tokenizers.tokenizer_spec import TokenizerSpec
from nemo.utils import logging

__all__ = ["AutoTokenizer"]

_SPECIAL_TOKEN_ATTRIBUTES = (
    "bos_token",
    "eos_token",
    "unk_token",
    "sep_token",
    "pad_token",
    "cls_token",
    "mask_token",
    "additional_special_tokens",
)


class AutoTokenizer(TokenizerSpec):
    """Wraps a ``transformers`` tokenizer (``self.tokenizer``) as a NeMo tokenizer.

    Args:
        pretrained_model_name: a local tokenizer directory, or a hub id whose files are in the local Hugging
            Face cache; with ``vocab_file`` it only names the tokenizer.
        vocab_file: a vocabulary file to build the tokenizer from (WordPiece ``vocab.txt``, or BPE
            ``vocab.json`` with ``merges_file``); how the tokenizer is chosen: ``offline_loading``.
        merges_file: BPE merges for a ``vocab.json``.
        mask_token, bos_token, eos_token, pad_token, sep_token, cls_token, unk_token: replace the
            tokenizer's own special tokens; tokens not in the vocabulary are added to it (then resize the
            model's embeddings). As in NeMo, a tokenizer with only one of ``sep``/``eos`` (or ``cls``/``bos``)
            uses it for both.
        use_fast: the tokenizers-backed tokenizer (default). transformers 5 has no other.

    Example:
        >>> tokenizer = AutoTokenizer("bert-base-uncased", vocab_file="vocab.txt")
        >>> tokenizer.text_to_ids("hello world")
        [7592, 2088]
    """

    def __init__(
        self,
        pretrained_model_name: str,
        vocab_file: str | None = None,
        merges_file: str | None = None,
        mask_token: str | None = None,
        bos_token: str | None = None,
        eos_token: str | None = None,
        pad_token: str | None = None,
        sep_token: str | None = None,
        cls_token: str | None = None,
        unk_token: str | None = None,
        use_fast: bool | None = True,
    ) -> None:
        self.tokenizer = load_hf_tokenizer(pretrained_model_name, vocab_file, merges_file, bool(use_fast))
        self.original_vocab_size = len(self.tokenizer)
        # NeMo's order, which decides the ids of tokens new to the vocabulary.
        requested = {
            "unk_token": unk_token,
            "mask_token": mask_token,
            "pad_token": pad_token,
            "sep_token": sep_token,
            "eos_token": eos_token,
            "bos_token": bos_token,
            "cls_token": cls_token,
        }
        # A tokenizer with only one of sep/eos (or cls/bos) uses it for both, unless told otherwise.
        stand_ins = {
            "sep_token": "eos_token",
            "eos_token": "sep_token",
            "bos_token": "cls_token",
            "cls_token": "bos_token",
        }
        special_tokens = {}
        for key, token in requested.items():
            own_token = getattr(self.tokenizer, key, None)
            stand_in = getattr(self.tokenizer, stand_ins.get(key, key), None)
            if token is not None:
                special_tokens[key] = token
            elif own_token is None and stand_in:
                special_tokens[key] = stand_in
        known = self.tokenizer.get_vocab()
        new_tokens = [token for token in requested.values() if token is not None and token not in known]
        if new_tokens:
            logging.warning(
                f"AutoTokenizer: special tokens {new_tokens} are not in the vocabulary of {self.name} and are "
                "added to it; resize the model's embeddings to tokenizer.vocab_size."
            )
        self.add_special_tokens(special_tokens)
        self.space_sensitive = self.text_to_tokens("x y") != self.text_to_tokens("x") + self.text_to_tokens(
            "y"
        )

    @property
    def vocab_size(self) -> int:
        """Number of tokens, added ones included."""
        return len(self.tokenizer)

    def add_special_tokens(self, special_tokens_dict: dict[str, Any]) -> int:
        """Set special tokens (keys ``bos_token`` ... ``mask_token``, ``additional_special_tokens``).

        Tokens not yet in the vocabulary are appended to it.

        Returns:
            How many tokens were added to the vocabulary.
        """
        added = self.tokenizer.add_special_tokens(special_tokens_dict) if special_tokens_dict else 0
        if added:
            logging.info(f"AutoTokenizer: {added} special tokens added; resize the model's embeddings.")
        for attribute in _SPECIAL_TOKEN_ATTRIBUTES:
            setattr(self, attribute, getattr(self.tokenizer, attribute, None))
        return added

    @property
    def additional_special_tokens_ids(self) -> list[int]:
        """Ids of the additional special tokens (T5's sentinels, for instance)."""
        return [self.token_to_id(token) for token in self.additional_special_tokens or []]

    def text_to_tokens(self, text: str) -> list[str]:
        return self.tokenizer.tokenize(text)

    def tokens_to_text(self, tokens: Sequence[str]) -> str:
        return self.tokenizer.convert_tokens_to_string(list(tokens))

    def token_to_id(self, token: str) -> int | None:
        """The id of one token."""
        return self.tokenizer.convert_tokens_to_ids(token)

    def tokens_to_ids(self, tokens: str | Sequence[str]) -> int | list[int]:
        return self.tokenizer.convert_tokens_to_ids(tokens if isinstance(tokens, str) else list(tokens))

    def ids_to_tokens(self, ids: int | Sequence[int]) -> str | list[str]:
        return self.tokenizer.convert_ids_to_tokens(ids if isinstance(ids, int) else [int(i) for i in ids])

    def text_to_ids(self, text: str) -> list[int]:
        """The ids of ``text``'s tokens, without special tokens (``[CLS]``, ``[SEP]``)."""
        return self.tokenizer.encode(text, add_special_tokens=False)

    def ids_to_text(self, ids: Sequence[int]) -> str:
        """Text of ``ids``, special tokens dropped."""
        special = set(self.tokenizer.all_special_tokens)
        tokens = [token for token in self.ids_to_tokens(ids) if token not in special]
        return self.tokens_to_text(tokens)

    @property
    def vocab(self) -> list[str]:
        """Every token, in id order."""
        by_id = {index: token for token, index in self.tokenizer.get_vocab().items()}
        return [by_id[index] for index in range(len(by_id))]

    def _special_id(self, attribute: str) -> int | None:
        token = getattr(self, attribute)
        return None if token is None else self.token_to_id(token)

    @property
    def pad_id(self) -> int | None:
        """Id of the padding token (``None`` if the tokenizer has none)."""
        return self._special_id("pad_token")

    @property
    def bos_id(self) -> int | None:
        """Id of the beginning-of-sequence token (``None`` if none)."""
        return self._special_id("bos_token")

    @property
    def eos_id(self) -> int | None:
        """Id of the end-of-sequence token (``None`` if none)."""
        return self._special_id("eos_token")

    @property
    def sep_id(self) -> int | None:
        """Id of the separator token (``None`` if none)."""
        return self._special_id("sep_token")

    @property
    def cls_id(self) -> int | None:
        """Id of the classification token (``None`` if none)."""
        return self._special_id("cls_token")

    @property
    def unk_id(self) -> int | None:
        """Id of the unknown token (``None`` if none)."""
        return self._special_id("unk_token")

    @property
    def mask_id(self) -> int | None:
        """Id of the mask token (``None`` if none)."""
        return self._special_id("mask_token")

    @property
    def name(self) -> str:
        """The wrapped Hugging Face tokenizer's class name."""
        return type(self.tokenizer).__name__

    def save_vocabulary(self, save_directory: str, filename_prefix: str | None = None) -> tuple[str, ...]:
        """Write the vocabulary files (``vocab.txt``, or ``vocab.json`` and ``merges.txt``).

        Returns:
            The paths written.
        """
        return self.tokenizer.save_vocabulary(save_directory=save_directory, filename_prefix=filename_prefix)

"""SentencePiece tokenization: ``SentencePieceTokenizer`` and ``create_spt_model`` (NeMo 1.23's names).

sentencepiece is not a dependency of nemo-core: it comes with nemo-asr (or ``pip install sentencepiece``),
and this module is only imported when one of its names is first used.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from nemo.collections.common.tokenizers.tokenizer_spec import TokenizerSpec
from nemo.utils import logging

try:
    import sentencepiece
except ImportError as err:
    raise ImportError(
        "nemo.collections.common.tokenizers.sentencepiece_tokenizer needs the 'sentencepiece' package, "
        "which is not installed. Install it with `pip install sentencepiece` (nemo-asr installs it too)."
    ) from err

__all__ = ["SentencePieceTokenizer", "create_spt_model"]

_LEGACY_SPECIAL_TOKEN_NAMES = ("bos_token", "eos_token", "pad_token", "mask_token", "cls_token", "sep_token")


class SentencePieceTokenizer(TokenizerSpec):
    """Tokenizer over a trained sentencepiece model (``tokenizer.model``).

    Args:
        model_path: path to the ``.model`` file sentencepiece wrote.
        special_tokens: tokens to add after the model's own pieces, never split. Only allowed with
            ``legacy=True``: a list of tokens, or a dict such as ``{"sep_token": "[SEP]"}`` whose keys also
            become attributes (``self.sep_token``). Tokens the model already knows are not added again.
        legacy: NeMo's older behaviour, where special tokens live outside the sentencepiece model and the
            ``*_id`` properties look up ``self.<name>_token``. With ``legacy=False`` special tokens must be
            given at training time (``create_spt_model(control_symbols=...)``).

    Example:
        >>> tokenizer = SentencePieceTokenizer("spt/tokenizer.model")
        >>> tokenizer.ids_to_text(tokenizer.text_to_ids("hello world"))
        'hello world'
    """

    def __init__(
        self,
        model_path: str,
        special_tokens: dict[str, str] | list[str] | None = None,
        legacy: bool = False,
    ) -> None:
        if not model_path or not os.path.isfile(model_path):
            raise ValueError(
                f"SentencePieceTokenizer: model_path {model_path!r} is not a file. "
                "Pass the tokenizer.model written by sentencepiece training (see create_spt_model)."
            )
        self.model_path = str(model_path)
        self.tokenizer = sentencepiece.SentencePieceProcessor()
        self.tokenizer.Load(self.model_path)
        self.original_vocab_size = self.tokenizer.get_piece_size()
        self.vocab_size = self.original_vocab_size
        self.legacy = legacy
        self.special_token_to_id: dict[str, int] = {}
        self.id_to_special_token: dict[int, str] = {}
        self._special_token_pattern: re.Pattern | None = None
        if special_tokens:
            if not legacy:
                raise ValueError(
                    f"SentencePieceTokenizer got special_tokens={special_tokens!r} with legacy=False. "
                    "Add special tokens when training the model (create_spt_model(control_symbols=...)) "
                    "or pass legacy=True."
                )
            self.add_special_tokens(special_tokens)
        self.space_sensitive = self.text_to_tokens("x y") != self.text_to_tokens("x") + self.text_to_tokens(
            "y"
        )

    def _split_on_special_tokens(self, text: str) -> list[str]:
        """Split ``text`` into plain chunks and special tokens (legacy mode), keeping their order."""
        if self._special_token_pattern is None:
            return [text]
        return [part for part in self._special_token_pattern.split(text) if part]

    def text_to_tokens(self, text: str) -> list[str]:
        if not self.legacy or not self.special_token_to_id:
            return self.tokenizer.encode_as_pieces(text)
        tokens: list[str] = []
        for part in self._split_on_special_tokens(text):
            if part in self.special_token_to_id:
                tokens.append(part)
            else:
                tokens.extend(self.tokenizer.encode_as_pieces(part))
        return tokens

    def text_to_ids(self, text: str) -> list[int]:
        if not self.legacy or not self.special_token_to_id:
            return self.tokenizer.encode_as_ids(text)
        ids: list[int] = []
        for part in self._split_on_special_tokens(text):
            special_id = self.special_token_to_id.get(part)
            if special_id is not None:
                ids.append(special_id)
            else:
                ids.extend(self.tokenizer.encode_as_ids(part))
        return ids

    def tokens_to_text(self, tokens: Sequence[str] | np.ndarray) -> str:
        if isinstance(tokens, np.ndarray):
            tokens = tokens.tolist()
        return self.tokenizer.decode_pieces(list(tokens))

    def _out_of_range(self, ids: Sequence[int]) -> IndexError | None:
        """The error to raise for the first integer id outside ``0 .. vocab_size - 1``; None if there is none."""
        for token_id in ids:
            try:
                inside = 0 <= token_id < self.vocab_size
            except TypeError:
                return None  # not a number: let sentencepiece's own error through
            if not inside:
                return IndexError(
                    f"SentencePieceTokenizer: token id {token_id!r} is outside the vocabulary of "
                    f"{self.model_path!r} (ids 0 to {self.vocab_size - 1}). Decode only ids this tokenizer "
                    "produced."
                )
        return None

    def ids_to_text(self, ids: Sequence[int] | np.ndarray) -> str:
        """Decode ``ids`` (a list or a 1-D array) to text.

        Raises:
            IndexError: an id is outside the vocabulary (0 to ``vocab_size - 1``); the message names it.
        """
        if isinstance(ids, np.ndarray):
            ids = ids.tolist()
        ids = list(ids)
        try:
            return self._decode(ids)
        except (IndexError, KeyError, TypeError):
            # sentencepiece says IndexError without the id, or TypeError for ids beyond 32 bits.
            problem = self._out_of_range(ids)
            if problem is None:
                raise
            raise problem from None

    def _decode(self, ids: list[int]) -> str:
        """sentencepiece's decoding; in legacy mode, special tokens joined in with spaces around them."""
        if not self.legacy or not self.id_to_special_token:
            return self.tokenizer.decode_ids(ids)
        pieces: list[str] = []
        start = 0
        for position, token_id in enumerate(ids):
            if token_id in self.id_to_special_token:
                pieces.append(self.tokenizer.decode_ids(ids[start:position]))
                pieces.append(self.id_to_special_token[token_id])
                start = position + 1
        pieces.append(self.tokenizer.decode_ids(ids[start:]))
        return " ".join(pieces).strip()

    def token_to_id(self, token: str) -> int:
        """Id of one token (a special token in legacy mode, else a sentencepiece piece)."""
        if self.legacy and token in self.special_token_to_id:
            return self.special_token_to_id[token]
        return self.tokenizer.piece_to_id(token)

    def tokens_to_ids(self, tokens: str | Sequence[str]) -> list[int]:
        if isinstance(tokens, str):
            tokens = [tokens]
        return [self.token_to_id(token) for token in tokens]

    def ids_to_tokens(self, ids: Sequence[int] | np.ndarray) -> list[str]:
        """The piece (or legacy special token) of each id.

        Raises:
            IndexError: an id is outside the vocabulary (0 to ``vocab_size - 1``); the message names it.
        """
        if isinstance(ids, np.ndarray):
            ids = ids.tolist()
        ids = list(ids)
        try:
            return [
                self.id_to_special_token[token_id]
                if token_id >= self.original_vocab_size
                else self.tokenizer.id_to_piece(token_id)
                for token_id in ids
            ]
        except (IndexError, KeyError, TypeError):
            problem = self._out_of_range(ids)
            if problem is None:
                raise
            raise problem from None

    def add_special_tokens(self, special_tokens: dict[str, str] | list[str]) -> None:
        """Add tokens after the model's pieces (legacy mode only); a dict's keys also become attributes."""
        if not self.legacy:
            raise AttributeError(
                "SentencePieceTokenizer.add_special_tokens works only with legacy=True. "
                "Add special tokens when training the model (create_spt_model(control_symbols=...))."
            )
        if isinstance(special_tokens, dict):
            for attribute, token in special_tokens.items():
                setattr(self, attribute, token)
            tokens = list(special_tokens.values())
        elif isinstance(special_tokens, list):
            tokens = special_tokens
        else:
            raise TypeError(
                f"special_tokens must be a list of tokens or a dict name -> token, got "
                f"{type(special_tokens).__name__}: {special_tokens!r}."
            )
        for token in tokens:
            if (
                token in self.special_token_to_id
                or self.tokenizer.piece_to_id(token) != self.tokenizer.unk_id()
            ):
                continue
            self.special_token_to_id[token] = self.vocab_size
            self.id_to_special_token[self.vocab_size] = token
            self.vocab_size += 1
        if self.special_token_to_id:
            alternatives = "|".join(re.escape(token) for token in self.special_token_to_id)
            self._special_token_pattern = re.compile(f"({alternatives})")

    def _legacy_special_id(self, attribute: str) -> int:
        token = getattr(self, attribute, None)
        if token is None:
            raise AttributeError(
                f"SentencePieceTokenizer (legacy=True) has no {attribute}. "
                f"Pass special_tokens={{'{attribute}': ...}} when building it."
            )
        return self.token_to_id(token)

    @property
    def pad_id(self) -> int:
        return self._legacy_special_id("pad_token") if self.legacy else self.tokenizer.pad_id()

    @property
    def bos_id(self) -> int:
        return self._legacy_special_id("bos_token") if self.legacy else self.tokenizer.bos_id()

    @property
    def eos_id(self) -> int:
        return self._legacy_special_id("eos_token") if self.legacy else self.tokenizer.eos_id()

    @property
    def unk_id(self) -> int:
        return self.tokenizer.unk_id()

    def _legacy_only_id(self, attribute: str) -> int:
        if not self.legacy:
            raise NameError(
                f"SentencePieceTokenizer has no {attribute[:-6]}_id with legacy=False. "
                "Use token_to_id(token) for special tokens other than unk, pad, bos and eos."
            )
        return self._legacy_special_id(attribute)

    @property
    def sep_id(self) -> int:
        return self._legacy_only_id("sep_token")

    @property
    def cls_id(self) -> int:
        return self._legacy_only_id("cls_token")

    @property
    def mask_id(self) -> int:
        return self._legacy_only_id("mask_token")

    @property
    def additional_special_tokens_ids(self) -> list[int]:
        """Ids of the added special tokens other than bos/eos/pad/mask/cls/sep (e.g. T5 sentinels)."""
        named = {getattr(self, name, None) for name in _LEGACY_SPECIAL_TOKEN_NAMES}
        return [token_id for token, token_id in self.special_token_to_id.items() if token not in named]

    @property
    def vocab(self) -> list[str]:
        """Every token, in id order: the model's pieces, then the added special tokens."""
        pieces = [self.tokenizer.id_to_piece(i) for i in range(self.original_vocab_size)]
        return pieces + [
            self.id_to_special_token[i] for i in range(self.original_vocab_size, self.vocab_size)
        ]


def create_spt_model(
    data_file: str,
    vocab_size: int,
    sample_size: int,
    do_lower_case: bool,
    tokenizer_type: str = "unigram",
    output_dir: str | None = None,
    character_coverage: float = 1.0,
    train_extremely_large_corpus: bool = False,
    max_sentencepiece_length: int = -1,
    bos: bool = False,
    eos: bool = False,
    pad: bool = False,
    control_symbols: list[str] | None = None,
    user_defined_symbols: list[str] | None = None,
    byte_fallback: bool = False,
    split_digits: bool = False,
    split_by_whitespace: bool = True,
    split_by_unicode_script: bool = True,
) -> tuple[str, str]:
    """Train a sentencepiece model on a text file (one sentence per line).

    Writes ``<output_dir>/tokenizer.model``, ``tokenizer.vocab`` and a BERT-style ``vocab.txt`` (word-initial
    pieces without ``▁``, the others prefixed ``##``, special tokens left out). When ``tokenizer.model``
    already exists there, nothing is trained and the existing paths are returned, as in NeMo.

    Args:
        data_file: training text.
        vocab_size: wanted number of pieces (a soft limit: a tiny corpus may give fewer).
        sample_size: sentences to sample from ``data_file``; ``<= 0`` uses them all.
        do_lower_case: lowercase (NFKC case-fold) while normalizing.
        tokenizer_type: ``"unigram"``, ``"bpe"``, ``"char"`` or ``"word"``.
        output_dir: where to write; defaults to ``<folder of data_file>/spt``.
        character_coverage: share of characters the model must cover (1.0 for small alphabets).
        train_extremely_large_corpus: sentencepiece's switch for corpora of many GB.
        max_sentencepiece_length: longest piece in characters; ``-1`` keeps sentencepiece's default.
        bos: reserve ``<s>``. eos: reserve ``</s>``. pad: reserve ``<pad>``.
        control_symbols: extra control tokens (never produced from text).
        user_defined_symbols: extra tokens always kept whole.
        byte_fallback: decompose unknown characters into byte pieces.
        split_digits: split numbers into single digits.
        split_by_whitespace: let pieces cross no whitespace.
        split_by_unicode_script: let pieces cross no script boundary.

    Returns:
        ``(model_path, vocab_path)``: ``tokenizer.model`` and ``vocab.txt`` in ``output_dir``.
    """
    if not data_file or not os.path.isfile(data_file):
        raise ValueError(
            f"create_spt_model: data_file {data_file!r} is not a file. Pass a text file with one sentence per line."
        )
    if tokenizer_type not in ("unigram", "bpe", "char", "word"):
        raise ValueError(
            f"create_spt_model: tokenizer_type {tokenizer_type!r} is unknown; expected one of "
            "'unigram', 'bpe', 'char', 'word'."
        )
    output = Path(output_dir) if output_dir else Path(data_file).parent / "spt"
    model_path, vocab_path = output / "tokenizer.model", output / "vocab.txt"
    if model_path.is_file():
        logging.info(f"tokenizer model {model_path} already exists; not training a new one")
        return str(model_path), str(vocab_path)
    logging.info(f"Training a {tokenizer_type} sentencepiece model on {data_file}, writing to {output}")
    output.mkdir(parents=True, exist_ok=True)

    special_tokens = ["<s>", "</s>", "<pad>", "<unk>"]
    options: dict[str, object] = {
        "input": data_file,
        "model_prefix": str(output / "tokenizer"),
        "vocab_size": vocab_size,
        "shuffle_input_sentence": True,
        "hard_vocab_limit": False,
        "model_type": tokenizer_type,
        "character_coverage": character_coverage,
        "bos_id": 1 if bos else -1,
        "eos_id": 2 if eos else -1,
        "pad_id": 1 + int(bos) + int(eos) if pad else -1,
    }
    if control_symbols:
        options["control_symbols"] = list(control_symbols)
        special_tokens += control_symbols
    if user_defined_symbols:
        options["user_defined_symbols"] = list(user_defined_symbols)
        special_tokens += user_defined_symbols
    if do_lower_case:
        options["normalization_rule_name"] = "nmt_nfkc_cf"
    if sample_size > 0:
        options["input_sentence_size"] = sample_size
    if train_extremely_large_corpus:
        options["train_extremely_large_corpus"] = True
    if max_sentencepiece_length >= 0:
        options["max_sentencepiece_length"] = max_sentencepiece_length
    options.update(
        byte_fallback=byte_fallback,
        split_digits=split_digits,
        split_by_whitespace=split_by_whitespace,
        split_by_unicode_script=split_by_unicode_script,
    )
    sentencepiece.SentencePieceTrainer.train(**options)

    vocab_lines: list[str] = []
    with open(output / "tokenizer.vocab", encoding="utf-8") as pieces_file:
        next(pieces_file)  # the first piece is <unk>
        for line in pieces_file:
            piece = line.split("\t", 1)[0]
            if piece in special_tokens:
                continue
            token = piece[1:] if piece.startswith("▁") else f"##{piece}"
            vocab_lines.append(token or piece[0])
    vocab_path.write_text("".join(f"{token}\n" for token in vocab_lines), encoding="utf-8")
    return str(model_path), str(vocab_path)

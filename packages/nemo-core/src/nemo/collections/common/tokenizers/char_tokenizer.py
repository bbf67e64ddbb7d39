"""``CharTokenizer``: every character is one token (NeMo 1.23's vocabulary file format and arguments)."""

from __future__ import annotations

import ast
import json
import warnings
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from nemo.collections.common.tokenizers.tokenizer_spec import TokenizerSpec

__all__ = ["CharTokenizer"]

SPECIAL_TOKEN_NAMES = ("mask", "bos", "eos", "pad", "sep", "cls", "unk")


class CharTokenizer(TokenizerSpec):
    """Character tokenizer over a vocabulary file.

    The file holds one Python string literal of one character per line (``'a'``, ``"'"``, ``'\\n'``),
    UTF-8. Its first line may instead be a JSON dict of special tokens (``{"pad_token": "<pad>"}``).
    Special tokens take the first ids, in the order: the file's dict, then the arguments below; the
    characters follow in file order.

    Args:
        vocab_file: the vocabulary file (see :meth:`build_vocab`).
        mask_token, bos_token, eos_token, pad_token, sep_token, cls_token, unk_token: special tokens; each
            also sets ``<name>_token`` and ``<name>_id`` attributes (``None`` / ``-1`` when not given).
        special_token_to_prepend: ``"bos"``, ``"cls"``, ... : special token put before every tokenized text.
        special_token_to_append: special token put after every tokenized text.
        special_tokens_to_remove_while_decoding: ``"all"`` or a list of names (``["bos", "eos"]``) whose
            ids ``ids_to_text`` drops.
    """

    def __init__(
        self,
        vocab_file: str,
        mask_token: str | None = None,
        bos_token: str | None = None,
        eos_token: str | None = None,
        pad_token: str | None = None,
        sep_token: str | None = None,
        cls_token: str | None = None,
        unk_token: str | None = None,
        special_token_to_prepend: str | None = None,
        special_token_to_append: str | None = None,
        special_tokens_to_remove_while_decoding: str | list[str] = "all",
    ) -> None:
        path = Path(vocab_file).expanduser()
        lines = path.read_text(encoding="utf-8").splitlines()
        special_tokens: dict[str, str] = {}
        first_char_line = 1
        if lines and lines[0].startswith("{"):
            special_tokens = self._read_special_tokens_line(lines[0], path)
            first_char_line = 2
        arguments = (mask_token, bos_token, eos_token, pad_token, sep_token, cls_token, unk_token)
        for name, token in zip(SPECIAL_TOKEN_NAMES, arguments):
            if token is not None:
                special_tokens[f"{name}_token"] = token

        self.vocab: dict[str, int] = {}
        for token in special_tokens.values():
            self.vocab.setdefault(token, len(self.vocab))
        for line_number, line in enumerate(lines[first_char_line - 1 :], start=first_char_line):
            if not line.strip():
                continue
            char = self._read_char_line(line, path, line_number)
            self.vocab.setdefault(char, len(self.vocab))
        self.inv_vocab = {token_id: token for token, token_id in self.vocab.items()}
        self.vocab_size = len(self.vocab)

        for name in SPECIAL_TOKEN_NAMES:
            token = special_tokens.get(f"{name}_token")
            setattr(self, f"{name}_token", token)
            setattr(self, f"{name}_id", -1 if token is None else self.vocab[token])
        self.special_token_to_prepend = self._check_special_name(
            special_token_to_prepend, "special_token_to_prepend"
        )
        self.special_token_to_append = self._check_special_name(
            special_token_to_append, "special_token_to_append"
        )
        if special_tokens_to_remove_while_decoding == "all":
            removed = [name[: -len("_token")] for name in special_tokens]
        else:
            removed = [
                self._check_special_name(name, "special_tokens_to_remove_while_decoding")
                for name in special_tokens_to_remove_while_decoding
            ]
        self.special_tokens_to_remove_while_decoding = {getattr(self, f"{name}_id") for name in removed}

    @staticmethod
    def _read_special_tokens_line(line: str, path: Path) -> dict[str, str]:
        try:
            special_tokens = json.loads(line)
        except json.JSONDecodeError as err:
            raise ValueError(
                f"{path}:1: the special tokens line is not valid JSON ({err}): {line!r}."
            ) from err
        allowed = {f"{name}_token" for name in SPECIAL_TOKEN_NAMES}
        unknown = sorted(set(special_tokens) - allowed)
        if unknown:
            raise ValueError(
                f"{path}:1: unknown special token names {unknown}; expected some of {sorted(allowed)}."
            )
        return special_tokens

    @staticmethod
    def _read_char_line(line: str, path: Path, line_number: int) -> str:
        try:
            char = ast.literal_eval(line.strip())
        except (ValueError, SyntaxError) as err:
            raise ValueError(
                f"{path}:{line_number}: expected a quoted one-character Python string like 'a', got {line!r}."
            ) from err
        if not isinstance(char, str) or len(char) != 1:
            raise ValueError(f"{path}:{line_number}: expected exactly one character, got {char!r}.")
        return char

    def _check_special_name(self, name: str | None, argument: str) -> str | None:
        if name is None:
            return None
        if name not in SPECIAL_TOKEN_NAMES or getattr(self, f"{name}_token") is None:
            given = [n for n in SPECIAL_TOKEN_NAMES if getattr(self, f"{n}_token") is not None]
            raise ValueError(
                f"CharTokenizer: {argument}={name!r} names no special token of this tokenizer ({given})."
            )
        return name

    def text_to_tokens(self, text: str) -> list[str]:
        tokens = (
            [getattr(self, f"{self.special_token_to_prepend}_token")] if self.special_token_to_prepend else []
        )
        for position, char in enumerate(text):
            if char in self.vocab:
                tokens.append(char)
            elif self.unk_token is not None:
                tokens.append(self.unk_token)
            else:
                warnings.warn(
                    f"Character {char!r} at position {position} is not in the vocabulary and no unk_token is set; "
                    "it is skipped.",
                    stacklevel=2,
                )
        if self.special_token_to_append:
            tokens.append(getattr(self, f"{self.special_token_to_append}_token"))
        return tokens

    def tokens_to_text(self, tokens: Sequence[str]) -> str:
        return self.ids_to_text(self.tokens_to_ids(tokens))

    def text_to_ids(self, text: str) -> list[int]:
        return [self.vocab[token] for token in self.text_to_tokens(text)]

    def ids_to_text(self, ids: Iterable[int]) -> str:
        """Decode ``ids``, leaving out the special tokens listed in ``special_tokens_to_remove_while_decoding``.

        Raises:
            KeyError: an id is not in the vocabulary (0 to ``vocab_size - 1``); the message names it.
        """
        return "".join(
            self.ids_to_tokens([i for i in ids if i not in self.special_tokens_to_remove_while_decoding])
        )

    def token_to_id(self, token: str) -> int:
        return self.vocab[token]

    def tokens_to_ids(self, tokens: str | Sequence[str]) -> list[int]:
        if isinstance(tokens, str):
            tokens = [tokens]
        return [self.vocab[token] for token in tokens]

    def ids_to_tokens(self, ids: Iterable[int]) -> list[str]:
        """The token of each id.

        Raises:
            KeyError: an id is not in the vocabulary (0 to ``vocab_size - 1``); the message names it.
        """
        try:
            return [self.inv_vocab[int(token_id)] for token_id in ids]
        except KeyError as error:
            raise KeyError(
                f"CharTokenizer: token id {error.args[0]!r} is not in the vocabulary (ids 0 to "
                f"{self.vocab_size - 1}). Decode only ids this tokenizer produced."
            ) from None

    @classmethod
    def build_vocab(
        cls,
        save_path: str,
        text: str | None = None,
        text_file_name: str | None = None,
        characters: str | None = None,
        vocab_size: int | None = None,
        characters_to_exclude: str | None = None,
        **special_tokens: str,
    ) -> None:
        """Write a vocabulary file from ``text``, a text file or an explicit ``characters`` string.

        Characters are ordered by falling frequency (``characters`` keeps its own order); ``vocab_size``
        caps the number of entries, special tokens included. ``special_tokens`` are ``mask_token=...`` and
        the like, written as the JSON first line.
        """
        sources = [source is not None for source in (text, text_file_name, characters)]
        if sum(sources) != 1:
            raise ValueError(
                "CharTokenizer.build_vocab needs exactly one of text, text_file_name, characters."
            )
        allowed = {f"{name}_token" for name in SPECIAL_TOKEN_NAMES}
        unknown = sorted(set(special_tokens) - allowed)
        if unknown:
            raise TypeError(
                f"CharTokenizer.build_vocab got unknown arguments {unknown}; special tokens are {sorted(allowed)}."
            )
        if characters is not None:
            ordered = list(dict.fromkeys(characters))
        else:
            corpus = text if text is not None else Path(text_file_name).read_text(encoding="utf-8")
            ordered = [char for char, _ in Counter(corpus).most_common()]
        excluded = set(characters_to_exclude or "")
        ordered = [char for char in ordered if char not in excluded]
        if vocab_size is not None:
            ordered = ordered[: max(vocab_size - len(special_tokens), 0)]
        lines = [json.dumps(special_tokens)] if special_tokens else []
        lines += [repr(char) for char in ordered]
        Path(save_path).write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")

"""``RegExTokenizer``: tokens are the matches of a regular expression (NeMo 1.23's MegaMolBART SMILES tokenizer).

Each position of the text is matched against ``regex`` first and, failing that, taken as one character, so a
SMILES string such as ``"[C@H](N)c1"`` splits into ``["[C@H]", "(", "N", ")", "c", "1"]``. The vocabulary starts
with six special tokens (ids 0 to 5: pad, unk, bos, eos, mask, sep) and grows with :meth:`build_vocab_from_csv`
or :meth:`build_vocab_from_text`; it is saved as one token per line next to a file holding the regex.

The conversions keep NeMo's batch conventions: :meth:`tokens_to_ids` and :meth:`tokens_to_text` take a list of
token sequences, :meth:`ids_to_tokens` a flat id list or a list of them.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Iterable, Sequence

from nemo.collections.common.tokenizers.tokenizer_spec import TokenizerSpec
from nemo.utils import logging

__all__ = ["RegExTokenizer"]

DEFAULT_MASK_TOKEN = "<MASK>"
DEFAULT_BOS_TOKEN = "^"
DEFAULT_EOS_TOKEN = "&"
DEFAULT_PAD_TOKEN = "<PAD>"
DEFAULT_SEP_TOKEN = "<SEP>"
DEFAULT_UNK_TOKEN = "?"


class RegExTokenizer(TokenizerSpec):
    """Tokenizer whose tokens are the matches of ``regex``, other characters being tokens of their own.

    Args:
        regex: The token pattern (any groups in it are ignored); empty: every character is a token. ``.``-style
            fallback matching does not cross newlines, so newline characters produce no token (as in NeMo).
        mask_token: Token of id 4.
        bos_token: Token of id 2; :meth:`tokens_to_text` drops it at the start of a sequence.
        eos_token: Token of id 3; :meth:`tokens_to_text` cuts a sequence at it.
        pad_token: Token of id 0.
        sep_token: Token of id 5.
        unk_token: Token of id 1, the id of every token missing from the vocabulary.
    """

    def __init__(
        self,
        regex: str | None = "",
        mask_token: str = DEFAULT_MASK_TOKEN,
        bos_token: str = DEFAULT_BOS_TOKEN,
        eos_token: str = DEFAULT_EOS_TOKEN,
        pad_token: str = DEFAULT_PAD_TOKEN,
        sep_token: str = DEFAULT_SEP_TOKEN,
        unk_token: str = DEFAULT_UNK_TOKEN,
    ) -> None:
        self.regex = regex or ""
        self.mask_token = mask_token
        self.bos_token = bos_token
        self.eos_token = eos_token
        self.pad_token = pad_token
        self.sep_token = sep_token
        self.unk_token = unk_token
        self.regex_file: str | None = None
        self.vocab_file: str | None = None
        specials = (pad_token, unk_token, bos_token, eos_token, mask_token, sep_token)
        if len(set(specials)) != len(specials):
            raise ValueError(
                f"RegExTokenizer: the special tokens must differ from each other, got {specials}."
            )
        self.vocab: dict[str, int] = {token: index for index, token in enumerate(specials)}
        self._refresh()

    def _refresh(self) -> None:
        """Recompute what depends on ``regex`` and ``vocab``."""
        self._pattern = re.compile(f"(?:{self.regex})|." if self.regex else ".")
        self._id_to_token = {index: token for token, index in self.vocab.items()}

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    @property
    def pad_id(self) -> int:
        return 0

    @property
    def unk_id(self) -> int:
        return 1

    @property
    def bos_id(self) -> int:
        return 2

    @property
    def eos_id(self) -> int:
        return 3

    @property
    def mask_id(self) -> int:
        return 4

    @property
    def sep_id(self) -> int:
        return 5

    # --- conversions -------------------------------------------------------------------------------------

    def text_to_tokens(self, text: str) -> list[str]:
        return [match.group(0) for match in self._pattern.finditer(text)]

    def token_to_ids(self, tokens: Iterable[str]) -> list[int]:
        """Ids of one token sequence; unknown tokens get the unk id."""
        unk = self.vocab.get(self.unk_token, self.unk_id)
        return [self.vocab.get(token, unk) for token in tokens]

    def tokens_to_ids(self, token_data: str | Sequence[Iterable[str]]) -> list[list[int]]:
        """Ids of each token sequence of a batch (a single string counts as a batch of one)."""
        if isinstance(token_data, str):
            token_data = [token_data]
        return [self.token_to_ids(tokens) for tokens in token_data]

    def ids_to_tokens(self, ids_list: Sequence[int] | Sequence[Sequence[int]]) -> list[str] | list[list[str]]:
        """Tokens of a flat id list, or of each id list of a batch.

        Raises:
            ValueError: an id is not in the vocabulary.
        """
        if len(ids_list) and not isinstance(ids_list[0], list):
            return self._tokens_of(ids_list)
        return [self._tokens_of(ids) for ids in ids_list]

    def _tokens_of(self, ids: Iterable[int]) -> list[str]:
        tokens = []
        for token_id in ids:
            try:
                known = token_id in self._id_to_token
            except TypeError:  # unhashable, e.g. a list inside a flat id list
                known = False
            if not known:
                raise ValueError(
                    f"Token id {token_id!r} is not recognised: the vocabulary has ids 0 to {len(self.vocab) - 1}."
                )
            tokens.append(self._id_to_token[token_id])
        return tokens

    def tokens_to_text(self, tokens: Sequence[str | Sequence[str]]) -> list[str]:
        """Text of each token sequence: a leading bos token is dropped, and everything from the first eos on.

        A sequence may also be one string (e.g. a single token, or text): then a leading ``bos_token`` and
        everything from the first ``eos_token`` substring on are dropped.
        """
        return [self._sequence_text(sequence) for sequence in tokens]

    def _sequence_text(self, sequence: str | Sequence[str]) -> str:
        if isinstance(sequence, str):
            text = sequence.removeprefix(self.bos_token)
            return text.split(self.eos_token, 1)[0]
        sequence = list(sequence)
        if sequence and sequence[0] == self.bos_token:
            sequence = sequence[1:]
        if self.eos_token in sequence:
            sequence = sequence[: sequence.index(self.eos_token)]
        return "".join(sequence)

    def text_to_ids(self, text: str) -> list[int]:
        return self.token_to_ids(self.text_to_tokens(text))

    def ids_to_text(self, ids: Sequence[int] | Sequence[Sequence[int]]) -> list[str]:
        """``tokens_to_text(ids_to_tokens(ids))``: for a flat id list, one string per token (join them).

        Raises:
            ValueError: an id is not in the vocabulary; the message names it.
        """
        return self.tokens_to_text(self.ids_to_tokens(ids))

    # --- vocabulary ---------------------------------------------------------------------------------------

    def _add_tokens_of(self, text: str) -> None:
        for token in self.text_to_tokens(text):
            self.vocab.setdefault(token, len(self.vocab))

    def build_vocab_from_csv(self, data_csv_file: str, col: str = "smiles") -> None:
        """Add the tokens of column ``col`` of a CSV file (with a header row) to the vocabulary.

        Can be called repeatedly; blank lines are skipped.

        Raises:
            ValueError: the file or the column does not exist, or a row has no value in the column.
        """
        if not os.path.exists(data_csv_file):
            raise ValueError(f"Data file: {data_csv_file} is missing")
        logging.debug(f"Building vocabulary from column {col!r} of {data_csv_file}")
        with open(data_csv_file, encoding="utf-8", newline="") as csv_file:
            reader = csv.DictReader(csv_file)
            if col not in (reader.fieldnames or []):
                raise ValueError(
                    f"{data_csv_file} has no column {col!r} (its header is {reader.fieldnames}); pass `col=`."
                )
            for row in reader:
                if all(value is None or not value.strip() for value in row.values()):
                    continue
                value = row[col]
                if not value:
                    raise ValueError(f"{data_csv_file}:{reader.line_num}: no value in column {col!r}.")
                self._add_tokens_of(value)
        self._refresh()

    def build_vocab_from_text(self, data_text_file: str) -> None:
        """Add the tokens of every line of a text file to the vocabulary (can be called repeatedly).

        Raises:
            ValueError: the file does not exist.
        """
        if not os.path.exists(data_text_file):
            raise ValueError(f"Data file: {data_text_file} is missing")
        logging.debug(f"Building vocabulary from text file {data_text_file}")
        with open(data_text_file, encoding="utf-8") as text_file:
            for line in text_file:
                self._add_tokens_of(line.rstrip())
        self._refresh()

    def _files(self, regex_file: str | None, vocab_file: str | None) -> tuple[str, str]:
        """The regex and vocabulary files to use: the given ones, else the remembered ones; both are remembered.

        The vocabulary file defaults to the regex file with the extension ``.vocab``.
        """
        regex_file = regex_file or self.regex_file
        if not regex_file:
            raise ValueError("regex_file must be specified (no regex file was given before either).")
        vocab_file = vocab_file or self.vocab_file or os.path.splitext(regex_file)[0] + ".vocab"
        self.regex_file, self.vocab_file = regex_file, vocab_file
        return regex_file, vocab_file

    def save_tokenizer(self, regex_file: str | None = None, vocab_file: str | None = None) -> None:
        """Write the regex to ``regex_file`` and the vocabulary, one token per line in id order, to ``vocab_file``."""
        regex_file, vocab_file = self._files(regex_file, vocab_file)
        logging.info(f"Saving vocabulary to file = {vocab_file}")
        with open(vocab_file, "w", encoding="utf-8") as out:
            out.writelines(f"{token}\n" for token, _ in sorted(self.vocab.items(), key=lambda item: item[1]))
        logging.info(f"Saving regex to file = {regex_file}")
        with open(regex_file, "w", encoding="utf-8") as out:
            out.write(self.regex)

    def load_tokenizer(self, regex_file: str | None = None, vocab_file: str | None = None) -> RegExTokenizer:
        """Read the regex and the vocabulary (one token per line, blank lines skipped) saved by :meth:`save_tokenizer`.

        Raises:
            RuntimeError: a file is missing.
        """
        regex_file, vocab_file = self._files(regex_file, vocab_file)
        if not os.path.exists(vocab_file):
            raise RuntimeError(f"Missing vocab_file = {vocab_file}")
        if not os.path.exists(regex_file):
            raise RuntimeError(f"Missing regex_file = {regex_file}")
        logging.info(f"Loading vocabulary from file = {vocab_file}")
        with open(vocab_file, encoding="utf-8") as vocab_lines:
            tokens = [line.strip() for line in vocab_lines if line.strip()]
        self.vocab = {token: index for index, token in enumerate(dict.fromkeys(tokens))}
        logging.info(f"Loading regex from file = {regex_file}")
        with open(regex_file, encoding="utf-8") as regex_text:
            self.regex = regex_text.read().strip()
        self._refresh()
        return self

"""Transcript parsers: text -> label ids for character models (NeMo 1.23's ``parsers`` module).

``make_parser(labels)`` returns a :class:`CharParser` (NeMo's default, ``name="base"``), which strips
and lowercases the text and maps every character to its label index. ``make_parser(labels, name="en")``
returns an :class:`ENCharParser`, which first cleans English text as NeMo 1.23 does (see
:mod:`~nemo.collections.asr.parts.preprocessing.cleaners`: ASCII folding, numbers and abbreviations
spelled out, punctuation that is no label turned into spaces). The ASR datasets ask for ``"en"`` unless
their config key ``parser`` says otherwise, as in NeMo.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from types import MappingProxyType

from nemo.collections.asr.parts.preprocessing.cleaners import ABBREVIATION_VERSIONS, clean_text
from nemo.utils import logging

__all__ = ["CharParser", "ENCharParser", "make_parser", "NAME_TO_PARSER"]


class CharParser:
    """Maps each character of a transcript to the index of its label.

    Args:
        labels: the label of each index; labels longer than one character (``"<unk>"``) match whole
            space-separated words.
        unk_id: index given to characters that are no label.
        blank_id: index removed from the output. With NeMo's defaults (``unk_id == blank_id == -1``)
            characters that are no label are dropped.
        do_normalize: normalize the text first (see :meth:`_normalize`).
        do_lowercase: lowercase while normalizing.
        do_tokenize: return ids; ``False`` returns the normalized text.
    """

    def __init__(
        self,
        labels: Sequence[str],
        *,
        unk_id: int = -1,
        blank_id: int = -1,
        do_normalize: bool = True,
        do_lowercase: bool = True,
        do_tokenize: bool = True,
    ) -> None:
        self._labels = list(labels)
        self._unk_id = unk_id
        self._blank_id = blank_id
        self._do_normalize = do_normalize
        self._do_lowercase = do_lowercase
        self._do_tokenize = do_tokenize
        self._labels_map = {label: index for index, label in enumerate(self._labels)}
        self._special_labels = {label for label in self._labels if len(label) > 1}

    def __call__(self, text: str) -> list[int] | str | None:
        """Parse one transcript: ids (or the normalized text when ``do_tokenize=False``)."""
        if self._do_normalize:
            text = self._normalize(text)
            if text is None:
                return None
        if not self._do_tokenize:
            return text
        return self._tokenize(text)

    def _normalize(self, text: str) -> str | None:
        text = text.strip()
        return text.lower() if self._do_lowercase else text

    def _tokenize(self, text: str) -> list[int]:
        labels_map, unk_id = self._labels_map, self._unk_id
        space_id = labels_map.get(" ", unk_id)
        tokens: list[int] = []
        for position, word in enumerate(text.split(" ")):
            if position:
                tokens.append(space_id)
            if word in self._special_labels:
                tokens.append(labels_map[word])
            else:
                tokens.extend(labels_map.get(char, unk_id) for char in word)
        tokens = [token for token in tokens if token != self._blank_id]
        if -1 in tokens:
            unknown = sorted({char for char in text if char not in labels_map})
            raise ValueError(
                f"Transcript {text!r} has characters that are no label: {unknown}, and unk_id is -1 while "
                f"blank_id is {self._blank_id}. Add them to the labels, set unk_index to a label index, or "
                "leave blank_index and unk_index at -1 to drop them."
            )
        return tokens


class ENCharParser(CharParser):
    """English :class:`CharParser`: cleans text (numbers, abbreviations, punctuation) before tokenizing.

    Punctuation that is a label is kept; ``+``, ``&`` and ``%`` are spoken (``plus``, ``and``,
    ``percent``); other punctuation becomes a space. A transcript whose cleaning fails (a number that
    cannot be read, such as ``"$ .5"``) parses to ``None``, which the datasets drop, as in NeMo.

    Args:
        abbreviation_version: abbreviation table: ``None`` (common), ``"fastpitch"`` or ``"expanded"``.
        make_table: turn punctuation that is no label into spaces; ``False`` keeps it in the text.
        *args, **kwargs: as :class:`CharParser`.

    Raises:
        ValueError: ``abbreviation_version`` is unknown.
    """

    PUNCTUATION_TO_REPLACE = MappingProxyType({"+": "plus", "&": "and", "%": "percent"})

    def __init__(
        self, abbreviation_version: str | None = None, make_table: bool = True, *args, **kwargs
    ) -> None:
        super().__init__(*args, **kwargs)
        if abbreviation_version not in ABBREVIATION_VERSIONS:
            raise ValueError(
                f"ENCharParser got abbreviation_version={abbreviation_version!r}; expected one of "
                f"{list(ABBREVIATION_VERSIONS)}."
            )
        self.abbreviation_version = abbreviation_version
        self._table = self._make_table() if make_table else None

    def _make_table(self) -> dict[int, str]:
        blanked = [
            char
            for char in string.punctuation
            if char not in self.PUNCTUATION_TO_REPLACE and char not in self._labels
        ]
        return str.maketrans("".join(blanked), " " * len(blanked))

    def _normalize(self, text: str) -> str | None:
        try:
            return clean_text(
                text, self._table, self.PUNCTUATION_TO_REPLACE, abbreviation_version=self.abbreviation_version
            )
        except ValueError as error:
            logging.warning(f"Transcript {text!r} is dropped: {error}")
            return None


NAME_TO_PARSER = MappingProxyType({"base": CharParser, "en": ENCharParser})


def make_parser(labels: Sequence[str] | None = None, name: str = "base", **kwargs) -> CharParser:
    """Build a character parser.

    Args:
        labels: the label of each index; ``None`` uses ``string.printable``.
        name: ``"base"`` (:class:`CharParser`, NeMo's default) or ``"en"`` (:class:`ENCharParser`).
        **kwargs: ``unk_id``, ``blank_id``, ``do_normalize``, ... (see :class:`CharParser`).

    Returns:
        The parser.

    Example:
        >>> parser = make_parser([" ", "a", "b"])
        >>> parser("Ab a")
        [1, 2, 0, 1]
    """
    if name not in NAME_TO_PARSER:
        raise ValueError(
            f"Parser name {name!r} is unknown; expected one of {sorted(NAME_TO_PARSER)} (config key 'parser')."
        )
    return NAME_TO_PARSER[name](labels=list(string.printable) if labels is None else labels, **kwargs)

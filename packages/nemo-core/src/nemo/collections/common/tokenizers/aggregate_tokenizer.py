"""``AggregateTokenizer``: several monolingual tokenizers behind one id space (NeMo 1.23's class and methods).

Each language's tokenizer keeps its own ids; the aggregate gives it a block of ids after the blocks of the
tokenizers before it, in the order of the ``tokenizers`` dict. Encoding routes text to the tokenizer of the
language it is given; decoding finds each id's block, so one id sequence may mix languages (code switching).

Example:
    >>> tokenizer = AggregateTokenizer({"spl_tokens": special, "en": english})
    >>> ids = tokenizer.text_to_ids("hello", "en")      # english ids shifted by len(special.vocab)
    >>> tokenizer.ids_to_lang(ids)
    'en'
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Mapping, Sequence

from nemo.collections.common.tokenizers.tokenizer_spec import TokenizerSpec

__all__ = ["AggregateTokenizer"]

_WORD_START = "\u2581"  # sentencepiece's word-start mark


class _JointVocabulary:
    """The joint vocabulary under ``AggregateTokenizer.tokenizer`` (NeMo code calls ``.tokenizer.get_vocab()``)."""

    def __init__(self, vocabulary: list[str]) -> None:
        self.vocab = vocabulary
        self.vocab_size = len(vocabulary)

    def get_vocab(self) -> list[str]:
        return self.vocab


class AggregateTokenizer(TokenizerSpec):
    """Tokenizers of several languages joined into one id space.

    Args:
        tokenizers: language id -> tokenizer (each with ``vocab``, ``text_to_ids``, ``ids_to_tokens`` and
            ``token_to_id``). The first gets ids ``0 .. len(vocab)-1``, the next the following block, etc.
    """

    def __init__(self, tokenizers: Mapping[str, TokenizerSpec]) -> None:
        if not tokenizers:
            raise ValueError(
                "AggregateTokenizer needs at least one tokenizer: pass {language_id: tokenizer}."
            )
        self.tokenizers_dict = dict(tokenizers)
        self.token_id_offset: dict[str, int] = {}
        self.token_id_offset_by_tokenizer_num: dict[int, int] = {}
        self.vocabulary: list[str] = []
        for number, (lang, tokenizer) in enumerate(self.tokenizers_dict.items()):
            self.token_id_offset[lang] = len(self.vocabulary)
            self.token_id_offset_by_tokenizer_num[number] = len(self.vocabulary)
            self.vocabulary.extend(tokenizer.vocab)
        self.vocab_size = len(self.vocabulary)
        self.tokenizer = _JointVocabulary(self.vocabulary)
        self._block_starts = list(self.token_id_offset.values())
        self._block_langs = list(self.token_id_offset)

    # ------------------------------------------------------------------------------------------ routing
    def _locate(self, token_id: int) -> tuple[str, int]:
        """``(language, id inside that language's tokenizer)`` of an aggregate id."""
        token_id = int(token_id)
        if not 0 <= token_id < self.vocab_size:
            raise IndexError(
                f"AggregateTokenizer: token id {token_id} is outside the joint vocabulary (0..{self.vocab_size - 1})."
            )
        block = bisect.bisect_right(self._block_starts, token_id) - 1
        return self._block_langs[block], token_id - self._block_starts[block]

    def _tokenizer_of(self, lang_id: str) -> TokenizerSpec:
        if lang_id not in self.tokenizers_dict:
            raise KeyError(
                f"AggregateTokenizer has no tokenizer for language {lang_id!r}; it has {self.langs}. "
                "Check the manifest's language field or the tokenizer.langs section of the config."
            )
        return self.tokenizers_dict[lang_id]

    def _piece(self, token_id: int) -> str:
        lang, local_id = self._locate(token_id)
        return self.tokenizers_dict[lang].ids_to_tokens([local_id])[0]

    @property
    def offset_token_ids_by_token_id(self) -> dict[int, int]:
        """Aggregate id -> id inside its own tokenizer (NeMo's lookup table)."""
        return {token_id: self._locate(token_id)[1] for token_id in range(self.vocab_size)}

    @property
    def langs_by_token_id(self) -> dict[int, str]:
        """Aggregate id -> language of its tokenizer (NeMo's lookup table)."""
        return {token_id: self._locate(token_id)[0] for token_id in range(self.vocab_size)}

    # ----------------------------------------------------------------------------------- conversions
    def text_to_tokens(self, text: str, lang_id: str) -> list[str]:
        return self._tokenizer_of(lang_id).text_to_tokens(text)

    def text_to_ids(self, text: str, lang_id: str) -> list[int]:
        offset = self.token_id_offset.get(lang_id)
        ids = self._tokenizer_of(lang_id).text_to_ids(text)
        return [token_id + offset for token_id in ids]

    def tokens_to_text(self, tokens: Sequence[str], lang_id: str) -> str:
        return self._tokenizer_of(lang_id).tokens_to_text(list(tokens))

    def token_to_id(self, token: str, lang_id: str) -> int:
        return self._tokenizer_of(lang_id).token_to_id(token) + self.token_id_offset[lang_id]

    def tokens_to_ids(self, tokens: str | Sequence[str], langs: str | Sequence[str]) -> list[int]:
        tokens = [tokens] if isinstance(tokens, str) else list(tokens)
        langs = [langs] * len(tokens) if isinstance(langs, str) else list(langs)
        if len(langs) != len(tokens):
            raise ValueError(
                f"tokens_to_ids got {len(tokens)} tokens but {len(langs)} languages; give one each."
            )
        return [self.token_to_id(token, lang) for token, lang in zip(tokens, langs)]

    def ids_to_tokens(self, ids: Sequence[int]) -> list[str]:
        return [self._piece(token_id) for token_id in _as_list(ids)]

    def ids_to_text(self, ids: Sequence[int]) -> str:
        """Pieces of every id joined, word-start marks turned into spaces (a leading space is kept, as NeMo)."""
        return "".join(self.ids_to_tokens(ids)).replace(_WORD_START, " ")

    # ------------------------------------------------------------------------------------- languages
    def ids_to_lang(self, ids: Sequence[int]) -> str:
        """The language most ids belong to (the first one seen wins a tie); ``''`` for no ids."""
        counts = Counter(self._locate(token_id)[0] for token_id in _as_list(ids))
        return max(counts, key=counts.get) if counts else ""

    def ids_to_text_and_langs(self, ids: Sequence[int]) -> list[dict[str, str]]:
        """``[{"char": piece text, "lang": language}, ...]``, one per id."""
        result = []
        for token_id in _as_list(ids):
            lang, _ = self._locate(token_id)
            result.append({"char": self._piece(token_id).replace(_WORD_START, " ").strip(), "lang": lang})
        return result

    def ids_to_words_and_langs(self, ids: Sequence[int]) -> list[dict[str, str]]:
        """``[{"word": text, "lang": language}, ...]``: ids grouped into words at word-start pieces."""
        words: list[list[int]] = []
        for token_id in _as_list(ids):
            if not words or self._piece(token_id).startswith(_WORD_START):
                words.append([])
            words[-1].append(token_id)
        return [{"word": self.ids_to_text(word).strip(), "lang": self.ids_to_lang(word)} for word in words]

    @property
    def vocab(self) -> list[str]:
        """Every piece of every tokenizer, in aggregate id order."""
        return self.vocabulary

    @property
    def langs(self) -> list[str]:
        """Language ids in block order."""
        return list(self.tokenizers_dict)


def _as_list(ids) -> list[int]:
    return ids.tolist() if hasattr(ids, "tolist") else list(ids)

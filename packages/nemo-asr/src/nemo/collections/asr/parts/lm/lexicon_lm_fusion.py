"""Lexicon-constrained word n-gram LM scoring of CTC prefixes (flashlight's lexicon decoder, ``search_type:
flashlight``).

- every emitted word is a lexicon word: a prefix whose partial spelling begins no lexicon spelling, or whose
  spelling is complete (a token beginning a new word follows, or the utterance ends) but spells no word, scores
  ``-inf`` (the search drops it);
- a complete spelling becomes the word it spells that scores best under the LM given the preceding words
  (homophones; ties go to the alphabetically first word);
- a lexicon word the LM does not know scores the LM's ``<unk>`` probability plus ``unk_weight`` (``-inf``,
  NeMo's default: such words are never emitted);
- ``sil_weight`` is added per word-separator token (``" "`` of char models), ``beta`` per word;
- words are separated by the separator token (char models) or begin with a ``▁`` piece (BPE models), and
  lexicon spellings are written in the model's labels (pieces for BPE models).

The search itself is :func:`~nemo.collections.asr.parts.submodules.ctc_prefix_search.ctc_lexicon_beam_search`.
"""

from __future__ import annotations

from typing import NamedTuple

from nemo.collections.asr.parts.lm.lexicon import SpellingTrie
from nemo.collections.asr.parts.lm.ngram_lm import BOS, EOS, NGramLanguageModel
from nemo.collections.asr.parts.lm.word_lm_fusion import DECODING_TYPES, SUBWORD_WORD_START, ScaledWordLM

__all__ = ["LexiconState", "LexiconWordLMFusion", "lexicon_token_roles"]

_NEG_INF = float("-inf")


def lexicon_token_roles(vocabulary: list[str], decoding_type: str) -> list[tuple[bool, bool]]:
    """How each token builds lexicon spellings: ``(begins a new word, is part of the spelling)`` per token id.

    Args:
        vocabulary: token strings by id, blank excluded.
        decoding_type: ``"char"`` (``" "`` separates words and spells nothing) or ``"subword"`` (every piece
            is spelled; one starting with ``"▁"`` begins a word).
    """
    if decoding_type == "char":
        return [(True, False) if token == " " else (False, True) for token in vocabulary]
    if decoding_type == "subword":
        return [(token.startswith(SUBWORD_WORD_START), True) for token in vocabulary]
    raise ValueError(f"decoding type {decoding_type!r} is not one of {DECODING_TYPES}.")


class LexiconState(NamedTuple):
    """The lexicon and LM side of one prefix.

    Attributes:
        context: the last ``order - 1`` completed words (``<s>`` first at the start).
        words: every completed word, in order.
        node: the :class:`SpellingTrie` node of the word being spelled (``SpellingTrie.ROOT``: none).
        score: ``alpha * ln P`` of the completed words, ``beta`` per word, ``sil_weight`` per separator;
            ``-inf`` for a prefix that leaves the lexicon.
    """

    context: tuple[str, ...]
    words: tuple[str, ...]
    node: int
    score: float


_LEFT_THE_LEXICON = LexiconState((), (), SpellingTrie.ROOT, _NEG_INF)


class LexiconWordLMFusion(ScaledWordLM):
    """Lexicon-constrained word n-gram LM scoring of CTC prefixes (flashlight's lexicon decoder).

    Spellings are indexed once in a :class:`SpellingTrie`; the best word of each ``(context, spelling)`` is
    cached for the life of the object, so one instance serves every utterance.

    Args:
        language_model: the word n-gram model.
        spellings: ``(word, token ids)`` per lexicon entry (see
            :func:`~nemo.collections.asr.parts.lm.lexicon.spell_with_token_ids`).
        token_roles: per token id, ``(begins a new word, is part of the spelling)``; see
            :func:`lexicon_token_roles`.
        alpha: LM weight.
        beta: score added per word.
        unk_weight: added to the ``<unk>`` score of a word the LM does not know; with ``-inf`` such words are
            left out of the trie.
        sil_weight: score added per word-separator token (a token that begins a word and spells nothing).
    """

    def __init__(
        self,
        language_model: NGramLanguageModel,
        spellings: list[tuple[str, tuple[int, ...]]],
        token_roles: list[tuple[bool, bool]],
        alpha: float,
        beta: float,
        unk_weight: float = _NEG_INF,
        sil_weight: float = 0.0,
    ) -> None:
        if unk_weight == _NEG_INF:
            known = language_model.vocabulary
            spellings = [(word, token_ids) for word, token_ids in spellings if word in known]
        super().__init__(language_model, alpha)
        self.trie = SpellingTrie(spellings, vocab_size=len(token_roles))
        self.token_roles = token_roles
        self.beta = beta
        self.unk_weight = unk_weight
        self.sil_weight = sil_weight
        self._best_words: dict[tuple[tuple[str, ...], int], tuple[float, str] | None] = {}

    def initial_state(self) -> LexiconState:
        """The state of the empty prefix: context ``<s>``, no word begun."""
        return LexiconState(self._trim((BOS,)), (), SpellingTrie.ROOT, 0.0)

    def extend(self, state: LexiconState, token: int) -> LexiconState:
        """The state after appending ``token`` (a non-blank id); its score is ``-inf`` if it leaves the lexicon."""
        begins_word, spells = self.token_roles[token]
        context, words, node, score = state
        if begins_word:
            if node != SpellingTrie.ROOT:
                best = self._best_word(context, node)
                if best is None:
                    return _LEFT_THE_LEXICON
                word_score, word = best
                context, words, score = self._trim((*context, word)), (*words, word), score + word_score
                node = SpellingTrie.ROOT
            if not spells:
                score += self.sil_weight
        if spells:
            node = self.trie.child(node, token)
            if node is None:
                return _LEFT_THE_LEXICON
        return LexiconState(context, words, node, score)

    def final_score(self, state: LexiconState) -> float:
        """The score of a finished utterance: its last word completed and ``</s>`` scored (``-inf``: no word)."""
        return self._finish(state)[0]

    def final_words(self, state: LexiconState) -> tuple[str, ...]:
        """The words of a finished utterance, its last spelling completed."""
        return self._finish(state)[1]

    def _finish(self, state: LexiconState) -> tuple[float, tuple[str, ...]]:
        context, words, node, score = state
        if node != SpellingTrie.ROOT:
            best = self._best_word(context, node)
            if best is None:
                return _NEG_INF, words
            word_score, word = best
            context, words, score = self._trim((*context, word)), (*words, word), score + word_score
        return score + self._word_score(context, EOS), words

    def _best_word(self, context: tuple[str, ...], node: int) -> tuple[float, str] | None:
        """The best-scoring word spelled by ``node`` after ``context``, with its score; ``None`` if none."""
        key = (context, node)
        if key in self._best_words:
            return self._best_words[key]
        best = None
        for word in self.trie.words_at(node):
            score = self.beta + self._word_score(context, word)
            if word not in self.language_model.vocabulary:
                score += self.unk_weight
            if best is None or score > best[0]:
                best = (score, word)
        self._best_words[key] = best
        return best

"""Shallow fusion of a word n-gram LM into CTC prefix search: how tokens build words, and what each prefix scores.

A prefix scores ``beam_alpha * ln P_LM(words) + beam_beta * words`` on top of its acoustic log-probability, the
way pyctcdecode scores it: a word is scored when it is completed (a token beginning a new word follows it, or the
utterance ends, where ``</s>`` is scored too), and a partial word that begins no LM word costs
``unk_score_offset`` once. Words are separated by the ``" "`` token of char models, or begin with a ``▁`` piece in
BPE models (:func:`token_word_parts`).

The search itself is :func:`~nemo.collections.asr.parts.submodules.ctc_prefix_search.ctc_prefix_beam_search_with_lm`;
the lexicon-constrained scoring built on :class:`ScaledWordLM` is in
:mod:`nemo.collections.asr.parts.lm.lexicon_lm_fusion`.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from nemo.collections.asr.parts.lm.ngram_lm import BOS, EOS, NGramLanguageModel

__all__ = [
    "DECODING_TYPES",
    "SUBWORD_WORD_START",
    "ScaledWordLM",
    "WordLMFusion",
    "WordState",
    "token_word_parts",
]

DECODING_TYPES = ("char", "subword")
SUBWORD_WORD_START = "\u2581"  # sentencepiece's "▁": a piece that begins a word
_LN_10 = math.log(10.0)


def token_word_parts(vocabulary: list[str], decoding_type: str) -> list[tuple[bool, str]]:
    """How each token builds words: ``(begins a new word, text it adds)`` per token id.

    Args:
        vocabulary: token strings by id, blank excluded.
        decoding_type: ``"char"`` (``" "`` separates words and adds no text) or ``"subword"``
            (a sentencepiece piece starting with ``"▁"`` begins a word).
    """
    if decoding_type == "char":
        return [(True, "") if token == " " else (False, token) for token in vocabulary]
    if decoding_type == "subword":
        return [
            (True, token[1:]) if token.startswith(SUBWORD_WORD_START) else (False, token)
            for token in vocabulary
        ]
    raise ValueError(f"decoding type {decoding_type!r} is not one of {DECODING_TYPES}.")


class WordState(NamedTuple):
    """The LM side of one prefix.

    Attributes:
        context: the last ``order - 1`` completed words (``<s>`` first at the start).
        partial: the word being spelled.
        words_score: ``alpha * ln P`` of the completed words plus ``beta`` per word.
        score: ``words_score`` plus the partial word's penalty, if it begins no LM word.
    """

    context: tuple[str, ...]
    partial: str
    words_score: float
    score: float


class ScaledWordLM:
    """``alpha * ln P(word | context)`` of a word n-gram LM, cached per ``(context, word)``; contexts trimmed to
    the LM's ``order - 1`` words. The base of both LM fusions.

    Args:
        language_model: the word n-gram model.
        alpha: LM weight; 0 scores every word 0.
    """

    def __init__(self, language_model: NGramLanguageModel, alpha: float) -> None:
        self.language_model = language_model
        self.alpha = alpha
        self._context_size = language_model.order - 1
        self._word_scores: dict[tuple[tuple[str, ...], str], float] = {}

    def _trim(self, context: tuple[str, ...]) -> tuple[str, ...]:
        return context[max(0, len(context) - self._context_size) :]

    def _word_score(self, context: tuple[str, ...], word: str) -> float:
        if not self.alpha:
            return 0.0
        key = (context, word)
        score = self._word_scores.get(key)
        if score is None:
            score = self.alpha * _LN_10 * self.language_model.score(context, word)
            self._word_scores[key] = score
        return score


class WordLMFusion(ScaledWordLM):
    """Shallow fusion of a word n-gram LM into a CTC prefix search (pyctcdecode's scoring).

    Scores are natural logs. Word scores are cached per ``(context, word)`` for the life of the object,
    so one instance serves every utterance.

    Args:
        language_model: the word n-gram model.
        word_parts: per token id, ``(begins a new word, text it adds)``; see :func:`token_word_parts`.
        alpha: LM weight; 0 turns the LM off (the partial-word penalty included).
        beta: score added per completed word.
        unk_score_offset: one-time score of a partial word that begins no LM word.
    """

    def __init__(
        self,
        language_model: NGramLanguageModel,
        word_parts: list[tuple[bool, str]],
        alpha: float,
        beta: float,
        unk_score_offset: float = -10.0,
    ) -> None:
        super().__init__(language_model, alpha)
        self.word_parts = word_parts
        self.beta = beta
        self.unk_score_offset = unk_score_offset

    def initial_state(self) -> WordState:
        """The state of the empty prefix: context ``<s>``."""
        return WordState(self._trim((BOS,)), "", 0.0, 0.0)

    def extend(self, state: WordState, token: int) -> WordState:
        """The state after appending ``token`` (a non-blank id) to a prefix in ``state``."""
        begins_word, text = self.word_parts[token]
        context, partial, words_score, _ = state
        if begins_word:
            if partial:
                words_score += self._word_score(context, partial) + self.beta
                context = self._trim((*context, partial))
            partial = text
        else:
            partial += text
        return WordState(context, partial, words_score, words_score + self._partial_penalty(partial))

    def final_score(self, state: WordState) -> float:
        """The LM score of a finished utterance: its last word completed and ``</s>`` scored."""
        context, partial, words_score, _ = state
        if partial:
            words_score += self._word_score(context, partial) + self.beta
            context = self._trim((*context, partial))
        return words_score + self._word_score(context, EOS)

    def _partial_penalty(self, partial: str) -> float:
        if partial and self.alpha and not self.language_model.is_prefix(partial):
            return self.unk_score_offset
        return 0.0

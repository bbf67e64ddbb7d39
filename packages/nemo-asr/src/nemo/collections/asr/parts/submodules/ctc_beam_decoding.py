"""CTC beam search: prefix beam search over log-probabilities, optionally fused with a word n-gram LM.

Config (``decoding.beam``, NeMo 1.23's keys; defaults from :class:`BeamCTCInferConfig`)::

    beam_size: 4
    search_type: default        # default | pyctcdecode (both: the fused search) | flashlight (lexicon search)
    return_best_hypothesis: true
    kenlm_path: null            # an ARPA word n-gram file (.arpa or .arpa.gz): enables shallow fusion
    beam_alpha: 1.0             # LM weight
    beam_beta: 0.0              # bonus per word
    pyctcdecode_cfg: {beam_prune_logp: -10.0, token_min_logp: -5.0, unk_score_offset: -10.0}
    flashlight_cfg: {lexicon_path: null, boost_path: null, beam_size_token: 16, beam_threshold: 20.0,
                     unk_weight: -inf, sil_weight: 0.0}

Without ``kenlm_path`` the search uses the acoustic scores alone (:func:`ctc_prefix_beam_search`). With it,
:func:`ctc_prefix_beam_search_with_lm` ranks prefixes by
``acoustic log-prob + beam_alpha * ln P_LM(words) + beam_beta * words``, the way pyctcdecode does: a word
is scored when it is completed (a word separator follows it, or the utterance ends, where ``</s>`` is
scored too), and a partial word that begins no LM word costs ``unk_score_offset`` once.

``search_type: flashlight`` (needs ``kenlm_path`` and ``flashlight_cfg.lexicon_path``) runs the same search
constrained by a pronunciation lexicon (:func:`ctc_lexicon_beam_search`, flashlight's lexicon decoder):

- every emitted word is a lexicon word: a prefix whose partial spelling begins no lexicon spelling, or whose
  spelling is complete (a separator follows, or the utterance ends) but spells no word, is dropped;
- a complete spelling becomes the word it spells that scores best under the LM given the preceding words
  (homophones; ties go to the alphabetically first word); the hypothesis text is the words, so a model over
  phones outputs words, while ``y_sequence`` keeps the token ids;
- a lexicon word the LM does not know scores the LM's ``<unk>`` probability plus ``unk_weight`` (``-inf``,
  NeMo's default: such words are never emitted);
- per frame, the ``beam_size_token`` most likely tokens are tried (those below ``pyctcdecode_cfg.token_min_logp``
  skipped, the best kept); prefixes more than ``beam_threshold`` below the best are dropped;
- ``sil_weight`` is added per word-separator token (``" "`` of char models), ``beam_beta`` per word;
- words are separated by the separator token (char models) or begin with a ``▁`` piece (BPE models), and
  lexicon spellings are written in the model's labels (pieces for BPE models);
- ``boost_path`` (word boosting) is not supported.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any, NamedTuple

import torch
from nemo.collections.asr.parts.submodules.lexicon import (
    LexiconEntry,
    SpellingTrie,
    read_lexicon,
    spell_with_token_ids,
)
from nemo.collections.asr.parts.submodules.ngram_lm import BOS, EOS, NGramLanguageModel
from nemo.collections.asr.parts.utils.rnnt_utils import Hypothesis, NBestHypotheses

__all__ = [
    "BeamCTCInfer",
    "BeamCTCInferConfig",
    "FlashlightConfig",
    "LexiconState",
    "LexiconWordLMFusion",
    "PyCTCDecodeConfig",
    "WordLMFusion",
    "ctc_lexicon_beam_search",
    "ctc_prefix_beam_search",
    "ctc_prefix_beam_search_with_lm",
    "lexicon_token_roles",
    "token_word_parts",
]

SEARCH_TYPES = ("default", "pyctcdecode", "flashlight")
DECODING_TYPES = ("char", "subword")
SUBWORD_WORD_START = "\u2581"  # sentencepiece's "▁": a piece that begins a word
_LN_10 = math.log(10.0)
_NEG_INF = float("-inf")
_PRUNED = -1  # prefix-tree child of a prefix whose fused score is -inf (it left the lexicon)
# NeMo 1.23's other pyctcdecode_cfg keys (prune_history, hotwords), accepted only at these values.
_NEMO_PYCTCDECODE_DEFAULTS = {"prune_history": False, "hotwords": None, "hotword_weight": 10.0}


@dataclass
class PyCTCDecodeConfig:
    """``decoding.beam.pyctcdecode_cfg``: pruning of the LM-fused search (natural-log units).

    Attributes:
        beam_prune_logp: drop prefixes scoring this far below the best one at a frame.
        token_min_logp: per frame, extend only with tokens at least this likely (the best one always).
        unk_score_offset: one-time score of a partial word that begins no LM word (pyctcdecode's decoder
            argument; not a NeMo 1.23 key).
    """

    beam_prune_logp: float = -10.0
    token_min_logp: float = -5.0
    unk_score_offset: float = -10.0


@dataclass
class FlashlightConfig:
    """``decoding.beam.flashlight_cfg``: options of the lexicon search (``search_type: flashlight``).

    Attributes:
        lexicon_path: pronunciation lexicon (see :mod:`nemo.collections.asr.parts.submodules.lexicon`).
        boost_path: word boosting file; not supported (must be null).
        beam_size_token: tokens tried per frame (the most likely ones).
        beam_threshold: drop prefixes scoring more than this below the best one at a frame.
        unk_weight: added to the ``<unk>`` score of a lexicon word the LM does not know; ``-inf`` never emits one.
        sil_weight: added per word-separator token.
    """

    lexicon_path: str | None = None
    boost_path: str | None = None
    beam_size_token: int = 16
    beam_threshold: float = 20.0
    unk_weight: float = float("-inf")
    sil_weight: float = 0.0


@dataclass
class BeamCTCInferConfig:
    """``decoding.beam``: options of the prefix beam search."""

    beam_size: int = 4
    search_type: str = "default"
    preserve_alignments: bool = False
    compute_timestamps: bool = False
    return_best_hypothesis: bool = True
    beam_alpha: float = 1.0
    beam_beta: float = 0.0
    kenlm_path: str | None = None
    flashlight_cfg: FlashlightConfig = field(default_factory=FlashlightConfig)
    pyctcdecode_cfg: PyCTCDecodeConfig = field(default_factory=PyCTCDecodeConfig)


def ctc_prefix_beam_search(
    log_probs: torch.Tensor, blank_id: int, beam_size: int
) -> list[tuple[list[int], float]]:
    """CTC prefix beam search over one utterance, without a language model.

    A prefix is the collapsed label sequence, kept with two log-probabilities (paths ending in blank and in
    its last token), so the score of a prefix sums over all its alignments; every token is tried at every
    frame. With a beam as large as the number of prefixes the scores are exact.

    Args:
        log_probs: (T, V) log-probabilities of one utterance.
        blank_id: index of the blank class.
        beam_size: number of prefixes kept per step.

    Returns:
        Up to ``beam_size`` ``(token ids, log-probability)`` pairs, best first.
    """
    finished = _fused_prefix_search(log_probs, blank_id, beam_size, _ACOUSTIC_ONLY, _NEG_INF, _NEG_INF)
    return [(tokens, score) for score, tokens, _ in finished]


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


class _ScaledWordLM:
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


class WordLMFusion(_ScaledWordLM):
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


class _AcousticOnly:
    """The scoring of the search without a LM: every prefix scores 0."""

    _STATE = WordState((), "", 0.0, 0.0)

    def initial_state(self) -> WordState:
        return self._STATE

    def extend(self, state: WordState, token: int) -> WordState:
        return self._STATE

    def final_score(self, state: WordState) -> float:
        return 0.0


_ACOUSTIC_ONLY = _AcousticOnly()


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


class LexiconWordLMFusion(_ScaledWordLM):
    """Lexicon-constrained word n-gram LM scoring of CTC prefixes (flashlight's lexicon decoder).

    Spellings are indexed once in a :class:`SpellingTrie`; the best word of each ``(context, spelling)`` is
    cached for the life of the object, so one instance serves every utterance.

    Args:
        language_model: the word n-gram model.
        spellings: ``(word, token ids)`` per lexicon entry (see
            :func:`~nemo.collections.asr.parts.submodules.lexicon.spell_with_token_ids`).
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


def _logaddexp(a: float, b: float) -> float:
    if a < b:
        a, b = b, a
    if b == _NEG_INF:
        return a
    return a + math.log1p(math.exp(b - a))


def ctc_prefix_beam_search_with_lm(
    log_probs: torch.Tensor,
    blank_id: int,
    beam_size: int,
    fusion: WordLMFusion,
    token_min_logp: float = -5.0,
    beam_prune_logp: float = -10.0,
) -> list[tuple[list[int], float]]:
    """CTC prefix beam search over one utterance, ranked by acoustic plus word-LM score.

    Each prefix (a collapsed token sequence, stored as a node of a prefix tree) keeps the
    log-probabilities of its paths ending in blank and in its last token, and its :class:`WordState`.
    At every frame, prefixes are extended with the tokens scoring at least ``token_min_logp`` (and the
    frame's best token), ranked by ``acoustic + state.score``; the ``beam_size`` best are kept, minus
    those more than ``-beam_prune_logp`` below the best. With ``alpha = beta = 0`` and no pruning this is
    :func:`ctc_prefix_beam_search`.

    Args:
        log_probs: (T, V) log-probabilities of one utterance (natural log).
        blank_id: index of the blank class.
        beam_size: prefixes kept per frame.
        fusion: the LM scoring.
        token_min_logp: per-frame token pruning threshold.
        beam_prune_logp: per-frame prefix pruning margin (negative).

    Returns:
        Up to ``beam_size`` ``(token ids, fused score)`` pairs, best first, the score including the last
        word and ``</s>``.
    """
    finished = _fused_prefix_search(log_probs, blank_id, beam_size, fusion, token_min_logp, beam_prune_logp)
    return [(tokens, score) for score, tokens, _ in finished]


def ctc_lexicon_beam_search(
    log_probs: torch.Tensor,
    blank_id: int,
    beam_size: int,
    fusion: LexiconWordLMFusion,
    beam_size_token: int = 16,
    beam_threshold: float = 20.0,
    token_min_logp: float = -5.0,
) -> list[tuple[list[int], float, list[str]]]:
    """Lexicon-constrained CTC prefix beam search over one utterance (``search_type: flashlight``).

    The search of :func:`ctc_prefix_beam_search_with_lm`, scored by a :class:`LexiconWordLMFusion`: per
    frame only the ``beam_size_token`` most likely tokens (and of those, the ones at least ``token_min_logp``
    likely, the best always) extend prefixes, and prefixes that leave the lexicon are dropped.

    Args:
        log_probs: (T, V) log-probabilities of one utterance (natural log).
        blank_id: index of the blank class.
        beam_size: prefixes kept per frame.
        fusion: the lexicon and LM scoring.
        beam_size_token: tokens tried per frame.
        beam_threshold: per-frame prefix pruning margin (positive).
        token_min_logp: per-frame token pruning threshold.

    Returns:
        Up to ``beam_size`` ``(token ids, score, words)``, best first (the empty prefix, all blanks, when no
        lexicon word fits). When no surviving prefix ends on a whole word (the last word is not in the
        lexicon), they are ranked by their score so far and their words are those completed before it.
    """
    finished = _fused_prefix_search(
        log_probs,
        blank_id,
        beam_size,
        fusion,
        token_min_logp,
        -beam_threshold,
        beam_size_token=beam_size_token,
    )
    return [(tokens, score, list(fusion.final_words(state))) for score, tokens, state in finished]


def _fused_prefix_search(
    log_probs: torch.Tensor,
    blank_id: int,
    beam_size: int,
    fusion: WordLMFusion | LexiconWordLMFusion | _AcousticOnly,
    token_min_logp: float,
    beam_prune_logp: float,
    beam_size_token: int | None = None,
) -> list[tuple[float, list[int], WordState | LexiconState]]:
    """The prefix search behind :func:`ctc_prefix_beam_search`, :func:`ctc_prefix_beam_search_with_lm` and
    :func:`ctc_lexicon_beam_search`.

    Returns:
        ``(final score, token ids, state)`` of the surviving prefixes with a finite final score, best first;
        if none has one, ``(score so far, token ids, state)`` of the survivors instead.
    """
    parents = [-1]
    last_tokens = [-1]
    states = [fusion.initial_state()]
    children: dict[tuple[int, int], int] = {}
    beams = {0: (0.0, _NEG_INF)}  # node -> (log-prob of paths ending in blank, ... in its last token)
    for frame, extensions in _frame_candidates(log_probs, blank_id, token_min_logp, beam_size_token):
        ends_blank: dict[int, float] = {}
        ends_token: dict[int, float] = {}
        for node, (p_blank, p_token) in beams.items():
            # Staying on the prefix (a blank, or its last token repeated) is never pruned: it cannot leave
            # the lexicon, so some prefix always survives the frame.
            total = _logaddexp(p_blank, p_token)
            ends_blank[node] = total + frame[blank_id]
            last = last_tokens[node]
            if last >= 0:
                ends_token[node] = _logaddexp(ends_token.get(node, _NEG_INF), p_token + frame[last])
            for token, log_prob in extensions:
                score = p_blank + log_prob if token == last else total + log_prob
                if score == _NEG_INF:
                    continue
                child = children.get((node, token))
                if child is None:
                    state = fusion.extend(states[node], token)
                    child = _PRUNED if state.score == _NEG_INF else len(parents)
                    children[(node, token)] = child
                    if child == _PRUNED:
                        continue
                    parents.append(node)
                    last_tokens.append(token)
                    states.append(state)
                elif child == _PRUNED:
                    continue
                ends_token[child] = _logaddexp(ends_token.get(child, _NEG_INF), score)
        ranked = heapq.nlargest(
            beam_size,
            (
                (
                    _logaddexp(ends_blank.get(node, _NEG_INF), ends_token.get(node, _NEG_INF))
                    + states[node].score,
                    node,
                )
                for node in ends_blank.keys() | ends_token.keys()
            ),
        )
        if not ranked or ranked[0][0] == _NEG_INF:
            return []
        threshold = ranked[0][0] + beam_prune_logp
        beams = {
            node: (ends_blank.get(node, _NEG_INF), ends_token.get(node, _NEG_INF))
            for score, node in ranked
            if score >= threshold and score > _NEG_INF
        }
    finished = sorted(
        (
            (_logaddexp(p_blank, p_token) + fusion.final_score(states[node]), node)
            for node, (p_blank, p_token) in beams.items()
        ),
        reverse=True,
    )
    if finished and finished[0][0] == _NEG_INF:
        # No surviving prefix ends on a word (the last word is not in the lexicon, or was cut off): rank by
        # the running score instead, so the words completed before it are kept rather than lost.
        finished = sorted(
            (
                (_logaddexp(p_blank, p_token) + states[node].score, node)
                for node, (p_blank, p_token) in beams.items()
            ),
            reverse=True,
        )
    return [
        (score, _token_path(node, parents, last_tokens), states[node])
        for score, node in finished
        if score > _NEG_INF
    ]


def _frame_candidates(
    log_probs: torch.Tensor, blank_id: int, token_min_logp: float, beam_size_token: int | None
) -> Iterator[tuple[list[float], list[tuple[int, float]]]]:
    """Per frame of (T, V) ``log_probs``: its V log-probs, and the non-blank ``(token, log-prob)`` extensions
    to try, by token id.

    A token is tried when it is among the ``beam_size_token`` best of its frame (all, for ``None``) and
    scores at least ``token_min_logp``; the frame's best token is always tried.
    """
    log_probs = log_probs.detach().float().cpu()
    vocab = log_probs.shape[-1]
    top = vocab if beam_size_token is None else min(beam_size_token, vocab)
    values, indices = log_probs.topk(top, dim=-1)
    for frame, frame_values, frame_tokens in zip(log_probs.tolist(), values.tolist(), indices.tolist()):
        kept = sorted(
            (token, log_prob)
            for rank, (token, log_prob) in enumerate(zip(frame_tokens, frame_values))
            if token != blank_id and (rank == 0 or log_prob >= token_min_logp)
        )
        yield frame, kept


def _token_path(node: int, parents: list[int], last_tokens: list[int]) -> list[int]:
    """Token ids from the root of the prefix tree to ``node``."""
    path = []
    while node > 0:
        path.append(last_tokens[node])
        node = parents[node]
    return path[::-1]


class BeamCTCInfer:
    """Prefix beam search over each utterance of a batch, with optional word n-gram LM fusion.

    The ARPA file at ``kenlm_path`` (and, for ``search_type="flashlight"``, the lexicon) is read once, here;
    the decoding classes then call :meth:`set_vocabulary` and :meth:`set_decoding_type` so that tokens can be
    spelled into words.

    Args:
        blank_id: index of the blank class.
        beam_size: prefixes kept per step.
        search_type: ``"default"`` or ``"pyctcdecode"`` (the same search here), or ``"flashlight"`` (the
            lexicon search; needs ``kenlm_path`` and ``flashlight_cfg.lexicon_path``).
        return_best_hypothesis: one Hypothesis per utterance; ``False`` gives an NBestHypotheses each.
        preserve_alignments: not supported by the beam search (must be False).
        compute_timestamps: not supported by the beam search (must be False).
        beam_alpha: LM weight (used with ``kenlm_path``).
        beam_beta: score per word (used with ``kenlm_path``).
        kenlm_path: an ARPA word n-gram file (.arpa or .arpa.gz); ``None`` searches without a LM.
        flashlight_cfg: lexicon search options, see :class:`FlashlightConfig` (dict, DictConfig or dataclass).
        pyctcdecode_cfg: pruning options, see :class:`PyCTCDecodeConfig` (dict, DictConfig or dataclass).
    """

    override_fold_consecutive_value = False  # hypotheses already hold collapsed token ids

    def __init__(
        self,
        blank_id: int,
        beam_size: int,
        search_type: str = "default",
        return_best_hypothesis: bool = True,
        preserve_alignments: bool = False,
        compute_timestamps: bool = False,
        beam_alpha: float = 1.0,
        beam_beta: float = 0.0,
        kenlm_path: str | None = None,
        flashlight_cfg: Any = None,
        pyctcdecode_cfg: Any = None,
    ) -> None:
        if beam_size < 1:
            raise ValueError(f"decoding.beam.beam_size must be >= 1, got {beam_size}.")
        if search_type not in SEARCH_TYPES:
            raise ValueError(
                f"decoding.beam.search_type is {search_type!r}; expected one of {SEARCH_TYPES} (default and "
                "pyctcdecode run the fused prefix search, flashlight the lexicon search). nemo needs a decoder "
                "that is not shipped here."
            )
        if preserve_alignments or compute_timestamps:
            raise ValueError(
                "decoding.beam.preserve_alignments and decoding.beam.compute_timestamps are not supported by the "
                "beam search. Set them to false, or use decoding.strategy=greedy."
            )
        self.blank_id = blank_id
        self.beam_size = beam_size
        self.search_type = search_type
        self.return_best_hypothesis = return_best_hypothesis
        self.beam_alpha = float(beam_alpha)
        self.beam_beta = float(beam_beta)
        self.kenlm_path = kenlm_path
        self.flashlight_cfg = _flashlight_options(flashlight_cfg)
        self.pyctcdecode_cfg = _pyctcdecode_options(pyctcdecode_cfg)
        self.lexicon: list[LexiconEntry] | None = None
        if search_type == "flashlight":
            _check_flashlight_setup(self.flashlight_cfg, kenlm_path)
            self.lexicon = read_lexicon(self.flashlight_cfg.lexicon_path)
        self.language_model = _load_language_model(kenlm_path) if kenlm_path else None
        self.vocab: list[str] | None = None
        self.decoding_type: str | None = None
        self._fusion: WordLMFusion | LexiconWordLMFusion | None = None

    def set_vocabulary(self, vocab: list[str]) -> None:
        """Token strings by id (blank excluded): characters, or sentencepiece pieces."""
        self.vocab = list(vocab)
        self._fusion = None

    def set_decoding_type(self, decoding_type: str) -> None:
        """``"char"`` or ``"subword"``: how tokens form words for the LM."""
        if decoding_type not in DECODING_TYPES:
            raise ValueError(f"decoding type {decoding_type!r} is not one of {DECODING_TYPES}.")
        self.decoding_type = decoding_type
        self._fusion = None

    def __call__(
        self, decoder_output: torch.Tensor, decoder_lengths: torch.Tensor | None = None
    ) -> tuple[list[Hypothesis] | list[NBestHypotheses]]:
        """Search every utterance.

        Args:
            decoder_output: (B, T, V) log-probabilities.
            decoder_lengths: (B,) valid frames; ``None`` means all T.

        Returns:
            A one-tuple: a list of Hypothesis (best only) or of NBestHypotheses, ``y_sequence`` holding
            the token ids and ``score`` their log-probability (with a LM: the fused score). The lexicon search
            also sets ``text`` to the words (``""`` for an utterance where no lexicon word fits).
        """
        if not decoder_output.is_floating_point():
            raise ValueError(
                f"Beam search needs (B, T, V) log-probabilities, got a {decoder_output.dtype} tensor of shape "
                f"{tuple(decoder_output.shape)}. Pass the model's log_probs, or use decoding.strategy=greedy."
            )
        fusion = self._word_fusion()
        decoder_output = decoder_output.detach().float().cpu()
        frames = decoder_output.shape[1]
        lengths = [frames] * decoder_output.shape[0] if decoder_lengths is None else decoder_lengths.tolist()
        results = []
        for utterance, length in zip(decoder_output, lengths):
            n_best = self._search(utterance[: int(length)], fusion)
            results.append(n_best[0] if self.return_best_hypothesis else NBestHypotheses(n_best))
        return (results,)

    def _search(
        self, log_probs: torch.Tensor, fusion: WordLMFusion | LexiconWordLMFusion | None
    ) -> list[Hypothesis]:
        """The n-best hypotheses of one utterance's (T, V) ``log_probs``."""
        if isinstance(fusion, LexiconWordLMFusion):
            beams = ctc_lexicon_beam_search(
                log_probs,
                self.blank_id,
                self.beam_size,
                fusion,
                beam_size_token=self.flashlight_cfg.beam_size_token,
                beam_threshold=self.flashlight_cfg.beam_threshold,
                token_min_logp=self.pyctcdecode_cfg.token_min_logp,
            )
            return [
                Hypothesis(
                    score=score, y_sequence=torch.tensor(tokens, dtype=torch.long), text=" ".join(words)
                )
                for tokens, score, words in beams
            ] or [Hypothesis(score=_NEG_INF, y_sequence=torch.zeros(0, dtype=torch.long), text="")]
        if fusion is None:
            beams = ctc_prefix_beam_search(log_probs, self.blank_id, self.beam_size)
        else:
            beams = ctc_prefix_beam_search_with_lm(
                log_probs,
                self.blank_id,
                self.beam_size,
                fusion,
                token_min_logp=self.pyctcdecode_cfg.token_min_logp,
                beam_prune_logp=self.pyctcdecode_cfg.beam_prune_logp,
            )
        return [
            Hypothesis(score=score, y_sequence=torch.tensor(tokens, dtype=torch.long))
            for tokens, score in beams
        ]

    def _word_fusion(self) -> WordLMFusion | LexiconWordLMFusion | None:
        """The LM fusion for the current vocabulary, built on first use; ``None`` without a LM."""
        if self.language_model is None:
            return None
        if self._fusion is None:
            if self.vocab is None or self.decoding_type is None:
                raise RuntimeError(
                    "BeamCTCInfer with kenlm_path needs the token strings: call set_vocabulary(...) and "
                    "set_decoding_type('char' | 'subword') first (CTCDecoding and CTCBPEDecoding do)."
                )
            if self.lexicon is not None:
                self._fusion = LexiconWordLMFusion(
                    self.language_model,
                    spell_with_token_ids(
                        self.lexicon, self.vocab, source=str(self.flashlight_cfg.lexicon_path)
                    ),
                    lexicon_token_roles(self.vocab, self.decoding_type),
                    alpha=self.beam_alpha,
                    beta=self.beam_beta,
                    unk_weight=self.flashlight_cfg.unk_weight,
                    sil_weight=self.flashlight_cfg.sil_weight,
                )
            else:
                self._fusion = WordLMFusion(
                    self.language_model,
                    token_word_parts(self.vocab, self.decoding_type),
                    alpha=self.beam_alpha,
                    beta=self.beam_beta,
                    unk_score_offset=self.pyctcdecode_cfg.unk_score_offset,
                )
        return self._fusion


def _flashlight_options(flashlight_cfg: Any) -> FlashlightConfig:
    """``decoding.beam.flashlight_cfg`` as a :class:`FlashlightConfig` (numbers coerced, unknown keys refused)."""
    if is_dataclass(flashlight_cfg):
        flashlight_cfg = asdict(flashlight_cfg)
    options = dict(flashlight_cfg or {})
    known = [option.name for option in fields(FlashlightConfig)]
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise ValueError(
            f"decoding.beam.flashlight_cfg has unknown keys {unknown}; expected some of {known}. Remove them."
        )
    config = FlashlightConfig(**options)
    config.beam_size_token = int(config.beam_size_token)
    config.beam_threshold = float(config.beam_threshold)
    config.unk_weight = float(config.unk_weight)
    config.sil_weight = float(config.sil_weight)
    return config


def _check_flashlight_setup(config: FlashlightConfig, kenlm_path: str | None) -> None:
    """Refuse a ``search_type: flashlight`` config that the lexicon search cannot run, saying which key to set."""
    if config.boost_path is not None:
        raise ValueError(
            f"decoding.beam.flashlight_cfg.boost_path={config.boost_path!r}: word boosting is not supported by "
            "this lexicon search. Set boost_path to null."
        )
    if config.lexicon_path is None or kenlm_path is None:
        raise ValueError(
            "decoding.beam.search_type=flashlight runs the lexicon search, which needs both "
            f"decoding.beam.flashlight_cfg.lexicon_path (got {config.lexicon_path!r}) and decoding.beam.kenlm_path "
            f"(got {kenlm_path!r}). Set both, or use search_type=default for the search without a lexicon."
        )
    if config.beam_size_token < 1:
        raise ValueError(
            f"decoding.beam.flashlight_cfg.beam_size_token must be >= 1, got {config.beam_size_token}. "
            "Pass the number of tokens to try per frame (NeMo's default: 16)."
        )
    if not config.beam_threshold > 0:
        raise ValueError(
            f"decoding.beam.flashlight_cfg.beam_threshold must be > 0, got {config.beam_threshold}. Pass the score "
            "margin below the best prefix within which prefixes are kept (NeMo's default: 20.0)."
        )


def _pyctcdecode_options(pyctcdecode_cfg: Any) -> PyCTCDecodeConfig:
    """``decoding.beam.pyctcdecode_cfg`` as a :class:`PyCTCDecodeConfig`.

    NeMo 1.23's keys this search does not implement are accepted at their NeMo defaults only.
    """
    if is_dataclass(pyctcdecode_cfg):
        pyctcdecode_cfg = asdict(pyctcdecode_cfg)
    options = dict(pyctcdecode_cfg or {})
    known = {option.name for option in fields(PyCTCDecodeConfig)}
    unsupported = {
        key: value
        for key, value in options.items()
        if key not in known and _NEMO_PYCTCDECODE_DEFAULTS.get(key, object()) != value
    }
    if unsupported:
        raise ValueError(
            f"decoding.beam.pyctcdecode_cfg has unsupported options {unsupported}; this search reads "
            f"{sorted(known)} (and accepts {sorted(_NEMO_PYCTCDECODE_DEFAULTS)} at NeMo's defaults "
            f"{_NEMO_PYCTCDECODE_DEFAULTS}). Remove those keys."
        )
    return PyCTCDecodeConfig(**{key: value for key, value in options.items() if key in known})


def _load_language_model(kenlm_path: str) -> NGramLanguageModel:
    """Read the ARPA file named by ``decoding.beam.kenlm_path``."""
    if not Path(kenlm_path).is_file():
        raise FileNotFoundError(
            f"decoding.beam.kenlm_path={kenlm_path!r} does not exist. Pass the path of an ARPA word n-gram file "
            "(.arpa or .arpa.gz), e.g. one written by `nemo asr build-lm MANIFEST --out lm.arpa`."
        )
    return NGramLanguageModel.from_arpa(kenlm_path)

"""CTC prefix beam search over one utterance: acoustic only, fused with a word n-gram LM, or constrained by a lexicon.

A prefix is a collapsed token sequence, stored as a node of a prefix tree, with two log-probabilities (its paths
ending in blank and in its last token), so its score sums over all its alignments. Each frame extends the kept
prefixes with candidate tokens and keeps the ``beam_size`` best by ``acoustic + scorer state score``. The three
searches differ only in the scorer and in which tokens are tried per frame:

- :func:`ctc_prefix_beam_search`: no scorer, every token tried, no pruning (``search_type: default`` without
  ``kenlm_path``);
- :func:`ctc_prefix_beam_search_with_lm`: a :class:`~nemo.collections.asr.parts.lm.word_lm_fusion.WordLMFusion`,
  tokens below ``token_min_logp`` skipped, prefixes more than ``-beam_prune_logp`` below the best dropped;
- :func:`ctc_lexicon_beam_search`: a
  :class:`~nemo.collections.asr.parts.lm.lexicon_lm_fusion.LexiconWordLMFusion`, only the ``beam_size_token``
  most likely tokens tried (those below ``token_min_logp`` skipped, the best kept), prefixes that leave the lexicon
  or fall more than ``beam_threshold`` below the best dropped.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterator
from typing import Protocol

import torch
from nemo.collections.asr.parts.lm.lexicon_lm_fusion import LexiconState, LexiconWordLMFusion
from nemo.collections.asr.parts.lm.word_lm_fusion import WordLMFusion, WordState

__all__ = [
    "PrefixScorer",
    "ctc_lexicon_beam_search",
    "ctc_prefix_beam_search",
    "ctc_prefix_beam_search_with_lm",
]

_NEG_INF = float("-inf")
_PRUNED = -1  # prefix-tree child of a prefix whose scorer state scores -inf (it left the lexicon)


class PrefixScorer(Protocol):
    """What the search asks of a scorer: a state per prefix whose ``score`` is added to the acoustic score."""

    def initial_state(self) -> WordState | LexiconState:
        """The state of the empty prefix."""

    def extend(self, state: WordState | LexiconState, token: int) -> WordState | LexiconState:
        """The state after appending ``token`` (a non-blank id); a ``-inf`` score drops the prefix."""

    def final_score(self, state: WordState | LexiconState) -> float:
        """The score of a finished utterance in ``state``."""


class _AcousticOnly:
    """The scorer of the search without a LM: every prefix scores 0."""

    _STATE = WordState((), "", 0.0, 0.0)

    def initial_state(self) -> WordState:
        return self._STATE

    def extend(self, state: WordState, token: int) -> WordState:
        return self._STATE

    def final_score(self, state: WordState) -> float:
        return 0.0


_ACOUSTIC_ONLY = _AcousticOnly()


def ctc_prefix_beam_search(
    log_probs: torch.Tensor, blank_id: int, beam_size: int
) -> list[tuple[list[int], float]]:
    """CTC prefix beam search over one utterance, without a language model.

    Every token is tried at every frame. With a beam as large as the number of prefixes the scores are exact.

    Args:
        log_probs: (T, V) log-probabilities of one utterance.
        blank_id: index of the blank class.
        beam_size: number of prefixes kept per step.

    Returns:
        Up to ``beam_size`` ``(token ids, log-probability)`` pairs, best first.
    """
    finished = _prefix_search(log_probs, blank_id, beam_size, _ACOUSTIC_ONLY, _NEG_INF, _NEG_INF)
    return [(tokens, score) for score, tokens, _ in finished]


def ctc_prefix_beam_search_with_lm(
    log_probs: torch.Tensor,
    blank_id: int,
    beam_size: int,
    fusion: WordLMFusion,
    token_min_logp: float = -5.0,
    beam_prune_logp: float = -10.0,
) -> list[tuple[list[int], float]]:
    """CTC prefix beam search over one utterance, ranked by acoustic plus word-LM score.

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
    finished = _prefix_search(log_probs, blank_id, beam_size, fusion, token_min_logp, beam_prune_logp)
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
    finished = _prefix_search(
        log_probs,
        blank_id,
        beam_size,
        fusion,
        token_min_logp,
        -beam_threshold,
        beam_size_token=beam_size_token,
    )
    return [(tokens, score, list(fusion.final_words(state))) for score, tokens, state in finished]


def _prefix_search(
    log_probs: torch.Tensor,
    blank_id: int,
    beam_size: int,
    scorer: PrefixScorer,
    token_min_logp: float,
    beam_prune_logp: float,
    beam_size_token: int | None = None,
) -> list[tuple[float, list[int], WordState | LexiconState]]:
    """The prefix search behind the three public searches.

    Args:
        log_probs: (T, V) log-probabilities of one utterance.
        blank_id: index of the blank class.
        beam_size: prefixes kept per frame.
        scorer: the state and score of each prefix beside its acoustic log-probability.
        token_min_logp: per-frame token pruning threshold (``-inf``: none).
        beam_prune_logp: per-frame prefix pruning margin, negative (``-inf``: none).
        beam_size_token: tokens tried per frame (``None``: all).

    Returns:
        ``(final score, token ids, state)`` of the surviving prefixes with a finite final score, best first;
        if none has one, ``(score so far, token ids, state)`` of the survivors instead.
    """
    parents = [-1]
    last_tokens = [-1]
    states = [scorer.initial_state()]
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
                    state = scorer.extend(states[node], token)
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
            (_logaddexp(p_blank, p_token) + scorer.final_score(states[node]), node)
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


def _logaddexp(a: float, b: float) -> float:
    """``ln(exp(a) + exp(b))`` of two floats, exact when either is ``-inf``."""
    if a < b:
        a, b = b, a
    if b == _NEG_INF:
        return a
    return a + math.log1p(math.exp(b - a))

"""CTC prefix beam search over one utterance: exact against brute force, fused scores against the LM's own
probabilities, and the pruning that ``pyctcdecode_cfg`` controls."""

import itertools
import math

import pytest
import torch
from nemo.collections.asr.parts.lm.ngram_lm import BOS, EOS, estimate_ngram_lm
from nemo.collections.asr.parts.lm.word_lm_fusion import WordLMFusion, token_word_parts
from nemo.collections.asr.parts.submodules.ctc_prefix_search import (
    ctc_prefix_beam_search,
    ctc_prefix_beam_search_with_lm,
)

SMALL = [" ", "a", "b"]  # blank = 3
NO_PRUNING = {"token_min_logp": float("-inf"), "beam_prune_logp": float("-inf")}


def brute_force_prefix_probabilities(probs: torch.Tensor, blank: int) -> dict[tuple[int, ...], float]:
    """Sum the probability of every alignment path by collapsed label sequence (V**T paths)."""
    totals: dict[tuple[int, ...], float] = {}
    frames, vocab = probs.shape
    for path in itertools.product(range(vocab), repeat=frames):
        collapsed = tuple(label for label, _ in itertools.groupby(path) if label != blank)
        p = math.prod(float(probs[t, label]) for t, label in enumerate(path))
        totals[collapsed] = totals.get(collapsed, 0.0) + p
    return totals


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_prefix_beam_search_with_a_wide_beam_is_exact(seed):
    log_probs = torch.randn(5, 3, generator=torch.Generator().manual_seed(seed)).log_softmax(-1)
    exact = brute_force_prefix_probabilities(log_probs.exp(), blank=2)
    beams = ctc_prefix_beam_search(log_probs, blank_id=2, beam_size=len(exact))
    assert len(beams) == len(exact)
    for tokens, score in beams:
        assert math.exp(score) == pytest.approx(exact[tuple(tokens)], rel=1e-4)
    best = max(exact, key=exact.get)
    assert tuple(beams[0][0]) == best


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_fused_scores_are_acoustic_plus_weighted_word_scores(seed):
    log_probs = torch.randn(6, 4, generator=torch.Generator().manual_seed(seed)).log_softmax(-1)
    exact = brute_force_prefix_probabilities(log_probs.exp(), blank=3)
    lm = estimate_ngram_lm(["a b", "b a", "a a b"], order=2)
    alpha, beta = 0.7, 0.4
    fusion = WordLMFusion(lm, token_word_parts(SMALL, "char"), alpha=alpha, beta=beta)

    beams = ctc_prefix_beam_search_with_lm(log_probs, 3, 10_000, fusion, **NO_PRUNING)

    assert {tuple(tokens) for tokens, _ in beams} == set(exact)
    for tokens, score in beams:
        words = "".join(SMALL[t] for t in tokens).split()
        context, lm_log10 = [BOS], 0.0
        for word in [*words, EOS]:
            lm_log10 += lm.score(tuple(context), word)
            context.append(word)
        expected = math.log(exact[tuple(tokens)]) + alpha * math.log(10) * lm_log10 + beta * len(words)
        assert score == pytest.approx(expected, abs=1e-4), words
    assert [score for _, score in beams] == sorted((score for _, score in beams), reverse=True)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fused_search_without_lm_weight_or_pruning_matches_the_acoustic_search(seed):
    log_probs = torch.randn(10, 4, generator=torch.Generator().manual_seed(seed)).log_softmax(-1)
    lm = estimate_ngram_lm(["a b", "b a"], order=2)
    fusion = WordLMFusion(lm, token_word_parts(SMALL, "char"), alpha=0.0, beta=0.0)

    fused = ctc_prefix_beam_search_with_lm(log_probs, 3, 4, fusion, **NO_PRUNING)
    acoustic = ctc_prefix_beam_search(log_probs, 3, 4)

    assert [tokens for tokens, _ in fused] == [tokens for tokens, _ in acoustic]
    assert [score for _, score in fused] == pytest.approx([score for _, score in acoustic], abs=1e-4)


def unweighted_fusion() -> WordLMFusion:
    """A fusion that adds nothing: the fused search ranks by acoustic score, so pruning alone is visible."""
    return WordLMFusion(
        estimate_ngram_lm(["a b"], order=2), token_word_parts(SMALL, "char"), alpha=0.0, beta=0.0
    )


def test_token_min_logp_skips_unlikely_tokens_but_never_the_frames_best():
    # Frame 0: only "a" is at least e^-1 likely. Frame 1: nothing is, but "b" is the frame's best.
    probs = torch.tensor([[0.05, 0.6, 0.05, 0.3], [0.2, 0.1, 0.36, 0.34]])
    log_probs = probs.log()

    kept = ctc_prefix_beam_search_with_lm(
        log_probs, 3, 50, unweighted_fusion(), token_min_logp=-1.0, beam_prune_logp=float("-inf")
    )
    everything = ctc_prefix_beam_search_with_lm(log_probs, 3, 50, unweighted_fusion(), **NO_PRUNING)

    exact = brute_force_prefix_probabilities(probs, blank=3)
    assert {tuple(tokens) for tokens, _ in everything} == set(exact)
    assert {tuple(tokens) for tokens, _ in kept} == {(), (1,), (2,), (1, 2)}


@pytest.mark.parametrize("margin", [1.0, 3.0])
def test_beam_prune_logp_drops_prefixes_that_far_below_the_best(margin):
    log_probs = torch.randn(8, 4, generator=torch.Generator().manual_seed(5)).log_softmax(-1)

    pruned = ctc_prefix_beam_search_with_lm(
        log_probs, 3, 10_000, unweighted_fusion(), token_min_logp=float("-inf"), beam_prune_logp=-margin
    )
    unpruned = ctc_prefix_beam_search_with_lm(log_probs, 3, 10_000, unweighted_fusion(), **NO_PRUNING)

    # Without a LM weight the final score is the last frame's ranking score: survivors lie within the margin.
    assert all(score >= pruned[0][1] - margin for _, score in pruned)
    assert any(score < unpruned[0][1] - margin for _, score in unpruned)

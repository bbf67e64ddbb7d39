"""Perplexity against perplexities computed by hand with ``math`` from small distributions."""

import math

import pytest
import torch
from nemo.collections.common.metrics import Perplexity


def hand_perplexity(probs: list[float]) -> float:
    """exp(entropy) of one distribution, with 0 * log 0 = 0."""
    return math.exp(-sum(p * math.log(p) for p in probs if p > 0))


def hand_softmax(logits: list[float]) -> list[float]:
    exps = [math.exp(x) for x in logits]
    return [e / sum(exps) for e in exps]


BATCH_1 = [[0.5, 0.25, 0.25], [1.0, 0.0, 0.0]]
BATCH_2 = [[0.1, 0.2, 0.7]]
LOGITS = [[[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]], [[-1.0, 4.0, 0.5], [2.0, 2.0, -3.0]]]


def test_probs_give_the_mean_of_hand_computed_perplexities() -> None:
    metric = Perplexity()
    metric.update(probs=torch.tensor(BATCH_1))
    assert hand_perplexity(BATCH_1[0]) == pytest.approx(2**1.5)
    expected = (hand_perplexity(BATCH_1[0]) + 1.0) / 2
    result = metric.compute()
    assert result.dtype == torch.float64
    assert result.item() == pytest.approx(expected, rel=1e-6)


def test_logits_count_every_distribution_of_a_3d_batch() -> None:
    metric = Perplexity()
    metric.update(logits=torch.tensor(LOGITS))
    rows = [row for batch in LOGITS for row in batch]
    expected = sum(hand_perplexity(hand_softmax(row)) for row in rows) / len(rows)
    assert metric.num_distributions.item() == 4
    assert metric.compute().item() == pytest.approx(expected, rel=1e-6)


def test_logits_with_minus_infinity_give_a_finite_perplexity() -> None:
    metric = Perplexity()
    metric.update(logits=torch.tensor([[0.0, 0.0, float("-inf")]]))
    assert metric.compute().item() == pytest.approx(2.0, rel=1e-6)


def test_updates_accumulate_until_reset() -> None:
    metric = Perplexity()
    metric.update(probs=torch.tensor(BATCH_1))
    metric.update(torch.tensor(BATCH_2))
    rows = BATCH_1 + BATCH_2
    expected = sum(hand_perplexity(row) for row in rows) / len(rows)
    assert metric.compute().item() == pytest.approx(expected, rel=1e-6)

    metric.reset()
    assert metric.num_distributions.item() == 0
    assert metric.perplexities_sum.item() == 0.0
    metric.update(probs=torch.tensor(BATCH_2))
    assert metric.compute().item() == pytest.approx(hand_perplexity(BATCH_2[0]), rel=1e-6)


def test_forward_returns_the_batch_value_and_keeps_accumulating() -> None:
    metric = Perplexity()
    metric(probs=torch.tensor(BATCH_1))
    batch_value = metric(probs=torch.tensor(BATCH_2))
    assert batch_value.item() == pytest.approx(hand_perplexity(BATCH_2[0]), rel=1e-6)
    assert metric.num_distributions.item() == 3


def test_compute_without_distributions_is_none() -> None:
    with pytest.warns(UserWarning, match="before the ``update``"):
        assert Perplexity().compute() is None


def test_the_input_is_detached() -> None:
    logits = torch.tensor([[1.0, 2.0]], requires_grad=True)
    metric = Perplexity()
    metric.update(logits=logits)
    assert not metric.perplexities_sum.requires_grad


@pytest.mark.parametrize(
    ("probs", "message"),
    [
        (
            [[0.5, 0.25, 0.25], [0.0, 0.0, 0.0]],
            r"1 of 2 distributions are invalid, the first at index \(1,\)",
        ),
        ([[1.2, -0.2]], r"minimum -0.2"),
    ],
)
def test_validate_args_rejects_probs_that_are_not_distributions(probs, message) -> None:
    with pytest.raises(ValueError, match=message):
        Perplexity().update(probs=torch.tensor(probs))


def test_validate_args_rejects_nan_logits() -> None:
    with pytest.raises(ValueError, match="`logits` with 1 NaN values out of 3"):
        Perplexity().update(logits=torch.tensor([1.0, float("nan"), 0.0]))


def test_without_validate_args_probs_are_normalized() -> None:
    metric = Perplexity(validate_args=False)
    metric.update(probs=torch.tensor([[1.0, 1.0, 2.0]]))
    assert metric.compute().item() == pytest.approx(hand_perplexity([0.25, 0.25, 0.5]), rel=1e-6)


@pytest.mark.parametrize("kwargs", [{}, {"probs": torch.tensor([1.0]), "logits": torch.tensor([0.0])}])
def test_exactly_one_input_is_required(kwargs) -> None:
    with pytest.raises(ValueError, match="exactly one of `probs` and `logits`"):
        Perplexity().update(**kwargs)


def test_a_scalar_input_is_rejected() -> None:
    with pytest.raises(ValueError, match="0-dimensional `logits`"):
        Perplexity().update(logits=torch.tensor(1.0))


def test_unnormalized_probs_are_normalized_as_torch_categorical_does() -> None:
    """NeMo 1.23 builds torch's Categorical, which normalizes non-negative weights even with validate_args."""
    metric = Perplexity()
    metric.update(probs=torch.tensor([[1.0, 1.0, 2.0]]))
    assert metric.compute().item() == pytest.approx(hand_perplexity([0.25, 0.25, 0.5]), rel=1e-6)

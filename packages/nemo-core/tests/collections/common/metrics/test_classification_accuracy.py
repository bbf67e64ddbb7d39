"""TopKClassificationAccuracy against top-k hits counted by hand."""

import math

import pytest
import torch
from nemo.collections.common.metrics import TopKClassificationAccuracy
from nemo.collections.common.metrics.classification_accuracy import compute_topk_accuracy

# Classes ranked by score, per row: [1, 2, 0, 3], [0, 1, 2, 3], [3, 2, 0, 1], [1, 3, 0, 2].
LOGITS = [
    [0.1, 0.5, 0.4, 0.0],
    [0.9, 0.05, 0.03, 0.02],
    [0.2, 0.1, 0.3, 0.4],
    [0.25, 0.35, 0.1, 0.3],
]
LABELS = [2, 0, 1, 3]
# The label's rank in each row: 2nd, 1st, 4th, 2nd. So top-1: 1 hit, top-2: 3, top-3: 3, top-4: 4.
HITS = {1: 1, 2: 3, 3: 3, 4: 4}


def test_top_1_is_a_list_with_one_tensor() -> None:
    metric = TopKClassificationAccuracy()
    assert metric.top_k == [1]
    metric.update(torch.tensor(LOGITS), torch.tensor(LABELS))
    (accuracy,) = metric.compute()
    assert isinstance(accuracy, torch.Tensor)
    assert accuracy.item() == pytest.approx(HITS[1] / 4)


def test_several_k_give_one_float_each_in_order() -> None:
    metric = TopKClassificationAccuracy(top_k=[3, 1, 2])
    metric.update(torch.tensor(LOGITS), torch.tensor(LABELS))
    assert metric.correct_counts_k.tolist() == [HITS[3], HITS[1], HITS[2]]
    assert metric.total_counts_k.tolist() == [4, 4, 4]
    assert metric.compute() == pytest.approx([HITS[3] / 4, HITS[1] / 4, HITS[2] / 4])


def test_update_replaces_the_counts_with_the_batch_ones() -> None:
    """NeMo's models read the counts after every step and sum them themselves."""
    metric = TopKClassificationAccuracy(top_k=[1, 2])
    metric.update(torch.tensor(LOGITS), torch.tensor(LABELS))
    metric.update(torch.tensor(LOGITS[:2]), torch.tensor(LABELS[:2]))
    assert metric.correct_counts_k.tolist() == [1, 2]
    assert metric.total_counts_k.tolist() == [2, 2]


def test_forward_returns_the_batch_accuracy() -> None:
    metric = TopKClassificationAccuracy(top_k=[1, 4])
    assert metric(logits=torch.tensor(LOGITS), labels=torch.tensor(LABELS)) == pytest.approx([0.25, 1.0])


def test_epoch_counts_assigned_by_a_model_are_computed() -> None:
    metric = TopKClassificationAccuracy(top_k=[1, 2])
    steps = []
    for rows in (slice(0, 2), slice(2, 4)):
        metric(logits=torch.tensor(LOGITS[rows]), labels=torch.tensor(LABELS[rows]))
        steps.append((metric.correct_counts_k, metric.total_counts_k))
    metric.correct_counts_k = torch.stack([c for c, _ in steps]).sum(dim=0)
    metric.total_counts_k = torch.stack([t for _, t in steps]).sum(dim=0)
    assert metric.compute() == pytest.approx([HITS[1] / 4, HITS[2] / 4])


def test_reset_zeroes_the_counts_and_they_are_not_saved() -> None:
    metric = TopKClassificationAccuracy(top_k=[1, 2])
    metric.update(torch.tensor(LOGITS), torch.tensor(LABELS))
    assert metric.state_dict() == {}
    metric.reset()
    assert metric.correct_counts_k.tolist() == [0, 0]
    assert metric.total_counts_k.tolist() == [0, 0]


@pytest.mark.parametrize(("top_k", "expected"), [(None, [1]), (3, [3]), ((1, 5), [1, 5]), ([2], [2])])
def test_top_k_is_always_a_list(top_k, expected) -> None:
    assert TopKClassificationAccuracy(top_k=top_k).top_k == expected


def test_top_k_predicted_labels_are_ranked_best_first() -> None:
    metric = TopKClassificationAccuracy(top_k=[1, 3])
    predicted = metric.top_k_predicted_labels(torch.tensor(LOGITS))
    assert predicted.tolist() == [[1, 2, 0], [0, 1, 2], [3, 2, 0], [1, 3, 0]]


def test_more_k_than_classes_is_an_error() -> None:
    with pytest.raises(ValueError, match=r"C >= max\(top_k\) = 5, got shape \(4, 4\)"):
        TopKClassificationAccuracy(top_k=[1, 5]).update(torch.tensor(LOGITS), torch.tensor(LABELS))


def test_labels_must_match_the_rows() -> None:
    with pytest.raises(ValueError, match="got 3 labels for logits of shape \\(4, 4\\)"):
        TopKClassificationAccuracy().update(torch.tensor(LOGITS), torch.tensor(LABELS[:3]))


def test_counts_of_the_wrong_length_are_an_error() -> None:
    metric = TopKClassificationAccuracy(top_k=[1, 2])
    metric.update(torch.tensor(LOGITS), torch.tensor(LABELS))
    metric.top_k = [1, 2, 3]
    with pytest.raises(ValueError, match=r"2 correct counts and 2 total counts for top_k=\[1, 2, 3\]"):
        metric.compute()


def test_compute_topk_accuracy_divides_each_count() -> None:
    scores = compute_topk_accuracy(torch.tensor([3, 0, 5]), torch.tensor([4, 0, 5]))
    assert scores[0] == 0.75
    assert math.isnan(scores[1])
    assert scores[2] == 1.0

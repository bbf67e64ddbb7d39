"""The speaker model's evaluation statistics: per-class counts and macro accuracy, against torchmetrics."""

import pytest
import torch
from nemo.collections.asr.models.label_models import class_stat_scores, macro_accuracy_from_stats
from torchmetrics.classification import MulticlassAccuracy


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_macro_accuracy_over_batches_matches_torchmetrics(seed):
    generator = torch.Generator().manual_seed(seed)
    num_classes = 8
    reference = MulticlassAccuracy(num_classes=num_classes, average="macro")
    stats = []
    for size in (5, 8, 3):
        logits = torch.randn(size, num_classes, generator=generator)
        # Classes 4-7 never occur as labels; 4 and 5 may still be predicted, 6 and 7 never are.
        logits[:, 6:] = -10.0
        labels = torch.randint(0, 4, (size,), generator=generator)
        reference.update(logits, labels)
        stats.append(class_stat_scores(logits, labels, num_classes))

    found = macro_accuracy_from_stats(torch.stack(stats).sum(dim=0))

    assert found.item() == pytest.approx(reference.compute().item(), abs=1e-6)


def test_class_stat_scores_counts():
    logits = torch.tensor([[2.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 2.0]])
    labels = torch.tensor([0, 1, 2, 2])

    tp, fp, tn, fn = class_stat_scores(logits, labels, 3)

    assert tp.tolist() == [1, 1, 1]
    assert fp.tolist() == [0, 1, 0]
    assert fn.tolist() == [0, 0, 1]
    assert tn.tolist() == [3, 2, 2]

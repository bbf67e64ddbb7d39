"""CTCLoss against brute-force enumeration of alignments, for every reduction."""

from __future__ import annotations

import itertools

import pytest
import torch
from nemo.collections.asr.losses import CTCLoss

BLANK = 2  # two labels (0, 1) + blank


def _brute_force_nll(log_probs: torch.Tensor, target: list[int]) -> torch.Tensor:
    """-log sum over every frame labelling that collapses to ``target`` (log_probs: (T, C))."""
    frames, classes = log_probs.shape
    scores = []
    for path in itertools.product(range(classes), repeat=frames):
        collapsed = [label for label, _ in itertools.groupby(path) if label != BLANK]
        if collapsed == target:
            scores.append(log_probs[torch.arange(frames), torch.tensor(path)].sum())
    if not scores:
        return torch.tensor(float("inf"))
    return -torch.logsumexp(torch.stack(scores), dim=0)


@pytest.fixture
def batch() -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    return {
        "log_probs": torch.randn(3, 5, BLANK + 1).log_softmax(-1),
        "targets": torch.tensor([[0, 1, 1], [1, 0, 0], [0, 0, 0]]),
        "input_lengths": torch.tensor([5, 4, 3]),
        "target_lengths": torch.tensor([3, 1, 2]),
    }


def _per_item(batch: dict[str, torch.Tensor]) -> torch.Tensor:
    return torch.stack(
        [
            _brute_force_nll(
                batch["log_probs"][b, : batch["input_lengths"][b]], batch["targets"][b, :n].tolist()
            )
            for b, n in enumerate(batch["target_lengths"].tolist())
        ]
    )


@pytest.mark.parametrize("reduction", ["none", "sum", "mean", "mean_batch", "mean_volume"])
def test_ctc_reductions_match_brute_force(batch: dict[str, torch.Tensor], reduction: str) -> None:
    per_item = _per_item(batch)
    lengths = batch["target_lengths"].double()
    expected = {
        "none": per_item,
        "sum": per_item.sum(),
        "mean": (per_item / lengths).mean(),
        "mean_batch": per_item.mean(),
        "mean_volume": per_item.sum() / lengths.sum(),
    }[reduction]

    loss = CTCLoss(num_classes=BLANK, reduction=reduction)(**batch)

    torch.testing.assert_close(loss, expected.to(loss.dtype), atol=1e-5, rtol=1e-5)


def test_ctc_zero_infinity_zeroes_impossible_alignments() -> None:
    impossible = {
        "log_probs": torch.randn(1, 2, BLANK + 1).log_softmax(-1),
        "targets": torch.tensor([[0, 0]]),  # needs 3 frames (0, blank, 0)
        "input_lengths": torch.tensor([2]),
        "target_lengths": torch.tensor([2]),
    }
    assert torch.isinf(CTCLoss(num_classes=BLANK, reduction="sum")(**impossible))
    assert CTCLoss(num_classes=BLANK, reduction="sum", zero_infinity=True)(**impossible) == 0


def test_ctc_rejects_unknown_reduction() -> None:
    with pytest.raises(ValueError, match="reduction='avg'"):
        CTCLoss(num_classes=BLANK, reduction="avg")

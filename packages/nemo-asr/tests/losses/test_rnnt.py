"""RNNTLoss against brute-force enumeration of RNN-T alignments: values, reductions, gradients."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import torch
from nemo.collections.asr.losses import RNNTLoss

VOCAB = 3  # labels 0..2, blank = 3


def _brute_force_nll(logits: torch.Tensor, target: list[int]) -> torch.Tensor:
    """-log P(target) summing every lattice path explicitly (logits: (T, U+1, V+1))."""
    log_probs = logits.log_softmax(-1)
    frames, labels = log_probs.size(0), len(target)
    scores = []
    # A path is T blanks and U labels, the last step being the blank that leaves frame T-1.
    for label_slots in itertools.combinations(range(frames + labels - 1), labels):
        t = u = 0
        score = log_probs.new_zeros(())
        for step in range(frames + labels):
            if step in label_slots:
                score = score + log_probs[t, u, target[u]]
                u += 1
            else:
                score = score + log_probs[t, u, VOCAB]
                t += 1
        scores.append(score)
    return -torch.logsumexp(torch.stack(scores), dim=0)


@pytest.fixture
def batch() -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    return {
        # Padded beyond the longest item (T=5 > 4, U+1=5 > 3+1) to check the trimming too.
        "log_probs": torch.randn(3, 5, 5, VOCAB + 1, dtype=torch.float64),
        "targets": torch.tensor([[0, 2, 1, 0], [1, 1, 0, 0], [2, 0, 0, 0]]),
        "input_lengths": torch.tensor([4, 3, 2]),
        "target_lengths": torch.tensor([3, 2, 1]),
    }


def _per_item(batch: dict[str, torch.Tensor]) -> torch.Tensor:
    items = []
    for b, (frames, labels) in enumerate(
        zip(batch["input_lengths"].tolist(), batch["target_lengths"].tolist())
    ):
        logits = batch["log_probs"][b, :frames, : labels + 1]
        items.append(_brute_force_nll(logits, batch["targets"][b, :labels].tolist()))
    return torch.stack(items)


@pytest.mark.parametrize("reduction", [None, "sum", "mean", "mean_batch", "mean_volume"])
def test_rnnt_reductions_match_brute_force(batch: dict[str, torch.Tensor], reduction: str | None) -> None:
    per_item = _per_item(batch)
    lengths = batch["target_lengths"].double()
    expected = {
        None: per_item,
        "sum": per_item.sum(),
        "mean": (per_item / lengths).mean(),
        "mean_batch": per_item.mean(),
        "mean_volume": per_item.sum() / lengths.sum(),
    }[reduction]

    loss = RNNTLoss(num_classes=VOCAB, reduction=reduction)(**batch)

    torch.testing.assert_close(loss.double(), expected, atol=1e-5, rtol=1e-5)


def test_rnnt_gradient_matches_brute_force(batch: dict[str, torch.Tensor]) -> None:
    logits = batch["log_probs"].clone().requires_grad_(True)
    RNNTLoss(num_classes=VOCAB)(**{**batch, "log_probs": logits}).backward()

    reference = batch["log_probs"].clone().requires_grad_(True)
    _per_item({**batch, "log_probs": reference}).mean().backward()

    torch.testing.assert_close(logits.grad, reference.grad, atol=1e-5, rtol=1e-4)


def test_rnnt_accepts_log_probabilities_as_well_as_logits(batch: dict[str, torch.Tensor]) -> None:
    loss = RNNTLoss(num_classes=VOCAB)
    from_logits = loss(**batch)
    from_log_probs = loss(**{**batch, "log_probs": batch["log_probs"].log_softmax(-1)})
    torch.testing.assert_close(from_logits, from_log_probs)


def test_rnnt_rejects_unsupported_options() -> None:
    with pytest.raises(ValueError, match="reduction='avg'"):
        RNNTLoss(num_classes=VOCAB, reduction="avg")
    with pytest.raises(ValueError, match="loss_name='tdt'"):
        RNNTLoss(num_classes=VOCAB, loss_name="tdt")
    with pytest.raises(ValueError, match="fastemit_lambda=-0.1"):
        RNNTLoss(num_classes=VOCAB, loss_kwargs={"fastemit_lambda": -0.1})
    with pytest.raises(ValueError, match="'beta'"):
        RNNTLoss(num_classes=VOCAB, loss_kwargs={"beta": 1})


@pytest.mark.parametrize("fastemit_lambda", [0.0, 0.5])
def test_fastemit_matches_nemo_numba_loss(fastemit_lambda: float) -> None:
    """Values and gradients equal NeMo 1.23's numba RNN-T loss (data/make_rnnt_fastemit_reference.py)."""
    ref = torch.load(Path(__file__).parent / "data" / "rnnt_fastemit_nemo123.pt")
    acts = ref["acts"].clone().requires_grad_(True)
    loss = RNNTLoss(
        num_classes=acts.size(-1) - 1, reduction=None, loss_kwargs={"fastemit_lambda": fastemit_lambda}
    )
    value = loss(
        log_probs=acts, targets=ref["labels"], input_lengths=ref["act_lens"], target_lengths=ref["lab_lens"]
    )
    value.sum().backward()
    torch.testing.assert_close(value, ref[f"loss_{fastemit_lambda}"], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(acts.grad, ref[f"grad_{fastemit_lambda}"], atol=1e-5, rtol=1e-4)

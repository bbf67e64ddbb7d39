"""AngularSoftmaxLoss: NeMo 1.23's values, the ArcFace formula written out in float64, ports and gradients."""

import math

import pytest
import torch
from nemo.collections.asr.losses import AngularSoftmaxLoss


def _arcface(logits: torch.Tensor, labels: torch.Tensor, scale: float, margin: float) -> float:
    """Deng et al. (2019), eq. 3, one example at a time in float64."""
    total = 0.0
    for row, label in zip(logits.double().tolist(), labels.tolist()):
        theta = math.acos(min(max(row[label], -1 + 1e-7), 1 - 1e-7))
        target = math.exp(scale * math.cos(theta + margin))
        others = sum(math.exp(scale * value) for index, value in enumerate(row) if index != label)
        total += -math.log(target / (target + others))
    return total / len(labels)


@pytest.mark.parametrize(("case", "kwargs"), [("default", {}), ("titanet", {"scale": 30, "margin": 0.2})])
def test_matches_nemo(expected, case, kwargs):
    loss = AngularSoftmaxLoss(**kwargs)(logits=expected["angular/logits"], labels=expected["angular/labels"])
    assert loss.item() == pytest.approx(expected[f"angular/{case}"].item(), rel=1e-5)


@pytest.mark.parametrize(("scale", "margin"), [(20.0, 1.35), (30.0, 0.2), (1.0, 0.0)])
def test_matches_the_arcface_formula(scale, margin):
    generator = torch.Generator().manual_seed(3)
    logits = torch.rand(7, 4, generator=generator) * 2 - 1
    labels = torch.tensor([0, 1, 2, 3, 3, 2, 1])

    loss = AngularSoftmaxLoss(scale=scale, margin=margin)(logits=logits, labels=labels)

    assert loss.item() == pytest.approx(_arcface(logits, labels, scale, margin), rel=1e-5)


def test_margin_raises_the_loss_and_gradients_reach_the_logits():
    logits = (torch.rand(5, 3) * 1.6 - 0.8).requires_grad_()
    labels = torch.tensor([0, 1, 2, 0, 1])

    with_margin = AngularSoftmaxLoss(scale=10, margin=0.3)(logits=logits, labels=labels)
    without = AngularSoftmaxLoss(scale=10, margin=0.0)(logits=logits, labels=labels)
    with_margin.backward()

    assert with_margin.item() > without.item()
    assert logits.grad is not None and logits.grad.abs().sum() > 0


def test_ports_are_typechecked():
    with pytest.raises(TypeError, match="logits"):
        AngularSoftmaxLoss()(logits=torch.rand(2, 3, 4), labels=torch.tensor([0, 1]))

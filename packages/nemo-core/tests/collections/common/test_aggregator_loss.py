"""``AggregatorLoss`` (NeMo 1.23's): a plain or weighted sum of keyword losses, with NeMo's input names."""

import pytest
import torch
from nemo.collections.common.losses import AggregatorLoss


def test_sums_the_losses_and_keeps_gradients():
    first = torch.tensor(1.5, requires_grad=True)
    second = torch.tensor(2.0, requires_grad=True)

    total = AggregatorLoss(num_inputs=2)(loss_1=first, loss_2=second)
    total.backward()

    assert total.item() == 3.5
    assert first.grad.item() == 1.0 and second.grad.item() == 1.0


def test_weights_multiply_the_losses_in_input_order():
    losses = {f"loss_{i}": torch.tensor(float(i)) for i in range(1, 12)}
    weights = [0.1 * i for i in range(1, 12)]

    total = AggregatorLoss(num_inputs=11, weights=weights)(**losses)

    assert total.item() == pytest.approx(sum(0.1 * i * i for i in range(1, 12)))


def test_input_types_name_every_loss():
    assert list(AggregatorLoss(num_inputs=3).input_types) == ["loss_1", "loss_2", "loss_3"]


def test_weights_must_match_the_number_of_inputs():
    with pytest.raises(ValueError, match="expected one weight per input loss \\(3\\), got 2"):
        AggregatorLoss(num_inputs=3, weights=[1.0, 2.0])


def test_a_missing_loss_is_a_type_error():
    with pytest.raises(Exception, match="loss_2"):
        AggregatorLoss(num_inputs=2)(loss_1=torch.tensor(1.0))

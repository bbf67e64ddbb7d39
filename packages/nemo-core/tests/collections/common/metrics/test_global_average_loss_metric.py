"""GlobalAverageLossMetric: the true mean over measurements, counted by hand."""

import math

import pytest
import torch
from nemo.collections.common.metrics import GlobalAverageLossMetric

# (mean loss of the batch, number of measurements in it)
BATCHES = [(2.0, 3), (6.0, 1), (0.5, 4)]


def test_mean_losses_are_weighted_by_their_measurements() -> None:
    metric = GlobalAverageLossMetric(take_avg_loss=True)
    for loss, count in BATCHES:
        metric.update(torch.tensor(loss), torch.tensor(count))
    expected = (2.0 * 3 + 6.0 * 1 + 0.5 * 4) / (3 + 1 + 4)
    result = metric.compute()
    assert result.dtype == torch.float64
    assert result.item() == pytest.approx(expected)


def test_summed_losses_are_added_as_they_are() -> None:
    metric = GlobalAverageLossMetric(take_avg_loss=False)
    for loss, count in BATCHES:
        metric.update(torch.tensor(loss), torch.tensor(count))
    assert metric.compute().item() == pytest.approx((2.0 + 6.0 + 0.5) / (3 + 1 + 4))


def test_reset_starts_over() -> None:
    metric = GlobalAverageLossMetric()
    metric.update(torch.tensor(10.0), torch.tensor(2))
    metric.reset()
    assert metric.loss_sum.item() == 0.0
    assert metric.num_measurements.item() == 0
    metric.update(torch.tensor(1.5), 2)
    assert metric.compute().item() == pytest.approx(1.5)


def test_forward_returns_the_batch_mean_and_keeps_the_global_one() -> None:
    metric = GlobalAverageLossMetric()
    assert metric(torch.tensor(2.0), torch.tensor(3)).item() == pytest.approx(2.0)
    assert metric(torch.tensor(6.0), torch.tensor(1)).item() == pytest.approx(6.0)
    assert metric.compute().item() == pytest.approx((2.0 * 3 + 6.0) / 4)


def test_no_measurement_gives_nan() -> None:
    with pytest.warns(UserWarning, match="before the ``update``"):
        assert math.isnan(GlobalAverageLossMetric().compute().item())


def test_the_loss_is_detached() -> None:
    weight = torch.tensor(3.0, requires_grad=True)
    metric = GlobalAverageLossMetric()
    metric.update(weight * 2, torch.tensor(1))
    assert not metric.compute().requires_grad

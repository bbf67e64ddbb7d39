"""AudioMetricWrapper against the torchmetrics metric it wraps, fed by hand."""

import pytest
import torch
from nemo.collections.asr.metrics import AudioMetricWrapper
from torchmetrics import MeanSquaredError
from torchmetrics.audio import ScaleInvariantSignalDistortionRatio, SignalNoiseRatio


def _batch(seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    target = torch.randn(4, 2, 80, generator=generator)
    preds = target + 0.3 * torch.randn(4, 2, 80, generator=generator)
    return preds, target, torch.tensor([80, 41, 60, 17])


def test_full_batches_pass_through():
    wrapped, reference = AudioMetricWrapper(SignalNoiseRatio()), SignalNoiseRatio()
    for seed in range(3):
        preds, target, _ = _batch(seed)
        torch.testing.assert_close(wrapped(preds=preds, target=target), reference(preds=preds, target=target))
    torch.testing.assert_close(wrapped.compute(), reference.compute())


@pytest.mark.parametrize("channel", [None, 1])
def test_lengths_and_channel_selection(channel):
    wrapped = AudioMetricWrapper(ScaleInvariantSignalDistortionRatio(), channel=channel)
    reference = ScaleInvariantSignalDistortionRatio()
    for seed in range(2):
        preds, target, lengths = _batch(seed)
        picked = slice(None) if channel is None else channel
        per_example = [
            reference(preds=preds[b, picked, :n], target=target[b, picked, :n])
            for b, n in enumerate(lengths.tolist())
        ]
        batch_value = wrapped(preds=preds, target=target, input_length=lengths)
        torch.testing.assert_close(batch_value, sum(per_example) / len(per_example))
    torch.testing.assert_close(wrapped.compute(), reference.compute())
    wrapped.reset()
    preds, target, lengths = _batch(5)
    wrapped.update(preds=preds, target=target, input_length=lengths)
    expected = ScaleInvariantSignalDistortionRatio()
    for b, n in enumerate(lengths.tolist()):
        expected.update(preds=preds[b, picked, :n], target=target[b, picked, :n])
    torch.testing.assert_close(wrapped.compute(), expected.compute())


def test_unverified_metrics_need_confirmation():
    with pytest.raises(ValueError, match="metric_using_batch_averaging=True"):
        AudioMetricWrapper(MeanSquaredError())
    AudioMetricWrapper(MeanSquaredError(), metric_using_batch_averaging=True)
    with pytest.raises(ValueError, match="torchmetrics.Metric"):
        AudioMetricWrapper(torch.nn.MSELoss())

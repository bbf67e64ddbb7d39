"""``AudioMetricWrapper``: a torchmetrics audio metric on one channel and on examples of different lengths.

Example:
    >>> from torchmetrics.audio import SignalNoiseRatio
    >>> snr = AudioMetricWrapper(SignalNoiseRatio(), channel=0)
    >>> batch_snr = snr(preds=estimate, target=clean, input_length=lengths)  # (B, C, T), (B,)
    >>> epoch_snr = snr.compute()
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import torch
from torchmetrics import Metric
from torchmetrics.audio.pesq import PerceptualEvaluationSpeechQuality
from torchmetrics.audio.pit import PermutationInvariantTraining
from torchmetrics.audio.sdr import ScaleInvariantSignalDistortionRatio, SignalDistortionRatio
from torchmetrics.audio.snr import ScaleInvariantSignalNoiseRatio, SignalNoiseRatio
from torchmetrics.audio.stoi import ShortTimeObjectiveIntelligibility

__all__ = ["AudioMetricWrapper"]

_BATCH_AVERAGING_METRICS: tuple[type[Metric], ...] = (
    PerceptualEvaluationSpeechQuality,
    PermutationInvariantTraining,
    ScaleInvariantSignalDistortionRatio,
    ScaleInvariantSignalNoiseRatio,
    ShortTimeObjectiveIntelligibility,
    SignalDistortionRatio,
    SignalNoiseRatio,
)
"""torchmetrics classes known to average their per-example values over a batch."""


class AudioMetricWrapper(Metric):
    """Feed a metric one channel of (B, C, T) signals, and each example only up to its valid length.

    With ``input_length``, every example of a batch is passed to the metric separately, trimmed to its
    length; the value ``forward`` returns for the batch is then the mean of the per-example values,
    which equals the metric's own batch value only if the metric averages over examples. That is why
    metrics other than torchmetrics' SNR, SI-SNR, SDR, SI-SDR, PIT, PESQ and STOI need
    ``metric_using_batch_averaging=True``. ``update``, ``compute`` and ``reset`` act on the wrapped metric,
    which holds all the state.

    Args:
        metric: the torchmetrics metric to wrap.
        channel: channel of ``preds``/``target`` to evaluate; None passes all channels.
        metric_using_batch_averaging: confirm that ``metric`` averages over the batch.
    """

    full_state_update: bool = False

    def __init__(
        self, metric: Metric, channel: int | None = None, metric_using_batch_averaging: bool | None = None
    ) -> None:
        super().__init__()
        if not isinstance(metric, Metric):
            raise ValueError(f"AudioMetricWrapper needs a torchmetrics.Metric, got {type(metric).__name__}.")
        if not metric_using_batch_averaging and type(metric) not in _BATCH_AVERAGING_METRICS:
            raise ValueError(
                f"AudioMetricWrapper cannot tell whether {type(metric).__name__} averages over the batch, which "
                "forward() assumes when input_length is given. If it does, pass metric_using_batch_averaging=True."
            )
        self._metric = metric
        self._channel = channel

    def _select_channel(self, preds: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, C, T) -> (B, T) for the configured channel; unchanged when ``channel`` is None."""
        if self._channel is None:
            return preds, target
        return preds[:, self._channel], target[:, self._channel]

    @staticmethod
    def _examples(
        preds: torch.Tensor, target: torch.Tensor, input_length: torch.Tensor
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Each example's ``(preds, target)`` cut to its ``input_length`` samples (time is the last axis)."""
        for index, length in enumerate(input_length.tolist()):
            yield preds[index, ..., :length], target[index, ..., :length]

    def update(
        self, preds: torch.Tensor, target: torch.Tensor, input_length: torch.Tensor | None = None
    ) -> None:
        """Add a batch to the wrapped metric.

        Args:
            preds: (B, C, T) estimates.
            target: (B, C, T) references.
            input_length: (B,) valid samples of each example; None: all samples are valid.
        """
        preds, target = self._select_channel(preds, target)
        if input_length is None:
            self._metric.update(preds=preds, target=target)
            return
        for example_preds, example_target in self._examples(preds, target, input_length):
            self._metric.update(preds=example_preds, target=example_target)

    def compute(self) -> torch.Tensor:
        """The wrapped metric over everything added since the last reset."""
        return self._metric.compute()

    def forward(
        self, preds: torch.Tensor, target: torch.Tensor, input_length: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Add a batch (as :meth:`update`) and return the metric of this batch alone.

        Returns:
            The wrapped metric's batch value; with ``input_length``, the mean of the per-example values.
        """
        preds, target = self._select_channel(preds, target)
        if input_length is None:
            return self._metric(preds=preds, target=target)
        values = [
            self._metric(preds=example_preds, target=example_target)
            for example_preds, example_target in self._examples(preds, target, input_length)
        ]
        return torch.stack(values).mean(dim=0)

    def reset(self) -> None:
        """Reset the wrapped metric."""
        super().reset()
        self._metric.reset()

    def _wrap_compute(self, compute: Callable) -> Callable:
        # The wrapper holds no state of its own: skip torchmetrics' caching and syncing of compute(); the
        # wrapped metric does both.
        return compute

    def __repr__(self) -> str:
        return f"{type(self).__name__}(metric: {self._metric!r}, channel: {self._channel})"

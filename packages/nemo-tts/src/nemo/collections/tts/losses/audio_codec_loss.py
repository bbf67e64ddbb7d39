"""Losses of NeMo 1.23's audio codec recipes (``audio_codec_loss``): length-masked regression losses, SI-SDR,
feature matching and the hinge / least-squares GAN losses.

Not provided here: ``MultiResolutionMelLoss``, ``STFTLoss`` and ``MultiResolutionSTFTLoss``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from nemo.collections.tts.parts.utils.helpers import mask_from_lens
from nemo.core.classes.loss import Loss
from nemo.core.classes.typecheck import typecheck
from nemo.core.neural_types.elements import (
    AudioSignal,
    LengthsType,
    LossType,
    PredictionsType,
    RegressionValuesType,
    VoidType,
)
from nemo.core.neural_types.neural_type import NeuralType

__all__ = [
    "DiscriminatorHingedLoss",
    "DiscriminatorSquaredLoss",
    "FeatureMatchingLoss",
    "GeneratorHingedLoss",
    "GeneratorSquaredLoss",
    "MaskedLoss",
    "MaskedMAELoss",
    "MaskedMSELoss",
    "RelativeFeatureMatchingLoss",
    "SISDRLoss",
    "TimeDomainLoss",
]

_LOSS_OUTPUT = {"loss": NeuralType(elements_type=LossType())}
_AUDIO_INPUTS = {
    "audio_real": NeuralType(("B", "T"), AudioSignal()),
    "audio_gen": NeuralType(("B", "T"), AudioSignal()),
    "audio_len": NeuralType(tuple("B"), LengthsType()),
}
_FMAP_INPUTS = {
    "fmaps_real": [[NeuralType(elements_type=VoidType())]],
    "fmaps_gen": [[NeuralType(elements_type=VoidType())]],
}
_SCORES = [NeuralType(("B", "C", "T"), VoidType())]


class MaskedLoss(Loss):
    """Element-wise loss averaged over channels, summed over time and divided by each item's length.

    ``loss = loss_scale * mean_b( sum_t mean_d f(pred, target)[b, d, t] / max(len_b, 1) )``. Positions past an
    item's length are not masked: callers zero them in both tensors (so they add 0), as NeMo's codec does.

    Args:
        loss_fn: element-wise loss ``f(input=..., target=...)`` (reduction ``"none"``).
        loss_scale: factor applied to the result.
    """

    def __init__(self, loss_fn: Callable[..., torch.Tensor], loss_scale: float = 1.0) -> None:
        super().__init__()
        self.loss_scale = loss_scale
        self.loss_fn = loss_fn

    @property
    def input_types(self) -> dict[str, NeuralType]:
        return {
            "predicted": NeuralType(("B", "D", "T"), PredictionsType()),
            "target": NeuralType(("B", "D", "T"), RegressionValuesType()),
            "target_len": NeuralType(tuple("B"), LengthsType()),
        }

    @property
    def output_types(self) -> dict[str, NeuralType]:
        return _LOSS_OUTPUT

    @typecheck()
    def forward(
        self, predicted: torch.Tensor, target: torch.Tensor, target_len: torch.Tensor
    ) -> torch.Tensor:
        if predicted.shape[2] != target.shape[2]:
            raise ValueError(
                f"{type(self).__name__}: predicted has {predicted.shape[2]} frames but target has "
                f"{target.shape[2]}; pass (B, D, T) tensors of the same length."
            )
        per_frame = self.loss_fn(input=predicted, target=target).mean(dim=1)
        per_item = per_frame.sum(dim=1) / torch.clamp(target_len, min=1.0)
        return self.loss_scale * per_item.mean()


class MaskedMAELoss(MaskedLoss):
    """:class:`MaskedLoss` with the absolute error."""

    def __init__(self, loss_scale: float = 1.0) -> None:
        super().__init__(loss_fn=torch.nn.L1Loss(reduction="none"), loss_scale=loss_scale)


class MaskedMSELoss(MaskedLoss):
    """:class:`MaskedLoss` with the squared error."""

    def __init__(self, loss_scale: float = 1.0) -> None:
        super().__init__(loss_fn=torch.nn.MSELoss(reduction="none"), loss_scale=loss_scale)


class TimeDomainLoss(Loss):
    """:class:`MaskedMAELoss` between two (B, T) waveforms."""

    def __init__(self) -> None:
        super().__init__()
        self.loss_fn = MaskedMAELoss()

    @property
    def input_types(self) -> dict[str, NeuralType]:
        return _AUDIO_INPUTS

    @property
    def output_types(self) -> dict[str, NeuralType]:
        return _LOSS_OUTPUT

    @typecheck()
    def forward(
        self, audio_real: torch.Tensor, audio_gen: torch.Tensor, audio_len: torch.Tensor
    ) -> torch.Tensor:
        return self.loss_fn(
            predicted=audio_gen.unsqueeze(1), target=audio_real.unsqueeze(1), target_len=audio_len
        )


class SISDRLoss(Loss):
    """Negative scale-invariant SDR (zero-mean), computed over each item's first ``audio_len`` samples.

    Per item, with zero-mean target ``s`` and estimate ``y``: ``a = (<y, s> + eps) / (||s||^2 + eps)``,
    ``SI-SDR = 10 log10((||a s||^2 + eps) / (||a s - y||^2 + eps))``; the loss is minus its batch mean
    (torchmetrics' ``ScaleInvariantSignalDistortionRatio(zero_mean=True)`` on unpadded items).

    Args:
        epsilon: the ``eps`` above.
    """

    def __init__(self, epsilon: float = 1e-8) -> None:
        super().__init__()
        self.epsilon = epsilon

    @property
    def input_types(self) -> dict[str, NeuralType]:
        return _AUDIO_INPUTS

    @property
    def output_types(self) -> dict[str, NeuralType]:
        return _LOSS_OUTPUT

    @typecheck()
    def forward(
        self, audio_real: torch.Tensor, audio_gen: torch.Tensor, audio_len: torch.Tensor
    ) -> torch.Tensor:
        eps = self.epsilon
        valid = mask_from_lens(audio_len, audio_real.shape[-1])
        count = audio_len.unsqueeze(1)
        target = (audio_real - audio_real.sum(dim=-1, keepdim=True) / count) * valid
        estimate = (audio_gen - audio_gen.sum(dim=-1, keepdim=True) / count) * valid
        scale = ((estimate * target).sum(dim=-1, keepdim=True) + eps) / (
            target.pow(2).sum(dim=-1, keepdim=True) + eps
        )
        projection = scale * target
        signal_power = projection.pow(2).sum(dim=-1)
        noise_power = (projection - estimate).pow(2).sum(dim=-1)
        si_sdr = 10.0 * torch.log10((signal_power + eps) / (noise_power + eps))
        return -si_sdr.mean()


def _mean_over_layers(
    fmaps_real: Sequence[Sequence[torch.Tensor]],
    fmaps_gen: Sequence[Sequence[torch.Tensor]],
    layer_loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
) -> torch.Tensor:
    """Mean over discriminators of the mean over their layers of ``layer_loss(real, gen)``."""
    total = 0.0
    for layers_real, layers_gen in zip(fmaps_real, fmaps_gen):
        per_layer = [layer_loss(real, gen) for real, gen in zip(layers_real, layers_gen)]
        total = total + sum(per_layer) / len(layers_real)
    return total / len(fmaps_real)


class FeatureMatchingLoss(Loss):
    """Mean absolute difference of discriminator feature maps, averaged over layers, then discriminators."""

    @property
    def input_types(self) -> dict[str, object]:
        return _FMAP_INPUTS

    @property
    def output_types(self) -> dict[str, NeuralType]:
        return _LOSS_OUTPUT

    @typecheck()
    def forward(
        self, fmaps_real: Sequence[Sequence[torch.Tensor]], fmaps_gen: Sequence[Sequence[torch.Tensor]]
    ) -> torch.Tensor:
        return _mean_over_layers(fmaps_real, fmaps_gen, lambda real, gen: (real - gen).abs().mean())


class RelativeFeatureMatchingLoss(Loss):
    """Feature matching where each feature's time-averaged error is divided by its time-averaged magnitude
    (https://arxiv.org/abs/2210.13438).

    Args:
        div_guard: added to the magnitude before dividing.
    """

    def __init__(self, div_guard: float = 1e-3) -> None:
        super().__init__()
        self.div_guard = div_guard

    @property
    def input_types(self) -> dict[str, object]:
        return _FMAP_INPUTS

    @property
    def output_types(self) -> dict[str, NeuralType]:
        return _LOSS_OUTPUT

    def _layer_loss(self, real: torch.Tensor, gen: torch.Tensor) -> torch.Tensor:
        magnitude = real.abs().mean(dim=-1)
        error = (real - gen).abs().mean(dim=-1)
        return (error / (magnitude + self.div_guard)).mean()

    @typecheck()
    def forward(
        self, fmaps_real: Sequence[Sequence[torch.Tensor]], fmaps_gen: Sequence[Sequence[torch.Tensor]]
    ) -> torch.Tensor:
        return _mean_over_layers(fmaps_real, fmaps_gen, self._layer_loss)


def _mean_over_discriminators(values: Sequence[torch.Tensor]) -> torch.Tensor:
    return sum(values) / len(values)


class GeneratorHingedLoss(Loss):
    """Mean over discriminators of ``mean(relu(1 - D(gen)))``."""

    @property
    def input_types(self) -> dict[str, object]:
        return {"disc_scores_gen": _SCORES}

    @property
    def output_types(self) -> dict[str, NeuralType]:
        return _LOSS_OUTPUT

    @typecheck()
    def forward(self, disc_scores_gen: Sequence[torch.Tensor]) -> torch.Tensor:
        return _mean_over_discriminators([torch.relu(1 - score).mean() for score in disc_scores_gen])


class GeneratorSquaredLoss(Loss):
    """Mean over discriminators of ``mean((1 - D(gen))^2)``."""

    @property
    def input_types(self) -> dict[str, object]:
        return {"disc_scores_gen": _SCORES}

    @property
    def output_types(self) -> dict[str, NeuralType]:
        return _LOSS_OUTPUT

    @typecheck()
    def forward(self, disc_scores_gen: Sequence[torch.Tensor]) -> torch.Tensor:
        return _mean_over_discriminators([(1 - score).pow(2).mean() for score in disc_scores_gen])


class DiscriminatorHingedLoss(Loss):
    """Mean over discriminators of ``(mean(relu(1 - D(real))) + mean(relu(1 + D(gen)))) / 2``."""

    @property
    def input_types(self) -> dict[str, object]:
        return {"disc_scores_real": _SCORES, "disc_scores_gen": _SCORES}

    @property
    def output_types(self) -> dict[str, NeuralType]:
        return _LOSS_OUTPUT

    @typecheck()
    def forward(
        self, disc_scores_real: Sequence[torch.Tensor], disc_scores_gen: Sequence[torch.Tensor]
    ) -> torch.Tensor:
        terms = [
            (torch.relu(1 - real).mean() + torch.relu(1 + gen).mean()) / 2
            for real, gen in zip(disc_scores_real, disc_scores_gen)
        ]
        return _mean_over_discriminators(terms)


class DiscriminatorSquaredLoss(Loss):
    """Mean over discriminators of ``(mean((1 - D(real))^2) + mean(D(gen)^2)) / 2``."""

    @property
    def input_types(self) -> dict[str, object]:
        return {"disc_scores_real": _SCORES, "disc_scores_gen": _SCORES}

    @property
    def output_types(self) -> dict[str, NeuralType]:
        return _LOSS_OUTPUT

    @typecheck()
    def forward(
        self, disc_scores_real: Sequence[torch.Tensor], disc_scores_gen: Sequence[torch.Tensor]
    ) -> torch.Tensor:
        terms = [
            ((1 - real).pow(2).mean() + gen.pow(2).mean()) / 2
            for real, gen in zip(disc_scores_real, disc_scores_gen)
        ]
        return _mean_over_discriminators(terms)

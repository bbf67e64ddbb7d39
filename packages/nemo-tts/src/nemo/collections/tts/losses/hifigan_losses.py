"""HiFi-GAN's least-squares GAN losses and feature matching (NeMo 1.23's classes and outputs).

Inputs are what :class:`~nemo.collections.tts.modules.hifigan_modules.MultiPeriodDiscriminator` and
``MultiScaleDiscriminator`` return: one score tensor (B, T_i) and one list of feature maps per discriminator.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from nemo.core.classes.loss import Loss
from nemo.core.classes.typecheck import typecheck
from nemo.core.neural_types.elements import LossType, VoidType
from nemo.core.neural_types.neural_type import NeuralType

__all__ = ["DiscriminatorLoss", "FeatureMatchingLoss", "GeneratorLoss"]


class FeatureMatchingLoss(Loss):
    """``2 * sum`` over discriminators and layers of ``mean(|real - generated|)`` of their feature maps."""

    @property
    def input_types(self) -> dict[str, object]:
        return {
            "fmap_r": [[NeuralType(elements_type=VoidType())]],
            "fmap_g": [[NeuralType(elements_type=VoidType())]],
        }

    @property
    def output_types(self) -> dict[str, NeuralType]:
        return {"loss": NeuralType(elements_type=LossType())}

    @typecheck()
    def forward(
        self, fmap_r: Sequence[Sequence[torch.Tensor]], fmap_g: Sequence[Sequence[torch.Tensor]]
    ) -> torch.Tensor:
        """The loss (scalar); ``fmap_r[d][l]`` and ``fmap_g[d][l]`` have the same shape."""
        loss = 0
        for real_maps, generated_maps in zip(fmap_r, fmap_g):
            for real, generated in zip(real_maps, generated_maps):
                loss = loss + torch.mean(torch.abs(real - generated))
        return loss * 2


class DiscriminatorLoss(Loss):
    """Least-squares discriminator loss: ``sum_d mean((1 - D(real))^2) + mean(D(generated)^2)``."""

    @property
    def input_types(self) -> dict[str, object]:
        return {
            "disc_real_outputs": [NeuralType(("B", "T"), VoidType())],
            "disc_generated_outputs": [NeuralType(("B", "T"), VoidType())],
        }

    @property
    def output_types(self) -> dict[str, object]:
        return {
            "loss": NeuralType(elements_type=LossType()),
            "real_losses": [NeuralType(elements_type=LossType())],
            "fake_losses": [NeuralType(elements_type=LossType())],
        }

    @typecheck()
    def forward(
        self, disc_real_outputs: Sequence[torch.Tensor], disc_generated_outputs: Sequence[torch.Tensor]
    ) -> tuple[torch.Tensor, list[float], list[float]]:
        """The loss (scalar) and each discriminator's real and generated terms as Python floats."""
        loss = 0
        real_losses, generated_losses = [], []
        for real, generated in zip(disc_real_outputs, disc_generated_outputs):
            real_loss = torch.mean((1 - real) ** 2)
            generated_loss = torch.mean(generated**2)
            loss = loss + (real_loss + generated_loss)
            real_losses.append(real_loss.item())
            generated_losses.append(generated_loss.item())
        return loss, real_losses, generated_losses


class GeneratorLoss(Loss):
    """Least-squares generator loss: ``sum_d mean((1 - D(generated))^2)``."""

    @property
    def input_types(self) -> dict[str, object]:
        return {"disc_outputs": [NeuralType(("B", "T"), VoidType())]}

    @property
    def output_types(self) -> dict[str, object]:
        return {
            "loss": NeuralType(elements_type=LossType()),
            "fake_losses": [NeuralType(elements_type=LossType())],
        }

    @typecheck()
    def forward(self, disc_outputs: Sequence[torch.Tensor]) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """The loss (scalar) and each discriminator's term (scalar tensors)."""
        loss = 0
        terms = []
        for generated in disc_outputs:
            term = torch.mean((1 - generated) ** 2)
            terms.append(term)
            loss = loss + term
        return loss, terms

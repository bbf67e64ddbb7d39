"""NeMo's learning-rate schedules, the registry of schedulers by name, and ``prepare_lr_scheduler``.

Every schedule is a ``torch.optim.lr_scheduler.LRScheduler`` stepped once per optimizer step
(Lightning ``interval: step``). ``last_epoch`` is therefore the step count, and ``base_lrs`` are the
optimizer's initial learning rates. The warmup-based schedules share one shape:

* warmup (``step <= warmup_steps``): ``base_lr * (step + 1) / (warmup_steps + 1)``;
* optional hold at ``base_lr`` for ``hold_steps`` after warmup;
* the schedule's own decay until ``max_steps``;
* ``min_lr`` after ``max_steps``.

``warmup_steps``/``hold_steps`` may be given as ratios of ``max_steps`` instead (``warmup_ratio``, ``hold_ratio``).

Example:
    >>> sched = CosineAnnealing(optimizer, warmup_steps=100, max_steps=1000, min_lr=1e-5)
    >>> for batch in loader:
    ...     optimizer.step()
    ...     sched.step()
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
import math
import warnings
from collections.abc import Mapping
from functools import partial
from typing import Any

import torch
from nemo.core.config.name_registry import NameRegistry
from nemo.core.config.param_overrides import named_params_overrides
from nemo.core.config.schedulers import get_scheduler_config, register_scheduler_params
from nemo.utils import logging
from omegaconf import DictConfig, OmegaConf
from torch.optim.lr_scheduler import LRScheduler


def _steps_from(
    steps: float | None, ratio: float | None, max_steps: int | None, kind: str, scheduler: str
) -> int | float:
    """Number of steps of a phase given either as a count or as a ratio of ``max_steps`` (0 if neither)."""
    if steps is not None and ratio is not None:
        raise ValueError(
            f"{scheduler} received both {kind}_steps={steps} and {kind}_ratio={ratio}; expected only one. "
            f"Set the other to null in the scheduler config."
        )
    if ratio is not None:
        if max_steps is None:
            raise ValueError(
                f"{scheduler} received {kind}_ratio={ratio} but no max_steps; a ratio needs the total number of "
                f"steps. Set max_steps (or trainer.max_steps), or give {kind}_steps instead."
            )
        return int(ratio * max_steps)
    return steps if steps is not None else 0


def _require_max_steps(max_steps: int | None, scheduler: str) -> int:
    if max_steps is None:
        raise ValueError(
            f"{scheduler} needs max_steps, got None. Set sched.max_steps or trainer.max_steps (or trainer.max_epochs "
            "with a train dataloader so that prepare_lr_scheduler can compute it)."
        )
    return max_steps


class _StepScheduler(LRScheduler):
    """``LRScheduler`` stepped once per optimizer step, whose rates are a function of the step alone.

    ``get_lr`` warns, as torch's schedulers do, when called outside ``step()``, then returns
    ``_get_lr_at(last_epoch)``, which each schedule defines.
    """

    def get_lr(self) -> list[float]:
        if not self._get_lr_called_within_step:
            warnings.warn(
                "To get the last learning rate computed by the scheduler, please use `get_last_lr()`.",
                UserWarning,
                stacklevel=2,
            )
        return self._get_lr_at(self.last_epoch)

    def _get_lr_at(self, step: int) -> list[float]:
        """The learning rate of every parameter group at ``step``, in the order of ``base_lrs``."""
        raise NotImplementedError(f"{type(self).__name__} must define _get_lr_at(step).")

    def _constant_lrs(self, lr: float) -> list[float]:
        """``lr`` for every parameter group."""
        return [lr for _ in self.base_lrs]


class _WarmupScheduler(_StepScheduler):
    """Base of the schedules with a warmup.

    ``_set_warmup`` resolves ``warmup_steps`` (a count or a ratio of ``max_steps``) and keeps ``max_steps`` and
    ``min_lr``; each subclass calls it in its ``__init__``, which keeps NeMo's signature. ``_get_warmup_lr`` gives
    NeMo's warmup rates ``base_lr * (step + 1) / (warmup_steps + 1)``.
    """

    def _set_warmup(
        self, warmup_steps: float | None, warmup_ratio: float | None, max_steps: int | None, min_lr: float
    ) -> None:
        self.max_steps = max_steps
        self.warmup_steps = _steps_from(warmup_steps, warmup_ratio, max_steps, "warmup", type(self).__name__)
        self.min_lr = min_lr

    def _get_warmup_lr(self, step: int) -> list[float]:
        fraction = (step + 1) / (self.warmup_steps + 1)
        return [initial_lr * fraction for initial_lr in self.base_lrs]


class WarmupPolicy(_WarmupScheduler):
    """Linear warmup to the base learning rate, then constant; ``min_lr`` after ``max_steps``.

    Args:
        optimizer: the optimizer whose learning rates are scheduled.
        warmup_steps: number of warmup steps.
        warmup_ratio: warmup as a fraction of ``max_steps`` (instead of ``warmup_steps``).
        max_steps: total number of steps.
        min_lr: learning rate after ``max_steps`` (and floor of the decaying subclasses).
        last_epoch: index of the last step, ``-1`` to start.
    """

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        *,
        warmup_steps: float | None = None,
        warmup_ratio: float | None = None,
        max_steps: int | None = None,
        min_lr: float = 0.0,
        last_epoch: int = -1,
    ) -> None:
        self._set_warmup(warmup_steps, warmup_ratio, max_steps, min_lr)
        super().__init__(optimizer, last_epoch)

    def _get_lr_at(self, step: int) -> list[float]:
        if step <= self.warmup_steps and self.warmup_steps > 0:
            return self._get_warmup_lr(step)
        if self._is_holding(step):
            return list(self.base_lrs)
        if self.max_steps is not None and step > self.max_steps:
            return self._constant_lrs(self.min_lr)
        return self._get_lr(step)

    def _is_holding(self, step: int) -> bool:
        """Whether ``step`` (past warmup) is in a hold at the base rate: never here, see :class:`WarmupHoldPolicy`."""
        return False

    def _get_lr(self, step: int) -> list[float]:
        """Learning rates after warmup: constant for this policy, overridden by the annealing schedules."""
        return list(self.base_lrs)


class SquareRootConstantPolicy(_StepScheduler):
    """``1 / sqrt(constant_steps)`` for ``constant_steps`` steps, then the subclass's decay; ``min_lr`` after ``max_steps``.

    Args:
        optimizer: the optimizer whose learning rates are scheduled.
        constant_steps: number of steps at the constant rate (must be > 0).
        constant_ratio: the same as a fraction of ``max_steps``.
        max_steps: total number of steps.
        min_lr: learning rate after ``max_steps``.
        last_epoch: index of the last step, ``-1`` to start.
    """

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        *,
        constant_steps: float | None = None,
        constant_ratio: float | None = None,
        max_steps: int | None = None,
        min_lr: float = 0.0,
        last_epoch: int = -1,
    ) -> None:
        self.max_steps = max_steps
        self.constant_steps = _steps_from(
            constant_steps, constant_ratio, max_steps, "constant", type(self).__name__
        )
        if self.constant_steps <= 0:
            raise ValueError(
                f"{type(self).__name__} needs constant_steps > 0 (its constant rate is 1 / sqrt(constant_steps)), "
                f"got {self.constant_steps}. Set constant_steps or constant_ratio in the scheduler config."
            )
        self.constant_lr = 1 / (self.constant_steps**0.5)
        self.min_lr = min_lr
        super().__init__(optimizer, last_epoch)

    def _get_lr_at(self, step: int) -> list[float]:
        if step <= self.constant_steps:
            return self._constant_lrs(self.constant_lr)
        if self.max_steps is not None and step > self.max_steps:
            return self._constant_lrs(self.min_lr)
        return self._get_lr(step)

    def _get_lr(self, step: int) -> list[float]:
        return list(self.base_lrs)


class WarmupHoldPolicy(WarmupPolicy):
    """Linear warmup, then hold at the base learning rate for ``hold_steps``, then the subclass's decay.

    Args:
        optimizer: the optimizer whose learning rates are scheduled.
        warmup_steps: number of warmup steps.
        warmup_ratio: warmup as a fraction of ``max_steps``.
        hold_steps: number of steps to hold the base rate after warmup.
        hold_ratio: hold as a fraction of ``max_steps``.
        max_steps: total number of steps.
        min_lr: learning rate after ``max_steps``.
        last_epoch: index of the last step, ``-1`` to start.
    """

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        *,
        warmup_steps: float | None = None,
        warmup_ratio: float | None = None,
        hold_steps: float | None = None,
        hold_ratio: float | None = None,
        max_steps: int | None = None,
        min_lr: float = 0.0,
        last_epoch: int = -1,
    ) -> None:
        name = type(self).__name__
        warmup = _steps_from(warmup_steps, warmup_ratio, max_steps, "warmup", name)
        hold = _steps_from(hold_steps, hold_ratio, max_steps, "hold", name)
        # NeMo's convention: `hold_steps` is the step where the hold ends (warmup + hold), 0 without a hold.
        self.hold_steps = hold + warmup if (hold_steps is not None or hold_ratio is not None) else 0
        super().__init__(
            optimizer,
            warmup_steps=warmup_steps,
            warmup_ratio=warmup_ratio,
            max_steps=max_steps,
            min_lr=min_lr,
            last_epoch=last_epoch,
        )

    def _is_holding(self, step: int) -> bool:
        return self.warmup_steps <= step < self.hold_steps


class WarmupAnnealHoldPolicy(_WarmupScheduler):
    """Linear warmup, the subclass's decay over ``max_steps - warmup - constant`` steps, then ``min_lr``.

    Args:
        optimizer: the optimizer whose learning rates are scheduled.
        warmup_steps: number of warmup steps.
        warmup_ratio: warmup as a fraction of ``max_steps``.
        constant_steps: number of steps at ``min_lr`` at the end of the decay.
        constant_ratio: the same as a fraction of ``max_steps``.
        max_steps: total number of steps.
        min_lr: final learning rate.
        last_epoch: index of the last step, ``-1`` to start.
    """

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        *,
        warmup_steps: float | None = None,
        warmup_ratio: float | None = None,
        constant_steps: float | None = None,
        constant_ratio: float | None = None,
        max_steps: int | None = None,
        min_lr: float = 0.0,
        last_epoch: int = -1,
    ) -> None:
        name = type(self).__name__
        self._set_warmup(warmup_steps, warmup_ratio, _require_max_steps(max_steps, name), min_lr)
        self.constant_steps = _steps_from(constant_steps, constant_ratio, max_steps, "constant", name)
        self.decay_steps = self.max_steps - (self.constant_steps + self.warmup_steps)
        super().__init__(optimizer, last_epoch)

    def _get_lr_at(self, step: int) -> list[float]:
        if self.warmup_steps > 0 and step <= self.warmup_steps:
            return self._get_warmup_lr(step)
        if self.constant_steps > 0 and self.warmup_steps + self.decay_steps < step <= self.max_steps:
            return self._get_constant_lr(step)
        if step > self.max_steps:
            return self._constant_lrs(self.min_lr)
        return self._get_lr(step)

    def _get_constant_lr(self, step: int) -> list[float]:
        return self._constant_lrs(self.min_lr)

    def _get_lr(self, step: int) -> list[float]:
        return list(self.base_lrs)


def _square_annealing(initial_lr: float, step: int, max_steps: int, min_lr: float) -> float:
    return max(initial_lr * ((max_steps - step) / max_steps) ** 2, min_lr)


def _squareroot_annealing(initial_lr: float, step: int, max_steps: int, min_lr: float) -> float:
    return max(initial_lr * ((max_steps - step) / max_steps) ** 0.5, min_lr)


def _cosine_annealing(initial_lr: float, step: int, max_steps: int, min_lr: float) -> float:
    return (initial_lr - min_lr) * 0.5 * (1 + math.cos(math.pi * step / max_steps)) + min_lr


def _linear_warmup_with_cosine_annealing(
    max_lr: float, warmup_steps: int, step: int, decay_steps: int, min_lr: float
) -> float:
    """Megatron's schedule: warmup ``max_lr * step / warmup``, cosine to ``min_lr`` over ``decay_steps``, then ``min_lr``."""
    if max_lr <= min_lr:
        raise ValueError(
            f"CosineAnnealing needs the base learning rate ({max_lr}) to exceed min_lr ({min_lr})."
        )
    if warmup_steps > 0 and step <= warmup_steps:
        return max_lr * step / warmup_steps
    if step > warmup_steps + decay_steps:
        return min_lr
    decay_ratio = (step - warmup_steps) / decay_steps
    return min_lr + 0.5 * (math.cos(math.pi * decay_ratio) + 1.0) * (max_lr - min_lr)


def _poly_decay(
    initial_lr: float, step: int, decay_steps: int, power: float, min_lr: float, cycle: bool
) -> float:
    if cycle:
        decay_steps *= 1.0 if step == 0 else math.ceil(step / decay_steps)
    else:
        step = min(step, decay_steps)
    return (initial_lr - min_lr) * math.pow(1.0 - step / decay_steps, power) + min_lr


def _noam_hold_annealing(
    initial_lr: float, step: int, warmup_steps: int, hold_steps: int, decay_rate: float, min_lr: float
) -> float:
    warmup_decay = max(1, warmup_steps**decay_rate)
    hold_decay = max(1, (step - hold_steps) ** decay_rate)
    return max(initial_lr * warmup_decay / hold_decay, min_lr)


def _check_min_lr(scheduler: LRScheduler, min_lr: float) -> None:
    for initial_lr in scheduler.base_lrs:
        if initial_lr < min_lr:
            raise ValueError(
                f"{type(scheduler).__name__} received an initial learning rate ({initial_lr}) lower than min_lr "
                f"({min_lr}). Lower sched.min_lr or raise optim.lr."
            )


class _PolynomialDecay:
    """What the two polynomial schedules share: NeMo's constructor and the decay itself.

    It comes before the warmup policy in their bases, so its ``__init__`` keeps ``power`` and ``cycle``, then
    passes the rest on to that policy.

    Args:
        optimizer: the optimizer whose learning rates are scheduled.
        max_steps: total number of steps.
        min_lr: floor of the decay and rate after ``max_steps``.
        power: exponent of the decay.
        cycle: restart the decay with a longer period instead of staying at ``min_lr``.
        last_epoch: index of the last step, ``-1`` to start.
        **kwargs: the warmup (and hold) arguments of the policy.
    """

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        *,
        max_steps: int,
        min_lr: float = 0.0,
        power: float = 1.0,
        cycle: bool = False,
        last_epoch: int = -1,
        **kwargs,
    ) -> None:
        self.power = power
        self.cycle = cycle
        super().__init__(optimizer, max_steps=max_steps, min_lr=min_lr, last_epoch=last_epoch, **kwargs)

    def _get_poly_decay_lr(self, step: int, decay_steps: int) -> list[float]:
        """Rates ``step`` steps into a decay of ``decay_steps`` steps, for every parameter group."""
        return [
            _poly_decay(
                initial_lr,
                step=step,
                decay_steps=decay_steps,
                power=self.power,
                min_lr=self.min_lr,
                cycle=self.cycle,
            )
            for initial_lr in self.base_lrs
        ]


class SquareAnnealing(WarmupPolicy):
    """Warmup, then ``base_lr * (1 - t / T) ** 2`` with ``t`` counted from the end of warmup, floored at ``min_lr``."""

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        *,
        max_steps: int,
        min_lr: float = 1e-5,
        last_epoch: int = -1,
        **kwargs,
    ) -> None:
        super().__init__(optimizer, max_steps=max_steps, min_lr=min_lr, last_epoch=last_epoch, **kwargs)

    def _get_lr(self, step: int) -> list[float]:
        return [
            _square_annealing(
                initial_lr, step - self.warmup_steps, self.max_steps - self.warmup_steps, self.min_lr
            )
            for initial_lr in self.base_lrs
        ]


class SquareRootAnnealing(WarmupPolicy):
    """Warmup, then ``base_lr * sqrt(1 - step / max_steps)`` (step counted from 0), floored at ``min_lr``."""

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        *,
        max_steps: int,
        min_lr: float = 0,
        last_epoch: int = -1,
        **kwargs,
    ) -> None:
        super().__init__(optimizer, max_steps=max_steps, min_lr=min_lr, last_epoch=last_epoch, **kwargs)

    def _get_lr(self, step: int) -> list[float]:
        return [
            _squareroot_annealing(initial_lr, step, self.max_steps, self.min_lr)
            for initial_lr in self.base_lrs
        ]


class CosineAnnealing(WarmupAnnealHoldPolicy):
    """Warmup, then half a cosine from the base rate to ``min_lr`` at ``max_steps``.

    With ``constant_steps`` > 0 it follows Megatron's variant instead: warmup ``base_lr * step / warmup_steps``,
    cosine to ``min_lr`` over ``max_steps - warmup_steps - constant_steps`` steps, then ``min_lr``.
    """

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        *,
        max_steps: int,
        min_lr: float = 0,
        last_epoch: int = -1,
        **kwargs,
    ) -> None:
        super().__init__(optimizer, max_steps=max_steps, min_lr=min_lr, last_epoch=last_epoch, **kwargs)

    def _get_lr(self, step: int) -> list[float]:
        _check_min_lr(self, self.min_lr)
        if not self.constant_steps:
            return [
                _cosine_annealing(
                    initial_lr, step - self.warmup_steps, self.max_steps - self.warmup_steps, self.min_lr
                )
                for initial_lr in self.base_lrs
            ]
        return self._get_linear_warmup_with_cosine_annealing_lr(step)

    def _get_warmup_lr(self, step: int) -> list[float]:
        if not self.constant_steps:
            return super()._get_warmup_lr(step)
        return self._get_linear_warmup_with_cosine_annealing_lr(step)

    def _get_constant_lr(self, step: int) -> list[float]:
        return self._get_linear_warmup_with_cosine_annealing_lr(step)

    def _get_linear_warmup_with_cosine_annealing_lr(self, step: int) -> list[float]:
        return [
            _linear_warmup_with_cosine_annealing(
                initial_lr, self.warmup_steps, step, self.decay_steps, self.min_lr
            )
            for initial_lr in self.base_lrs
        ]


class NoamAnnealing(_WarmupScheduler):
    """The Transformer schedule: ``base_lr * d_model**-0.5 * min(step**-0.5, step * warmup_steps**-1.5)``.

    ``step`` is at least 1; after warmup the rate is floored at ``min_lr``.

    Args:
        optimizer: the optimizer whose learning rates are scheduled.
        d_model: model width used for normalization.
        warmup_steps: number of warmup steps.
        warmup_ratio: warmup as a fraction of ``max_steps``.
        max_steps: total number of steps (only needed with ``warmup_ratio``).
        min_lr: floor after warmup.
        last_epoch: index of the last step, ``-1`` to start.
    """

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        *,
        d_model: int,
        warmup_steps: float | None = None,
        warmup_ratio: float | None = None,
        max_steps: int | None = None,
        min_lr: float = 0.0,
        last_epoch: int = -1,
    ) -> None:
        self._normalize = d_model ** (-0.5)
        self._set_warmup(warmup_steps, warmup_ratio, max_steps, min_lr)
        super().__init__(optimizer, last_epoch)

    def _get_lr_at(self, step: int) -> list[float]:
        _check_min_lr(self, self.min_lr)
        step = max(1, step)
        return [self._noam_annealing(initial_lr, step) for initial_lr in self.base_lrs]

    def _noam_annealing(self, initial_lr: float, step: int) -> float:
        if self.warmup_steps > 0:
            mult = self._normalize * min(step ** (-0.5), step * (self.warmup_steps ** (-1.5)))
        else:
            mult = self._normalize * step ** (-0.5)
        out_lr = initial_lr * mult
        if step > self.warmup_steps:
            out_lr = max(out_lr, self.min_lr)
        return out_lr


class NoamHoldAnnealing(WarmupHoldPolicy):
    """Warmup, hold, then ``base_lr * warmup_steps**decay_rate / (step - hold)**decay_rate``, floored at ``min_lr``.

    Args:
        optimizer: the optimizer whose learning rates are scheduled.
        max_steps: total number of steps.
        decay_rate: exponent of the decay (0.5 is Noam's inverse square root).
        min_lr: floor of the decay and rate after ``max_steps``.
        last_epoch: index of the last step, ``-1`` to start.
        **kwargs: ``warmup_steps``/``warmup_ratio`` (required, > 0) and ``hold_steps``/``hold_ratio``.
    """

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        *,
        max_steps: int,
        decay_rate: float = 0.5,
        min_lr: float = 0.0,
        last_epoch: int = -1,
        **kwargs,
    ) -> None:
        self.decay_rate = decay_rate
        super().__init__(optimizer, max_steps=max_steps, min_lr=min_lr, last_epoch=last_epoch, **kwargs)

    def _get_lr(self, step: int) -> list[float]:
        if not self.warmup_steps:
            raise ValueError(
                "NoamHoldAnnealing cannot be used without warmup steps; set warmup_steps or warmup_ratio > 0."
            )
        hold_steps = self.hold_steps - self.warmup_steps if self.hold_steps > 0 else 0
        return [
            _noam_hold_annealing(
                initial_lr, step, self.warmup_steps, hold_steps, self.decay_rate, self.min_lr
            )
            for initial_lr in self.base_lrs
        ]

    def set_step(self, step: int) -> None:
        """Jump to ``step`` (the next ``step()`` computes the rate of ``step + 1``)."""
        self.last_epoch = step


class WarmupAnnealing(WarmupPolicy):
    """Warmup, then linear decay from the base rate to ``min_lr`` at ``max_steps``."""

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        *,
        max_steps: int,
        last_epoch: int = -1,
        min_lr: float = 0.0,
        **kwargs,
    ) -> None:
        super().__init__(optimizer, max_steps=max_steps, last_epoch=last_epoch, min_lr=min_lr, **kwargs)

    def _get_lr(self, step: int) -> list[float]:
        progress = (step - self.warmup_steps) / (self.max_steps - self.warmup_steps)
        return [self.min_lr + (1 - progress) * (initial_lr - self.min_lr) for initial_lr in self.base_lrs]


class InverseSquareRootAnnealing(WarmupPolicy):
    """Warmup, then ``base_lr * sqrt((warmup_steps + 1) / (step + 1))``."""

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        *,
        max_steps: int,
        last_epoch: int = -1,
        min_lr: float = 0.0,
        **kwargs,
    ) -> None:
        super().__init__(optimizer, max_steps=max_steps, last_epoch=last_epoch, min_lr=min_lr, **kwargs)

    def _get_lr(self, step: int) -> list[float]:
        factor = ((self.warmup_steps + 1) / (step + 1)) ** 0.5
        return [initial_lr * factor for initial_lr in self.base_lrs]


class T5InverseSquareRootAnnealing(SquareRootConstantPolicy):
    """T5's schedule: ``1 / sqrt(constant_steps)`` for ``constant_steps`` steps, then ``1 / sqrt(step)``.

    The rates do not depend on the optimizer's learning rate (as in T5 and NeMo).
    """

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        *,
        max_steps: int,
        last_epoch: int = -1,
        min_lr: float = 0.0,
        **kwargs,
    ) -> None:
        super().__init__(optimizer, max_steps=max_steps, last_epoch=last_epoch, min_lr=min_lr, **kwargs)

    def _get_lr(self, step: int) -> list[float]:
        return [1 / (step**0.5) for _ in self.base_lrs]


class PolynomialDecayAnnealing(_PolynomialDecay, WarmupPolicy):
    """Warmup, then ``(base_lr - min_lr) * (1 - t / T) ** power + min_lr`` with ``t`` from the end of warmup.

    With ``cycle`` the decay restarts with a longer period (``T`` times ``ceil(t / T)``) instead of staying at
    ``min_lr``.
    """

    def _get_lr(self, step: int) -> list[float]:
        return self._get_poly_decay_lr(step - self.warmup_steps, self.max_steps - self.warmup_steps)


class PolynomialHoldDecayAnnealing(_PolynomialDecay, WarmupHoldPolicy):
    """Warmup, hold, then polynomial decay (as :class:`PolynomialDecayAnnealing`) from the end of the hold."""

    def _get_lr(self, step: int) -> list[float]:
        return self._get_poly_decay_lr(
            step - self.hold_steps, self.max_steps - max(self.warmup_steps, self.hold_steps)
        )


AVAILABLE_SCHEDULERS: dict[str, type] = {
    "WarmupPolicy": WarmupPolicy,
    "WarmupHoldPolicy": WarmupHoldPolicy,
    "SquareAnnealing": SquareAnnealing,
    "CosineAnnealing": CosineAnnealing,
    "NoamAnnealing": NoamAnnealing,
    "NoamHoldAnnealing": NoamHoldAnnealing,
    "WarmupAnnealing": WarmupAnnealing,
    "InverseSquareRootAnnealing": InverseSquareRootAnnealing,
    "T5InverseSquareRootAnnealing": T5InverseSquareRootAnnealing,
    "SquareRootAnnealing": SquareRootAnnealing,
    "PolynomialDecayAnnealing": PolynomialDecayAnnealing,
    "PolynomialHoldDecayAnnealing": PolynomialHoldDecayAnnealing,
    "StepLR": torch.optim.lr_scheduler.StepLR,
    "ExponentialLR": torch.optim.lr_scheduler.ExponentialLR,
    "ReduceLROnPlateau": torch.optim.lr_scheduler.ReduceLROnPlateau,
    "CyclicLR": torch.optim.lr_scheduler.CyclicLR,
    "LambdaLR": torch.optim.lr_scheduler.LambdaLR,
    "OneCycleLR": torch.optim.lr_scheduler.OneCycleLR,
}

_SCHEDULERS = NameRegistry(
    singular="scheduler",
    plural="schedulers",
    resolve_hint="Set `sched.name` to one of them or register yours with "
    "nemo.core.optim.lr_scheduler.register_scheduler.",
)


def register_scheduler(name: str, scheduler: type, scheduler_params: type) -> None:
    """Make a scheduler usable as ``sched.name: <name>``.

    The parameter dataclass is registered as ``<name>Params``, so ``sched.args.name: auto`` resolves to it.

    Args:
        name: the scheduler's config name.
        scheduler: the scheduler class (a ``torch.optim.lr_scheduler.LRScheduler`` subclass).
        scheduler_params: a dataclass describing its arguments (subclass of ``SchedulerParams``).

    Raises:
        ValueError: ``name`` (or ``<name>Params``) is already registered.
    """
    _SCHEDULERS.check_new(AVAILABLE_SCHEDULERS, name)
    register_scheduler_params(name=f"{name}Params", scheduler_params=scheduler_params)
    AVAILABLE_SCHEDULERS[name] = scheduler


def get_scheduler(name: str, **kwargs: Any) -> partial:
    """Look up a scheduler class by name and bind keyword arguments to it.

    Args:
        name: a key of :data:`AVAILABLE_SCHEDULERS`.
        **kwargs: scheduler arguments to bind.

    Returns:
        ``functools.partial(scheduler_cls, **kwargs)``; call it with the optimizer.

    Raises:
        ValueError: unknown ``name``; the message lists the available schedulers.
    """
    return partial(_SCHEDULERS.resolve(AVAILABLE_SCHEDULERS, name), **kwargs)


def compute_max_steps(
    max_epochs: int,
    accumulate_grad_batches: int,
    limit_train_batches: int | float,
    num_workers: int,
    num_samples: int,
    batch_size: int,
    drop_last: bool,
) -> int:
    """Number of optimizer steps of a run, as Lightning will count them.

    Args:
        max_epochs: ``trainer.max_epochs``.
        accumulate_grad_batches: ``trainer.accumulate_grad_batches``.
        limit_train_batches: ``trainer.limit_train_batches``: a batch count (int) or a fraction (float).
        num_workers: number of data-parallel processes sharing the dataset.
        num_samples: ``len(train_dataloader.dataset)``.
        batch_size: per-process batch size.
        drop_last: whether the dataloader drops the last incomplete batch.

    Returns:
        ``ceil(steps_per_epoch / accumulate_grad_batches) * max_epochs``.
    """
    round_batches = math.floor if drop_last else math.ceil
    samples_per_worker = math.ceil(num_samples / max(1, num_workers))
    steps_per_epoch = round_batches(samples_per_worker / batch_size)
    if isinstance(limit_train_batches, int) or limit_train_batches == 0.0:
        steps_per_epoch = min(steps_per_epoch, int(limit_train_batches))
    elif steps_per_epoch != float("inf"):
        steps_per_epoch = int(steps_per_epoch * limit_train_batches)
    return math.ceil(steps_per_epoch / accumulate_grad_batches) * max_epochs


# Keys of a `sched` config read by prepare_lr_scheduler / Lightning, never passed to the scheduler itself.
_CONTROL_KEYS = (
    "name",
    "iters_per_batch",
    "monitor",
    "reduce_on_plateau",
    "interval",
    "frequency",
    "t_max_epochs",
    "t_accumulate_grad_batches",
    "t_limit_train_batches",
    "t_num_workers",
)


# Scheduler arguments that NeMo 1.23 configs set and newer torch removed (``verbose``, torch 2.7): dropped with a
# warning when the installed scheduler no longer takes them, so those configs keep working.
_ARGUMENTS_TORCH_REMOVED = ("verbose",)


def _drop_arguments_torch_removed(
    scheduler_cls: Any, scheduler_args: dict[str, Any], scheduler_name: str
) -> None:
    """Remove from ``scheduler_args`` (in place) each of ``_ARGUMENTS_TORCH_REMOVED`` the scheduler does not take."""
    accepted = inspect.signature(scheduler_cls).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in accepted.values())
    for name in _ARGUMENTS_TORCH_REMOVED:
        if name in scheduler_args and name not in accepted and not takes_any:
            value = scheduler_args.pop(name)
            logging.warning(
                f"Ignoring sched.{name}={value!r}: scheduler {scheduler_name!r} of the installed torch no longer "
                f"takes `{name}` (removed by torch). Remove it from the `sched` config to silence this warning."
            )


def prepare_lr_scheduler(
    optimizer: torch.optim.Optimizer,
    scheduler_config: DictConfig | Mapping[str, Any] | Any | None,
    train_dataloader: torch.utils.data.DataLoader | None = None,
) -> dict[str, Any] | None:
    """Build the scheduler an ``optim.sched`` config describes, wrapped in Lightning's scheduler dict.

    The config (``DictConfig``, dict or dataclass) looks like::

        name: CosineAnnealing      # a key of AVAILABLE_SCHEDULERS
        max_steps: null            # or computed, see below
        monitor: val_loss          # Lightning's `monitor` (default "loss")
        interval: step             # Lightning's `interval` (default "step", "epoch" for ReduceLROnPlateau)
        frequency: 1
        # scheduler arguments, either flat here ...
        warmup_ratio: 0.1
        min_lr: 1e-5
        # ... or nested:
        args:
          name: auto               # `<name>Params`, or a registered params name, or `_target_: path.Params`
          params: {warmup_ratio: 0.1, min_lr: 1e-5}

    For schedulers that take ``max_steps``: when it is missing, null or -1 it is computed with
    :func:`compute_max_steps` from ``t_max_epochs``, ``t_accumulate_grad_batches``, ``t_limit_train_batches``,
    ``t_num_workers`` (added by ``ModelPT.setup_optimization``) and ``train_dataloader``'s dataset length,
    batch size and ``drop_last``.

    Args:
        optimizer: the optimizer to schedule.
        scheduler_config: the ``sched`` config, or ``None``.
        train_dataloader: the training dataloader, needed only to compute ``max_steps``.

    Returns:
        ``{"scheduler", "interval", "frequency", "monitor", "reduce_on_plateau"}``, or ``None`` (with a
        logged reason) when there is no config, no scheduler name, or ``max_steps`` cannot be computed.

    Raises:
        ValueError: unknown scheduler or parameter names, invalid arguments, or a dataloader whose batch size
            or length cannot be read.
    """
    if scheduler_config is None:
        logging.info("Scheduler not initialized as no `sched` config supplied to setup_optimizer()")
        return None
    config = _to_dict(scheduler_config)

    if "args" in config:
        scheduler_args = dict(config.pop("args") or {})
    else:
        scheduler_args = {key: value for key, value in config.items() if key not in _CONTROL_KEYS}

    if "_target_" in scheduler_args:
        from nemo.utils.model_utils import import_class_by_path

        params_class = import_class_by_path(
            scheduler_args.pop("_target_"), source="config key 'optim.sched.args._target_'"
        )
        nested = scheduler_args.pop("params", None) or {}
        params = params_class(**{**scheduler_args, **nested})
        scheduler_args = dict(vars(params))
        scheduler_name = config.get("name", type(params).__name__.replace("Params", ""))
    else:
        if "name" not in config:
            logging.warning(
                "The `sched` config has neither `name` nor `args._target_`, so no scheduler can be built; "
                f"got keys {sorted(config)}. Set sched.name to one of {sorted(AVAILABLE_SCHEDULERS)}."
            )
            return None
        scheduler_name = config["name"]
        if "name" in scheduler_args:
            params_name = scheduler_args["name"]
            if params_name == "auto":
                params_name = f"{scheduler_name}Params"
            overrides = named_params_overrides(scheduler_args, "optim.sched.args")
            scheduler_args = dict(vars(get_scheduler_config(params_name, **overrides)()))

    scheduler_partial = get_scheduler(scheduler_name)
    max_steps = None
    if "max_steps" in inspect.signature(scheduler_partial.func).parameters:
        max_steps = _resolve_max_steps(config, scheduler_args, train_dataloader, scheduler_name)
        if max_steps is None:
            return None
        scheduler_args["max_steps"] = max_steps
    else:
        scheduler_args.pop("max_steps", None)

    _drop_arguments_torch_removed(scheduler_partial.func, scheduler_args, scheduler_name)
    try:
        schedule = scheduler_partial(optimizer, **scheduler_args)
    except TypeError as error:
        raise ValueError(
            f"Could not build scheduler {scheduler_name!r} with arguments {scheduler_args}: {error}. "
            "Check the keys of the `sched` config against the scheduler's arguments."
        ) from error

    logging.info(
        'Scheduler "%s" will be used during training (effective maximum steps = %s) - Parameters: %s',
        type(schedule).__name__,
        max_steps,
        scheduler_args,
    )
    reduce_on_plateau = isinstance(schedule, torch.optim.lr_scheduler.ReduceLROnPlateau)
    return {
        "scheduler": schedule,
        "interval": config.get("interval", "epoch" if reduce_on_plateau else "step"),
        "frequency": config.get("frequency", 1),
        "monitor": config.get("monitor", "loss"),
        "reduce_on_plateau": reduce_on_plateau,
    }


def _to_dict(scheduler_config: Any) -> dict[str, Any]:
    """A mutable plain-dict copy of a ``sched`` config given as ``DictConfig``, dataclass or mapping."""
    if isinstance(scheduler_config, DictConfig):
        return OmegaConf.to_container(scheduler_config, resolve=True)
    if dataclasses.is_dataclass(scheduler_config):
        return OmegaConf.to_container(OmegaConf.structured(scheduler_config), resolve=True)
    if isinstance(scheduler_config, Mapping):
        return copy.deepcopy(dict(scheduler_config))
    raise ValueError(
        f"prepare_lr_scheduler expected the `sched` config as a DictConfig, dict or dataclass, got "
        f"{type(scheduler_config).__name__}."
    )


def _resolve_max_steps(
    config: dict[str, Any],
    scheduler_args: dict[str, Any],
    train_dataloader: torch.utils.data.DataLoader | None,
    scheduler_name: str,
) -> int | None:
    """``max_steps`` from the config, else computed from the ``t_*`` keys and the dataloader (None if impossible)."""
    for source in (config, scheduler_args):
        max_steps = source.get("max_steps")
        if max_steps is not None and max_steps > 0:
            return max_steps

    max_epochs = config.get("t_max_epochs")
    if max_epochs is None or max_epochs < 0:
        logging.warning(
            f"Scheduler {scheduler_name!r} needs max_steps, but neither `sched.max_steps` nor a finite "
            f"`t_max_epochs` (trainer.max_epochs, got {max_epochs}) is available. Scheduler will not be "
            "instantiated! Set trainer.max_steps or trainer.max_epochs."
        )
        return None
    if train_dataloader is None:
        logging.warning(
            f"Scheduler {scheduler_name!r} needs max_steps, computed from trainer.max_epochs and the train "
            "dataloader, but no train dataloader was given. Scheduler will not be instantiated! Set up the "
            "training data before the optimizer, or set trainer.max_steps."
        )
        return None
    try:
        num_samples = len(train_dataloader.dataset)
    except TypeError as error:
        raise ValueError(
            f"Cannot compute max_steps for scheduler {scheduler_name!r}: the train dataset "
            f"({type(train_dataloader.dataset).__name__}) has no length. Set trainer.max_steps instead."
        ) from error
    return compute_max_steps(
        max_epochs=max_epochs,
        accumulate_grad_batches=config.get("t_accumulate_grad_batches") or 1,
        limit_train_batches=config.get("t_limit_train_batches", 1.0),
        num_workers=config.get("t_num_workers") or 1,
        num_samples=num_samples,
        batch_size=_batch_size_of(train_dataloader),
        drop_last=train_dataloader.drop_last,
    )


def _batch_size_of(train_dataloader: torch.utils.data.DataLoader) -> int:
    if train_dataloader.batch_size is not None:
        return train_dataloader.batch_size
    batch_sampler = getattr(train_dataloader, "batch_sampler", None)
    for attribute in ("micro_batch_size", "batch_size"):
        value = getattr(batch_sampler, attribute, None)
        if value is not None:
            return value
    raise ValueError(
        f"Could not find the batch size of the train dataloader ({train_dataloader!r}): its batch_size is None and "
        f"its batch_sampler ({batch_sampler!r}) has neither micro_batch_size nor batch_size. Set trainer.max_steps."
    )

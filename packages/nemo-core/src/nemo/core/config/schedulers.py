"""Parameter dataclasses for NeMo's learning-rate schedulers, and the registry that resolves them by name.

A ``sched`` config may name one of these dataclasses under ``args.name`` (or ``auto`` to pick
``<SchedulerName>Params``) and override its fields under ``args.params``;
:func:`nemo.core.optim.lr_scheduler.prepare_lr_scheduler` turns that into the scheduler's keyword arguments.

Example:
    >>> get_scheduler_config("CosineAnnealingParams", min_lr=1e-5)().min_lr
    1e-05
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

from nemo.core.config.name_registry import ParamsRegistry


@dataclass
class SchedulerParams:
    """Base scheduler parameters."""

    last_epoch: int = -1


@dataclass
class SquareRootConstantSchedulerParams(SchedulerParams):
    """Parameters of a scheduler that holds ``1 / sqrt(constant_steps)`` before decaying."""

    constant_steps: float | None = None
    constant_ratio: float | None = None


@dataclass
class WarmupSchedulerParams(SchedulerParams):
    """Parameters of :class:`nemo.core.optim.lr_scheduler.WarmupPolicy`."""

    max_steps: int = 0
    warmup_steps: float | None = None
    warmup_ratio: float | None = None


@dataclass
class WarmupHoldSchedulerParams(WarmupSchedulerParams):
    """Parameters of :class:`nemo.core.optim.lr_scheduler.WarmupHoldPolicy`."""

    hold_steps: float | None = None
    hold_ratio: float | None = None
    min_lr: float = 0.0


@dataclass
class WarmupAnnealingHoldSchedulerParams(WarmupSchedulerParams):
    """Parameters of schedulers with warmup, annealing, then a constant tail (``constant_steps``)."""

    constant_steps: float | None = None
    constant_ratio: float | None = None
    min_lr: float = 0.0


@dataclass
class SquareAnnealingParams(WarmupSchedulerParams):
    """Parameters of :class:`nemo.core.optim.lr_scheduler.SquareAnnealing`."""

    min_lr: float = 1e-5


@dataclass
class SquareRootAnnealingParams(WarmupSchedulerParams):
    """Parameters of :class:`nemo.core.optim.lr_scheduler.SquareRootAnnealing`."""

    min_lr: float = 0.0


@dataclass
class CosineAnnealingParams(WarmupAnnealingHoldSchedulerParams):
    """Parameters of :class:`nemo.core.optim.lr_scheduler.CosineAnnealing`."""

    min_lr: float = 0.0


@dataclass
class NoamAnnealingParams(WarmupSchedulerParams):
    """Parameters of :class:`nemo.core.optim.lr_scheduler.NoamAnnealing` (``d_model`` is passed separately)."""

    min_lr: float = 0.0


@dataclass
class NoamHoldAnnealingParams(WarmupHoldSchedulerParams):
    """Parameters of :class:`nemo.core.optim.lr_scheduler.NoamHoldAnnealing`."""

    decay_rate: float = 0.5


@dataclass
class WarmupAnnealingParams(WarmupSchedulerParams):
    """Parameters of :class:`nemo.core.optim.lr_scheduler.WarmupAnnealing`."""

    warmup_ratio: float | None = None


@dataclass
class InverseSquareRootAnnealingParams(WarmupSchedulerParams):
    """Parameters of :class:`nemo.core.optim.lr_scheduler.InverseSquareRootAnnealing`."""


@dataclass
class PolynomialDecayAnnealingParams(WarmupSchedulerParams):
    """Parameters of :class:`nemo.core.optim.lr_scheduler.PolynomialDecayAnnealing`."""

    power: float = 1.0
    cycle: bool = False


@dataclass
class PolynomialHoldDecayAnnealingParams(WarmupSchedulerParams):
    """Parameters of :class:`nemo.core.optim.lr_scheduler.PolynomialHoldDecayAnnealing`."""

    power: float = 1.0
    cycle: bool = False


@dataclass
class StepLRParams(SchedulerParams):
    """Parameters of ``torch.optim.lr_scheduler.StepLR``."""

    step_size: float = 0.1
    gamma: float = 0.1


@dataclass
class ExponentialLRParams(SchedulerParams):
    """Parameters of ``torch.optim.lr_scheduler.ExponentialLR``."""

    gamma: float = 0.9


@dataclass
class ReduceLROnPlateauParams:
    """Parameters of ``torch.optim.lr_scheduler.ReduceLROnPlateau`` (it has no ``last_epoch``)."""

    mode: str = "min"
    factor: float = 0.1
    patience: int = 10
    threshold: float = 1e-4
    threshold_mode: str = "rel"
    cooldown: int = 0
    min_lr: float = 0
    eps: float = 1e-8


@dataclass
class CyclicLRParams(SchedulerParams):
    """Parameters of ``torch.optim.lr_scheduler.CyclicLR`` (``scale_fn`` cannot be set from a config)."""

    base_lr: float = 0.001
    max_lr: float = 0.1
    step_size_up: int = 2000
    step_size_down: int | None = None
    mode: str = "triangular"
    gamma: float = 1.0
    scale_mode: str = "cycle"
    cycle_momentum: bool = True
    base_momentum: float = 0.8
    max_momentum: float = 0.9


AVAILABLE_SCHEDULER_PARAMS: dict[str, type] = {
    "SchedulerParams": SchedulerParams,
    "WarmupPolicyParams": WarmupSchedulerParams,
    "WarmupHoldPolicyParams": WarmupHoldSchedulerParams,
    "WarmupAnnealingHoldSchedulerParams": WarmupAnnealingHoldSchedulerParams,
    "SquareAnnealingParams": SquareAnnealingParams,
    "SquareRootAnnealingParams": SquareRootAnnealingParams,
    "InverseSquareRootAnnealingParams": InverseSquareRootAnnealingParams,
    "SquareRootConstantSchedulerParams": SquareRootConstantSchedulerParams,
    "CosineAnnealingParams": CosineAnnealingParams,
    "NoamAnnealingParams": NoamAnnealingParams,
    "NoamHoldAnnealingParams": NoamHoldAnnealingParams,
    "WarmupAnnealingParams": WarmupAnnealingParams,
    "PolynomialDecayAnnealingParams": PolynomialDecayAnnealingParams,
    "PolynomialHoldDecayAnnealingParams": PolynomialHoldDecayAnnealingParams,
    "StepLRParams": StepLRParams,
    "ExponentialLRParams": ExponentialLRParams,
    "ReduceLROnPlateauParams": ReduceLROnPlateauParams,
    "CyclicLRParams": CyclicLRParams,
}


_SCHEDULER_PARAMS = ParamsRegistry(
    singular="scheduler parameters",
    plural="scheduler parameters",
    resolve_hint="Use one of them as `sched.args.name` (or `auto`), "
    "or register yours with nemo.core.config.schedulers.register_scheduler_params.",
    register_function="register_scheduler_params",
    base_class=SchedulerParams,
)


def register_scheduler_params(name: str, scheduler_params: type) -> None:
    """Make a scheduler parameter dataclass resolvable by ``name`` in ``sched.args.name``.

    Args:
        name: key to register; ``<SchedulerName>Params`` lets ``args.name: auto`` find it.
        scheduler_params: a dataclass, usually a subclass of :class:`SchedulerParams`.

    Raises:
        ValueError: ``name`` is already registered, or ``scheduler_params`` is not a dataclass.
    """
    _SCHEDULER_PARAMS.register(AVAILABLE_SCHEDULER_PARAMS, name, scheduler_params)


def get_scheduler_config(name: str, **kwargs: Any) -> partial:
    """Resolve a scheduler parameter dataclass by name, checked against the overrides in ``kwargs``.

    Args:
        name: a key of :data:`AVAILABLE_SCHEDULER_PARAMS`.
        **kwargs: field overrides for the dataclass.

    Returns:
        ``functools.partial(params_cls, **kwargs)``; call it to get the parameters object.

    Raises:
        ValueError: unknown ``name``, or an override that is not a field of the dataclass (or has the wrong type).
    """
    return _SCHEDULER_PARAMS.resolve_with_overrides(AVAILABLE_SCHEDULER_PARAMS, name, kwargs)

"""Parameter dataclasses for NeMo's optimizers, and the registry that resolves them by name.

An ``optim`` config may name one of these dataclasses (``name: adam_params``, or ``name: auto`` to pick
``<optimizer>_params``) and override its fields; :func:`nemo.core.optim.optimizers.parse_optimizer_args`
turns that into the keyword arguments of the optimizer.

Example:
    >>> params_cls = get_optimizer_config("adam_params", lr=0.01)
    >>> params_cls().lr
    0.01
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

from nemo.core.config.name_registry import ParamsRegistry
from omegaconf import MISSING


@dataclass
class OptimizerParams:
    """Base optimizer parameters: only the learning rate, which every optimizer takes."""

    lr: float | None = MISSING


@dataclass
class SGDParams(OptimizerParams):
    """Parameters of ``torch.optim.SGD``."""

    momentum: float = 0
    dampening: float = 0
    weight_decay: float = 0
    nesterov: bool = False


@dataclass
class AdamParams(OptimizerParams):
    """Parameters of ``torch.optim.Adam``."""

    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-08
    weight_decay: float = 0
    amsgrad: bool = False


@dataclass
class AdamWParams(OptimizerParams):
    """Parameters of ``torch.optim.AdamW``."""

    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-08
    weight_decay: float = 0
    amsgrad: bool = False


@dataclass
class AdadeltaParams(OptimizerParams):
    """Parameters of ``torch.optim.Adadelta``."""

    rho: float = 0.9
    eps: float = 1e-6
    weight_decay: float = 0


@dataclass
class AdamaxParams(OptimizerParams):
    """Parameters of ``torch.optim.Adamax``."""

    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    weight_decay: float = 0


@dataclass
class AdagradParams(OptimizerParams):
    """Parameters of ``torch.optim.Adagrad``."""

    lr_decay: float = 0
    weight_decay: float = 0
    initial_accumulator_value: float = 0
    eps: float = 1e-10


@dataclass
class RMSpropParams(OptimizerParams):
    """Parameters of ``torch.optim.RMSprop``."""

    alpha: float = 0.99
    eps: float = 1e-8
    weight_decay: float = 0
    momentum: float = 0
    centered: bool = False


@dataclass
class RpropParams(OptimizerParams):
    """Parameters of ``torch.optim.Rprop``."""

    etas: tuple[float, float] = (0.5, 1.2)
    step_sizes: tuple[float, float] = (1e-6, 50)


@dataclass
class NovogradParams(OptimizerParams):
    """Parameters of :class:`nemo.core.optim.novograd.Novograd`."""

    betas: tuple[float, float] = (0.95, 0.98)
    eps: float = 1e-8
    weight_decay: float = 0
    grad_averaging: bool = False
    amsgrad: bool = False
    luc: bool = False
    luc_trust: float = 1e-3
    luc_eps: float = 1e-8


AVAILABLE_OPTIMIZER_PARAMS: dict[str, type[OptimizerParams]] = {
    "optim_params": OptimizerParams,
    "adam_params": AdamParams,
    "novograd_params": NovogradParams,
    "sgd_params": SGDParams,
    "adadelta_params": AdadeltaParams,
    "adamax_params": AdamaxParams,
    "adagrad_params": AdagradParams,
    "adamw_params": AdamWParams,
    "rmsprop_params": RMSpropParams,
    "rprop_params": RpropParams,
}


_OPTIMIZER_PARAMS = ParamsRegistry(
    singular="optimizer parameters",
    plural="optimizer parameters",
    resolve_hint="Use one of them as `name` (or `auto`) in the optim config, "
    "or register yours with nemo.core.config.optimizers.register_optimizer_params.",
    register_function="register_optimizer_params",
    base_class=OptimizerParams,
)


def register_optimizer_params(name: str, optimizer_params: type[OptimizerParams]) -> None:
    """Make a parameter dataclass resolvable by ``name`` in ``optim`` configs.

    Args:
        name: key to register, e.g. ``"my_optimizer_params"``.
        optimizer_params: a dataclass, usually a subclass of :class:`OptimizerParams`.

    Raises:
        ValueError: ``name`` is already registered, or ``optimizer_params`` is not a dataclass.
    """
    _OPTIMIZER_PARAMS.register(AVAILABLE_OPTIMIZER_PARAMS, name, optimizer_params)


def get_optimizer_config(name: str | None, **kwargs: Any) -> dict[str, Any] | partial:
    """Resolve a parameter dataclass by name, checked against the overrides in ``kwargs``.

    Args:
        name: a key of :data:`AVAILABLE_OPTIMIZER_PARAMS`, or ``None`` to get ``kwargs`` back unchanged.
        **kwargs: field overrides for the dataclass.

    Returns:
        ``functools.partial(params_cls, **kwargs)``; call it to get the parameters object. ``kwargs`` itself
        when ``name`` is ``None``.

    Raises:
        ValueError: unknown ``name``, or an override that is not a field of the dataclass (or has the wrong type).
    """
    if name is None:
        return kwargs
    return _OPTIMIZER_PARAMS.resolve_with_overrides(AVAILABLE_OPTIMIZER_PARAMS, name, kwargs)

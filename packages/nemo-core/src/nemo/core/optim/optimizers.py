"""Optimizers by name: the registry ``ModelPT.setup_optimization`` resolves ``optim.name`` against.

Example:
    >>> optimizer_cls = get_optimizer("adamw", betas=(0.9, 0.98))
    >>> optimizer = optimizer_cls(model.parameters(), lr=1e-3)
"""

from __future__ import annotations

import copy
from functools import partial
from typing import Any

import torch
from nemo.core.config.name_registry import NameRegistry
from nemo.core.config.optimizers import OptimizerParams, get_optimizer_config, register_optimizer_params
from nemo.core.optim.novograd import Novograd
from omegaconf import MISSING, DictConfig, OmegaConf

AVAILABLE_OPTIMIZERS: dict[str, type[torch.optim.Optimizer]] = {
    "sgd": torch.optim.SGD,
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "adadelta": torch.optim.Adadelta,
    "adamax": torch.optim.Adamax,
    "adagrad": torch.optim.Adagrad,
    "rmsprop": torch.optim.RMSprop,
    "rprop": torch.optim.Rprop,
    "novograd": Novograd,
}

_OPTIMIZERS = NameRegistry(
    singular="optimizer",
    plural="optimizers",
    resolve_hint="Set `optim.name` to one of them or register yours with "
    "nemo.core.optim.optimizers.register_optimizer.",
)


def register_optimizer(
    name: str, optimizer: type[torch.optim.Optimizer], optimizer_params: type[OptimizerParams]
) -> None:
    """Make an optimizer usable as ``optim.name: <name>`` in model configs.

    The parameter dataclass is registered as ``<name>_params``, so ``name: auto`` in the optimizer
    arguments resolves to it.

    Args:
        name: the optimizer's config name.
        optimizer: the ``torch.optim.Optimizer`` subclass.
        optimizer_params: a dataclass describing its arguments (subclass of ``OptimizerParams``).

    Raises:
        ValueError: ``name`` (or ``<name>_params``) is already registered.
    """
    _OPTIMIZERS.check_new(AVAILABLE_OPTIMIZERS, name)
    register_optimizer_params(name=f"{name}_params", optimizer_params=optimizer_params)
    AVAILABLE_OPTIMIZERS[name] = optimizer


def get_optimizer(name: str, **kwargs: Any) -> partial:
    """Look up an optimizer class by name and bind keyword arguments to it.

    Args:
        name: a key of :data:`AVAILABLE_OPTIMIZERS` (``sgd``, ``adam``, ``adamw``, ``adadelta``, ``adamax``,
            ``adagrad``, ``rmsprop``, ``rprop``, ``novograd`` or a registered one).
        **kwargs: optimizer arguments to bind.

    Returns:
        ``functools.partial(optimizer_cls, **kwargs)``; call it with the parameters to optimize.

    Raises:
        ValueError: unknown ``name``; the message lists the available optimizers.
    """
    return partial(_OPTIMIZERS.resolve(AVAILABLE_OPTIMIZERS, name), **kwargs)


def parse_optimizer_args(
    optimizer_name: str, optimizer_kwargs: DictConfig | dict[str, Any] | None
) -> dict[str, Any]:
    """Turn the optimizer-arguments section of an ``optim`` config into optimizer keyword arguments.

    NeMo's rules, in order:

    * ``None`` gives ``{}``.
    * ``_target_: path.to.ParamsDataclass`` (plus fields) instantiates that dataclass (after the
      ``_target_`` allow-list check) and returns its fields.
    * ``name: <params name>`` (or ``name: auto`` for ``<optimizer_name>_params``) resolves a registered
      parameter dataclass; the other keys, or those under ``params``, override its fields; its fields are
      returned (fields left ``MISSING``, such as an unset ``lr``, are dropped).
    * Otherwise the keys are returned as they are.

    Args:
        optimizer_name: the optimizer's config name, used by ``name: auto``.
        optimizer_kwargs: the arguments section (``DictConfig`` or ``dict``); it is not modified.

    Returns:
        Keyword arguments for the optimizer.

    Raises:
        ValueError: unknown parameter dataclass name, or a key/value the dataclass does not accept.
    """
    if optimizer_kwargs is None:
        return {}
    if isinstance(optimizer_kwargs, DictConfig):
        optimizer_kwargs = OmegaConf.to_container(optimizer_kwargs, resolve=True)
    else:
        optimizer_kwargs = copy.deepcopy(dict(optimizer_kwargs))

    if "_target_" in optimizer_kwargs:
        from nemo.utils.model_utils import import_class_by_path

        params_class = import_class_by_path(
            optimizer_kwargs.pop("_target_"), source="config key 'optim.args._target_'"
        )
        return _fields_of(params_class(**optimizer_kwargs))

    if "name" not in optimizer_kwargs:
        return optimizer_kwargs

    params_name = optimizer_kwargs.pop("name")
    if params_name == "auto":
        params_name = f"{optimizer_name}_params"
    overrides = optimizer_kwargs.get("params", optimizer_kwargs)
    params_cls = get_optimizer_config(params_name, **overrides)
    if params_name is None:
        return dict(params_cls)
    return _fields_of(params_cls())


def _fields_of(params: Any) -> dict[str, Any]:
    """The fields of an instantiated parameter object, without those left ``MISSING``."""
    return {
        key: value for key, value in vars(params).items() if not (isinstance(value, str) and value == MISSING)
    }

"""Optimizers by name: the registry ``ModelPT.setup_optimization`` resolves ``optim.name`` against.

Example:
    >>> optimizer_cls = get_optimizer("adamw", betas=(0.9, 0.98))
    >>> optimizer = optimizer_cls(model.parameters(), lr=1e-3)
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Iterable
from functools import partial
from typing import Any

import torch
from nemo.core.config.name_registry import NameRegistry
from nemo.core.config.optimizers import OptimizerParams, get_optimizer_config, register_optimizer_params
from nemo.core.config.param_overrides import named_params_overrides
from nemo.core.optim.novograd import Novograd
from nemo.utils import logging
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


def build_optimizer(
    optimizer_cls: type[torch.optim.Optimizer] | partial,
    params: Iterable[torch.Tensor] | Iterable[dict[str, Any]],
    **kwargs: Any,
) -> torch.optim.Optimizer:
    """``optimizer_cls(params, **kwargs)``, with torch's fused kernel when the config leaves the choice open.

    NeMo 1.23 builds ``torch.optim`` optimizers with torch's default implementation: on a CPU that is one
    small kernel per parameter tensor and update term (Adam on a 45 M parameter model: about 50 ms a step).
    The fused kernel (``fused=True``, Adam, AdamW, SGD and Adagrad) applies the same update in one pass;
    results differ from the default only by float rounding. It is chosen when the optimizer accepts ``fused``,
    the config sets neither ``fused`` nor ``foreach``, and every parameter is a floating-point tensor on a
    device torch has fused kernels for; a step hook then bumps the updated parameters' version counters, as
    the default implementation's in-place updates do. Set ``optim.fused: false`` (or ``foreach``) to choose
    yourself.

    Args:
        optimizer_cls: an optimizer class, or a ``functools.partial`` of one (as :func:`get_optimizer` returns).
        params: parameters, or parameter groups (dicts with ``params``).
        **kwargs: the optimizer's arguments from the config.

    Returns:
        The optimizer.
    """
    # Materialize parameter iterators (the fused-kernel check reads them before the optimizer does).
    groups = [
        {**group, "params": list(group["params"])} if isinstance(group, dict) else group for group in params
    ]
    if "fused" not in kwargs and "foreach" not in kwargs and _fused_kernel_fits(optimizer_cls, groups):
        kwargs["fused"] = True
    optimizer = optimizer_cls(groups, **kwargs)
    if optimizer.defaults.get("fused"):
        optimizer.register_step_post_hook(_count_the_update_as_an_inplace_change)
    return optimizer


def _count_the_update_as_an_inplace_change(optimizer: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
    """Bump the version counter of every parameter the step updated.

    torch's fused kernels update parameters in place without bumping their version counters, as the default
    implementation's in-place ops do; caches keyed on ``tensor._version`` (such as a module's copy of its
    weights in another memory layout) would then keep serving the weights from before the step.
    """
    from torch.autograd.graph import increment_version

    updated = [p for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
    if updated:
        increment_version(updated)


def _fused_kernel_fits(optimizer_cls: type[torch.optim.Optimizer] | partial, groups: list[Any]) -> bool:
    """Whether ``optimizer_cls`` takes ``fused`` and every parameter in ``groups`` can use the fused kernel."""
    target = optimizer_cls.func if isinstance(optimizer_cls, partial) else optimizer_cls
    if isinstance(optimizer_cls, partial) and (
        "fused" in optimizer_cls.keywords or "foreach" in optimizer_cls.keywords
    ):
        return False
    try:
        accepts_fused = "fused" in inspect.signature(target).parameters
    except (TypeError, ValueError):
        return False
    if not accepts_fused:
        return False
    from torch.optim.optimizer import _get_fused_kernels_supported_devices

    devices = set(_get_fused_kernels_supported_devices())
    tensors = [p for group in groups for p in (group["params"] if isinstance(group, dict) else [group])]
    return bool(tensors) and all(
        isinstance(p, torch.Tensor) and p.is_floating_point() and p.device.type in devices for p in tensors
    )


def parse_optimizer_args(
    optimizer_name: str, optimizer_kwargs: DictConfig | dict[str, Any] | None
) -> dict[str, Any]:
    """Turn the optimizer-arguments section of an ``optim`` config into optimizer keyword arguments.

    NeMo's rules, in order:

    * ``None`` gives ``{}``.
    * ``_target_: path.to.ParamsDataclass`` (plus fields, or fields nested under ``params``) instantiates
      that dataclass (after the ``_target_`` allow-list check) and returns its fields.
    * ``name: <params name>`` (or ``name: auto`` for ``<optimizer_name>_params``) resolves a registered
      parameter dataclass; the other keys, or those under ``params``, override its fields; its fields are
      returned, all of them as NeMo returns them: a field left ``MISSING`` (an unset ``lr``) is ``"???"``
      (:func:`drop_unset_arguments` removes those before the optimizer is built).
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
        # NeMo's form nests the values under `params`: {_target_: ..., params: {weight_decay: ...}}.
        nested = optimizer_kwargs.pop("params", None) or {}
        return dict(vars(params_class(**{**optimizer_kwargs, **nested})))

    if "name" not in optimizer_kwargs:
        return optimizer_kwargs

    params_name = optimizer_kwargs.pop("name")
    if params_name == "auto":
        params_name = f"{optimizer_name}_params"
    overrides = named_params_overrides(optimizer_kwargs, "optim.args")
    params_cls = get_optimizer_config(params_name, **overrides)
    if params_name is None:
        return dict(params_cls)
    return dict(vars(params_cls()))


def drop_unset_arguments(optimizer_args: dict[str, Any], optimizer_name: str) -> dict[str, Any]:
    """``optimizer_args`` without the values a parameter dataclass left ``MISSING`` (``"???"``).

    :func:`parse_optimizer_args` returns every field of the dataclass, as NeMo does, including ``lr`` when the
    config sets none. Passing ``"???"`` to an optimizer would fail inside torch; instead such an argument is
    left out, so the optimizer's own default applies, and a warning names it.
    """
    unset = sorted(
        key for key, value in optimizer_args.items() if isinstance(value, str) and value == MISSING
    )
    if unset:
        logging.warning(
            f"Optimizer {optimizer_name!r}: no value for {unset} in the `optim` config; the optimizer's own "
            f"default is used. Set optim.{unset[0]} to choose."
        )
    return {key: value for key, value in optimizer_args.items() if key not in unset}

"""Checks and merges between config dataclasses and the classes or models they configure.

``assert_dataclass_signature_match(cls, datacls)`` compares argument names only (not values): it says which
arguments of ``cls.__init__`` a config dataclass lacks and which fields the class does not take, the check
NeMo's module configs are held to. ``update_model_config(model_cls, update_cfg)`` lays a user's config over
the defaults of a ``NemoConfig``-style dataclass.
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
from collections.abc import Iterable, Mapping
from typing import Any

from nemo.utils.nemo_logging import logging

__all__ = ["assert_dataclass_signature_match", "update_model_config"]

# Sub-configs of a model config that exist only when the user's config has them (datasets, optimizer).
_OPTIONAL_SUBCONFIGS = ("train_ds", "validation_ds", "test_ds", "optim")
# Keys that ModelPT writes into a saved config; merged away when the config class does not declare them.
_SAVED_MODEL_KEYS = ("target", "nemo_version")


def _argument_names(signature: inspect.Signature, drop: Iterable[str]) -> set[str]:
    """Names of a signature's parameters, less ``drop`` and ``*args``/``**kwargs`` style catch-alls."""
    catch_all = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    dropped = set(drop)
    return {
        name for name, p in signature.parameters.items() if name not in dropped and p.kind not in catch_all
    }


def _rename(names: set[str], remap_args: Mapping[str, str], owner: str) -> set[str]:
    renamed = set(names)
    for old, new in remap_args.items():
        if old in renamed:
            renamed.discard(old)
            renamed.add(new)
            logging.info(f"{owner}: argument {old!r} compared as {new!r}")
    return renamed


def assert_dataclass_signature_match(
    cls: type,
    datacls: type,
    ignore_args: list[str] | None = None,
    remap_args: dict[str, str] | None = None,
) -> tuple[bool, set[str] | None, set[str] | None]:
    """Whether the fields of ``datacls`` name exactly the arguments of ``cls.__init__``.

    Args:
        cls: the configured class itself (not an instance).
        datacls: its config dataclass; a ``_target_`` field is not an argument and is left out.
        ignore_args: names left out on both sides (a dataclass may carry keys a helper consumes).
        remap_args: ``{name: other_name}``, compare ``name`` (on either side) as ``other_name``.

    Returns:
        ``(True, None, None)`` when the names match; otherwise ``(False, only_in_class, only_in_dataclass)``,
        the two sets of names present on one side only. Mismatches are also logged as errors.
    """
    if not dataclasses.is_dataclass(datacls):
        raise TypeError(
            f"assert_dataclass_signature_match: {datacls!r} is not a dataclass; pass the config class"
        )
    class_args = _argument_names(inspect.signature(cls.__init__), drop=("self",))
    field_args = _argument_names(inspect.signature(datacls), drop=("_target_",))
    if remap_args:
        class_args = _rename(class_args, remap_args, cls.__name__)
        field_args = _rename(field_args, remap_args, datacls.__name__)
    if ignore_args:
        class_args -= set(ignore_args)
        field_args -= set(ignore_args)

    only_in_class = class_args - field_args
    only_in_dataclass = field_args - class_args
    if not only_in_class and not only_in_dataclass:
        return True, None, None
    logging.error(
        f"Arguments of {cls.__name__} do not match the fields of {datacls.__name__}: "
        f"only in the class: {sorted(only_in_class)}; only in the dataclass: {sorted(only_in_dataclass)}"
    )
    return False, only_in_class, only_in_dataclass


def update_model_config(model_cls: Any, update_cfg: Any, drop_missing_subconfigs: bool = True) -> Any:
    """Lay ``update_cfg`` (a config shaped like ``model_cls``, with a ``model`` section) over ``model_cls``'s defaults.

    Args:
        model_cls: a ``NemoConfig``-style dataclass (class or instance) or a structured ``DictConfig``.
        update_cfg: a ``DictConfig`` or plain dict holding ``model: {...}`` (a saved model config works).
        drop_missing_subconfigs: remove ``train_ds``, ``validation_ds``, ``test_ds`` and ``optim`` from the
            defaults when ``update_cfg.model`` has no such section.

    Returns:
        The merged ``DictConfig``. Optimizer keys that the default ``optim`` section does not declare (for
        example ``weight_decay``, or a scheduler's own arguments) are taken from ``update_cfg``; the
        ``target`` and ``nemo_version`` keys a saved model config holds are dropped unless the defaults
        declare them.
    """
    from omegaconf import DictConfig, OmegaConf, open_dict

    if not (dataclasses.is_dataclass(model_cls) or isinstance(model_cls, DictConfig)):
        raise ValueError(
            f"update_model_config: model_cls must be a config dataclass or a structured DictConfig, "
            f"got {type(model_cls).__name__}"
        )
    defaults = OmegaConf.structured(model_cls) if dataclasses.is_dataclass(model_cls) else model_cls
    update = update_cfg if isinstance(update_cfg, DictConfig) else OmegaConf.create(update_cfg)
    if "model" not in update:
        raise KeyError(
            "update_model_config: update_cfg has no `model` section; pass the whole config ({model: ...})"
        )

    with open_dict(defaults.model):
        for key in _OPTIONAL_SUBCONFIGS:
            if key in update.model and key not in defaults.model:
                defaults.model[key] = update.model[key]
            elif key not in update.model and key in defaults.model and drop_missing_subconfigs:
                defaults.model.pop(key)
        if "optim" in update.model:
            # Declare every key of the user's optim section (values are overwritten by the final merge).
            declared = copy.deepcopy(defaults.model.get("optim"))
            defaults.model["optim"] = OmegaConf.merge(copy.deepcopy(update.model.optim), declared or {})

    update = copy.deepcopy(update)
    with open_dict(update.model):
        for key in _SAVED_MODEL_KEYS:
            if key in update.model and key not in defaults.model:
                update.model.pop(key)
    return OmegaConf.merge(defaults, update)

"""Serialization: build objects from configs (``from_config_dict``) and give the config back (``to_config_dict``).

Three config shapes are understood, as in NeMo 1.23:

- ``_target_: nemo.collections.asr.modules.ConvASREncoder`` plus constructor arguments (Hydra 1.x);
  nested ``_target_`` entries are built too (``hydra.utils.instantiate`` semantics);
- legacy ``cls: <path>`` (or ``target: <path>``) with ``params: {...}`` (Hydra 0.x), at any depth;
- a model config carrying ``target: <class path>`` (what ``ModelPT`` stores): when that class is a
  subclass of the calling class it is built with ``cfg=config``, otherwise the calling class is.

Every class path is checked against :mod:`nemo.utils.target_allowlist` before it is imported,
and what Hydra instantiates is the already-checked class object, never a string it would look up again.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

from nemo.core.connectors.restore_context import current_restore_context
from nemo.utils import logging
from nemo.utils.config_depth import check_config_depth
from omegaconf import DictConfig, OmegaConf

__all__ = ["Serialization"]

_TARGET_KEY = "_target_"
_LEGACY_CLASS_KEYS = ("cls", "target")


def _describe_source(key_path: str) -> str:
    context = current_restore_context()
    where = f"config key {key_path!r}"
    if context is not None and context.restore_path is not None:
        where += f" in {context.restore_path!r}"
    return where


def _as_resolved_config(config: DictConfig | Mapping[str, Any]) -> DictConfig:
    """A resolved, struct-mode copy of ``config``, legacy ``cls``/``params`` converted to ``_target_``.

    Raises:
        ConfigTooDeepError: the config nests more than ``MAX_CONFIG_DEPTH`` levels.
    """
    check_config_depth(config, source="from_config_dict")
    if isinstance(config, DictConfig):
        container = OmegaConf.to_container(config, resolve=True)
    elif isinstance(config, Mapping):
        container = OmegaConf.to_container(OmegaConf.create(dict(config)), resolve=True)
    else:
        raise TypeError(
            f"from_config_dict expects a DictConfig or dict; got {type(config).__name__}. "
            "Load YAML with omegaconf.OmegaConf.load(path) and pass the result."
        )
    resolved = OmegaConf.create(_convert_legacy(container))
    OmegaConf.set_struct(resolved, True)
    return resolved


def _convert_legacy(node: Any) -> Any:
    """Turn Hydra 0.x ``{cls|target: X, params: {...}}`` into ``{_target_: X, ...}``, at every depth."""
    if isinstance(node, list):
        return [_convert_legacy(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: _convert_legacy(value) for key, value in node.items()}
    params = converted.get("params")
    class_key = next((key for key in _LEGACY_CLASS_KEYS if key in converted), None)
    if class_key is not None and isinstance(params, dict) and _TARGET_KEY not in converted:
        converted[_TARGET_KEY] = converted.pop(class_key)
        del converted["params"]
        converted.update(params)
    return converted


def _resolve_targets(node: Any, key_path: str) -> Any:
    """Copy of ``node`` with every ``_target_`` string replaced by the allow-listed object it names."""
    from nemo.utils.model_utils import import_class_by_path

    if isinstance(node, list):
        return [_resolve_targets(item, f"{key_path}[{index}]") for index, item in enumerate(node)]
    if not isinstance(node, dict):
        return node
    resolved = {}
    for key, value in node.items():
        child_path = f"{key_path}.{key}" if key_path else str(key)
        if key == _TARGET_KEY:
            resolved[key] = import_class_by_path(value, source=_describe_source(child_path))
        else:
            resolved[key] = _resolve_targets(value, child_path)
    return resolved


def _accepts_trainer(target_cls: type) -> bool:
    return "trainer" in inspect.signature(target_cls.__init__).parameters


class Serialization:
    """Mixin: ``from_config_dict`` builds an instance from a config; ``to_config_dict`` returns ``_cfg``."""

    @classmethod
    def from_config_dict(cls, config: DictConfig | Mapping[str, Any], trainer: Any = None) -> Any:
        """Instantiate an object from a config.

        Args:
            config: a ``_target_`` config, a legacy ``cls``/``params`` config, or a model config (optionally
                naming its class under ``target``).
            trainer: a Lightning ``Trainer`` passed to constructors that accept ``trainer``.

        Returns:
            The new object; its ``_cfg`` is the resolved config when its constructor did not set one.

        Raises:
            UnsafeTargetError: a ``_target_``/``cls``/``target`` names a class outside the allow-list.
            ImportError: a ``_target_`` cannot be imported.
            ConfigTooDeepError: the config nests more than ``nemo.utils.config_depth.MAX_CONFIG_DEPTH`` levels.
        """
        import hydra.utils

        config = _as_resolved_config(config)
        if _TARGET_KEY in config:
            plain = OmegaConf.to_container(config, resolve=True)
            instance = hydra.utils.instantiate(_resolve_targets(plain, ""))
        else:
            instance = cls._build_from_target(config, trainer)
        if not hasattr(instance, "_cfg"):
            instance._cfg = config
        return instance

    @classmethod
    def _build_from_target(cls, config: DictConfig, trainer: Any) -> Any:
        """Build ``config.target`` when it subclasses ``cls``, else ``cls``, with ``cfg=config``."""
        from nemo.utils.model_utils import import_class_by_path

        chosen: type = cls
        target = config.get("target")
        if target is not None and target != f"{cls.__module__}.{cls.__name__}":
            try:
                imported = import_class_by_path(target, source=_describe_source("target"))
            except ImportError as error:
                logging.warning(
                    f"Cannot import the config's target {target!r} ({error}); building {cls.__name__}."
                )
            else:
                if isinstance(imported, type) and issubclass(imported, cls):
                    chosen = imported
        if inspect.isabstract(chosen):
            raise TypeError(
                f"Cannot build a model from this config: {chosen.__name__} is abstract and the config's "
                f"target {target!r} did not name an importable subclass of it. Call from_config_dict / "
                "restore_from on the concrete model class, or install the package that defines the target."
            )
        if _accepts_trainer(chosen):
            return chosen(cfg=config, trainer=trainer)
        return chosen(cfg=config)

    def to_config_dict(self) -> DictConfig:
        """The object's config (``self._cfg``), resolved, in struct mode.

        Raises:
            NotImplementedError: the object has no ``_cfg``.
        """
        config = getattr(self, "_cfg", None)
        if config is None:
            raise NotImplementedError(
                f"{type(self).__name__}.to_config_dict() returns the object's `_cfg`, but this object has "
                "none. Build it with from_config_dict(config) or set self._cfg in its constructor."
            )
        if isinstance(config, DictConfig):
            config = OmegaConf.create(OmegaConf.to_container(config, resolve=True))
            OmegaConf.set_struct(config, True)
            self._cfg = config
        return self._cfg

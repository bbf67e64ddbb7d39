"""``ASRAdapterModelMixin``: adapters for ASR models, dispatched to the encoder, decoder and joint.

Adapter names may name their module: ``"encoder:a"``, ``"decoder:a"``, ``"joint:a"``, or several joined by
``+`` (``"encoder+decoder:a"``); a bare name (``"a"``) goes to the encoder. The model keeps every adapter's
config in ``cfg.adapters``; a model built from such a config (a restored ``.nemo``) re-creates its adapters
at the end of its constructor, so their saved weights load strictly.
"""

from __future__ import annotations

import functools
from typing import Any

from nemo.core.classes.mixins.adapter_mixins import AdapterModelPTMixin, AdapterModuleMixin
from nemo.utils import logging, logging_mode
from omegaconf import DictConfig

__all__ = ["ASRAdapterModelMixin"]

_SUBMODULES = ("encoder", "decoder", "joint")


def _set_up_adapters_after(init: Any) -> Any:
    """Wrap a model's ``__init__`` so that, once the outermost constructor returns, adapters are set up."""

    @functools.wraps(init)
    def wrapped(self: ASRAdapterModelMixin, *args: Any, **kwargs: Any) -> None:
        depth = self.__dict__.get("_adapter_init_depth", 0)
        object.__setattr__(self, "_adapter_init_depth", depth + 1)
        try:
            init(self, *args, **kwargs)
        finally:
            object.__setattr__(self, "_adapter_init_depth", depth)
        if depth == 0 and not self.__dict__.get("_adapters_set_up", False):
            self.setup_adapters()

    wrapped._sets_up_adapters = True
    return wrapped


class ASRAdapterModelMixin(AdapterModelPTMixin):
    """Adapter support for an ASR ``ModelPT`` with an ``encoder`` (and optionally ``decoder`` / ``joint``).

    Each submodule takes adapters when it mixes in ``AdapterModuleMixin`` (``ConformerEncoderAdapter``,
    ``ConvASREncoderAdapter``, ``ConvASRDecoder``, ...). ``cfg.adapters.global_cfg`` may switch off the
    support warnings with ``check_encoder_adapter`` / ``check_decoder_adapter`` / ``check_joint_adapter``.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get("__init__")
        if init is not None and not getattr(init, "_sets_up_adapters", False):
            cls.__init__ = _set_up_adapters_after(init)

    def _adapter_submodules(self) -> dict[str, AdapterModuleMixin]:
        """The submodules (by name) that take adapters."""
        found = {}
        for name in _SUBMODULES:
            module = self.__dict__.get("_modules", {}).get(name)
            if isinstance(module, AdapterModuleMixin):
                found[name] = module
        return found

    def setup_adapters(self) -> None:
        """Re-create the adapters of ``cfg.adapters`` when a submodule takes adapters; called once per model."""
        if self._adapter_submodules():
            super().setup_adapters()
        else:
            self._adapters_set_up = True

    def _target_modules(self, module_name: str) -> list[str]:
        """Submodule names an adapter's module part designates (``""`` is the encoder)."""
        names = module_name.split("+") if module_name else [""]
        return ["encoder" if name == "" else name for name in names]

    def add_adapter(self, name: str, cfg: DictConfig | dict | Any) -> None:
        """Add adapter ``name`` to the module(s) it names (the encoder when it names none).

        A ``joint`` adapter on a model without a joint (CTC) is recorded in the config only.

        Raises:
            ValueError: the module name is not one of :attr:`adapter_module_names`, or the submodule
                refuses the adapter.
            AttributeError: the named submodule does not take adapters.
        """
        super().add_adapter(name=name, cfg=cfg)
        module_name, _ = self.resolve_adapter_module_name_(name)
        for target in self._target_modules(module_name):
            if target == "joint" and not hasattr(self, "joint"):
                continue
            getattr(self, target).add_adapter(name=name, cfg=cfg)

    def is_adapter_available(self) -> bool:
        """Whether any enabled adapter is recorded, or any submodule holds an adapter."""
        available = super().is_adapter_available()
        for module in self._adapter_submodules().values():
            available |= module.is_adapter_available()
        return available

    def set_enabled_adapters(self, name: str | None = None, enabled: bool = True) -> None:
        """Enable or disable adapter ``name`` (or all, when None) in the config and in the submodules."""
        super().set_enabled_adapters(name=name, enabled=enabled)
        if name is None:
            targets = list(_SUBMODULES)
        else:
            module_name, _ = self.resolve_adapter_module_name_(name)
            targets = self._target_modules(module_name)
        for target in targets:
            module = self._adapter_submodules().get(target)
            if module is not None and module.is_adapter_available():
                module.set_enabled_adapters(name=name, enabled=enabled)

    def get_enabled_adapters(self) -> list[str]:
        """Sorted names of the enabled adapters across the submodules."""
        names = set(super().get_enabled_adapters())
        for module in self._adapter_submodules().values():
            names.update(module.get_enabled_adapters())
        return sorted(names)

    def check_valid_model_with_adapter_support_(self) -> None:
        """Warn once for each submodule that the global config expects to take adapters but cannot."""
        global_cfg = self._get_global_cfg()
        for name in _SUBMODULES:
            if not global_cfg.get(f"check_{name}_adapter", True):
                continue
            module = self.__dict__.get("_modules", {}).get(name)
            if module is None:
                if name != "joint":
                    logging.warning(
                        f"Cannot add adapters to the model's `{name}`: it has no `{name}` submodule.",
                        mode=logging_mode.ONCE,
                    )
            elif not isinstance(module, AdapterModuleMixin):
                logging.warning(
                    f"{type(module).__name__} does not implement `AdapterModuleMixin`", mode=logging_mode.ONCE
                )

    def resolve_adapter_module_name_(self, name: str) -> tuple[str, str]:
        """``(module, adapter)`` of ``name``, checking each ``+``-joined module name.

        Raises:
            ValueError: a module name is not one of :attr:`adapter_module_names`.
        """
        module_name, adapter_name = super().resolve_adapter_module_name_(name)
        for part in module_name.split("+") if module_name else [""]:
            if part not in self.adapter_module_names:
                raise ValueError(
                    f"Adapter name {name!r} names module {part!r}; valid module names are "
                    f"{self.adapter_module_names} (e.g. 'encoder:{adapter_name}')."
                )
        return module_name, adapter_name

    def _get_global_cfg(self) -> DictConfig:
        """``cfg.adapters.global_cfg``, or an empty config."""
        if "adapters" in self.cfg and self.adapter_global_cfg_key in self.cfg.adapters:
            return self.cfg.adapters[self.adapter_global_cfg_key]
        return DictConfig({})

    @property
    def adapter_module_names(self) -> list[str]:
        return ["", "encoder", "decoder", "joint"]

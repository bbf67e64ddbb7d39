"""Access to intermediate tensors of a model: modules record tensors while access is switched on.

A module that mixes in :class:`AccessMixin` calls ``register_accessible_tensor(name, tensor)`` during its
forward pass (for example a Conformer encoder recording ``interctc/layer_output_3``); the caller collects
them with ``AccessMixin.get_module_registry(model)`` afterwards and clears them with ``reset_registry``.

Two pieces of process-wide state, as in NeMo 1.23:

- the *access config* (:attr:`AccessMixin.access_cfg`), shared by every module: ``detach`` and
  ``convert_to_cpu`` change what is stored; other keys (``interctc.capture_layers``,
  ``save_encoder_tensors``, ``compute_adapter_loss``) are read by the modules that record tensors;
- the *enabled* switch (:meth:`AccessMixin.is_access_enabled`). It may also be switched per model: pass
  that model's ``guid``; a guid that was never switched follows the default (no guid) switch.

Example:
    >>> AccessMixin.update_access_cfg({"interctc": {"capture_layers": [1]}})
    >>> AccessMixin.set_access_enabled(access_enabled=True)
    >>> _ = model(audio, lengths)  # the encoder registers interctc/layer_output_1 and ..._length_1
    >>> registry = AccessMixin.get_module_registry(model)  # {"encoder": {"interctc/layer_output_1": [...]}}
    >>> model.reset_registry()  # clears every registry and switches access off again
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from omegaconf import DictConfig, OmegaConf

if TYPE_CHECKING:
    import torch

__all__ = ["AccessMixin", "set_access_cfg"]

_DEFAULT_GUID = "default"


def _fresh_cfg() -> DictConfig:
    return OmegaConf.create({"detach": False, "convert_to_cpu": False})


_access_cfg: DictConfig = _fresh_cfg()
_access_enabled: dict[str, bool] = {_DEFAULT_GUID: False}


def set_access_cfg(cfg: DictConfig) -> None:
    """Replace the access config shared by every :class:`AccessMixin` module.

    Args:
        cfg: the new config (keys such as ``detach``, ``convert_to_cpu``, ``interctc``).

    Raises:
        TypeError: ``cfg`` is not a ``DictConfig``.
    """
    if not isinstance(cfg, DictConfig):
        raise TypeError(
            f"set_access_cfg(cfg) needs an omegaconf DictConfig, got {type(cfg).__name__}; "
            "wrap a dict with OmegaConf.create(...)."
        )
    global _access_cfg
    _access_cfg = cfg


class AccessMixin:
    """Lets a module record tensors of its forward pass under names, for the caller to read afterwards.

    The tensors are kept in ``self._registry``: name -> list of tensors, one per call (a layer run twice in
    one step records twice).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._registry: dict[str, list[torch.Tensor]] = {}

    def register_accessible_tensor(self, name: str, tensor: torch.Tensor) -> None:
        """Record ``tensor`` under ``name`` (any shape), detached / moved to CPU as the access config says."""
        cfg = self.access_cfg
        if cfg.get("convert_to_cpu", False):
            tensor = tensor.cpu()
        if cfg.get("detach", False):
            tensor = tensor.detach()
        registry = self.__dict__.setdefault("_registry", {})
        registry.setdefault(name, []).append(tensor)

    @classmethod
    def get_module_registry(cls, module: torch.nn.Module) -> dict[str, dict[str, list[torch.Tensor]]]:
        """Every non-empty registry below ``module``, keyed by the submodule's dotted name (``""``: ``module``).

        Args:
            module: the model or module whose submodules recorded tensors.

        Returns:
            ``{submodule name: {tensor name: [tensor, ...]}}``; the inner dicts are the live registries.
        """
        found = {}
        for name, submodule in module.named_modules():
            registry = getattr(submodule, "_registry", None)
            if registry:
                found[name] = registry
        return found

    def reset_registry(self: Any, registry_key: str | None = None) -> None:
        """Forget recorded tensors in this module and all its submodules, then switch access off.

        Args:
            registry_key: forget only the tensors recorded under this name; None forgets all.

        Raises:
            KeyError: ``registry_key`` was given but no registry holds it.
        """
        registries = [getattr(self, "_registry", None)]
        if hasattr(self, "modules"):
            registries += [getattr(submodule, "_registry", None) for submodule in self.modules()]
        registries = [registry for registry in registries if isinstance(registry, dict)]
        if registry_key is None:
            for registry in registries:
                registry.clear()
        else:
            holders = [registry for registry in registries if registry_key in registry]
            if not holders:
                known = sorted({key for registry in registries for key in registry})
                raise KeyError(
                    f"reset_registry(registry_key={registry_key!r}): no registry holds this name. "
                    f"Names recorded now: {known}."
                )
            for registry in holders:
                del registry[registry_key]
        AccessMixin.set_access_enabled(access_enabled=False)
        guid = getattr(self, "model_guid", None)
        if guid is not None:
            AccessMixin.set_access_enabled(access_enabled=False, guid=guid)

    @property
    def access_cfg(self) -> DictConfig:
        """The access config shared by every module (see the module docstring for its keys)."""
        return _access_cfg

    @classmethod
    def update_access_cfg(cls, cfg: dict | DictConfig) -> None:
        """Merge ``cfg``'s keys into the shared access config (existing keys are overwritten)."""
        _access_cfg.update(cfg)

    @classmethod
    def is_access_enabled(cls, guid: str | None = None) -> bool:
        """Whether modules should record tensors now.

        Args:
            guid: a model's id to ask about that model; None (or a guid never switched) asks the default.
        """
        default = _access_enabled[_DEFAULT_GUID]
        if guid is None:
            return default
        return _access_enabled.get(guid, default)

    @classmethod
    def set_access_enabled(cls, access_enabled: bool, guid: str | None = None) -> None:
        """Switch recording on or off, by default for every model, or for the model with id ``guid``."""
        _access_enabled[_DEFAULT_GUID if guid is None else guid] = bool(access_enabled)

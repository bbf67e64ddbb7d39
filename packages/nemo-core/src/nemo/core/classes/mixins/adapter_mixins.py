"""Adapters: small trainable modules added to a frozen model (NeMo 1.23's adapter API).

- :class:`AdapterModuleMixin` gives any ``torch.nn.Module`` a ``ModuleDict`` of named adapters
  (``adapter_layer``), their configs (``adapter_cfg``: name -> config with ``enabled``) and the calls to
  add, enable, list, unfreeze and run them (``forward_enabled_adapters``).
- :class:`AdapterModelPTMixin` does the same for a ``ModelPT``: it keeps the adapter configs in
  ``model.cfg.adapters`` (so a ``.nemo`` archive restores them) and saves/loads adapters alone
  (``save_adapters`` / ``load_adapters``).
- The registry (:func:`register_adapter`, :func:`get_registered_adapter`) maps a module class to its
  adapter-capable subclass, e.g. ``ConformerEncoder`` -> ``ConformerEncoderAdapter``.

Names: ``"adapter_0"`` is a *global* adapter (the model decides where it goes); ``"encoder:adapter_0"``
names the module too. ``model.cfg.adapters.global_cfg.adapter_meta_cfg.modules`` remembers each name's
module. Every adapter config is built from its ``_target_`` only after the ``_target_`` allow-list
(:mod:`nemo.utils.target_allowlist`) accepts it.

Example:
    >>> model.add_adapter("encoder:adapter_0", LinearAdapterConfig(in_features=176, dim=32))
    >>> model.freeze(); model.unfreeze_enabled_adapters()
    >>> ... train ...
    >>> model.save_adapters("adapter_0.pt", name="encoder:adapter_0")
    >>> fresh_model.load_adapters("adapter_0.pt", name="encoder:adapter_0")
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field, is_dataclass
from typing import TYPE_CHECKING, Any

from nemo.utils import logging, model_utils
from nemo.utils.target_allowlist import check_config_targets, is_target_allowed
from omegaconf import DictConfig, OmegaConf, open_dict

if TYPE_CHECKING:
    import torch

__all__ = [
    "ADAPTER_REGISTRY",
    "AdapterConfig",
    "AdapterModelPTMixin",
    "AdapterModuleMixin",
    "AdapterRegistryInfo",
    "get_registered_adapter",
    "register_adapter",
]


def _class_path(cls: type) -> str:
    return f"{cls.__module__}.{cls.__name__}"


@dataclass
class AdapterRegistryInfo:
    """A registered pair: ``base_class`` and its adapter-capable subclass ``adapter_class`` (paths filled in)."""

    base_class: type
    adapter_class: type
    base_class_path: str = field(default="")
    adapter_class_path: str = field(default="")

    def __post_init__(self) -> None:
        self.base_class_path = _class_path(self.base_class)
        self.adapter_class_path = _class_path(self.adapter_class)


# base class path -> AdapterRegistryInfo
ADAPTER_REGISTRY: dict[str, AdapterRegistryInfo] = {}


class AdapterConfig:
    """Base class that adapter config dataclasses may derive from (NeMo's marker type)."""


def register_adapter(base_class: type, adapter_class: type) -> None:
    """Record that ``adapter_class`` is the adapter-capable version of ``base_class``.

    Both classes learn about each other: ``base_class._meta_adapter_class`` and
    ``adapter_class._meta_base_class``.

    Raises:
        ValueError: ``base_class`` is registered already, or ``adapter_class`` does not subclass it.
    """
    base_path = _class_path(base_class)
    if base_path in ADAPTER_REGISTRY:
        raise ValueError(
            f"{base_path} is already in the adapter registry (adapter class "
            f"{ADAPTER_REGISTRY[base_path].adapter_class_path}); check get_registered_adapter() first."
        )
    if not (inspect.isclass(adapter_class) and issubclass(adapter_class, base_class)):
        raise ValueError(
            f"register_adapter: {adapter_class!r} must be a subclass of {base_path} (the class it adds adapters to)."
        )
    ADAPTER_REGISTRY[base_path] = AdapterRegistryInfo(base_class=base_class, adapter_class=adapter_class)
    base_class._meta_adapter_class = adapter_class
    adapter_class._meta_base_class = base_class


def get_registered_adapter(cls: str | type) -> AdapterRegistryInfo | None:
    """The registry entry of a base class or of its adapter class, given as a class or a class path.

    A path already in the registry (as a base or an adapter class) resolves without importing anything.
    Any other path is imported only when the ``_target_`` allow-list accepts it (importing a module may
    register its adapters); a path outside the allow-list is not imported and has no entry.

    Returns:
        The :class:`AdapterRegistryInfo`, or None when the class has no registered adapter.
    """
    if isinstance(cls, str):
        for info in ADAPTER_REGISTRY.values():
            if cls in (info.base_class_path, info.adapter_class_path):
                return info
        if not is_target_allowed(cls):
            return None
        cls = model_utils.import_class_by_path(cls)
    base = getattr(cls, "_meta_base_class", cls)
    return ADAPTER_REGISTRY.get(_class_path(base))


def _as_dict_config(cfg: Any) -> DictConfig:
    """A fresh ``DictConfig`` from a dataclass, a dict or a config (the caller's object is not changed)."""
    if isinstance(cfg, DictConfig):
        return OmegaConf.create(OmegaConf.to_container(cfg))
    if is_dataclass(cfg):
        return OmegaConf.structured(cfg)
    return OmegaConf.create(cfg)


def _prepare_default_adapter_config(
    *, global_key: str, meta_key: str, cfg: DictConfig | None = None
) -> DictConfig:
    """Make sure ``cfg[global_key][meta_key].modules`` exists (creating ``cfg`` when None); returns ``cfg``."""
    if cfg is None:
        cfg = OmegaConf.create({})
    with open_dict(cfg):
        if global_key not in cfg:
            cfg[global_key] = {}
        if meta_key not in cfg[global_key]:
            cfg[global_key][meta_key] = {}
        if "modules" not in cfg[global_key][meta_key]:
            cfg[global_key][meta_key]["modules"] = {}
    return cfg


def _batchnorm_types() -> tuple[type, ...]:
    from torch import nn

    return (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


class AdapterModuleMixin:
    """Adds named adapter modules to a ``torch.nn.Module``.

    State kept on the module (created by the first :meth:`add_adapter`):

    - ``adapter_layer``: ``torch.nn.ModuleDict`` adapter name -> adapter module;
    - ``adapter_cfg``: ``DictConfig`` adapter name -> its config with ``enabled``; a model passes its
      whole ``cfg.adapters`` down (reserved key ``global_cfg`` holds model-wide settings and metadata);
    - ``adapter_name``: the last adapter name added here.

    A module that supports adapters calls :meth:`forward_enabled_adapters` on its output, e.g.
    ``x = self.forward_enabled_adapters(x)`` when :meth:`is_adapter_available`.
    """

    adapter_global_cfg_key = "global_cfg"
    adapter_metadata_cfg_key = "adapter_meta_cfg"

    def add_adapter(self, name: str, cfg: DictConfig | dict | Any, **kwargs: Any) -> None:
        """Build an adapter from ``cfg`` and add it under ``name`` (``"adapter"`` or ``"module:adapter"``).

        Args:
            name: adapter name, unique in this module; ``global_cfg`` is reserved.
            cfg: config (dict, ``DictConfig`` or dataclass) with ``_target_``; an ``enabled`` key (default
                True) says whether the adapter runs.
            **kwargs: extra constructor arguments of the adapter.

        Raises:
            ValueError: the adapter class is not one this module accepts, the name exists already or is
                reserved.
            UnsafeTargetError: ``cfg`` names a class outside the ``_target_`` allow-list.
        """
        from hydra.utils import instantiate
        from torch import nn

        cfg = _as_dict_config(cfg)
        if "_target_" not in cfg:
            raise ValueError(
                f"add_adapter({name!r}): the adapter config has no `_target_`; name the adapter class, e.g. "
                "nemo.collections.common.parts.adapter_modules.LinearAdapter (or pass LinearAdapterConfig)."
            )
        check_config_targets(OmegaConf.to_container(cfg), source=f"the config of adapter {name!r}")
        accepted = self.get_accepted_adapter_types()
        if accepted:
            adapter_cls = model_utils.import_class_by_path(cfg._target_, source=f"adapter {name!r}")
            if not any(issubclass(adapter_cls, kind) for kind in accepted):
                raise ValueError(
                    f"{type(self).__name__} does not accept adapter {name!r} of class {cfg._target_}; accepted "
                    f"adapter classes: {sorted(_class_path(kind) for kind in accepted)}."
                )

        if not hasattr(self, "adapter_layer"):
            self.adapter_layer = nn.ModuleDict()
        if not hasattr(self, "adapter_cfg") or self.adapter_cfg is None:
            self.adapter_cfg = OmegaConf.create({})

        _, adapter_name = self.resolve_adapter_module_name_(name)
        self.adapter_name = adapter_name
        if adapter_name == self.adapter_global_cfg_key:
            raise ValueError(f"`{self.adapter_global_cfg_key}` is reserved; give the adapter another name.")
        if adapter_name in self.adapter_layer:
            raise ValueError(
                f"An adapter named {adapter_name!r} exists already in {type(self).__name__} "
                f"(adapters: {list(self.adapter_layer.keys())}); adapter names must be unique."
            )

        with open_dict(cfg):
            enabled = cfg.pop("enabled", True)
        self.adapter_layer[adapter_name] = instantiate(cfg, **kwargs)
        with open_dict(cfg), open_dict(self.adapter_cfg):
            cfg.enabled = enabled
            self.adapter_cfg[adapter_name] = cfg

    def is_adapter_available(self) -> bool:
        """Whether this module holds at least one adapter (enabled or not)."""
        layer = getattr(self, "adapter_layer", None)
        return layer is not None and len(layer) > 0

    def set_enabled_adapters(self, name: str | None = None, enabled: bool = True) -> None:
        """Enable or disable the adapter ``name`` (``"adapter"`` or ``"module:adapter"``), or all when None.

        Raises:
            ValueError: the module has no adapters, or ``name`` is the reserved ``global_cfg``.
        """
        if not self.is_adapter_available():
            raise ValueError(
                f"{type(self).__name__} has no adapters to enable or disable; add one with add_adapter() first."
            )
        if name is None:
            names = [key for key in self.adapter_cfg.keys() if key != self.adapter_global_cfg_key]
        else:
            _, adapter_name = self.resolve_adapter_module_name_(name)
            if adapter_name == self.adapter_global_cfg_key:
                raise ValueError(
                    f"`{self.adapter_global_cfg_key}` holds settings, not an adapter; it has no state."
                )
            names = [adapter_name]
        for key in names:
            self.adapter_cfg[key]["enabled"] = enabled

    def get_enabled_adapters(self) -> list[str]:
        """Names (without module part) of the enabled adapters of this module, in the order they run."""
        if not self.is_adapter_available():
            return []
        accepted = tuple(self.get_accepted_adapter_types())
        names = []
        for key, config in self.adapter_cfg.items():
            if key == self.adapter_global_cfg_key or key not in self.adapter_layer or not config["enabled"]:
                continue
            if accepted and not isinstance(self.adapter_layer[key], accepted):
                continue
            names.append(key)
        return names

    def get_adapter_module(self, name: str) -> torch.nn.Module | None:
        """The adapter called ``name`` (with or without module part) in this module, or None."""
        _, adapter_name = self.resolve_adapter_module_name_(name)
        layer = getattr(self, "adapter_layer", None)
        if layer is None or adapter_name not in layer:
            return None
        return layer[adapter_name]

    def set_accepted_adapter_types(self, adapter_types: list[type | str]) -> None:
        """Restrict the adapter classes :meth:`add_adapter` accepts (subclasses included); ``[]`` accepts all.

        Args:
            adapter_types: classes, or class paths written in code (e.g. ``adapter_utils.LINEAR_ADAPTER_CLASSPATH``).
                Paths are imported as given: pass only paths you trust, never values read from a config.

        Raises:
            ValueError: an entry is a class that is not a ``torch.nn.Module``.
        """
        import importlib

        from torch import nn

        types = set()
        for entry in adapter_types:
            if isinstance(entry, str):
                module_path, _, attr = entry.rpartition(".")
                entry = getattr(importlib.import_module(module_path), attr)
            if not (inspect.isclass(entry) and issubclass(entry, nn.Module)):
                raise ValueError(f"Accepted adapter types must be torch.nn.Module subclasses; got {entry!r}.")
            types.add(entry)
        self._accepted_adapter_types = types

    def get_accepted_adapter_types(self) -> set[type]:
        """The adapter classes this module accepts; empty when any class is accepted."""
        return getattr(self, "_accepted_adapter_types", set())

    def unfreeze_enabled_adapters(self, freeze_batchnorm: bool = True) -> None:
        """Make the enabled adapters trainable (after ``freeze()`` of the whole model).

        Args:
            freeze_batchnorm: also freeze every BatchNorm of the model (affine parameters, eval mode, and
                ``track_running_stats = False`` so training cannot move its statistics); BatchNorms inside
                the enabled adapters track statistics again.
        """
        batchnorms = _batchnorm_types()
        if freeze_batchnorm:
            for module_name, module in self.named_modules():
                if isinstance(module, batchnorms):
                    for param in (module.weight, module.bias):
                        if param is not None:
                            param.requires_grad_(False)
                    module.eval()
                    module.track_running_stats = False
                    logging.info(f"Froze batch norm {module_name}")

        unfrozen = set()
        for module in self.modules():
            layer = getattr(module, "adapter_layer", None) if isinstance(module, AdapterModuleMixin) else None
            if not layer:
                continue
            configs = getattr(module, "adapter_cfg", None) or self.adapter_cfg
            for adapter_name, adapter in layer.items():
                if adapter_name not in configs or not configs[adapter_name]["enabled"]:
                    continue
                adapter.train()
                adapter.adapter_unfreeze()
                for inner in adapter.modules():
                    if isinstance(inner, batchnorms):
                        inner.track_running_stats = True
                unfrozen.add(adapter_name)
        for adapter_name in sorted(unfrozen):
            logging.info(f"Unfroze adapter {adapter_name!r}")

    def forward_enabled_adapters(self, input: Any) -> Any:
        """Run the enabled adapters in order, each merging into the previous result by its strategy.

        Args:
            input: this module's output (usually (B, T, D); a dict for modules that pack several tensors).

        Returns:
            The result after the last enabled adapter, same structure as ``input``.

        Raises:
            AttributeError: an adapter has no ``adapter_strategy``.
        """
        for adapter_name in self.get_enabled_adapters():
            adapter = self.adapter_layer[adapter_name]
            strategy = getattr(adapter, "adapter_strategy", None)
            if strategy is None:
                raise AttributeError(
                    f"Adapter {adapter_name!r} ({type(adapter).__name__}) has no `adapter_strategy`; set one, e.g. "
                    "with setup_adapter_strategy(ResidualAddAdapterStrategyConfig())."
                )
            input = self.forward_single_enabled_adapter_(
                input, adapter, adapter_name=adapter_name, adapter_strategy=strategy
            )
        return input

    def resolve_adapter_module_name_(self, name: str) -> tuple[str, str]:
        """Split ``"module:adapter"`` into ``(module, adapter)``.

        A bare ``"adapter"`` takes its module from the metadata in ``adapter_cfg`` when recorded there,
        else ``""`` (a global adapter).
        """
        if ":" in name:
            module_name, adapter_name = name.split(":", 1)
            return module_name, adapter_name
        module_name = ""
        configs = getattr(self, "adapter_cfg", None)
        if configs is not None:
            meta = configs.get(self.adapter_global_cfg_key, {}).get(self.adapter_metadata_cfg_key, {})
            module_name = meta.get("modules", {}).get(name, "")
        return module_name, name

    def forward_single_enabled_adapter_(
        self, input: Any, adapter_module: torch.nn.Module, *, adapter_name: str, adapter_strategy: Any
    ) -> Any:
        """Run one adapter through its strategy; modules that pack inputs (dicts) override this."""
        return adapter_strategy(input, adapter_module, module=self)


class AdapterModelPTMixin(AdapterModuleMixin):
    """Adapter support for a ``ModelPT``: configs live in ``model.cfg.adapters``; calls reach the submodules.

    Subclasses (e.g. ``ASRAdapterModelMixin``) forward ``add_adapter``, ``set_enabled_adapters``,
    ``get_enabled_adapters`` and ``is_adapter_available`` to their submodules after calling ``super()``,
    and name those submodules in :attr:`adapter_module_names`.
    """

    def setup_adapters(self) -> None:
        """Re-create the adapters listed in ``cfg.adapters`` (after a restore); call once, at the end of ``__init__``."""
        self._adapters_set_up = True
        if "adapters" not in self.cfg:
            return
        self.update_adapter_cfg(self.cfg.adapters)
        for adapter_name, adapter_cfg in list(self.cfg.adapters.items()):
            if adapter_name == self.adapter_global_cfg_key:
                continue
            module_name, _ = self.resolve_adapter_module_name_(adapter_name)
            full_name = f"{module_name}:{adapter_name}" if module_name else adapter_name
            self.add_adapter(name=full_name, cfg=adapter_cfg)
            logging.info(f"Set up adapter {full_name!r}; enabled: {adapter_cfg.get('enabled', True)}")

    def add_adapter(self, name: str, cfg: DictConfig | dict | Any) -> None:
        """Record adapter ``name`` in ``cfg.adapters`` (subclasses then add it to their submodules)."""
        cfg = _as_dict_config(cfg)
        module_name, adapter_name = self.resolve_adapter_module_name_(name)
        with open_dict(self.cfg):
            if "adapters" not in self.cfg:
                self.cfg.adapters = {}
            self.cfg.adapters = _prepare_default_adapter_config(
                global_key=self.adapter_global_cfg_key,
                meta_key=self.adapter_metadata_cfg_key,
                cfg=self.cfg.adapters,
            )
            with open_dict(self.cfg.adapters):
                meta = self.cfg.adapters[self.adapter_global_cfg_key][self.adapter_metadata_cfg_key]
                meta["modules"][adapter_name] = module_name
                if "enabled" not in cfg:
                    with open_dict(cfg):
                        cfg.enabled = True
                self.cfg.adapters[adapter_name] = cfg
        self.update_adapter_cfg(self.cfg.adapters)
        self.check_valid_model_with_adapter_support_()

    def is_adapter_available(self) -> bool:
        """Whether ``cfg.adapters`` lists an enabled adapter (subclasses add their submodules' answer)."""
        self.check_valid_model_with_adapter_support_()
        if "adapters" not in self.cfg:
            return False
        self.update_adapter_cfg(self.cfg.adapters)
        return len(self.get_enabled_adapters()) > 0

    def set_enabled_adapters(self, name: str | None = None, enabled: bool = True) -> None:
        """Set ``enabled`` of adapter ``name`` (or of all, when None) in ``cfg.adapters``.

        Raises:
            ValueError: ``name`` is the reserved ``global_cfg``.
        """
        self.check_valid_model_with_adapter_support_()
        if "adapters" not in self.cfg:
            raise ValueError(
                "The model has no adapters to enable or disable; add one with add_adapter() first."
            )
        with open_dict(self.cfg.adapters):
            if name is None:
                names = [key for key in self.cfg.adapters.keys() if key != self.adapter_global_cfg_key]
            else:
                _, adapter_name = self.resolve_adapter_module_name_(name)
                if adapter_name == self.adapter_global_cfg_key:
                    raise ValueError(
                        f"`{self.adapter_global_cfg_key}` holds settings, not an adapter; it cannot be enabled."
                    )
                names = [adapter_name]
            for key in names:
                self.cfg.adapters[key]["enabled"] = enabled
                logging.info(f"Adapter {key!r}: enabled = {enabled}")
        self.update_adapter_cfg(self.cfg.adapters)

    def get_enabled_adapters(self) -> list[str]:
        """Base answer: none (subclasses extend it with their submodules' enabled adapters)."""
        self.check_valid_model_with_adapter_support_()
        if "adapters" in self.cfg:
            self.update_adapter_cfg(self.cfg.adapters)
        return []

    def check_valid_model_with_adapter_support_(self) -> None:
        """Hook: warn (once) when a submodule that should take adapters cannot; nothing by default."""

    def save_adapters(self, filepath: str, name: str | None = None) -> None:
        """Save only the adapters (their weights and ``cfg.adapters``) to a ``torch.save`` file.

        The file holds ``{"<module>:<adapter>" or "<adapter>": [state dict per module holding it, ...],
        "__cfg__": plain dict of cfg.adapters}``: tensors and builtin containers only, so it loads with
        ``torch.load(weights_only=True)``.

        Args:
            filepath: where to write (e.g. ``adapter.pt``).
            name: one adapter (``"adapter"`` or ``"module:adapter"``); None saves all.

        Raises:
            AttributeError: the model has no adapters.
        """
        import torch

        if not hasattr(self, "cfg") or "adapters" not in self.cfg:
            raise AttributeError("The model has no adapters to save; add one with add_adapter() first.")
        names = (
            [name]
            if isinstance(name, str)
            else list(self.cfg.adapters.keys())
            if name is None
            else list(name)
        )
        contents: dict[str, Any] = {}
        for requested in names:
            if requested == self.adapter_global_cfg_key:
                continue
            module_name, adapter_name = self.resolve_adapter_module_name_(requested)
            key = f"{module_name}:{adapter_name}" if module_name else adapter_name
            prefix = f"{adapter_name}."
            contents[key] = [
                {k: v for k, v in module.adapter_layer.state_dict().items() if k.startswith(prefix)}
                for module in self._modules_holding_adapter(adapter_name)
            ]
        contents["__cfg__"] = OmegaConf.to_container(self.cfg.adapters, resolve=True)
        torch.save(contents, filepath)

    def load_adapters(
        self, filepath: str, name: str | None = None, map_location: str | None = None, strict: bool = True
    ) -> None:
        """Add the adapters saved by :meth:`save_adapters` to this model and load their weights.

        The model must not have adapters of those names yet. Files written by NeMo (config pickled as a
        ``DictConfig``) load too; anything else pickled is refused.

        Args:
            filepath: the file.
            name: the adapter to load, exactly as saved (``"module:adapter"`` or ``"adapter"``); None loads all.
            map_location: device for the weights (default: CUDA when available, else CPU).
            strict: load each adapter's state dict strictly.

        Raises:
            KeyError: ``name`` is not in the file.
            ValueError: the file holds a different number of copies of an adapter than this model creates.
        """
        import torch
        from nemo.utils.checkpoint_loading import load_checkpoint

        if map_location is None:
            map_location = "cuda" if torch.cuda.is_available() else "cpu"
        contents = load_checkpoint(filepath, map_location=map_location)
        if "__cfg__" not in contents:
            raise ValueError(f"{filepath!r} has no `__cfg__` entry; it was not written by save_adapters().")
        saved_cfg = OmegaConf.create(_plain(contents.pop("__cfg__")))
        meta = saved_cfg.get(self.adapter_global_cfg_key, {}).get(self.adapter_metadata_cfg_key, {})
        saved_modules = meta.get("modules", {})

        requested = (
            [name] if isinstance(name, str) else list(saved_cfg.keys()) if name is None else list(name)
        )
        for entry in requested:
            if entry == self.adapter_global_cfg_key:
                continue
            if ":" in entry:
                module_name, adapter_name = entry.split(":", 1)
            else:
                module_name, adapter_name = saved_modules.get(entry, ""), entry
            key = f"{module_name}:{adapter_name}" if module_name else adapter_name
            if key not in contents:
                raise KeyError(
                    f"load_adapters: {filepath!r} holds no adapter {key!r}; it holds "
                    f"{sorted(k for k in contents)}. Pass one of these as name=."
                )
            if adapter_name not in saved_cfg:
                raise KeyError(f"load_adapters: {filepath!r} has no config for adapter {adapter_name!r}.")
            self.add_adapter(name=key, cfg=saved_cfg[adapter_name])
            targets = [
                module.adapter_layer[adapter_name] for module in self._modules_holding_adapter(adapter_name)
            ]
            states = contents[key]
            if len(states) != len(targets):
                raise ValueError(
                    f"load_adapters: adapter {key!r} exists in {len(targets)} module(s) of this model but "
                    f"{filepath!r} holds {len(states)}; the file was saved from a differently shaped model."
                )
            prefix = f"{adapter_name}."
            for state, target in zip(states, targets):
                target.load_state_dict(
                    {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}, strict=strict
                )

    def _modules_holding_adapter(self, adapter_name: str) -> list[AdapterModuleMixin]:
        """Every submodule (in ``modules()`` order) whose ``adapter_layer`` holds ``adapter_name``."""
        return [
            module
            for module in self.modules()
            if isinstance(module, AdapterModuleMixin)
            and adapter_name in (getattr(module, "adapter_layer", None) or {})
        ]

    def update_adapter_cfg(self, cfg: DictConfig) -> None:
        """Give every adapter-capable submodule (and the model) ``cfg`` (``cfg.adapters``) by reference."""
        for module in self.modules():
            if isinstance(module, AdapterModuleMixin):
                module.adapter_cfg = cfg

    @property
    def adapter_module_names(self) -> list[str]:
        """Module names adapters may name (``"module:adapter"``); ``""`` is the global adapter."""
        return [""]


def _plain(value: Any) -> Any:
    """A config loaded from an adapter file (plain containers or a NeMo-pickled ``DictConfig``) as containers."""
    if isinstance(value, DictConfig):
        return OmegaConf.to_container(value, resolve=True)
    return value

"""NeMo's model helpers: class paths from configs, the pretrained cache folder, artifacts, dataset names.

``import_class_by_path`` is the one door from a config string to a Python object: it checks the path
against :mod:`nemo.utils.target_allowlist` before importing anything, walks only through classes
(never a module's ``os`` or a function's ``__globals__``) and checks where the object it found was
defined.

This module imports nothing of ``nemo.core``: the helpers that take a model call its public methods.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass, is_dataclass
from enum import Enum
from pathlib import Path
from typing import Any, Protocol

from nemo import constants
from nemo.constants import NEMO_ENV_CACHE_DIR
from nemo.utils.target_allowlist import (
    UnsafeTargetError,
    check_target,
    is_target_allowed,
    lookup_imported,
    may_import_unlisted,
)
from omegaconf import DictConfig, ListConfig, OmegaConf

__all__ = [
    "ArtifactItem",
    "ArtifactPathType",
    "NEMO_ENV_CACHE_DIR",
    "convert_model_config_to_dict_config",
    "import_class_by_path",
    "parse_dataset_as_name",
    "resolve_cache_dir",
    "resolve_dataset_name_from_cfg",
    "resolve_test_dataloaders",
    "resolve_validation_dataloaders",
    "unique_names_check",
]


class ArtifactPathType(Enum):
    """Where a registered artifact lives: a file on disk, or a file that came out of a ``.nemo`` archive."""

    LOCAL_PATH = 0
    TAR_PATH = 1


@dataclass
class ArtifactItem:
    """One file registered with ``ModelPT.register_artifact``.

    Attributes:
        path: absolute path of the file that exists now (a user file or an extracted archive member).
        path_type: :class:`ArtifactPathType` of ``path``.
        hashed_path: ``"nemo:<32 hex>_<basename>"``, the name it got in the last saved archive.
    """

    path: str | None = None
    path_type: ArtifactPathType = ArtifactPathType.LOCAL_PATH
    hashed_path: str | None = None


def _import_longest_module(parts: list[str], path: str) -> tuple[Any, int]:
    """Import the longest importable module prefix of ``parts``; return it and how many parts it used."""
    for end in range(len(parts) - 1, 0, -1):
        module_name = ".".join(parts[:end])
        try:
            return importlib.import_module(module_name), end
        except ModuleNotFoundError as error:
            if error.name is None or not module_name.startswith(error.name):
                raise
    raise ImportError(f"Cannot import {path!r}: no module in it could be imported. Check the spelling.")


def import_class_by_path(path: str, *, source: str | None = None) -> Any:
    """Import the class (or function) a config names, after checking it is allowed.

    Args:
        path: dotted path such as ``"nemo.collections.asr.modules.ConvASREncoder"``; nested classes
            (``"pkg.mod.Outer.Inner"``) work too.
        source: where the path was read, quoted in errors (default: the path itself).

    Returns:
        The class or function ``path`` names.

    Raises:
        UnsafeTargetError: ``path`` is outside the allowed prefixes, walks through something that is
            not a class, or names an object defined in a module outside them (e.g. a re-exported
            ``os.system``).
        ImportError: the module or the attribute does not exist.
    """
    where = source or f"import_class_by_path({path!r})"
    if not is_target_allowed(path) and may_import_unlisted(path):
        # A class the running program defines and has imported (a config it built itself), or the class a
        # restore was called on: nothing new is imported.
        return lookup_imported(path)
    check_target(path, source=where)
    parts = path.split(".")
    if any(not part for part in parts):
        raise ImportError(f"Cannot import {path!r} from {where}: empty component in the dotted path.")
    value, used = _import_longest_module(parts, path)
    for position, attr in enumerate(parts[used:], start=used):
        if attr.startswith("__"):
            raise UnsafeTargetError(
                f"Refusing {path!r} from {where}: it reaches the special attribute {attr!r}. "
                "A config may only name a class or function by its import path."
            )
        if position > used and not isinstance(value, type):
            raise UnsafeTargetError(
                f"Refusing {path!r} from {where}: {'.'.join(parts[:position])!r} is not a class, so "
                f"{attr!r} is not a class member. Name the class or function where it is defined."
            )
        try:
            value = getattr(value, attr)
        except AttributeError as error:
            raise ImportError(
                f"Cannot import {path!r} from {where}: {'.'.join(parts[:position])!r} has no attribute "
                f"{attr!r}. Check the spelling and that the package providing it is installed."
            ) from error
    if isinstance(value, type(os)):
        raise UnsafeTargetError(
            f"Refusing {path!r} from {where}: it is a module, expected a class or function inside one."
        )
    defined_in = getattr(value, "__module__", None)
    qualname = getattr(value, "__qualname__", parts[-1])
    if not isinstance(defined_in, str) or not is_target_allowed(f"{defined_in}.{qualname}"):
        raise UnsafeTargetError(
            f"Refusing {path!r} from {where}: it resolves to {defined_in}.{qualname}, which is defined "
            "outside the allowed prefixes. Name the class by the module that defines it, and allow that "
            "package with nemo.core.classes.target_allowlist.allow_target_prefixes if you trust it."
        )
    return value


def resolve_cache_dir() -> Path:
    """Folder where pretrained ``.nemo`` files are looked up: ``$NEMO_CACHE_DIR`` or ``~/.cache/torch/NeMo``."""
    override = os.environ.get(constants.NEMO_ENV_CACHE_DIR, "")
    if override:
        return Path(override).expanduser().resolve()
    return Path.home() / ".cache" / "torch" / "NeMo"


def convert_model_config_to_dict_config(cfg: DictConfig | dict | Any) -> DictConfig:
    """A model config (DictConfig, dict or dataclass) as a fresh, resolved DictConfig.

    Raises:
        ValueError: ``cfg`` is none of the accepted types.
    """
    if is_dataclass(cfg) and not isinstance(cfg, type):
        cfg = OmegaConf.structured(cfg)
    elif isinstance(cfg, dict):
        cfg = OmegaConf.create(cfg)
    if not isinstance(cfg, DictConfig):
        raise ValueError(
            f"A model config must be a DictConfig, dict or dataclass instance; got {type(cfg).__name__}. "
            "Load YAML with omegaconf.OmegaConf.load(path) and pass the result."
        )
    return OmegaConf.create(_modern_target_form(OmegaConf.to_container(cfg, resolve=True)))


def _modern_target_form(node: Any) -> Any:
    """Rewrite NeMo's legacy ``{cls: path, params: {...}}`` nodes as ``{_target_: path, ...params}``, recursively.

    NeMo converts a model config this way when the model is built, so ``cfg.encoder.jasper`` exists whichever
    form the user wrote. Nodes without ``cls`` keep their ``params`` key.
    """
    if isinstance(node, list):
        return [_modern_target_form(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _modern_target_form(value) for key, value in node.items()}
    if "cls" in node and "_target_" not in node:
        node["_target_"] = node.pop("cls")
        params = node.pop("params", None) or {}
        if isinstance(params, dict):
            node.update(params)
        else:
            node["params"] = params
    return node


def parse_dataset_as_name(name: str) -> str:
    """Logging prefix for a dataset: ``"/data/an4-val_manifest.json"`` -> ``"an4_val_"``.

    Raises:
        ValueError: nothing is left of the name (e.g. ``manifest.json``), so several datasets would share
            one prefix.
    """
    text = str(name)
    if os.path.exists(text) or text.endswith((".json", ".txt")):
        text = Path(text).stem
    text = text.replace("-", "_").replace("manifest", "").replace("dataset", "")
    if not text:
        raise ValueError(
            f"Dataset file {name!r} gives an empty logging name: names like 'manifest.json' or 'dataset.json' "
            "would let several datasets overwrite each other's metrics. Rename the file, e.g. 'dev_clean.json'."
        )
    return text if text.endswith("_") else text + "_"


def unique_names_check(name_list: list[str] | None) -> None:
    """Raise when two datasets got the same logging prefix.

    Raises:
        ValueError: a name occurs twice; the message names it.
    """
    if name_list is None:
        return
    seen: set[str] = set()
    for name in name_list:
        if name in seen:
            raise ValueError(
                f"Duplicate dataset name {name!r} in {name_list}: metrics would overwrite each other. "
                "Give the dataset files distinct names."
            )
        seen.add(name)


def _is_existing_path(value: object) -> bool:
    return isinstance(value, (str, os.PathLike)) and os.path.exists(value)


def resolve_dataset_name_from_cfg(cfg: DictConfig) -> str | None:
    """The key of ``cfg`` whose value is an existing path or a list of them (e.g. ``manifest_filepath``).

    ``ds_item`` is checked first when present, as in NeMo.
    """
    keys = list(cfg.keys())
    if "ds_item" in keys:
        keys.remove("ds_item")
        keys.insert(0, "ds_item")
    for key in keys:
        value = cfg.get(key)
        if isinstance(value, (list, tuple, ListConfig)):
            if value and all(_is_existing_path(str(item)) for item in value):
                return str(key)
        elif value is not None and _is_existing_path(str(value)):
            return str(key)
    return None


class _MultiDataModel(Protocol):
    """What the dataloader helpers need of a model (``ModelPT`` has it)."""

    cfg: DictConfig

    def setup_multiple_validation_data(self, val_data_config: DictConfig) -> None: ...

    def setup_multiple_test_data(self, test_data_config: DictConfig) -> None: ...


def resolve_validation_dataloaders(model: _MultiDataModel) -> None:
    """One validation dataloader per path in ``model.cfg.validation_ds.<path key>`` (NeMo's helper).

    ``ModelPT.setup_multiple_validation_data`` does this bookkeeping itself; this calls it with
    ``model.cfg.validation_ds``, so an override of that method must not call this function.
    """
    model.setup_multiple_validation_data(model.cfg.validation_ds)


def resolve_test_dataloaders(model: _MultiDataModel) -> None:
    """One test dataloader per path in ``model.cfg.test_ds.<path key>`` (NeMo's helper).

    Calls ``model.setup_multiple_test_data(model.cfg.test_ds)``; see :func:`resolve_validation_dataloaders`.
    """
    model.setup_multiple_test_data(model.cfg.test_ds)

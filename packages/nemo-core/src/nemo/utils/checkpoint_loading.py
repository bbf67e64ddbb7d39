"""Loading weights and Lightning checkpoints without running code hidden in them.

Checkpoints are pickles, and a pickle can call any function while it loads (``os.system`` through
``__reduce__``). Everything here loads with ``torch.load(..., weights_only=True)``, whose unpickler only
rebuilds tensors and plain containers; anything else is refused with :class:`UnsafeCheckpointError`
before it can run.
"""

from __future__ import annotations

import collections
import contextlib
import os
import pickle
import typing
from collections.abc import Iterator
from typing import Any

import torch
from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.base import ContainerMetadata, Metadata
from omegaconf.nodes import AnyNode

__all__ = [
    "CONFIG_GLOBAL_NAMES",
    "UnsafeCheckpointError",
    "config_safe_globals",
    "load_checkpoint",
    "load_state_dict",
    "plain_containers",
    "refused_globals",
    "unpickling_error_reason",
]

# What Lightning checkpoints of NeMo 1.23 (and of this package before it saved plain containers) pickle
# besides tensors: the model config, an OmegaConf DictConfig, under "hyper_parameters". Allowing these for
# weights_only loading runs no code of the file's choosing: the unpickler still refuses every other global,
# so a file can only name these classes; calling one of them (int, dict, list, defaultdict of one of them,
# or a DictConfig/ListConfig/AnyNode/Metadata constructor) builds a value from allowed values; and
# rebuilding an OmegaConf container only stores its state (BaseContainer.__setstate__ / Node.__setstate__
# fill in metadata defaults and update __dict__). Its strings are data too: an interpolation such as
# ${oc.env:X} is resolved only when the value is read, by the resolvers registered in this process, exactly
# as for the same string in a YAML config.
_CONFIG_GLOBALS = (
    DictConfig,
    ListConfig,
    ContainerMetadata,
    Metadata,
    AnyNode,
    typing.Any,
    dict,
    list,
    int,
    collections.defaultdict,
)

CONFIG_GLOBAL_NAMES = frozenset(f"{item.__module__}.{item.__name__}" for item in _CONFIG_GLOBALS)
"""``module.name`` of each global :func:`config_safe_globals` allows, as ``refused_globals`` names them."""


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint holds pickled objects other than tensors and plain containers; nothing was run."""


@contextlib.contextmanager
def config_safe_globals() -> Iterator[None]:
    """Let ``torch.load(weights_only=True)`` rebuild OmegaConf configs (as in Lightning ``hyper_parameters``)."""
    with torch.serialization.safe_globals(list(_CONFIG_GLOBALS)):
        yield


def refused_globals(path: str | os.PathLike[str]) -> list[str]:
    """The pickled classes and functions of a ``torch.save`` file that ``weights_only=True`` loading refuses.

    The pickle is read, not run. Names are ``module.name`` (``omegaconf.dictconfig.DictConfig``); those in
    :data:`CONFIG_GLOBAL_NAMES` load inside :func:`config_safe_globals`.

    Args:
        path: a file written by ``torch.save`` (a Lightning ``.ckpt``, a ``model_weights.ckpt``).

    Returns:
        The sorted names; empty where torch cannot list them (torch < 2.5, which loads full pickles anyway
        unless asked for ``weights_only``).

    Raises:
        ValueError: the file is not a ``torch.save`` zip archive.
    """
    if not hasattr(torch.serialization, "get_unsafe_globals_in_checkpoint"):
        return []
    return sorted(torch.serialization.get_unsafe_globals_in_checkpoint(os.fspath(path)))


def plain_containers(value: Any) -> Any:
    """``value`` with OmegaConf configs and dict/list/tuple subclasses in it, at any depth, as builtin containers.

    Interpolations are resolved, since a config taken out of its parent could no longer resolve them; a
    missing value (``???``) stays the string ``"???"``.

    Example:
        >>> plain_containers({"cfg": OmegaConf.create({"a": 1, "b": "${a}"})})
        {'cfg': {'a': 1, 'b': 1}}
    """
    if isinstance(value, (DictConfig, ListConfig)):
        return OmegaConf.to_container(value, resolve=True)
    if isinstance(value, dict):
        return {key: plain_containers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain_containers(item) for item in value]
    if isinstance(value, tuple):
        return tuple(plain_containers(item) for item in value)
    return value


def unpickling_error_reason(error: Exception) -> str:
    """The line of a ``weights_only`` refusal that names the offending object (``... GLOBAL posix.system ...``)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    for line in lines:
        if "GLOBAL" in line or "Unsupported" in line:
            return line
    return lines[-1] if lines else type(error).__name__


def _refuse(path: str | os.PathLike[str], error: Exception, what: str) -> UnsafeCheckpointError:
    return UnsafeCheckpointError(
        f"Refusing to load {what} {str(path)!r}: it holds pickled data other than tensors and plain "
        f"containers (objects that could run code while loading), or it is corrupt. Nothing in it was executed "
        f"({unpickling_error_reason(error)}). Only if you fully trust this file, load it yourself with "
        "torch.load(path, weights_only=False) and call model.load_state_dict(...)."
    )


def _load(path: str | os.PathLike[str], map_location: Any, what: str) -> Any:
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        raise _refuse(path, error, what) from None
    except FileNotFoundError:
        raise
    except Exception as error:  # damaged bytes fail in any way: EOF, TypeError, IndexError...
        # Only tensors and plain containers are unpickled here, so nothing but damage gets this far: a flipped
        # bit can call a tensor rebuilder with the wrong arguments, pop an empty pickle stack, name a missing
        # storage record or break UTF-8 (each seen), and torch lets those errors through as they are.
        raise ValueError(
            f"Cannot read {what} {str(path)!r} ({type(error).__name__}: {str(error)[:200]}). The file is truncated, "
            "damaged or not a PyTorch checkpoint; save or download it again."
        ) from error


def load_state_dict(path: str | os.PathLike[str], map_location: Any = None) -> dict[str, torch.Tensor]:
    """Load a state dict (``model_weights.ckpt``) with ``torch.load(weights_only=True)``.

    Args:
        path: file written by ``torch.save(model.state_dict(), path)``.
        map_location: passed to ``torch.load`` (e.g. ``"cpu"``).

    Returns:
        Parameter name -> tensor.

    Raises:
        UnsafeCheckpointError: the file pickles anything but tensors and containers.
        ValueError: the file is truncated or not a PyTorch checkpoint.
    """
    return _load(path, map_location, "weights file")


def load_checkpoint(path: str | os.PathLike[str], map_location: Any = None) -> dict[str, Any]:
    """Load a Lightning ``.ckpt`` (state dict, loop state, hyper-parameter configs) with ``weights_only=True``.

    Args:
        path: checkpoint written by ``Trainer.save_checkpoint`` or ``ModelCheckpoint``.
        map_location: passed to ``torch.load``.

    Returns:
        The checkpoint dict (``"state_dict"``, ``"hyper_parameters"``, ...).

    Raises:
        UnsafeCheckpointError: the file pickles anything beyond tensors, containers and OmegaConf configs.
        ValueError: the file is truncated or not a PyTorch checkpoint.
    """
    with config_safe_globals():
        return _load(path, map_location, "checkpoint")

"""A limit on how deeply a config may nest, checked without recursion before OmegaConf or Hydra see it.

OmegaConf and Hydra walk configs recursively: a config nested about 90 dicts deep (fewer inside
``from_config_dict``) ends in a bare ``RecursionError`` far from the cause. Real model configs nest fewer than 15
levels, so :func:`check_config_depth` refuses anything deeper than :data:`MAX_CONFIG_DEPTH` with an error naming
the key where the limit is crossed.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

__all__ = ["MAX_CONFIG_DEPTH", "ConfigTooDeepError", "check_config_depth"]

MAX_CONFIG_DEPTH = 48


class ConfigTooDeepError(ValueError):
    """A config nests dicts and lists more than :data:`MAX_CONFIG_DEPTH` levels deep."""


def check_config_depth(config: Any, source: str = "the config", limit: int = MAX_CONFIG_DEPTH) -> None:
    """Refuse a config whose dicts and lists nest more than ``limit`` levels.

    Args:
        config: a plain dict/list tree, an OmegaConf ``DictConfig``/``ListConfig``, or a mix.
        source: where the config comes from, for the message (e.g. ``"'model.yaml'"``).
        limit: the most levels allowed; the top-level dict is level 1.

    Raises:
        ConfigTooDeepError: naming the dotted key at which level ``limit + 1`` starts.
    """
    stack: list[tuple[Any, str, int]] = [(config, "", 1)]
    while stack:
        node, path, depth = stack.pop()
        for key, child in _children(node):
            child_path = f"{path}.{key}" if path else str(key)
            if not _is_container(child):
                continue
            if depth >= limit:
                raise ConfigTooDeepError(
                    f"{source}: config key {_excerpt(child_path)!r} starts level {depth + 1} of nested dicts and "
                    f"lists; configs may nest at most {limit} levels. Flatten that part of the config."
                )
            stack.append((child, child_path, depth + 1))


def _is_container(node: Any) -> bool:
    from omegaconf import DictConfig, ListConfig

    return isinstance(node, (Mapping, list, tuple, DictConfig, ListConfig))


def _children(node: Any) -> Iterator[tuple[Any, Any]]:
    """``(key, child)`` pairs of a dict or list node, interpolations left unresolved."""
    from omegaconf import DictConfig, ListConfig

    if isinstance(node, DictConfig):
        if node._is_none() or node._is_missing():
            return iter(())
        return iter(node.items_ex(resolve=False))
    if isinstance(node, ListConfig):
        if node._is_none() or node._is_missing():
            return iter(())
        return ((index, node._get_node(index)) for index in range(len(node)))
    if isinstance(node, Mapping):
        return iter(node.items())
    if isinstance(node, (list, tuple)):
        return enumerate(node)
    return iter(())


def _excerpt(path: str, limit: int = 200) -> str:
    return path if len(path) <= limit else f"{path[:limit]}..."

"""Which import paths a config may name in ``_target_``, ``cls`` or ``target``.

A config or a ``.nemo`` archive is data; ``_target_: os.system`` inside one must never run. Every class
path read from a config is checked here *before* it is imported. A path is allowed when it starts with
one of the allowed prefixes:

- built in: ``nemo.``, ``torch.nn.``, ``torch.optim.``, ``torch.utils.data.``,
  ``pytorch_lightning.callbacks.``, ``lightning.pytorch.callbacks.``, ``torchmetrics.``;
- registered by installed plugins through the ``nemo_register_target_prefixes`` hook: ``import nemo.core``
  hands ``nemo.core.registry.allowed_target_prefixes`` to :func:`set_plugin_prefix_source`, and they are
  read from it when a path is not built in (this module, like all of ``nemo.utils``, imports nothing of
  ``nemo.core``);
- added at run time with :func:`allow_target_prefixes`.

``nemo.core.classes.target_allowlist`` re-exports these names under their documented path.

A prefix ending in ``.`` allows everything below it (``"mypkg."`` allows ``"mypkg.models.MyModel"``);
a prefix without the trailing dot allows that exact path and everything below it.

Example:
    >>> from nemo.utils.target_allowlist import allow_target_prefixes, is_target_allowed
    >>> is_target_allowed("os.system")
    False
    >>> with allow_target_prefixes("my_models."):
    ...     is_target_allowed("my_models.TinyModel")
    True
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from types import TracebackType

__all__ = [
    "BUILTIN_TARGET_PREFIXES",
    "UnsafeTargetError",
    "allow_target_prefixes",
    "allowed_prefixes",
    "check_config_targets",
    "check_target",
    "is_target_allowed",
    "set_plugin_prefix_source",
]

BUILTIN_TARGET_PREFIXES: tuple[str, ...] = (
    "nemo.",
    "torch.nn.",
    "torch.optim.",
    "torch.utils.data.",
    "pytorch_lightning.callbacks.",
    "lightning.pytorch.callbacks.",
    "torchmetrics.",
)

_runtime_prefixes: list[str] = []
_runtime_lock = threading.Lock()
_plugin_prefix_source: Callable[[], Iterable[str]] | None = None


class UnsafeTargetError(ValueError):
    """A config named a class or function outside the allowed import prefixes; nothing was imported."""


class _RuntimePrefixes:
    """Prefixes added by :func:`allow_target_prefixes`; as a context manager, removes them on exit."""

    def __init__(self, prefixes: tuple[str, ...]) -> None:
        self.prefixes = prefixes

    def __enter__(self) -> _RuntimePrefixes:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        with _runtime_lock:
            for prefix in self.prefixes:
                _runtime_prefixes.remove(prefix)


def allow_target_prefixes(*prefixes: str) -> _RuntimePrefixes:
    """Allow configs to name classes under ``prefixes`` for the rest of the process.

    The returned handle also works as a context manager that takes the prefixes back on exit, which
    keeps tests and short scripts from widening the allow-list for everyone else.

    Args:
        *prefixes: import path prefixes such as ``"my_models."`` (everything below ``my_models``) or
            ``"my_models.TinyModel"`` (that class and its attributes).

    Returns:
        A handle; ``with allow_target_prefixes("x."):`` removes ``"x."`` again when the block ends.

    Raises:
        ValueError: a prefix is empty, not a string, or would allow everything (``"."``).
    """
    for prefix in prefixes:
        if not isinstance(prefix, str) or not prefix.strip(".") or prefix != prefix.strip():
            raise ValueError(
                f"allow_target_prefixes got {prefix!r}; expected a non-empty import path prefix such as "
                "'my_models.' (no surrounding spaces). Pass the package that holds your classes."
            )
    with _runtime_lock:
        _runtime_prefixes.extend(prefixes)
    return _RuntimePrefixes(tuple(prefixes))


def set_plugin_prefix_source(source: Callable[[], Iterable[str]] | None) -> None:
    """Name the function that returns the prefixes installed plugins register (``None``: no plugins).

    ``import nemo.core`` sets it to ``nemo.core.registry.allowed_target_prefixes``. :func:`allowed_prefixes`
    calls it, and :func:`is_target_allowed` asks only for a path outside the built-in prefixes, so plugins
    are loaded on that first question, not before.

    Args:
        source: returns prefixes such as ``"nemo_hello."``; called on every such question (the registry
            caches its answer until ``nemo.core.registry.refresh()``).
    """
    global _plugin_prefix_source
    _plugin_prefix_source = source


def _plugin_prefixes() -> tuple[str, ...]:
    source = _plugin_prefix_source
    return () if source is None else tuple(source())


def allowed_prefixes() -> tuple[str, ...]:
    """Every prefix allowed right now: built in, from plugins, then added at run time."""
    with _runtime_lock:
        runtime = tuple(_runtime_prefixes)
    return BUILTIN_TARGET_PREFIXES + _plugin_prefixes() + runtime


def _matches(path: str, prefix: str) -> bool:
    if prefix.endswith("."):
        return path.startswith(prefix)
    return path == prefix or path.startswith(prefix + ".")


def _prefixes_allow(path: str, prefixes: Iterable[str]) -> bool:
    return any(_matches(path, prefix) for prefix in prefixes)


def is_target_allowed(path: str) -> bool:
    """Whether ``path`` (e.g. ``"nemo.collections.asr.modules.ConvASREncoder"``) may be imported from a config.

    Args:
        path: dotted import path of a class or function.

    Returns:
        True when ``path`` is a string under one of :func:`allowed_prefixes`.
    """
    if not isinstance(path, str) or not path:
        return False
    if _prefixes_allow(path, BUILTIN_TARGET_PREFIXES):
        return True
    return _prefixes_allow(path, allowed_prefixes())


def check_target(path: object, *, source: str) -> None:
    """Refuse a class path from a config unless it is allowed; call this *before* importing it.

    Args:
        path: the value found under ``_target_``, ``cls`` or ``target``.
        source: where it was read, e.g. ``"config key 'encoder._target_'"`` or an archive path; it is
            quoted in the error.

    Raises:
        UnsafeTargetError: ``path`` is not a string under an allowed prefix.
    """
    if is_target_allowed(path):  # type: ignore[arg-type]
        return
    raise UnsafeTargetError(
        f"Refusing to import {path!r} named by {source}: it is not under an allowed prefix "
        f"{list(allowed_prefixes())}. Nothing was imported or run. If you trust this config and the "
        "class is yours, allow its package: a plugin returns the prefix from its "
        "`nemo_register_target_prefixes` hook, or call "
        "nemo.core.classes.target_allowlist.allow_target_prefixes('your_package.') before loading."
    )


def check_config_targets(config: object, *, source: str, key_path: str = "") -> None:
    """Check every ``_target_`` (and legacy ``cls``/``target`` next to ``params``) anywhere in a config.

    Used on configs read from files or archives before any part of them is built, so a hostile entry is
    refused even under a key the model would never instantiate.

    Args:
        config: a plain container (``OmegaConf.to_container(cfg)``): dicts, lists and scalars.
        source: where the config came from (a file or archive path), quoted in the error.
        key_path: dotted key of ``config`` inside the whole config (for recursion).

    Raises:
        UnsafeTargetError: the first disallowed class path found, with its config key.
    """
    if isinstance(config, list):
        for index, item in enumerate(config):
            check_config_targets(item, source=source, key_path=f"{key_path}[{index}]")
        return
    if not isinstance(config, dict):
        return
    class_keys = ["_target_"]
    if "params" in config:
        class_keys += ["cls", "target"]
    for key, value in config.items():
        child_path = f"{key_path}.{key}" if key_path else str(key)
        if key in class_keys and value is not None:
            check_target(value, source=f"config key {child_path!r} in {source}")
        else:
            check_config_targets(value, source=source, key_path=child_path)

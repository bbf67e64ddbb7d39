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
- added at run time with :func:`allow_target_prefixes`;
- listed in the environment variable ``NEMO_ALLOWED_TARGET_PREFIXES`` (comma-separated, e.g.
  ``my_models.,their_pkg.layers.``), for scripts you run but do not edit.

The list guards configs that come from files and archives (``.nemo`` restore, Hydra and ``nemo train``
configs): they are checked whole, before anything is built. A config your own Python code builds and passes
in (``Model.from_config_dict(cfg)``) may also name a class that your code has already imported and defines
itself (``__main__``, your project's modules; not the standard library or an installed package): importing it
runs nothing new. See :func:`is_user_defined_class`.

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

import contextlib
import contextvars
import os
import sys
import sysconfig
import threading
from collections.abc import Callable, Collection, Iterable, Iterator
from types import TracebackType

__all__ = [
    "BUILTIN_TARGET_PREFIXES",
    "UnsafeTargetError",
    "allow_target_prefixes",
    "allowed_prefixes",
    "check_config_targets",
    "check_target",
    "ENV_ALLOWED_TARGET_PREFIXES",
    "is_target_allowed",
    "is_imported_class",
    "is_user_defined_class",
    "lookup_imported",
    "may_import_unlisted",
    "targets_from_file",
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

ENV_ALLOWED_TARGET_PREFIXES = "NEMO_ALLOWED_TARGET_PREFIXES"

# Set while objects are built from a config read from a file or archive: the exact class paths trusted beyond
# the allow-list (empty: none). None: the config was built by the running program.
_file_scope: contextvars.ContextVar[frozenset[str] | None] = contextvars.ContextVar(
    "nemo_file_scope", default=None
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


def _env_prefixes() -> tuple[str, ...]:
    """Prefixes from ``$NEMO_ALLOWED_TARGET_PREFIXES`` (comma-separated; blanks ignored).

    Raises:
        ValueError: an entry would allow everything (``"."``).
    """
    raw = os.environ.get(ENV_ALLOWED_TARGET_PREFIXES, "")
    prefixes = tuple(part.strip() for part in raw.split(",") if part.strip())
    for prefix in prefixes:
        if not prefix.strip("."):
            raise ValueError(
                f"${ENV_ALLOWED_TARGET_PREFIXES} holds {prefix!r}, which would allow every import path; list "
                "package prefixes such as 'my_models.' separated by commas."
            )
    return prefixes


def allowed_prefixes() -> tuple[str, ...]:
    """Every prefix allowed right now, once each: built in, from plugins, from the environment, added at run time."""
    with _runtime_lock:
        runtime = tuple(_runtime_prefixes)
    return tuple(dict.fromkeys(BUILTIN_TARGET_PREFIXES + _plugin_prefixes() + _env_prefixes() + runtime))


def _installed_code_roots() -> tuple[str, ...]:
    """Folders of the standard library and of installed packages (site-packages), as absolute paths."""
    paths = sysconfig.get_paths()
    roots = {paths[key] for key in ("stdlib", "platstdlib", "purelib", "platlib") if key in paths}
    roots.update(p for p in sys.path if p.rstrip("/").endswith(("site-packages", "dist-packages")))
    return tuple(os.path.realpath(root) for root in roots if root)


def is_user_defined_class(path: object) -> bool:
    """Whether ``path`` names a class that the running program's own code has already imported and defines.

    True when the module of ``path`` is already in ``sys.modules`` (so importing it runs nothing new), the
    name resolves there, without special attributes, to a class (not a function) defined in that module, and
    that module is ``__main__`` or a source file outside the standard library and site-packages. Such a class
    may be named by a config the program builds itself (``from_config_dict``); configs read from files and
    archives are checked against the allow-list alone.
    """
    value = lookup_imported(path)
    if not isinstance(value, type):
        return False
    module = sys.modules.get(value.__module__)
    if module is None or not str(path).startswith(module.__name__ + "."):
        return False
    if module.__name__ == "__main__":
        return True
    source = getattr(module, "__file__", None)
    if not source:
        return False
    real = os.path.realpath(source)
    return not any(real.startswith(root + os.sep) for root in _installed_code_roots())


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


@contextlib.contextmanager
def targets_from_file(trusted_paths: Collection[str] = ()) -> Iterator[None]:
    """Mark the configs built inside the block as read from a file or archive.

    Inside it, :func:`may_import_unlisted` accepts only ``trusted_paths``, so classes the program defines are
    not importable by name unless listed (``restore_from`` lists the class it was called on).
    """
    token = _file_scope.set(frozenset(trusted_paths))
    try:
        yield
    finally:
        _file_scope.reset(token)


def may_import_unlisted(path: object) -> bool:
    """Whether ``path``, outside the allow-list, may still be imported by name right now.

    Outside :func:`targets_from_file`: when it is a class the program defines and has imported
    (:func:`is_user_defined_class`). Inside: only when it is one of the block's trusted paths (and imported).
    """
    scope = _file_scope.get()
    if scope is None:
        return is_user_defined_class(path)
    return isinstance(path, str) and path in scope and is_imported_class(path)


def is_imported_class(path: str) -> bool:
    """Whether ``path`` resolves, in modules already imported and without special attributes, to a class."""
    return isinstance(lookup_imported(path), type)


def lookup_imported(path: object) -> object | None:
    """The object ``path`` names in modules already imported (nothing is imported), or None.

    Special attributes (``__x__``) are never followed.
    """
    if not isinstance(path, str) or "." not in path:
        return None
    parts = path.split(".")
    for end in range(len(parts) - 1, 0, -1):
        module = sys.modules.get(".".join(parts[:end]))
        if module is not None:
            break
    else:
        return None
    value: object = module
    for attr in parts[end:]:
        if not attr or attr.startswith("__"):
            return None
        value = getattr(value, attr, None)
        if value is None:
            return None
    return value


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
        f"{list(allowed_prefixes())}. Nothing was imported or run. Configs from files and archives may "
        "only name classes under these prefixes, so a shared config or .nemo cannot run arbitrary code. "
        "If you trust this config, allow the package: set "
        f"{ENV_ALLOWED_TARGET_PREFIXES}=your_package. in the environment, call "
        "nemo.core.classes.target_allowlist.allow_target_prefixes('your_package.') before loading, or have "
        "a plugin return the prefix from its `nemo_register_target_prefixes` hook."
    )


def check_config_targets(
    config: object, *, source: str, key_path: str = "", trusted_paths: Collection[str] = ()
) -> None:
    """Check every ``_target_`` (and legacy ``cls``/``target`` next to ``params``) anywhere in a config.

    Used on configs read from files or archives before any part of them is built, so a hostile entry is
    refused even under a key the model would never instantiate.

    Args:
        config: a plain container (``OmegaConf.to_container(cfg)``): dicts, lists and scalars.
        source: where the config came from (a file or archive path), quoted in the error.
        key_path: dotted key of ``config`` inside the whole config (for recursion).
        trusted_paths: exact class paths accepted anywhere (``restore_from`` passes the class it was
            called on when the archive names it, or a subclass already imported, as ``target``).

    Raises:
        UnsafeTargetError: the first disallowed class path found, with its config key.
    """
    if isinstance(config, list):
        for index, item in enumerate(config):
            check_config_targets(
                item, source=source, key_path=f"{key_path}[{index}]", trusted_paths=trusted_paths
            )
        return
    if not isinstance(config, dict):
        return
    class_keys = ["_target_"]
    if "params" in config:
        class_keys += ["cls", "target"]
    for key, value in config.items():
        child_path = f"{key_path}.{key}" if key_path else str(key)
        if key in class_keys and value is not None:
            if value not in trusted_paths:
                check_target(value, source=f"config key {child_path!r} in {source}")
        else:
            check_config_targets(value, source=source, key_path=child_path, trusted_paths=trusted_paths)

"""Find, load and check nemo plugins, and collect what each one registers.

``get_plugin_manager()`` loads, once per process: nemo-core's built-in hooks, then every entry point
of the group ``nemo.plugins`` in ``sys.path`` order. Each entry point loads in its own ``try``: a
plugin that fails to import, declares a malformed hook, implements an unknown hook, or returns
malformed specs is recorded (distribution, version, error; ``nemo plugins`` shows it) and skipped, and
the others load. Every plugin's hooks run once, right after loading; they return import strings, so
nothing heavy is imported.

Environment switches, read when the manager is built:

- ``NEMO_DISABLE_PLUGIN_AUTOLOAD=1``: list no entry points; only nemo-core's built-in hooks.
- ``NEMO_DISABLED_PLUGINS=dist-a,dist-b``: skip the entry points of these distributions.
- ``NEMO_PLUGINS_STRICT=1``: a failing plugin raises ``PluginLoadError`` instead of being recorded.
"""

from __future__ import annotations

import functools
import importlib
import importlib.metadata
import os
import re
from collections.abc import Callable, Collection, Iterable
from typing import NamedTuple

import pluggy
from nemo.core.plugins import builtin, hookspecs
from nemo.core.plugins.errors import PluginError, PluginLoadError
from nemo.core.plugins.hookspecs import ENTRY_POINT_GROUP, PLUGIN_API_VERSION, PROJECT_NAME
from nemo.core.plugins.targets import is_dotted_name
from nemo.core.plugins.types import CommandSpec, ConfigPathSpec, ModelSpec, PluginInfo
from nemo.core.version import CORE_DISTRIBUTION, DOMAIN_DISTRIBUTIONS, __version__
from nemo.utils import logging

ENV_DISABLE_AUTOLOAD = "NEMO_DISABLE_PLUGIN_AUTOLOAD"
ENV_DISABLED_PLUGINS = "NEMO_DISABLED_PLUGINS"
ENV_STRICT = "NEMO_PLUGINS_STRICT"
ENV_PREFER = "NEMO_PLUGINS_PREFER"

# This repository's distributions: where a plugin registers a name one of these already has, ours is kept.
FIRST_PARTY_DISTRIBUTIONS = frozenset({CORE_DISTRIBUTION, *DOMAIN_DISTRIBUTIONS})

_TRUE_VALUES = {"1", "true", "yes", "on"}


def _is_pretrained_model_info(item: object) -> bool:
    # Duck-typed, as NeMo reads only the fields: a look-alike record is accepted too.
    return isinstance(getattr(item, "pretrained_model_name", None), str)


def _is_target_prefix(item: object) -> bool:
    return isinstance(item, str) and item.endswith(".") and is_dotted_name(item[:-1])


_RESULT_CHECKS: dict[str, tuple[str, Callable[[object], bool]]] = {
    "nemo_register_models": ("nemo.core.plugins.ModelSpec", lambda item: isinstance(item, ModelSpec)),
    "nemo_register_config_paths": (
        "nemo.core.plugins.ConfigPathSpec",
        lambda item: isinstance(item, ConfigPathSpec),
    ),
    "nemo_register_pretrained_models": (
        "nemo.core.classes.model.PretrainedModelInfo",
        _is_pretrained_model_info,
    ),
    "nemo_register_target_prefixes": (
        "a module prefix ending with '.', e.g. 'nemo_hello.'",
        _is_target_prefix,
    ),
    "nemo_register_commands": ("nemo.core.plugins.CommandSpec", lambda item: isinstance(item, CommandSpec)),
}


class Contribution(NamedTuple):
    """One item a plugin's hook returned, with the plugin that returned it."""

    item: object
    provider: PluginInfo


def normalize_distribution_name(name: str) -> str:
    """PEP 503 form, so ``Nemo_Hello`` and ``nemo-hello`` compare equal."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _major(version: object) -> int | None:
    if not isinstance(version, str):
        return None
    major, dot, minor = version.partition(".")
    return int(major) if dot and major.isdigit() and minor.isdigit() else None


class NemoPluginManager(pluggy.PluginManager):
    """pluggy's ``PluginManager("nemo")`` that records each plugin's status and contributions.

    Args:
        strict: raise ``PluginLoadError`` on the first failing plugin instead of recording it.

    Example:
        >>> pm = NemoPluginManager()
        >>> pm.add_plugin(my_plugin_module, PluginInfo("hello", "nemo-hello", "0.1.0", "loaded"))
        >>> pm.collect()
        >>> [c.item.name for c in pm.contributions("nemo_register_models")]
        ['hello.echo']
    """

    def __init__(self, *, strict: bool = False) -> None:
        super().__init__(PROJECT_NAME)
        self.add_hookspecs(hookspecs)
        self.strict = strict
        self._rows: list[PluginInfo] = []
        self._row_of: dict[str, int] = {}
        self._contributions: dict[str, list[Contribution]] = {}

    def plugin_infos(self) -> list[PluginInfo]:
        """One ``PluginInfo`` per plugin seen, in load order (failed and disabled ones included)."""
        return list(self._rows)

    def contributions(self, hook_name: str) -> list[Contribution]:
        """What the plugins still loaded returned from ``hook_name``, in load order (after ``collect``)."""
        if hook_name not in _RESULT_CHECKS:
            raise ValueError(f"unknown hook {hook_name!r}; expected one of {sorted(_RESULT_CHECKS)}.")
        return list(self._contributions.get(hook_name, []))

    def load_entry_points(
        self, entry_points: Iterable[importlib.metadata.EntryPoint], *, disabled: Collection[str] = ()
    ) -> None:
        """Import and register each entry point's module, skipping distributions named in ``disabled``.

        Args:
            entry_points: entry points of the group ``nemo.plugins``.
            disabled: distribution names (any case, ``-`` or ``_``) whose entry points are skipped.
        """
        disabled_names = {normalize_distribution_name(name) for name in disabled}
        for entry_point in entry_points:
            distribution = entry_point.dist
            info = PluginInfo(
                name=entry_point.name,
                distribution=distribution.name if distribution is not None else "unknown",
                version=distribution.version if distribution is not None else "unknown",
                status="loaded",
            )
            if normalize_distribution_name(info.distribution) in disabled_names:
                self._rows.append(info._replace(status="disabled"))
                continue
            try:
                plugin = entry_point.load()
            except Exception as exc:
                self._fail(info, f"importing {entry_point.value!r} raised", exc)
                continue
            self.add_plugin(plugin, info)

    def add_plugin(self, plugin: object, info: PluginInfo) -> bool:
        """Register one plugin object (usually its module) under ``info.name``.

        Returns:
            Whether it was registered; if not, the failure is recorded (or raised when strict).
        """
        if info.name in self._row_of:
            other = self._rows[self._row_of[info.name]]
            self._fail(
                info,
                "registering",
                PluginError(
                    f"plugin name {info.name!r} is already taken by distribution {other.distribution!r}. "
                    f"Rename the entry point in one of the two distributions' [project.entry-points."
                    f'"{ENTRY_POINT_GROUP}"] tables.'
                ),
            )
            return False
        self._warn_if_other_api(plugin, info)
        try:
            self.register(plugin, name=info.name)
        except Exception as exc:
            self._fail(info, "registering its hooks raised", exc)
            return False
        self._add_row(info)
        return True

    def collect(self) -> None:
        """Check hook names (``check_pending``), then call each registered plugin's hooks once.

        A plugin with an unknown hook name, a hook that raises, or a hook that returns something other
        than a list of the expected specs is recorded as failed, and none of its contributions are kept.
        """
        while True:
            try:
                self.check_pending()
                break
            except pluggy.PluginValidationError as exc:
                self._drop(exc.plugin, "checking hook names failed", exc)
        self._contributions = {}
        for name, plugin in list(self.list_name_plugin()):
            try:
                gathered = self._call_hooks(plugin)
            except Exception as exc:
                self._drop(plugin, "calling its hooks raised", exc)
                continue
            info = self._rows[self._row_of[name]]
            for hook_name, items in gathered.items():
                self._contributions.setdefault(hook_name, []).extend(
                    Contribution(item, info) for item in items
                )

    def _call_hooks(self, plugin: object) -> dict[str, list[object]]:
        gathered: dict[str, list[object]] = {}
        for caller in self.get_hookcallers(plugin) or []:
            if not caller.has_spec():
                continue  # an optionalhook from a newer plugin API: nothing here calls it
            expected, is_valid = _RESULT_CHECKS[caller.name]
            for impl in caller.get_hookimpls():
                if impl.plugin is not plugin:
                    continue
                if impl.wrapper or impl.hookwrapper:
                    raise PluginError(
                        f"{caller.name} is declared as a wrapper; nemo's hooks take plain implementations. "
                        "Use @hookimpl without wrapper=True/hookwrapper=True."
                    )
                result = impl.function()
                if result is None:
                    continue
                if not isinstance(result, (list, tuple)):
                    raise PluginError(
                        f"{caller.name}() returned {type(result).__name__}; expected a list of {expected}."
                    )
                for item in result:
                    if not is_valid(item):
                        raise PluginError(
                            f"{caller.name}() returned {item!r} in its list; expected {expected}."
                        )
                gathered.setdefault(caller.name, []).extend(result)
        return gathered

    def _add_row(self, info: PluginInfo) -> None:
        self._row_of[info.name] = len(self._rows)
        self._rows.append(info)

    def _fail(self, info: PluginInfo, during: str, exc: BaseException) -> None:
        """Record a plugin that never got registered."""
        self._rows.append(self._report(info, during, exc))

    def _drop(self, plugin: object, during: str, exc: BaseException) -> None:
        """Unregister a registered plugin and record why."""
        name = self.get_name(plugin)
        row = self._row_of[name]
        self._rows[row] = self._report(self._rows[row], during, exc)
        del self._row_of[name]
        self.unregister(name=name)

    def _report(self, info: PluginInfo, during: str, exc: BaseException) -> PluginInfo:
        error = f"{during}: {type(exc).__name__}: {exc}"
        message = (
            f"nemo plugin {info.name!r} from distribution {info.distribution} {info.version} failed: {error}"
        )
        if self.strict:
            raise PluginLoadError(f"{message}. Unset {ENV_STRICT} to skip failing plugins.") from exc
        logging.warning(
            f"{message}. It was skipped; `nemo plugins` lists every plugin. Fix or uninstall "
            f"{info.distribution}, or add it to {ENV_DISABLED_PLUGINS}."
        )
        return info._replace(status="failed", error=error)

    @staticmethod
    def _warn_if_other_api(plugin: object, info: PluginInfo) -> None:
        declared = getattr(plugin, "NEMO_PLUGIN_API", None)
        if declared is None:
            return
        major = _major(declared)
        if major is None:
            logging.warning(
                f"nemo plugin {info.name!r} ({info.distribution} {info.version}) declares NEMO_PLUGIN_API = "
                f"{declared!r}; expected a 'MAJOR.MINOR' string such as {PLUGIN_API_VERSION!r}. "
                "The declaration is ignored."
            )
        elif major > (_major(PLUGIN_API_VERSION) or 0):
            logging.warning(
                f"nemo plugin {info.name!r} ({info.distribution} {info.version}) was written for nemo plugin "
                f"API {declared}, newer than this nemo-core's {PLUGIN_API_VERSION}; some of its hooks may "
                f"fail or be ignored. Upgrade nemo-core: pip install -U {CORE_DISTRIBUTION}."
            )
        elif major < (_major(PLUGIN_API_VERSION) or 0):
            logging.warning(
                f"nemo plugin {info.name!r} ({info.distribution} {info.version}) was written for nemo plugin "
                f"API {declared}, older than this nemo-core's {PLUGIN_API_VERSION}; hooks of another major "
                f"version may have changed. Upgrade the plugin: pip install -U {info.distribution}."
            )


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in _TRUE_VALUES


def _env_list(name: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]


def preferred_distributions() -> list[str]:
    """``NEMO_PLUGINS_PREFER``'s distributions, in order, as PEP 503 names: they win names other plugins share."""
    return [normalize_distribution_name(name) for name in _env_list(ENV_PREFER)]


@functools.cache
def get_plugin_manager() -> NemoPluginManager:
    """The process's plugin manager, with every plugin loaded and collected on the first call.

    Honours ``NEMO_DISABLE_PLUGIN_AUTOLOAD``, ``NEMO_DISABLED_PLUGINS`` and ``NEMO_PLUGINS_STRICT``
    as they are at that first call; ``reset_plugin_manager()`` (or ``nemo.core.registry.refresh()``)
    makes the next call load again.

    Raises:
        PluginLoadError: a plugin failed while ``NEMO_PLUGINS_STRICT=1``.
    """
    manager = NemoPluginManager(strict=_env_flag(ENV_STRICT))
    manager.add_plugin(builtin, PluginInfo("core", CORE_DISTRIBUTION, __version__, "builtin"))
    if _env_flag(ENV_DISABLE_AUTOLOAD):
        logging.debug(f"{ENV_DISABLE_AUTOLOAD} is set: loading no '{ENTRY_POINT_GROUP}' entry points.")
    else:
        manager.load_entry_points(
            importlib.metadata.entry_points(group=ENTRY_POINT_GROUP), disabled=_env_list(ENV_DISABLED_PLUGINS)
        )
    manager.collect()
    return manager


def reset_plugin_manager() -> None:
    """Forget the loaded plugins; the next ``get_plugin_manager()`` rescans ``sys.path`` and the environment."""
    get_plugin_manager.cache_clear()
    importlib.invalidate_caches()

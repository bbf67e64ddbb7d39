"""What the installed nemo plugins provide: models, configs, pretrained checkpoints, commands, target prefixes.

The first question loads the plugins (``nemo.core.plugins.get_plugin_manager``): tiny modules that
return import strings. Model classes are imported only by ``get_model_class``, and this module imports
neither torch nor Lightning. Answers are cached until ``refresh()``.

Example:
    >>> from nemo.core import registry
    >>> [spec.name for spec in registry.list_models(domain="hello")]
    ['hello.echo']
    >>> EchoModel = registry.get_model_class("hello.echo")
"""

from __future__ import annotations

import functools
import importlib.resources
import pathlib
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, NamedTuple

from nemo.core.plugins.errors import DuplicateRegistrationError
from nemo.core.plugins.manager import (
    ENV_DISABLED_PLUGINS,
    ENV_PREFER,
    FIRST_PARTY_DISTRIBUTIONS,
    Contribution,
    get_plugin_manager,
    normalize_distribution_name,
    preferred_distributions,
    reset_plugin_manager,
)
from nemo.core.plugins.targets import import_target
from nemo.core.plugins.types import CommandSpec, ConfigPathSpec, ModelSpec, PluginInfo, PretrainedModelInfo
from nemo.utils import logging

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

__all__ = [
    "RegistrationConflict",
    "UnknownCommandError",
    "UnknownModelError",
    "allowed_target_prefixes",
    "conflicts",
    "find_config",
    "find_pretrained",
    "get_command",
    "get_model_class",
    "get_model_provider",
    "get_model_spec",
    "list_commands",
    "list_models",
    "list_pretrained",
    "load_command",
    "plugin_status",
    "refresh",
]

_YAML_SUFFIX = ".yaml"


class UnknownModelError(LookupError):
    """No installed plugin registers a model of that name."""


class UnknownCommandError(LookupError):
    """No installed plugin registers a ``nemo`` subcommand of that name."""


def _describe(provider: PluginInfo) -> str:
    return f"{provider.distribution} {provider.version} (plugin {provider.name!r})"


class RegistrationConflict(NamedTuple):
    """Several plugins registered one name (a model, a command or a pretrained checkpoint).

    Attributes:
        what: ``"model name"``, ``"command"`` or ``"pretrained model name"``.
        name: the name they share.
        kept: the plugin whose entry is used, or ``None`` when none wins (then the name is withheld: asking for
            it raises ``DuplicateRegistrationError``).
        skipped: the plugins whose entries are ignored.
    """

    what: str
    name: str
    kept: PluginInfo | None
    skipped: tuple[PluginInfo, ...]

    def message(self) -> str:
        """One sentence for logs and ``nemo plugins``: who registered the name, who wins, how to choose."""
        providers = [provider for provider in (self.kept, *self.skipped) if provider is not None]
        registered = f"{self.what} {self.name!r} is registered by " + " and by ".join(
            map(_describe, providers)
        )
        if self.kept is None:
            outcome = "none of them is used"
        else:
            outcome = (
                f"{self.kept.distribution}'s is used, "
                + ", ".join(f"{provider.distribution}'s" for provider in self.skipped)
                + " ignored"
            )
        return (
            f"{registered}: {outcome}. Choose one with {ENV_PREFER}=<distribution>, or skip one with "
            f"{ENV_DISABLED_PLUGINS}=<distribution>."
        )


class _Index(NamedTuple):
    entries: dict[str, Contribution]
    conflicts: tuple[RegistrationConflict, ...]

    def get(self, name: str) -> Contribution | None:
        """The contribution registered as ``name`` (``None`` when none is).

        Raises:
            DuplicateRegistrationError: several plugins registered ``name`` and none of them won it.
        """
        contribution = self.entries.get(name)
        if contribution is None:
            for conflict in self.conflicts:
                if conflict.name == name:
                    raise DuplicateRegistrationError(conflict.message())
        return contribution


def _winner(contributions: list[Contribution]) -> Contribution | None:
    """The contribution that keeps a shared name: the first of ``NEMO_PLUGINS_PREFER`` that registered it, else
    the one first-party distribution's (ours), else none."""
    by_distribution = {normalize_distribution_name(c.provider.distribution): c for c in contributions}
    for preferred in preferred_distributions():
        if preferred in by_distribution:
            return by_distribution[preferred]
    ours = [
        c
        for c in contributions
        if normalize_distribution_name(c.provider.distribution) in FIRST_PARTY_DISTRIBUTIONS
    ]
    return ours[0] if len(ours) == 1 else None


def _index(hook_name: str, what: str, keys_of: Callable[[object], Iterable[str]]) -> _Index:
    """Map each key the plugins registered to its contribution; a key several plugins registered goes to the winner
    (``_winner``), or to none, and is recorded as a conflict (logged once) without touching the other keys."""
    providers: dict[str, list[Contribution]] = {}
    for contribution in get_plugin_manager().contributions(hook_name):
        for key in dict.fromkeys(keys_of(contribution.item)):
            providers.setdefault(key, []).append(contribution)
    entries: dict[str, Contribution] = {}
    conflicts = []
    for key, contributions in providers.items():
        if len(contributions) == 1:
            entries[key] = contributions[0]
            continue
        winner = _winner(contributions)
        if winner is not None:
            entries[key] = winner
        conflict = RegistrationConflict(
            what,
            key,
            None if winner is None else winner.provider,
            tuple(c.provider for c in contributions if c is not winner),
        )
        logging.warning(conflict.message())
        conflicts.append(conflict)
    return _Index(entries, tuple(conflicts))


@functools.cache
def _models() -> _Index:
    return _index("nemo_register_models", "model name", lambda spec: [spec.name])


@functools.cache
def _pretrained() -> _Index:
    return _index(
        "nemo_register_pretrained_models",
        "pretrained model name",
        lambda info: [info.pretrained_model_name, *(getattr(info, "aliases", None) or [])],
    )


@functools.cache
def _commands() -> _Index:
    return _index("nemo_register_commands", "command", lambda spec: [spec.name])


def conflicts() -> list[RegistrationConflict]:
    """Every name that several plugins registered (models, commands, pretrained checkpoints), and who won."""
    return [*_models().conflicts, *_commands().conflicts, *_pretrained().conflicts]


def _import_provided(target: str, what: str, provider: PluginInfo) -> object:
    try:
        return import_target(target)
    except ImportError as exc:
        missing = f" (module {exc.name!r} is missing)" if exc.name else ""
        raise ImportError(
            f"{what} needs {target!r}, which failed to import{missing}: {exc}. It is registered by "
            f"{_describe(provider)}; install it with its dependencies: pip install {provider.distribution}",
            name=exc.name,
        ) from exc


def list_models(domain: str | None = None) -> list[ModelSpec]:
    """The registered models, sorted by name.

    Args:
        domain: keep only this domain, e.g. ``"asr"``.

    A name several plugins registered is listed once, as its winner's (see ``conflicts()``), or left out when none
    wins.
    """
    specs = (contribution.item for contribution in _models().entries.values())
    return sorted((spec for spec in specs if domain is None or spec.domain == domain), key=lambda s: s.name)


def get_model_spec(name: str) -> ModelSpec:
    """The ``ModelSpec`` registered as ``name``.

    Raises:
        UnknownModelError: no plugin registers ``name``; the message lists the registered names.
        DuplicateRegistrationError: several third-party plugins register ``name`` and none is preferred.
    """
    contribution = _models().get(name)
    if contribution is None:
        raise UnknownModelError(
            f"no installed plugin registers a model named {name!r}. Registered models: "
            f"{', '.join(sorted(_models().entries)) or 'none'}. Run `nemo models` to see them, or install the "
            "distribution that provides it."
        )
    return contribution.item


def get_model_provider(name: str) -> PluginInfo:
    """The plugin (and its distribution) that registers the model ``name``."""
    get_model_spec(name)
    return _models().entries[name].provider


@functools.cache
def get_model_class(name: str) -> type:
    """Import and return the class of the model registered as ``name`` (cached after the first call).

    Raises:
        UnknownModelError: no plugin registers ``name``.
        ImportError: the target cannot be imported; the message names the distribution to ``pip install``.
        TypeError: the target is not a class.
    """
    spec = get_model_spec(name)
    cls = _import_provided(spec.target, f"model {name!r}", get_model_provider(name))
    if not isinstance(cls, type):
        raise TypeError(
            f"model {name!r} has target {spec.target!r}, which is a {type(cls).__name__}, not a class. "
            f"Fix the nemo_register_models hook of {_describe(get_model_provider(name))}."
        )
    return cls


@functools.cache
def allowed_target_prefixes() -> tuple[str, ...]:
    """``_target_`` module prefixes allowed in configs and archives: nemo-core's own plus every plugin's."""
    contributions = get_plugin_manager().contributions("nemo_register_target_prefixes")
    return tuple(dict.fromkeys(contribution.item for contribution in contributions))


def list_pretrained(domain: str | None = None) -> list[PretrainedModelInfo]:
    """Pretrained checkpoints the plugins list, in load order.

    Args:
        domain: keep only those listed by the plugin of this name, e.g. ``"asr"``.
    """
    contributions = get_plugin_manager().contributions("nemo_register_pretrained_models")
    return [c.item for c in contributions if domain is None or c.provider.name == domain]


def find_pretrained(name: str) -> PretrainedModelInfo | None:
    """The pretrained checkpoint whose ``pretrained_model_name`` or one of whose ``aliases`` is ``name``."""
    contribution = _pretrained().get(name)
    return None if contribution is None else contribution.item


def list_commands() -> list[CommandSpec]:
    """Every ``nemo`` subcommand: nemo-core's own, then the plugins', in load order.

    A name several plugins registered is listed once, as its winner's (see ``conflicts()``), or left out when none
    wins.
    """
    return [contribution.item for contribution in _commands().entries.values()]


def get_command(name: str) -> CommandSpec:
    """The ``CommandSpec`` of the subcommand ``name``.

    Raises:
        UnknownCommandError: no plugin registers it; the message lists the available commands.
    """
    contribution = _commands().get(name)
    if contribution is None:
        raise UnknownCommandError(
            f"unknown command {name!r}. Available commands: {', '.join(_commands().entries)}. "
            "Run `nemo --help` for a summary of each."
        )
    return contribution.item


def load_command(name: str) -> Callable[[list[str]], int]:
    """Import the function behind the subcommand ``name``: ``function(argv) -> exit status``.

    Raises:
        UnknownCommandError: no plugin registers it.
        ImportError: its target cannot be imported; the message names the distribution to ``pip install``.
    """
    spec = get_command(name)
    return _import_provided(spec.target, f"command {name!r}", _commands().entries[name].provider)


def _config_root(spec: ConfigPathSpec, provider: PluginInfo) -> Traversable | None:
    if spec.package is None:
        root: Traversable = pathlib.Path(spec.path)
    else:
        try:
            root = importlib.resources.files(spec.package)
        except ImportError as exc:
            logging.warning(
                f"config path {spec.path!r} from {_describe(provider)} cannot be read: {exc}. "
                "Its configs are skipped; reinstall that distribution."
            )
            return None
    if not root.is_dir():
        logging.warning(
            f"config path {spec.path!r} from {_describe(provider)} is not a directory; its configs are skipped."
        )
        return None
    return root


def _yaml_files(root: Traversable, prefix: str = "") -> Iterator[tuple[str, Traversable]]:
    """``(path relative to root, file)`` for every ``.yaml`` under ``root``, depth first in name order."""
    for child in sorted(root.iterdir(), key=lambda item: item.name):
        relative = f"{prefix}{child.name}"
        if child.is_dir():
            yield from _yaml_files(child, f"{relative}/")
        elif child.name.endswith(_YAML_SUFFIX):
            yield relative, child


def find_config(name: str) -> pathlib.Path | None:
    """Find the YAML config ``name`` in the config paths the plugins register.

    Paths are searched in plugin load order. In each, ``name`` (with or without ``.yaml``)
    is first taken as a path relative to the directory (``"conformer/conformer_ctc_char"``), then
    matched against the file names of every subdirectory. Only ``.yaml`` files count: Hydra reads no other.

    Returns:
        The config file, or ``None`` when no registered path holds it.

    Raises:
        LookupError: one config path holds several files of that name; pass the relative path.
        FileNotFoundError: the file is inside a zipped package, which Hydra cannot read.
    """
    wanted = name if name.endswith(_YAML_SUFFIX) else f"{name}{_YAML_SUFFIX}"
    for contribution in get_plugin_manager().contributions("nemo_register_config_paths"):
        root = _config_root(contribution.item, contribution.provider)
        if root is None:
            continue
        files = dict(_yaml_files(root))
        if wanted in files:
            matches = {wanted: files[wanted]}
        else:
            matches = {
                relative: file for relative, file in files.items() if relative.rsplit("/", 1)[-1] == wanted
            }
        if len(matches) > 1:
            raise LookupError(
                f"config name {name!r} is ambiguous in {contribution.item.path!r}: {', '.join(matches)}. "
                "Pass the path relative to that directory instead, without the suffix."
            )
        for file in matches.values():
            if not isinstance(file, pathlib.Path):
                raise FileNotFoundError(
                    f"config {name!r} is inside {contribution.item.path!r}, which is not a directory on disk "
                    f"(a zipped install of {contribution.provider.distribution}?). Install it unzipped."
                )
            return file
    return None


def plugin_status() -> list[PluginInfo]:
    """One ``(name, distribution, version, status, error)`` row per plugin, failed and disabled included."""
    return get_plugin_manager().plugin_infos()


def refresh() -> None:
    """Forget every cached answer and loaded plugin; the next call rescans the installed distributions."""
    for cached in (_models, _pretrained, _commands, get_model_class, allowed_target_prefixes):
        cached.cache_clear()
    reset_plugin_manager()

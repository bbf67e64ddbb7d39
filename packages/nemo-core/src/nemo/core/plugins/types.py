"""What plugins hand to nemo-core (NeMo's ``PretrainedModelInfo`` included), and what the loader reports.

``ModelSpec``, ``ConfigPathSpec`` and ``CommandSpec`` are frozen dataclasses that check their fields when
built, so a malformed spec fails inside the plugin hook that made it; the plugin manager then reports that
failure under the plugin's name. ``PretrainedModelInfo`` stays NeMo's plain dataclass.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

from nemo.core.plugins.targets import is_dotted_name, is_import_string

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]*")
_DOMAIN = re.compile(r"[A-Za-z][A-Za-z0-9_\-]*")
_COMMAND = re.compile(r"[a-z][a-z0-9\-]*")
_CONFIG_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-/]*")
_PKG_SCHEME = "pkg://"


def _check_pattern(spec: str, field: str, value: object, pattern: re.Pattern[str], example: str) -> None:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise ValueError(
            f"{spec}.{field} is {value!r}; expected a string matching {pattern.pattern!r}, "
            f"e.g. {example!r}. Fix the plugin hook that builds this {spec}."
        )


def _check_import_string(spec: str, field: str, value: object, example: str) -> None:
    if not is_import_string(value):
        raise ValueError(
            f"{spec}.{field} is {value!r}; expected an import string 'module:attr' or 'module.attr', "
            f"e.g. {example!r}. Fix the plugin hook that builds this {spec}."
        )


def _check_text(spec: str, field: str, value: object) -> None:
    if not isinstance(value, str):
        raise ValueError(f"{spec}.{field} is {value!r} ({type(value).__name__}); expected a string.")


@dataclass(frozen=True)
class ModelSpec:
    """A model class that a plugin provides, named without importing it.

    Args:
        name: registry name, unique across all installed plugins, e.g. ``"asr.EncDecCTCModel"``.
        target: import string of the class, e.g. ``"nemo.collections.asr.models:EncDecCTCModel"``;
            imported only by ``nemo.core.registry.get_model_class``.
        domain: the collection it belongs to, e.g. ``"asr"`` (``nemo models --domain asr``).
        description: one line shown by ``nemo models``.
        config: name of its default config, looked up by ``nemo.core.registry.find_config`` and used by
            ``nemo train NAME``; ``None`` when it has none.

    Raises:
        ValueError: a field is malformed.
    """

    name: str
    target: str
    domain: str
    description: str = ""
    config: str | None = None

    def __post_init__(self) -> None:
        _check_pattern("ModelSpec", "name", self.name, _NAME, "hello.echo")
        _check_import_string("ModelSpec", "target", self.target, "nemo_hello.models:EchoModel")
        _check_pattern("ModelSpec", "domain", self.domain, _DOMAIN, "hello")
        _check_text("ModelSpec", "description", self.description)
        if self.config is not None:
            _check_pattern("ModelSpec", "config", self.config, _CONFIG_NAME, "hello_echo")


@dataclass(frozen=True)
class ConfigPathSpec:
    """A directory of Hydra YAML configs searched by ``find_config`` and ``nemo train``.

    Args:
        path: ``"pkg://dotted.package"`` (a package directory, found with ``importlib.resources``) or an
            absolute directory path (a ``str`` or ``os.PathLike``, stored as ``str``).

    Raises:
        ValueError: the package name is not dotted identifiers, or the directory path is relative.
    """

    path: str

    def __post_init__(self) -> None:
        path = os.fspath(self.path) if isinstance(self.path, os.PathLike) else self.path
        if not isinstance(path, str):
            raise ValueError(
                f"ConfigPathSpec.path is {path!r} ({type(path).__name__}); expected 'pkg://dotted.package' "
                "or an absolute directory path."
            )
        if path.startswith(_PKG_SCHEME):
            package = path[len(_PKG_SCHEME) :]
            if not is_dotted_name(package):
                raise ValueError(
                    f"ConfigPathSpec.path is {path!r}; the part after 'pkg://' must be a dotted package "
                    "name, e.g. 'pkg://nemo.collections.asr.conf'."
                )
        elif not os.path.isabs(path):
            raise ValueError(
                f"ConfigPathSpec.path is {path!r}, a relative path; expected an absolute directory or "
                "'pkg://dotted.package'. Build it from the plugin's location, e.g. "
                "str(pathlib.Path(__file__).parent / 'conf')."
            )
        object.__setattr__(self, "path", path)

    @property
    def package(self) -> str | None:
        """The dotted package of a ``pkg://`` path, else ``None``."""
        return self.path[len(_PKG_SCHEME) :] if self.path.startswith(_PKG_SCHEME) else None


@dataclass(frozen=True)
class CommandSpec:
    """A ``nemo`` subcommand that a plugin adds, e.g. ``nemo transcribe``.

    Args:
        name: the subcommand, lowercase letters, digits and dashes.
        target: import string of ``function(argv: list[str]) -> int`` (the exit status); imported only
            when this subcommand runs. ``argv`` holds the arguments after the subcommand's name.
        help: one line shown by ``nemo --help``.

    Raises:
        ValueError: a field is malformed.
    """

    name: str
    target: str
    help: str = ""

    def __post_init__(self) -> None:
        _check_pattern("CommandSpec", "name", self.name, _COMMAND, "transcribe")
        _check_import_string("CommandSpec", "target", self.target, "nemo_hello.cli:echo")
        _check_text("CommandSpec", "help", self.help)


@dataclass(eq=False)
class PretrainedModelInfo:
    """A pretrained checkpoint that ``from_pretrained`` can find.

    NeMo's ``nemo.core.classes.PretrainedModelInfo``. Plugins return these from
    ``nemo_register_pretrained_models``; models list them in ``list_available_models``.

    Attributes:
        pretrained_model_name: the name users pass to ``from_pretrained``.
        description: one line about the model.
        location: local path, ``file://`` URL, or URL / file name of a file in the cache folder.
        class_: the model class (or its import path) to restore it with; default the calling class.
        aliases: other names that find this entry.
    """

    pretrained_model_name: str
    description: str
    location: str
    class_: Any = None
    aliases: list[str] | None = None

    def __hash__(self) -> int:
        return hash(self.location)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PretrainedModelInfo):
            return NotImplemented
        return self.location == other.location or self.pretrained_model_name == other.pretrained_model_name

    def matches(self, name: str) -> bool:
        """Whether ``name`` is this entry's name or one of its aliases."""
        return name == self.pretrained_model_name or name in (self.aliases or [])


PluginStatus = Literal["builtin", "loaded", "failed", "disabled"]


class PluginInfo(NamedTuple):
    """One row of ``nemo plugins``: what the loader did with one plugin.

    Attributes:
        name: the entry-point name (``hello`` in ``hello = "nemo_hello.plugin"``), or ``"core"``.
        distribution: the distribution that declares it, e.g. ``"nemo-hello"``.
        version: that distribution's version.
        status: ``"builtin"`` (nemo-core's own hooks), ``"loaded"``, ``"failed"``, or ``"disabled"``
            (listed in ``NEMO_DISABLED_PLUGINS``).
        error: why it failed (``"ExceptionType: message"``), else ``None``.
    """

    name: str
    distribution: str
    version: str
    status: PluginStatus
    error: str | None = None

"""The rules and error wording shared by NeMo's name -> object registries.

NeMo keeps each registry in a module-level dict (``AVAILABLE_OPTIMIZERS``, ``AVAILABLE_SCHEDULERS``,
``AVAILABLE_OPTIMIZER_PARAMS``, ``AVAILABLE_SCHEDULER_PARAMS``). A :class:`NameRegistry` describes what one of
them holds and gives the checks every registry makes: a new name must be unused, a looked-up name must exist.
The dict itself is passed on each call, so the registry function reads it where it lives (a test that swaps the
module's dict for a copy swaps what the registry sees).

Example:
    >>> colors = NameRegistry("color", "colors", "Register yours with my_module.register_color.")
    >>> table = {"red": 1}
    >>> colors.check_new(table, "blue")
    >>> colors.resolve(table, "red")
    1
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, is_dataclass
from functools import partial
from typing import Any, TypeVar

from nemo.core.config.param_overrides import check_overrides

_Entry = TypeVar("_Entry")


@dataclass(frozen=True)
class NameRegistry:
    """What a registry holds, named for its error messages.

    Args:
        singular: one entry, as errors name it (``"optimizer"``, ``"scheduler parameters"``).
        plural: several entries (``"optimizers"``, ``"scheduler parameters"``).
        resolve_hint: the last sentence of the unknown-name error: which config key to fix, and which
            ``register_*`` function adds a name.
    """

    singular: str
    plural: str
    resolve_hint: str

    def check_new(self, entries: Mapping[str, Any], name: str) -> None:
        """Check that ``name`` is not registered yet.

        Raises:
            ValueError: ``name`` is a key of ``entries``.
        """
        if name in entries:
            raise ValueError(
                f"Cannot override pre-existing {self.plural}. Conflicting {self.singular} name = {name!r}; "
                "register it under another name."
            )

    def resolve(self, entries: Mapping[str, _Entry], name: str) -> _Entry:
        """The entry registered as ``name``.

        Raises:
            ValueError: ``name`` is not a key of ``entries``; the message lists the keys.
        """
        if name not in entries:
            raise ValueError(
                f"Cannot resolve {self.singular} {name!r}. Available {self.plural} are: {sorted(entries)}. "
                f"{self.resolve_hint}"
            )
        return entries[name]


@dataclass(frozen=True)
class ParamsRegistry(NameRegistry):
    """A registry of parameter dataclasses that configs name and override (optimizer or scheduler parameters).

    Args:
        register_function: name of the public function that registers into it, quoted in its errors.
        base_class: the parameters' usual base class, suggested when a non-dataclass is registered.
    """

    register_function: str
    base_class: type

    def register(self, entries: MutableMapping[str, type], name: str, params: type) -> None:
        """Add the dataclass ``params`` to ``entries`` as ``name``.

        Raises:
            ValueError: ``name`` is already registered, or ``params`` is not a dataclass type.
        """
        self.check_new(entries, name)
        if not (isinstance(params, type) and is_dataclass(params)):
            raise ValueError(
                f"{self.register_function}({name!r}, ...) expected a dataclass type, got {params!r}. "
                f"Pass a @dataclass subclass of {self.base_class.__module__}.{self.base_class.__qualname__}."
            )
        entries[name] = params

    def resolve_with_overrides(
        self, entries: Mapping[str, type], name: str, overrides: dict[str, Any]
    ) -> partial:
        """The dataclass registered as ``name``, bound to ``overrides`` once they are checked against its fields.

        Returns:
            ``functools.partial(params_cls, **overrides)``.

        Raises:
            ValueError: unknown ``name``, or an override that is not a field of the dataclass (or has the wrong
                type).
        """
        params_cls = self.resolve(entries, name)
        check_overrides(params_cls, overrides, what=f"{self.singular} {name!r}")
        return partial(params_cls, **overrides)

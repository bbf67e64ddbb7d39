"""Import strings: ``"module:attr"`` or ``"module.attr"``, checked without importing and imported on demand.

Plugins name their classes and functions by import string so that listing what a plugin provides never
imports it. ``"pkg.models:EchoModel"`` and ``"pkg.models.EchoModel"`` name the same class; the colon form
also reaches nested attributes (``"pkg.models:EchoModel.from_config"``).
"""

from __future__ import annotations

import importlib


def is_dotted_name(text: str) -> bool:
    """Whether ``text`` is identifiers joined by dots, e.g. ``"nemo_hello.models"``."""
    return bool(text) and all(part.isidentifier() for part in text.split("."))


def is_import_string(target: object) -> bool:
    """Whether ``target`` is a well-formed ``"module:attr"`` or ``"module.attr"`` string (nothing is imported)."""
    if not isinstance(target, str):
        return False
    if ":" in target:
        module, _, attr = target.partition(":")
        return is_dotted_name(module) and is_dotted_name(attr)
    return is_dotted_name(target) and "." in target


def split_import_string(target: str) -> tuple[str, str]:
    """Split an import string into ``(module, attribute path)``.

    Args:
        target: ``"module:attr"`` or ``"module.attr"``; the dotted form splits at its last dot.

    Returns:
        The module to import and the dotted attribute path to read from it.

    Raises:
        ValueError: ``target`` is not an import string.
    """
    if not is_import_string(target):
        raise ValueError(
            f"{target!r} is not an import string. Expected 'module:attr' or 'module.attr', "
            "e.g. 'nemo_hello.models:EchoModel'."
        )
    if ":" in target:
        module, _, attr = target.partition(":")
        return module, attr
    module, _, attr = target.rpartition(".")
    return module, attr


def canonical_import_string(target: str) -> str:
    """``"pkg.mod:Cls"`` and ``"pkg.mod.Cls"`` both become ``"pkg.mod.Cls"`` (for comparing targets)."""
    module, attr = split_import_string(target)
    return f"{module}.{attr}"


def import_target(target: str) -> object:
    """Import the module of ``target`` and return the attribute it names.

    Raises:
        ValueError: ``target`` is not an import string.
        ImportError: the module cannot be imported, or it has no such attribute (as ``from m import x``).
    """
    module_name, attr_path = split_import_string(target)
    value: object = importlib.import_module(module_name)
    for attr in attr_path.split("."):
        try:
            value = getattr(value, attr)
        except AttributeError as exc:
            raise ImportError(
                f"cannot import {target!r}: {module_name!r} has no attribute path {attr_path!r} "
                f"(missing {attr!r}). Check the spelling of the import string.",
                name=module_name,
            ) from exc
    return value

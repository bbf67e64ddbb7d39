"""Lazy re-exports for package ``__init__`` modules.

``import nemo.core`` must not import torch or Lightning: a package's public names are resolved
from import strings on first attribute access (PEP 562), then cached in the module's globals.

Example:
    >>> __getattr__, __dir__ = lazy_exports(__name__, {"NeuralModule": "nemo.core.classes.module"})
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping


def lazy_exports(
    module_name: str, exports: Mapping[str, str]
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """Build the ``__getattr__`` and ``__dir__`` of a package that re-exports names lazily.

    Args:
        module_name: ``__name__`` of the package doing the re-exporting.
        exports: public name -> module that defines it. A value ending in ``:attr`` imports
            ``attr`` from that module under the public name; a value naming a submodule with no
            ``:`` and the same last component as the key re-exports the submodule itself.

    Returns:
        The ``(__getattr__, __dir__)`` pair to assign at module level.
    """

    def __getattr__(name: str) -> object:
        target = exports.get(name)
        if target is None:
            raise AttributeError(f"module {module_name!r} has no attribute {name!r}")
        module_path, _, attr = target.partition(":")
        module = importlib.import_module(module_path)
        if attr:
            value = getattr(module, attr)
        elif module_path.rsplit(".", 1)[-1] == name:
            value = module
        else:
            value = getattr(module, name)
        setattr(sys.modules[module_name], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[module_name])) | set(exports))

    return __getattr__, __dir__

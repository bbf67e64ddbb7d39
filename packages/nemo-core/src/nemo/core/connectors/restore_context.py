"""Which ``.nemo`` archive is being restored right now, for code that runs inside a model's ``__init__``.

While ``restore_from`` builds a model, its constructor may call ``register_artifact("tokenizer.model",
"nemo:<hex>_tokenizer.model")``; that path only makes sense relative to the folder the archive was
extracted into. This module carries that folder (and the archive path, for error messages) in a
:class:`contextvars.ContextVar`, so concurrent restores in other threads or tasks never see each other's
folder and nothing changes the working directory.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = ["RestoreContext", "current_restore_context", "restoring", "set_restore_context"]


@dataclass(frozen=True)
class RestoreContext:
    """A restore in progress.

    Attributes:
        folder: where the archive's files were extracted (``None`` when restoring from a Lightning
            checkpoint, which has no artifacts).
        restore_path: the archive or checkpoint being restored.
    """

    folder: Path | None
    restore_path: str | None


_CURRENT: contextvars.ContextVar[RestoreContext | None] = contextvars.ContextVar(
    "nemo_restore_context", default=None
)


def current_restore_context() -> RestoreContext | None:
    """The restore in progress in this thread/task, or ``None``."""
    return _CURRENT.get()


def set_restore_context(context: RestoreContext | None) -> None:
    """Start (``context``) or end (``None``) a restore without a ``with`` block (NeMo's ``_set_model_restore_state``)."""
    _CURRENT.set(context)


@contextlib.contextmanager
def restoring(folder: str | Path | None, restore_path: str | None) -> Iterator[RestoreContext]:
    """Mark the block as restoring from ``restore_path`` extracted into ``folder``; undone on exit."""
    context = RestoreContext(folder=Path(folder) if folder is not None else None, restore_path=restore_path)
    token = _CURRENT.set(context)
    try:
        yield context
    finally:
        _CURRENT.reset(token)

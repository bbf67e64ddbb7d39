"""Checkpoint files that are either the old or the new complete file, whenever the writer is killed.

A file is written to ``{final name}.tmp-{8 hex digits}`` in the folder of its final name (the naming of
:func:`nemo.core.connectors.archive.write_archive`), flushed to disk with ``fsync``, then renamed over the
final name with ``os.replace``, which POSIX makes atomic on one filesystem. A reader, or a run restarted after
a ``kill -9``, sees the previous complete file or the new one, never a part of one; on an error (a full disk)
the temporary file is removed and the previous file stays. A temporary file left by a killed writer is removed
by :func:`remove_partial_writes` when the next run starts.

Lightning's ``TorchCheckpointIO`` writes through ``fsspec`` to a temporary file in the system temporary folder
(``$TMPDIR``) and moves it into place: when that folder is on another filesystem than the checkpoints (a
``tmpfs`` ``/tmp``, checkpoints on a network disk), the move is a copy over the old file, which a kill leaves
truncated, and a killed writer leaves a checkpoint-sized file in ``$TMPDIR``.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from fsspec.utils import get_protocol
from nemo.utils import logging
from nemo.utils.atomic_write import (
    PARTIAL_WRITE_MARK,
    explained_write_error,
    partial_write_path,
    replace_atomically,
    write_atomically,
)
from pytorch_lightning.plugins.io import CheckpointIO, TorchCheckpointIO
from pytorch_lightning.strategies import Strategy

__all__ = [
    "PARTIAL_WRITE_MARK",
    "AtomicCheckpointIO",
    "atomic_checkpoint_io",
    "explained_write_error",
    "partial_write_path",
    "remove_partial_writes",
    "replace_atomically",
    "write_atomically",
]


def remove_partial_writes(folder: str | os.PathLike[str], extensions: tuple[str, ...]) -> list[Path]:
    """Delete the temporary files that writers killed mid-write left in ``folder`` (not in sub-folders).

    Those are the files named ``{name}{extension}.tmp-{hex digits}``, possibly with several ``.tmp-{hex}``
    parts; any other file stays.

    Args:
        folder: a checkpoint folder; a missing one holds nothing.
        extensions: final extensions whose partial writes are removed, e.g. ``(".ckpt", ".nemo")``.

    Returns:
        The removed files.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    endings = "|".join(re.escape(extension) for extension in extensions if extension)
    if not endings:
        return []
    # A partial write of a partial write (write_archive's own temporary file for ours) is removed too.
    pattern = re.compile(rf".+(?:{endings})(?:{re.escape(PARTIAL_WRITE_MARK)}[0-9a-f]+)+")
    removed = []
    for child in sorted(folder.iterdir()):
        if pattern.fullmatch(child.name) and child.is_file():
            child.unlink(missing_ok=True)
            removed.append(child)
            logging.info(f"Removed {child}, the unfinished write of a run that was stopped while saving.")
    return removed


class AtomicCheckpointIO(CheckpointIO):
    """Write local checkpoints with :func:`write_atomically`; everything else goes to ``checkpoint_io``.

    Only what ``TorchCheckpointIO.save_checkpoint`` would write (``torch.save`` of the checkpoint dict) is
    written here, so the file is the same; remote paths and ``storage_options`` are left to the wrapped IO.

    Args:
        checkpoint_io: the strategy's IO, a ``TorchCheckpointIO`` (or a subclass that does not change saving).
    """

    def __init__(self, checkpoint_io: TorchCheckpointIO) -> None:
        self.checkpoint_io = checkpoint_io

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: str | os.PathLike[str], storage_options: Any | None = None
    ) -> None:
        """Save ``checkpoint`` to ``path`` so that ``path`` is always a complete checkpoint file."""
        if storage_options is not None or get_protocol(str(path)) not in ("file", "local"):
            self.checkpoint_io.save_checkpoint(checkpoint, path, storage_options=storage_options)
            return
        local = str(path).removeprefix("file://").removeprefix("local://")
        write_atomically(local, lambda stream: torch.save(checkpoint, stream))

    def load_checkpoint(self, path: str | os.PathLike[str], *args: Any, **kwargs: Any) -> dict[str, Any]:
        """Load with the wrapped IO."""
        return self.checkpoint_io.load_checkpoint(path, *args, **kwargs)

    def remove_checkpoint(self, path: str | os.PathLike[str]) -> None:
        """Remove with the wrapped IO."""
        self.checkpoint_io.remove_checkpoint(path)

    def teardown(self) -> None:
        """Tear down the wrapped IO."""
        self.checkpoint_io.teardown()


@contextlib.contextmanager
def atomic_checkpoint_io(strategy: Strategy) -> Iterator[None]:
    """Within the block, the strategy saves checkpoints through an :class:`AtomicCheckpointIO`.

    Only a strategy whose IO saves as ``TorchCheckpointIO`` does is changed (a custom or asynchronous IO
    is left alone). Under DDP only global rank zero writes (``Strategy.save_checkpoint``), so the rename
    happens there; ``Trainer.save_checkpoint``'s barrier then holds the other ranks until it is done.
    """
    current = strategy.checkpoint_io
    saves_like_torch = isinstance(current, TorchCheckpointIO) and (
        type(current).save_checkpoint is TorchCheckpointIO.save_checkpoint
    )
    if not saves_like_torch:
        yield
        return
    strategy.checkpoint_io = AtomicCheckpointIO(current)
    try:
        yield
    finally:
        strategy.checkpoint_io = current

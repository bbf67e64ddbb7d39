"""Atomic file writes: a temporary file beside the final one, flushed to disk, then renamed over it.

A file is written to ``{final name}.tmp-{8 hex digits}`` in the folder of its final name, flushed with ``fsync``,
then renamed over the final name with ``os.replace``, which POSIX makes atomic on one filesystem: a reader, or a
run restarted after a kill, sees the old complete file or the new complete file, never a part. Used by
``.nemo`` archives (:func:`nemo.core.connectors.archive.write_archive`) and by exp_manager's checkpoints
(:mod:`nemo.utils.callbacks.atomic_checkpoint_io`). Imports nothing heavy.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

__all__ = [
    "PARTIAL_WRITE_MARK",
    "explained_write_error",
    "partial_write_path",
    "replace_atomically",
    "write_atomically",
]

PARTIAL_WRITE_MARK = ".tmp-"
"""A file being written is named ``{final name}{PARTIAL_WRITE_MARK}{8 hex digits}`` until it is complete."""


def partial_write_path(path: str | os.PathLike[str]) -> Path:
    """A fresh temporary name for a write of ``path``, in the same folder (so that a rename is atomic)."""
    final = Path(path)
    return final.with_name(f"{final.name}{PARTIAL_WRITE_MARK}{secrets.token_hex(4)}")


def write_atomically(path: str | os.PathLike[str], write: Callable[[IO[bytes]], Any]) -> None:
    """Call ``write(stream)`` on a new temporary file beside ``path``, then make it ``path`` in one rename.

    Args:
        path: the final file; its missing parent folders are created.
        write: writes the whole content to the binary stream it is given.

    Raises:
        OSError: the folder cannot be written or the disk is full (the system's error number, and a message
            naming ``path``); ``path`` is left as it was and the temporary file is removed.
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    temporary = partial_write_path(final)
    try:
        with open(temporary, "xb") as stream:
            recording = _ErrorRecordingStream(stream)
            try:
                write(recording)
            except Exception as error:
                if recording.error is None or recording.error is error:
                    raise
                # torch.save reports a failed write as an obscure RuntimeError; raise the system's error.
                raise recording.error from error
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, final)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise explained_write_error(error, final) from error
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _fsync_folder(final.parent)


def explained_write_error(error: OSError, path: str | os.PathLike[str]) -> OSError:
    """A new ``error`` (same type and number) whose message names ``path`` and says the old file is unchanged."""
    message = (
        f"Could not write {str(path)!r}: {error.strerror or error}. The file that was there before, if any, is "
        "unchanged. Free space on its disk, make its folder writable, or choose another folder."
    )
    return OSError(message) if error.errno is None else OSError(error.errno, message)


def replace_atomically(temporary: str | os.PathLike[str], path: str | os.PathLike[str]) -> None:
    """Flush the complete file ``temporary`` to disk and rename it over ``path`` (same folder)."""
    with open(temporary, "rb") as stream:
        os.fsync(stream.fileno())
    os.replace(temporary, path)
    _fsync_folder(Path(path).parent)


class _ErrorRecordingStream:
    """A binary stream that keeps the first ``OSError`` its ``write`` raised (``torch.save`` hides it)."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.error: OSError | None = None

    def write(self, data: bytes) -> int:
        try:
            return self.stream.write(data)
        except OSError as error:
            self.error = self.error or error
            raise

    def flush(self) -> None:
        self.stream.flush()

    def tell(self) -> int:
        return self.stream.tell()


def _fsync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` survive a power cut (a no-op where folders cannot be opened)."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)

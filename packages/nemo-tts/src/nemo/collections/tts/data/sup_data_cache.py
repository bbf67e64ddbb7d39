"""The cache of supplementary data (pitch, energy, log mel) under ``sup_data_path``, one ``.pt`` per utterance.

NeMo 1.23's layout: ``<sup_data_path>/<type>/<id>.pt`` where ``<id>`` is the audio path relative to the
folder holding every audio file of the dataset, without its suffix, with ``/`` replaced by ``_``. A file
that cannot be read, or whose tensor does not have the expected number of frames (computed with another
hop length, cut short), is recomputed with a warning. Files are written to a temporary name and renamed,
so that DataLoader workers never read a half-written file.
"""

from __future__ import annotations

import os
import pickle
import tempfile
from collections.abc import Callable
from pathlib import Path

import torch
from nemo.utils import logging

__all__ = ["cache_id", "load_or_compute"]


def cache_id(audio_filepath: str | os.PathLike[str], base_dir: Path | None) -> str:
    """NeMo's cache file stem for an audio file: its path under ``base_dir``, suffix dropped, ``/`` -> ``_``."""
    path = Path(audio_filepath)
    relative = path.relative_to(base_dir) if base_dir is not None else path
    return str(relative.with_suffix("")).replace("/", "_")


def _save(tensor: torch.Tensor, path: Path) -> None:
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    try:
        torch.save(tensor, tmp)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def _load(path: Path, n_frames: int | None) -> torch.Tensor | None:
    """The cached tensor, or ``None`` (with a warning) when it is unreadable or has the wrong length."""
    try:
        tensor = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, OSError, ValueError, pickle.UnpicklingError) as err:
        logging.warning(f"Cached supplementary data {path} cannot be read ({err}); recomputing it.")
        return None
    if not isinstance(tensor, torch.Tensor):
        logging.warning(
            f"Cached supplementary data {path} holds {type(tensor).__name__}, not a tensor; recomputing."
        )
        return None
    if n_frames is not None and tensor.shape[-1] != n_frames:
        logging.warning(
            f"Cached supplementary data {path} has {tensor.shape[-1]} frames, expected {n_frames} (computed with "
            "other settings?); recomputing it."
        )
        return None
    return tensor


def load_or_compute(
    path: Path, compute: Callable[[], torch.Tensor], n_frames: int | None = None
) -> torch.Tensor:
    """Read ``path`` if it holds a usable tensor, else ``compute()`` it and save it there.

    Args:
        path: the cache file.
        compute: makes the tensor when the cache cannot be used.
        n_frames: the expected size of the last axis, checked on a cached tensor (``None``: not checked).

    Returns:
        The tensor (on the CPU).
    """
    if path.exists():
        tensor = _load(path, n_frames)
        if tensor is not None:
            return tensor
    tensor = compute()
    _save(tensor, path)
    return tensor

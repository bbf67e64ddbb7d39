"""Line-offset index files for memory-mapped text datasets, in NeMo 1.23's on-disk format.

For a data file ``data.jsonl`` the index is two files sharing the base name ``data.jsonl.idx``:

* ``data.jsonl.idx.npy``: a 1-D integer array (``np.save`` format) with the byte offset of every record
  delimiter (``newline_int``). When the file does not end with a delimiter, ``len(file) + 1`` is appended so the
  last record still has an end. Trailing empty records at the end of the file are dropped.
* ``data.jsonl.idx.info``: a pickled ``dict(newline_int=..., version="0.2")``.

Where the index goes: by default (``index_mapping_dir=None``) NeMo 1.23 writes it **next to the data file**, and
so do we, so that indices built by either library can be shared. Pass ``index_mapping_dir`` to keep user data
folders untouched: the index then lives at ``<index_mapping_dir>/<data path without leading "/" and "..">.idx``.
"""

from __future__ import annotations

import io
import multiprocessing as mp
import os
import pickle
from collections.abc import Callable, Sequence
from functools import partial

import numpy as np
from nemo.utils import logging

__all__ = [
    "INDEX_SUFFIX",
    "INDEX_VERSION",
    "build_index_files",
    "build_index_from_memdata",
    "index_base_name",
    "index_files_exist",
    "read_index",
]

INDEX_VERSION = "0.2"
INDEX_SUFFIX = "idx"

BuildIndexFn = Callable[[str, int | None], np.ndarray]


def build_index_from_memdata(fn: str, newline_int: int) -> np.ndarray:
    """Find the record delimiters of ``fn`` by scanning it as a ``uint8`` memmap.

    Returns:
        1-D integer array ``[num_records]``: the end offset (exclusive) of every record.
    """
    if os.path.getsize(fn) == 0:
        raise ValueError(f"data file {fn} is empty: memory-mapped datasets need at least one record")
    data = np.memmap(fn, dtype=np.uint8, mode="r")
    try:
        ends = np.flatnonzero(data == newline_int)
        size = len(data)
    finally:
        data._mmap.close()
        del data
    if ends.size == 0 or ends[-1] + 1 != size:
        ends = np.append(ends, size + 1)  # the last record has no delimiter
    # Drop empty records at the end of the file (two delimiters at most one byte apart).
    keep = len(ends)
    while keep > 1 and ends[keep - 1] - ends[keep - 2] < 2:
        keep -= 1
    return ends[:keep]


def index_base_name(fn: str, index_mapping_dir: str | None = None) -> str:
    """Base name of ``fn``'s index files (``.npy``/``.info`` are added to it).

    With ``index_mapping_dir``, ``fn`` (file name, relative or absolute path) is placed under that directory after
    stripping every leading ``/`` and ``..``; the parent folder is created. Without it, the index sits next to
    ``fn``.
    """
    if not index_mapping_dir:
        return f"{fn}.{INDEX_SUFFIX}"
    rel = fn
    while rel.startswith(("/", "..")):
        rel = rel.lstrip(".") if rel.startswith("..") else rel.lstrip("/")
    base = f"{os.path.join(index_mapping_dir, rel)}.{INDEX_SUFFIX}"
    os.makedirs(os.path.dirname(base), exist_ok=True)
    return base


def index_files_exist(base: str) -> bool:
    """True when both ``<base>.npy`` and ``<base>.info`` exist."""
    return os.path.exists(base + ".npy") and os.path.exists(base + ".info")


class _PlainDataUnpickler(pickle.Unpickler):
    """Unpickler for ``.info`` files: builtin containers and scalars only, never arbitrary classes."""

    def find_class(self, module: str, name: str):
        raise pickle.UnpicklingError(
            f"index info file refers to {module}.{name}; only plain dicts of str/int are expected. "
            "Delete the '.idx.info'/'.idx.npy' files to rebuild them."
        )


def _load_info(path: str) -> dict:
    with open(path, "rb") as handle:
        info = _PlainDataUnpickler(io.BytesIO(handle.read())).load()
    if not isinstance(info, dict):
        raise RuntimeError(
            f"index info file {path} holds {type(info).__name__}, expected a dict; delete it to rebuild"
        )
    return info


def read_index(
    fn: str, index_mapping_dir: str | None, newline_int: int, header_lines: int
) -> tuple[np.memmap, np.ndarray]:
    """Open ``fn`` as a ``uint8`` memmap together with its (memory-mapped) index array.

    Raises:
        ValueError: the index files are missing (build them with :func:`build_index_files`).
        RuntimeError: the index has fewer entries than ``header_lines`` or another format version.
    """
    base = index_base_name(fn, index_mapping_dir)
    if not index_files_exist(base):
        raise ValueError(
            f"no index for {fn}: expected {base}.npy and {base}.info; call build_index_files first"
        )
    data = np.memmap(fn, dtype=np.uint8, mode="r")
    ends = np.load(base + ".npy", mmap_mode="r", allow_pickle=False)
    if len(ends) < header_lines:
        raise RuntimeError(f"{fn} has {len(ends)} lines but header_lines={header_lines}")
    info = _load_info(base + ".info")
    if "newline_int" in info and info["newline_int"] != newline_int:
        logging.warning(
            f"index {base}.info was built with newline_int={info['newline_int']}, dataset uses {newline_int}"
        )
    version = info.get("version", "0.0")
    if version != INDEX_VERSION:
        raise RuntimeError(
            f"index {base} has version {version}, expected {INDEX_VERSION}: delete {base}.npy and {base}.info "
            "so they are rebuilt"
        )
    return data, ends


def _build_one(
    newline_int: int, build_index_fn: BuildIndexFn, fn: str, index_mapping_dir: str | None
) -> bool:
    """Write ``fn``'s index files unless they exist; True when they were written."""
    base = index_base_name(fn, index_mapping_dir)
    if index_files_exist(base):
        return False
    logging.info(f"building index for {fn}")
    ends = np.asarray(build_index_fn(fn, newline_int))
    if not np.issubdtype(ends.dtype, np.integer):
        raise TypeError(
            f"build_index_fn returned dtype {ends.dtype} for {fn}; it must return integer offsets"
        )
    np.save(base + ".npy", ends, allow_pickle=False)
    with open(base + ".info", "wb") as handle:
        pickle.dump({"newline_int": newline_int, "version": INDEX_VERSION}, handle)
    return True


def build_index_files(
    dataset_paths: Sequence[str],
    newline_int: int,
    workers: int | None = None,
    build_index_fn: BuildIndexFn = build_index_from_memdata,
    index_mapping_dir: str | None = None,
) -> int:
    """Write missing index files for every path; existing ones are kept.

    Args:
        dataset_paths: data files.
        newline_int: byte value that ends a record (10 is ``\\n``).
        workers: processes used (default: half the CPUs); with one worker or one file no process is forked.
        build_index_fn: ``fn(path, newline_int) -> int array`` of record end offsets; must be picklable.
        index_mapping_dir: folder for the index files; ``None`` writes them next to the data (NeMo's default).

    Returns:
        The number of index files built.
    """
    if len(dataset_paths) < 1:
        raise ValueError("dataset_paths is empty: give at least one data file")
    if workers is None:
        workers = max(1, (os.cpu_count() or 2) // 2)
    if workers < 1:
        raise ValueError(f"workers={workers}: use a positive number of processes or None")
    job = partial(_build_one, newline_int, build_index_fn, index_mapping_dir=index_mapping_dir)
    if workers == 1 or len(dataset_paths) == 1:
        built = [job(fn) for fn in dataset_paths]
    else:
        with mp.get_context("fork").Pool(min(workers, len(dataset_paths))) as pool:
            built = pool.map(job, dataset_paths)
    logging.info(f"built {sum(built)} of {len(built)} index files")
    return sum(built)

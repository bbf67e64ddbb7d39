"""Record-per-line datasets read lazily from text files through ``numpy.memmap`` (NeMo 1.23's names).

``TextMemMapDataset`` returns raw lines (or token ids with a tokenizer), ``CSVMemMapDataset`` one CSV column,
``CSVFieldsMemmapDataset`` a dict of CSV columns and ``JSONLMemMapDataset`` one parsed JSON object per line.
Every file needs a line-offset index; it is built on first use (see
:mod:`nemo.collections.nlp.data.language_modeling.text_memmap_index` for the format and where it is written:
next to the data unless ``index_mapping_dir`` is given).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from nemo.collections.nlp.data.language_modeling.text_memmap_index import (
    build_index_files,
    build_index_from_memdata,
    read_index,
)
from nemo.core.classes import Dataset
from nemo.utils import logging

__all__ = [
    "TextMemMapDataset",
    "CSVMemMapDataset",
    "CSVFieldsMemmapDataset",
    "JSONLMemMapDataset",
    "build_index_files",
    "build_index_from_memdata",
]

# NeMo 1.23's private name, kept so ``build_index_fn=text_memmap_dataset._build_index_from_memdata`` works.
_build_index_from_memdata = build_index_from_memdata


def _distributed_rank() -> int | None:
    """Global rank when torch.distributed is initialised, else ``None``."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank()
    return None


class TextMemMapDataset(Dataset):
    """Lazy per-line access to one or more text files.

    Item ``i`` is line ``i`` over all files (sorted by path unless ``sort_dataset_paths=False``), skipping
    ``header_lines`` lines at the top of each file; it is a ``str``, or ``tokenizer.text_to_ids(str)``.
    """

    def __init__(
        self,
        dataset_paths: Sequence[str] | str,
        newline_int: int | None = 10,
        header_lines: int | None = 0,
        workers: int | None = None,
        tokenizer: Any | None = None,
        build_index_fn: Callable[[str, int | None], np.ndarray] | None = build_index_from_memdata,
        sort_dataset_paths: bool | None = True,
        index_mapping_dir: str | None = None,
    ):
        """
        Args:
            dataset_paths: data file path(s).
            newline_int: byte value that separates records (10 = ``\\n``).
            header_lines: lines skipped at the top of every file.
            workers: processes for building missing index files (default: half the CPUs).
            tokenizer: optional object with ``text_to_ids(str) -> list[int]``.
            build_index_fn: picklable ``fn(path, newline_int) -> int array`` of record end offsets.
            sort_dataset_paths: order files by path (True) or keep the given order.
            index_mapping_dir: folder for index files; ``None`` (default, as in NeMo) writes them next to the data.
        """
        super().__init__()
        self.mdata_midx_list: list[tuple[np.memmap, np.ndarray]] = []
        paths = [dataset_paths] if isinstance(dataset_paths, str) else list(dataset_paths)
        if not paths:
            raise ValueError("dataset_paths is empty: give at least one data file")
        self._newline_int = newline_int
        self._header_lines = header_lines
        self._worker = workers
        self.tokenizer = tokenizer
        self._sort_dataset_paths = sort_dataset_paths
        self._files_list = sorted(paths) if sort_dataset_paths else paths

        self._ensure_index_files(paths, build_index_fn, index_mapping_dir)
        self.mdata_midx_list = [
            read_index(fn, index_mapping_dir, newline_int, header_lines) for fn in self._files_list
        ]
        # midx_bins[k]: number of records in files 0..k (cumulative, header lines excluded).
        self.midx_bins = np.cumsum([len(ends) - header_lines for _, ends in self.mdata_midx_list])
        self._size = int(self.midx_bins[-1])

    def _ensure_index_files(self, paths: list[str], build_index_fn, index_mapping_dir: str | None) -> None:
        """Build missing indices; under torch.distributed global rank 0 first, then local rank 0 of each node
        (for nodes without a shared filesystem), with barriers in between."""
        rank = _distributed_rank()
        build = dict(workers=self._worker, build_index_fn=build_index_fn, index_mapping_dir=index_mapping_dir)
        if rank is None:
            build_index_files(paths, self._newline_int, **build)
            return
        if rank == 0:
            build_index_files(paths, self._newline_int, **build)
        torch.distributed.barrier()
        if int(os.environ.get("LOCAL_RANK", "0")) == 0:
            build_index_files(paths, self._newline_int, **build)  # no-op where the files are already visible
        torch.distributed.barrier()

    def __del__(self):
        for data, _ in getattr(self, "mdata_midx_list", []):
            data._mmap.close()

    def __len__(self) -> int:
        return self._size

    def _locate(self, idx: int) -> tuple[int, int, int]:
        """Map a global record index to ``(file number, start byte, end byte)``."""
        file_id = int(np.digitize(idx, self.midx_bins, right=False))
        first = int(self.midx_bins[file_id - 1]) if file_id > 0 else 0
        line = idx - first + self._header_lines
        ends = self.mdata_midx_list[file_id][1]
        start = 0 if line == 0 else int(ends[line - 1]) + 1
        return file_id, start, int(ends[line])

    def __getitem__(self, idx: int):
        if idx < 0 or idx >= len(self):
            raise IndexError(f"index {idx} is out of range for a dataset of {len(self)} records")
        file_id, start, end = self._locate(idx)
        data = self.mdata_midx_list[file_id][0]
        try:
            text = self._fetch_sample_from_memmap(data, start, end)
        except Exception:
            logging.error(f"could not read bytes {start}:{end} of {self._files_list[file_id]} (record {idx})")
            raise
        try:
            return self._build_data_from_text(text)
        except Exception:
            logging.error(f"could not parse record {idx} of {self._files_list[file_id]}: {text!r}")
            raise

    def _fetch_sample_from_memmap(self, mdata: np.memmap, i: int, j: int) -> str:
        """Decode bytes ``[i, j)`` as UTF-8; subclasses may read partial records or decode differently."""
        return mdata[i:j].tobytes().decode("utf-8")

    def _build_data_from_text(self, text: str):
        """Turn one record's text into the item (token ids when a tokenizer is set)."""
        return text if self.tokenizer is None else self.tokenizer.text_to_ids(text)

    def load_file(self, fn: str, index_mapping_dir: str | None = None) -> tuple[np.memmap, np.ndarray]:
        """Memmap ``fn`` (uint8) and its index; the index files must exist."""
        return read_index(fn, index_mapping_dir, self._newline_int, self._header_lines)


class CSVMemMapDataset(TextMemMapDataset):
    """One column (``data_col``, split on ``data_sep``; no quoting rules) of each CSV line."""

    def __init__(
        self,
        dataset_paths: Sequence[str] | str,
        newline_int: int | None = 10,
        header_lines: int | None = 0,
        workers: int | None = None,
        tokenizer: Any | None = None,
        sort_dataset_paths: bool | None = True,
        data_col: int = 1,
        data_sep: str = ",",
        index_mapping_dir: str | None = None,
    ):
        super().__init__(
            dataset_paths=dataset_paths,
            newline_int=newline_int,
            header_lines=header_lines,
            workers=workers,
            tokenizer=tokenizer,
            sort_dataset_paths=sort_dataset_paths,
            index_mapping_dir=index_mapping_dir,
        )
        self._data_col = data_col
        self._data_sep = data_sep

    def _build_data_from_text(self, text: str):
        return super()._build_data_from_text(text.split(self._data_sep)[self._data_col])


class CSVFieldsMemmapDataset(TextMemMapDataset):
    """A dict ``{name: column text (or token ids)}`` per CSV line, columns picked by ``data_fields``."""

    def __init__(
        self,
        dataset_paths: Sequence[str] | str,
        newline_int: int | None = 10,
        header_lines: int | None = 1,
        workers: int | None = None,
        tokenizer: Any | None = None,
        sort_dataset_paths: bool | None = True,
        data_sep: str = ",",
        data_fields: dict[str, int] | None = None,
        index_mapping_dir: str | None = None,
    ):
        super().__init__(
            dataset_paths=dataset_paths,
            newline_int=newline_int,
            header_lines=header_lines,
            workers=workers,
            tokenizer=tokenizer,
            sort_dataset_paths=sort_dataset_paths,
            index_mapping_dir=index_mapping_dir,
        )
        self._data_fields = dict(data_fields) if data_fields is not None else {"data": 0}
        self._data_sep = data_sep

    def _build_data_from_text(self, text: str) -> dict:
        columns = text.split(self._data_sep)
        parse = super()._build_data_from_text
        return {name: parse(columns[col]) for name, col in self._data_fields.items()}


class JSONLMemMapDataset(TextMemMapDataset):
    """One ``json.loads`` object per line of JSON-lines files."""

    def __init__(
        self,
        dataset_paths: Sequence[str] | str,
        newline_int: int | None = 10,
        header_lines: int | None = 0,
        workers: int | None = None,
        tokenizer: Any | None = None,
        sort_dataset_paths: bool | None = True,
        index_mapping_dir: str | None = None,
    ):
        super().__init__(
            dataset_paths=dataset_paths,
            newline_int=newline_int,
            header_lines=header_lines,
            workers=workers,
            tokenizer=tokenizer,
            sort_dataset_paths=sort_dataset_paths,
            index_mapping_dir=index_mapping_dir,
        )

    def _build_data_from_text(self, text: str) -> Any:
        return json.loads(text)

"""Memory-mapped text datasets and their index files (format and placement as in NeMo 1.23)."""

import os
import pickle

import numpy as np
import pytest
from nemo.collections.nlp.data.language_modeling.text_memmap_dataset import (
    CSVFieldsMemmapDataset,
    JSONLMemMapDataset,
    TextMemMapDataset,
    build_index_files,
)
from nemo.collections.nlp.data.language_modeling.text_memmap_index import build_index_from_memdata


@pytest.mark.parametrize(
    ("content", "expected"),
    [  # delimiter offsets produced by NeMo 1.23's _build_index_from_memdata on the same bytes
        (b"a\nbb\nccc\n", [1, 4, 8]),
        (b"a\nbb\nccc", [1, 4, 9]),
        (b"a\n\nbb\n\n\n", [1, 2, 5]),
        (b"\n\n", [0]),
        (b"xyz", [4]),
    ],
)
def test_index_offsets_match_nemo(tmp_path, content, expected):
    path = tmp_path / "d.txt"
    path.write_bytes(content)
    assert build_index_from_memdata(str(path), 10).tolist() == expected


def test_empty_file_is_refused(tmp_path):
    path = tmp_path / "empty.txt"
    path.write_bytes(b"")
    with pytest.raises(ValueError, match="empty.txt is empty"):
        build_index_from_memdata(str(path), 10)


def test_files_headers_and_index_format(tmp_path):
    first, second = tmp_path / "b.txt", tmp_path / "a.txt"
    first.write_text("head\nb0\nb1\n")
    second.write_text("head\na0\n")
    ds = TextMemMapDataset([str(first), str(second)], header_lines=1, workers=1)
    assert len(ds) == 3
    assert [ds[i] for i in range(3)] == ["a0", "b0", "b1"]  # sorted by path
    with pytest.raises(IndexError):
        ds[3]
    # Index next to the data by default, NeMo's format: int array + pickled {"newline_int", "version"}.
    assert np.load(f"{first}.idx.npy").tolist() == [4, 7, 10]
    with open(f"{first}.idx.info", "rb") as handle:
        assert pickle.load(handle) == {"newline_int": 10, "version": "0.2"}


def test_index_mapping_dir_keeps_data_folder_clean(tmp_path):
    data_dir, index_dir = tmp_path / "data", tmp_path / "index"
    data_dir.mkdir()
    path = data_dir / "x.jsonl"
    path.write_text('{"a": 1}\n{"a": 2}')
    ds = JSONLMemMapDataset(str(path), index_mapping_dir=str(index_dir))
    assert [ds[0], ds[1]] == [{"a": 1}, {"a": 2}]
    assert sorted(os.listdir(data_dir)) == ["x.jsonl"]
    base = index_dir / str(path).lstrip("/")
    assert os.path.isfile(f"{base}.idx.npy") and os.path.isfile(f"{base}.idx.info")


def test_stale_version_and_foreign_pickle_rejected(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("id,name\n1,x\n")
    build_index_files([str(path)], 10, workers=1)
    with open(f"{path}.idx.info", "wb") as handle:
        pickle.dump({"newline_int": 10, "version": "0.1"}, handle)
    with pytest.raises(RuntimeError, match="version 0.1"):
        CSVFieldsMemmapDataset([str(path)], data_fields={"name": 1})
    with open(f"{path}.idx.info", "wb") as handle:
        pickle.dump({"version": os.PathLike}, handle)  # a class instance: must not be unpickled
    with pytest.raises(pickle.UnpicklingError, match="PathLike"):
        CSVFieldsMemmapDataset([str(path)], data_fields={"name": 1})


def test_tokenizer_and_csv_fields(tmp_path):
    class _Chars:
        def text_to_ids(self, text):
            return [ord(c) for c in text]

    path = tmp_path / "d.csv"
    path.write_text("id,name\n7,ab\n")
    ds = CSVFieldsMemmapDataset([str(path)], data_fields={"id": 0, "name": 1}, tokenizer=_Chars(), workers=1)
    assert ds[0] == {"id": [55], "name": [97, 98]}

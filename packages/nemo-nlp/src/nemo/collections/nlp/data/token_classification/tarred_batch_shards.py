"""The shard format of tarred punctuation and capitalization data: ready batches as ``.npz`` tar members.

A shard is an uncompressed tar whose members are all regular files named ``<key>.batch.npz``, ``<key>`` made of
letters, digits, ``_`` and ``-``. Each member is a NumPy ``.npz`` archive of exactly four ``(B, T)`` arrays:
``input_ids`` (integers), ``subtokens_mask`` (bool), ``punct_labels`` and ``capit_labels`` (integers). NeMo 1.23
pickles each batch (``<key>.batch.pyd``); pickles can run code when loaded, so this format has none and the
reader loads arrays with ``allow_pickle=False``. Members are read into memory, never extracted to disk, and
anything else in a shard is refused with an error naming the shard and member.
"""

from __future__ import annotations

import io
import os
import re
import tarfile
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np

__all__ = [
    "BATCH_FORMAT",
    "BATCH_KEYS",
    "MAX_MEMBER_BYTES",
    "MEMBER_SUFFIX",
    "TarredBatchError",
    "decode_batch",
    "encode_batch",
    "read_batches",
    "write_batch",
]

BATCH_FORMAT = "npz-batches-v1"
"""The ``batch_format`` value of metadata files describing shards in this format."""
BATCH_KEYS = ("input_ids", "subtokens_mask", "punct_labels", "capit_labels")
MEMBER_SUFFIX = ".batch.npz"
MAX_MEMBER_BYTES = 1 << 30
"""The largest member accepted (1 GiB); a batch of 100k tokens takes about 2 MB."""

_MEMBER_NAME = re.compile(r"[A-Za-z0-9_-]+\.batch\.npz")
_ZIP_MAGIC = b"PK\x03\x04"


class TarredBatchError(ValueError):
    """A shard or member that is not in the expected format."""


def encode_batch(batch: Mapping[str, np.ndarray]) -> bytes:
    """The ``.npz`` bytes of a batch's four arrays (other keys, such as masks, are left out)."""
    buffer = io.BytesIO()
    np.savez(buffer, **{key: np.asarray(batch[key]) for key in BATCH_KEYS})
    return buffer.getvalue()


def write_batch(tar: tarfile.TarFile, key: str, batch: Mapping[str, np.ndarray]) -> None:
    """Add a batch to an open tar as the member ``<key>.batch.npz``.

    Raises:
        ValueError: ``key`` has characters other than letters, digits, ``_`` and ``-``.
    """
    name = key + MEMBER_SUFFIX
    if not _MEMBER_NAME.fullmatch(name):
        raise ValueError(f"Batch key {key!r} is not allowed; expected letters, digits, '_' and '-' only.")
    data = encode_batch(batch)
    info = tarfile.TarInfo(name=name)
    info.size = len(data)
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))


def _refuse(shard: Path | str, member: str, problem: str, fix: str) -> TarredBatchError:
    return TarredBatchError(f"Tarred dataset shard {shard}, member {member!r}: {problem}. {fix}")


_RECREATE = "Re-create the tarred dataset with `python -m nemo.collections.nlp.data.token_classification.create_tarred_dataset`."


def decode_batch(data: bytes, shard: Path | str, member: str) -> dict[str, np.ndarray]:
    """Load and check one batch member.

    Args:
        data: the member's bytes.
        shard: the shard path, for messages.
        member: the member name, for messages.

    Returns:
        The four arrays, each ``(B, T)``.

    Raises:
        TarredBatchError: not an ``.npz``, an object (pickled) array, other arrays than the four, bad ranks,
            shapes or dtypes.
    """
    if not data.startswith(_ZIP_MAGIC):
        raise _refuse(shard, member, "is not a NumPy .npz archive (pickled objects are refused)", _RECREATE)
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            names = set(npz.files)
            if names != set(BATCH_KEYS):
                raise _refuse(
                    shard, member, f"holds arrays {sorted(names)}, expected {list(BATCH_KEYS)}", _RECREATE
                )
            arrays = {key: npz[key] for key in BATCH_KEYS}
    except TarredBatchError:
        raise
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as error:
        raise _refuse(
            shard,
            member,
            f"is not a NumPy .npz of plain arrays (pickled objects are refused): {error}",
            _RECREATE,
        ) from error
    shape = arrays["input_ids"].shape
    for key, array in arrays.items():
        if array.ndim != 2 or array.shape != shape:
            raise _refuse(
                shard,
                member,
                f"array {key!r} has shape {array.shape}, expected 2-D {shape} like input_ids",
                _RECREATE,
            )
        expected_kind = "b" if key == "subtokens_mask" else "iu"
        if array.dtype.kind not in expected_kind:
            wanted = "bool" if key == "subtokens_mask" else "integer"
            raise _refuse(
                shard, member, f"array {key!r} has dtype {array.dtype}, expected {wanted}", _RECREATE
            )
    return arrays


def _check_member(member: tarfile.TarInfo, shard: Path) -> None:
    if member.name.endswith(".pyd"):
        raise _refuse(
            shard,
            member.name,
            "is a pickled batch (NeMo 1.23's tarred format); pickles can run code when loaded and are refused",
            _RECREATE,
        )
    if not member.isfile():
        raise _refuse(shard, member.name, "is not a regular file (a directory, link or device)", _RECREATE)
    if not _MEMBER_NAME.fullmatch(member.name):
        raise _refuse(
            shard, member.name, f"has an unexpected name; expected '<key>{MEMBER_SUFFIX}'", _RECREATE
        )
    if member.size > MAX_MEMBER_BYTES:
        raise _refuse(
            shard,
            member.name,
            f"is {member.size} bytes, more than the {MAX_MEMBER_BYTES} bytes allowed",
            _RECREATE,
        )


def read_batches(shard: str | os.PathLike[str]) -> Iterator[tuple[str, dict[str, np.ndarray]]]:
    """Yield ``(key, batch)`` for each member of a shard, in order, checking each member first.

    Raises:
        FileNotFoundError: the shard does not exist.
        TarredBatchError: the shard is not an uncompressed tar, or a member is refused (see the module docstring).
    """
    path = Path(shard)
    if not path.is_file():
        raise FileNotFoundError(
            f"Tarred dataset shard {path} was not found; check `tar_files` in the metadata file."
        )
    try:
        tar = tarfile.open(path, mode="r:")
    except tarfile.ReadError as error:
        raise TarredBatchError(
            f"Tarred dataset shard {path} is not an uncompressed tar file: {error}. {_RECREATE}"
        ) from error
    with tar:
        try:
            for member in tar:
                _check_member(member, path)
                with tar.extractfile(member) as f:
                    data = f.read()
                yield member.name[: -len(MEMBER_SUFFIX)], decode_batch(data, path, member.name)
        except tarfile.TarError as error:
            raise TarredBatchError(f"Tarred dataset shard {path} is damaged: {error}. {_RECREATE}") from error

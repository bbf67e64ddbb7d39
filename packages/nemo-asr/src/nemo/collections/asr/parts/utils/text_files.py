"""Reading text files that may be gzip-compressed, told apart by their first bytes rather than their names."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import TextIO

__all__ = ["GZIP_MAGIC", "open_text"]

GZIP_MAGIC = b"\x1f\x8b"


def open_text(path: str | Path) -> TextIO:
    """Open ``path`` for reading UTF-8 text, decompressing it when it starts with gzip's magic bytes."""
    with open(path, "rb") as raw:
        compressed = raw.read(len(GZIP_MAGIC)) == GZIP_MAGIC
    if compressed:
        return gzip.open(path, "rt", encoding="utf-8")
    return open(path, encoding="utf-8")

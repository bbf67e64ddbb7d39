"""Transcripts tokenized once, when a dataset is built, and stored compactly.

All token ids of a dataset live in one int32 array with an offsets array beside it (a few bytes per
token, instead of a Python list of ints per utterance), so millions of utterances stay cheap.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
from nemo.collections.asr.data.manifest import ManifestEntry

__all__ = ["TokenizedTranscripts"]


class TokenizedTranscripts:
    """Token ids of every entry's ``text``, with optional BOS/EOS added on access.

    Args:
        entries: manifest entries (their ``text`` is tokenized).
        parser: text -> list of ids (a character parser, or a tokenizer's ``text_to_ids``). An entry for
            which it returns ``None`` is dropped, as in NeMo.
        bos_id: id put before every transcript, or ``None``.
        eos_id: id put after every transcript, or ``None``.

    Attributes:
        entries: the kept entries (same order as their ids).
    """

    def __init__(
        self,
        entries: Sequence[ManifestEntry],
        parser: Callable[[str], list[int] | None],
        bos_id: int | None = None,
        eos_id: int | None = None,
    ) -> None:
        kept: list[ManifestEntry] = []
        token_lists: list[list[int]] = []
        for entry in entries:
            try:
                ids = parser(entry.text)
            except ValueError as err:
                raise ValueError(f"{entry.where}: cannot tokenize the transcript: {err}") from err
            if ids is None:
                continue
            kept.append(entry)
            token_lists.append(ids)
        self.entries = kept
        lengths = np.fromiter((len(ids) for ids in token_lists), dtype=np.int64, count=len(token_lists))
        self._offsets = np.zeros(len(token_lists) + 1, dtype=np.int64)
        np.cumsum(lengths, out=self._offsets[1:])
        self._ids = np.fromiter(
            (token for ids in token_lists for token in ids), dtype=np.int32, count=int(self._offsets[-1])
        )
        self.bos_id = bos_id
        self.eos_id = eos_id

    def __len__(self) -> int:
        return len(self.entries)

    def tokens(self, index: int) -> torch.Tensor:
        """(U,) int64 ids of utterance ``index``, with BOS/EOS when configured."""
        ids = torch.from_numpy(self._ids[self._offsets[index] : self._offsets[index + 1]]).long()
        if self.bos_id is None and self.eos_id is None:
            return ids
        parts = [ids]
        if self.bos_id is not None:
            parts.insert(0, torch.tensor([self.bos_id]))
        if self.eos_id is not None:
            parts.append(torch.tensor([self.eos_id]))
        return torch.cat(parts)

    @property
    def durations(self) -> np.ndarray:
        """(N,) float64 durations in seconds, in entry order."""
        return np.fromiter(
            (entry.duration for entry in self.entries), dtype=np.float64, count=len(self.entries)
        )

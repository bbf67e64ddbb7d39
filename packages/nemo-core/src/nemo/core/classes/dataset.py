"""Typed datasets: ``Dataset``, ``IterableDataset`` (whose ``collate_fn`` attaches ``output_types``) and
``DatasetConfig``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nemo.core.classes.serialization import Serialization
from nemo.core.classes.typecheck import Typing, typecheck
from torch.utils import data

__all__ = ["Dataset", "IterableDataset", "DatasetConfig"]


def _check_no_input_types(dataset: Typing) -> None:
    if dataset.input_types is not None:
        raise TypeError(
            f"{type(dataset).__name__} defines input_types, but datasets are not called with typed inputs "
            "and those types are never checked. Remove the input_types property (declare output_types only)."
        )


class Dataset(data.Dataset, Typing, Serialization):
    """A map-style dataset whose batches carry neural types.

    Declare ``output_types`` (not ``input_types``) and pass ``collate_fn`` to the ``DataLoader``: each
    collated batch is checked against ``output_types`` and its tensors get ``.neural_type``.

    Example:
        >>> loader = torch.utils.data.DataLoader(dataset, batch_size=4, collate_fn=dataset.collate_fn)
    """

    def _collate_fn(self, batch: list[Any]) -> Any:
        """Collate a list of samples into a batch (``default_collate``); override for custom batching."""
        return data.dataloader.default_collate(batch)

    @typecheck()
    def collate_fn(self, batch: list[Any]) -> Any:
        """Collate ``batch`` with ``_collate_fn``; with typecheck on, attach and check ``output_types``.

        Raises:
            TypeError: the dataset declares ``input_types``, or the batch does not match ``output_types``.
        """
        _check_no_input_types(self)
        return self._collate_fn(batch)


class IterableDataset(data.IterableDataset, Typing, Serialization):
    """An iterable-style dataset whose batches carry neural types; see ``Dataset``."""

    def _collate_fn(self, batch: list[Any]) -> Any:
        """Collate a list of samples into a batch (``default_collate``); override for custom batching."""
        return data.dataloader.default_collate(batch)

    @typecheck()
    def collate_fn(self, batch: list[Any]) -> Any:
        """Collate ``batch`` with ``_collate_fn``; with typecheck on, attach and check ``output_types``.

        Raises:
            TypeError: the dataset declares ``input_types``, or the batch does not match ``output_types``.
        """
        _check_no_input_types(self)
        return self._collate_fn(batch)


@dataclass
class DatasetConfig:
    """Data loader settings shared by dataset configs (``train_ds``, ``validation_ds``, ...)."""

    batch_size: int = 32
    drop_last: bool = False
    shuffle: bool = False
    num_workers: int | None = 0
    pin_memory: bool = True

"""Small helpers on Python containers shared by the collections."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

__all__ = ["flatten", "flatten_iterable"]


def flatten_iterable(iterable: Iterable[Any]) -> Iterator[Any]:
    """Yield the leaves of arbitrarily nested iterables, depth first; strings and bytes are leaves."""
    for item in iterable:
        if isinstance(item, Iterable) and not isinstance(item, (str, bytes)):
            yield from flatten_iterable(item)
        else:
            yield item


def flatten(list_in: list[Any]) -> list[Any]:
    """The leaves of a nested list as one flat list: ``flatten(["a", [[1], [2, [3]]]]) == ["a", 1, 2, 3]``."""
    return list(flatten_iterable(list_in))

"""The outcome of comparing two neural types: ``NeuralTypeComparisonResult``."""

from __future__ import annotations

from enum import Enum

__all__ = ["NeuralTypeComparisonResult"]


class NeuralTypeComparisonResult(Enum):
    """Result of ``a.compare(b)`` for two neural types (or two element types).

    A port declared with type ``a`` accepts a value of type ``b`` when the result is ``SAME`` or
    ``GREATER`` (``b`` is ``a`` or a specialisation of it).
    """

    SAME = 0
    """``a`` and ``b`` are the same type."""
    LESS = 1
    """``a`` is a specialisation of ``b`` (``a``'s element type subclasses ``b``'s)."""
    GREATER = 2
    """``b`` is a specialisation of ``a``: a value of type ``b`` fits a port of type ``a``."""
    DIM_INCOMPATIBLE = 3
    """Same axis kinds and elements, but a fixed axis size differs (a resize could fix it)."""
    TRANSPOSE_SAME = 4
    """Same axis kinds and elements in another order (or list vs tensor axes): a transpose fixes it."""
    CONTAINER_SIZE_MISMATCH = 5
    """``a`` and ``b`` are containers holding a different number of elements."""
    INCOMPATIBLE = 6
    """``a`` and ``b`` are unrelated."""
    SAME_TYPE_INCOMPATIBLE_PARAMS = 7
    """Same element type, parametrised differently (e.g. ``AudioSignal(16000)`` vs ``AudioSignal(8000)``)."""
    UNCHECKED = 8
    """No comparison was done."""

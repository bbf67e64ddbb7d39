"""``NeuralType``: the declared type of a module port (its axes and element type), and its errors."""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum

from nemo.core.neural_types.axes import AxisKind, AxisType
from nemo.core.neural_types.comparison import NeuralTypeComparisonResult
from nemo.core.neural_types.elements import ElementType, VoidType

__all__ = [
    "NeuralType",
    "NeuralTypeError",
    "NeuralPortNameMismatchError",
    "NeuralPortNmTensorMismatchError",
]


_VOID = VoidType()


class _AxesMatch(Enum):
    """How two axes tuples relate, before element types are taken into account."""

    SAME = 0
    TRANSPOSED = 1
    RESIZED = 2
    DIFFERENT = 3


class NeuralType:
    """The type of a module's input or output: what each axis means and what the elements are.

    Args:
        axes: one entry per axis, either all short strings (``("B", "D", "T")``: batch, dimension, time;
            see ``AxisKind.from_str``) or all ``AxisType`` objects. List axes (``AxisType(..., is_list=True)``)
            must come before tensor axes. ``None`` means the axes are not checked.
        elements_type: an instance of an ``ElementType`` subclass, e.g. ``LogitsType()``.
        optional: whether a typed method may be called without this input.

    Raises:
        ValueError: ``elements_type`` is not an ``ElementType`` instance, ``axes`` is not iterable, axes
            mix strings and ``AxisType``, an axis label is unknown, or a list axis follows a tensor axis.

    Example:
        >>> NeuralType(("B", "D", "T"), SpectrogramType())
        NeuralType(axis=(batch, dimension, time), element_type=SpectrogramType)
    """

    def __init__(
        self,
        axes: Iterable[str | AxisType] | None = None,
        elements_type: ElementType = _VOID,
        optional: bool = False,
    ) -> None:
        if not isinstance(elements_type, ElementType):
            hint = (
                f"{elements_type.__name__}()"
                if isinstance(elements_type, type)
                else "an ElementType instance"
            )
            raise ValueError(
                f"NeuralType(elements_type={elements_type!r}): elements_type must be an instance of an "
                f"ElementType subclass. Pass {hint}."
            )
        self.elements_type = elements_type
        self.axes: tuple[AxisType, ...] | None = None if axes is None else _parse_axes(_as_tuple(axes))
        self.optional = optional

    def __str__(self) -> str:
        axes = "None" if self.axes is None else str(self.axes)
        return f"axes: {axes}; elements_type: {type(self.elements_type).__name__}"

    def __repr__(self) -> str:
        axes = "None" if self.axes is None else str(self.axes)
        text = f"axis={axes}, element_type={self.elements_type!r}"
        if self.optional:
            text += f", optional={self.optional}"
        return f"{type(self).__name__}({text})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, NeuralType) and self.compare(other) is NeuralTypeComparisonResult.SAME

    __hash__ = None  # mutable and compared semantically, like NeMo's

    def compare(self, second: NeuralType) -> NeuralTypeComparisonResult:
        """Compare this (declared) type with ``second`` (the type of the value offered).

        Returns:
            ``SAME`` or ``GREATER`` when a value of type ``second`` fits a port of this type. Otherwise
            ``LESS``, ``TRANSPOSE_SAME`` (same axes in another order, or list vs tensor axes),
            ``DIM_INCOMPATIBLE`` (a fixed axis size differs), ``SAME_TYPE_INCOMPATIBLE_PARAMS`` (e.g.
            another sampling rate) or ``INCOMPATIBLE``. A type with no axes and ``VoidType`` elements
            is ``SAME`` as everything; an ``AxisKind.Any`` axis matches any axis.
        """
        if self.axes is None:
            if isinstance(self.elements_type, VoidType):
                return NeuralTypeComparisonResult.SAME
            if second.axes is None:
                return self.elements_type.compare(second.elements_type)
            return NeuralTypeComparisonResult.INCOMPATIBLE
        axes_match = _match_axes(self.axes, second.axes)
        elements = self.elements_type.compare(second.elements_type)
        if axes_match is _AxesMatch.SAME:
            return elements
        if elements is not NeuralTypeComparisonResult.SAME:
            return NeuralTypeComparisonResult.INCOMPATIBLE
        if axes_match is _AxesMatch.TRANSPOSED:
            return NeuralTypeComparisonResult.TRANSPOSE_SAME
        if axes_match is _AxesMatch.RESIZED:
            return NeuralTypeComparisonResult.DIM_INCOMPATIBLE
        return NeuralTypeComparisonResult.INCOMPATIBLE

    def compare_and_raise_error(self, parent_type_name: str, port_name: str, second_object: object) -> None:
        """Raise unless a value of ``second_object``'s type fits this port (``SAME`` or ``GREATER``).

        Args:
            parent_type_name: name of the module that owns the port, for the message.
            port_name: name of the port, for the message.
            second_object: a ``NeuralType``, or an object carrying one as ``.ntype`` or ``.neural_type``.

        Raises:
            NeuralPortNmTensorMismatchError: the types are not compatible.
        """
        second = getattr(second_object, "ntype", None) or getattr(second_object, "neural_type", second_object)
        result = self.compare(second)
        if result not in (NeuralTypeComparisonResult.SAME, NeuralTypeComparisonResult.GREATER):
            raise NeuralPortNmTensorMismatchError(parent_type_name, port_name, str(self), str(second), result)


def _as_tuple(axes: Iterable[str | AxisType]) -> tuple[str | AxisType, ...]:
    """``axes`` as a tuple; refuses a value that is not iterable (``NeuralType(axes=3)``)."""
    try:
        return tuple(axes)
    except TypeError:
        raise ValueError(
            f"NeuralType axes={axes!r} ({type(axes).__name__}): expected a tuple of short strings (e.g. "
            "('B', 'T')) or of AxisType objects, or None for unchecked axes."
        ) from None


def _parse_axes(axes: tuple[str | AxisType, ...]) -> tuple[AxisType, ...]:
    """Turn ``NeuralType``'s ``axes`` argument into ``AxisType`` objects, checking its form."""
    if all(isinstance(axis, str) for axis in axes):
        return tuple(AxisType(AxisKind.from_str(axis)) for axis in axes)
    if not all(isinstance(axis, AxisType) for axis in axes):
        raise ValueError(
            f"NeuralType axes={axes!r}: use either all short strings (e.g. ('B', 'T')) or all AxisType "
            "objects, not a mix or other objects."
        )
    first_tensor_axis = next((i for i, axis in enumerate(axes) if not axis.is_list), len(axes))
    if any(axis.is_list for axis in axes[first_tensor_axis:]):
        raise ValueError(
            f"NeuralType axes={axes!r}: a list axis follows a tensor axis. All list axes "
            "(AxisType(..., is_list=True)) must come before the tensor axes; reorder them."
        )
    return axes


def _match_axes(mine: tuple[AxisType, ...], theirs: tuple[AxisType, ...] | None) -> _AxesMatch:
    """How ``theirs`` relates to the declared ``mine`` (``Any`` axes in ``mine`` match every axis)."""
    if theirs is None or len(mine) != len(theirs):
        return _AxesMatch.DIFFERENT
    same = all(
        a.kind is AxisKind.Any
        or (a.kind == b.kind and a.is_list == b.is_list and (a.size is None or a.size == b.size))
        for a, b in zip(mine, theirs)
    )
    if same:
        return _AxesMatch.SAME
    sizes_mine = {axis.kind: axis.size for axis in mine}
    sizes_theirs = {axis.kind: axis.size for axis in theirs}
    if sizes_mine.keys() != sizes_theirs.keys():
        return _AxesMatch.DIFFERENT
    return _AxesMatch.TRANSPOSED if sizes_mine == sizes_theirs else _AxesMatch.RESIZED


class NeuralTypeError(Exception):
    """Base class of the neural type errors."""


class NeuralPortNameMismatchError(NeuralTypeError):
    """A module was called with a port name it does not declare.

    Args:
        input_port_name: the unknown name.
    """

    def __init__(self, input_port_name: str) -> None:
        self.message = (
            f"Wrong input port name: {input_port_name!r}. Use one of the names in the module's input_types."
        )
        super().__init__(self.message)


class NeuralPortNmTensorMismatchError(NeuralTypeError):
    """A port was fed a value whose neural type does not fit it.

    Args:
        class_name: the module owning the port.
        port_name: the port.
        first_type: the port's declared type (or its text).
        second_type: the offered value's type (or its text).
        type_comatibility: the comparison result (NeMo's spelling of the argument name).
    """

    def __init__(
        self,
        class_name: str,
        port_name: str,
        first_type: object,
        second_type: object,
        type_comatibility: NeuralTypeComparisonResult,
    ) -> None:
        self.message = (
            f"In {class_name}, port {port_name!r} was fed a value of an incompatible neural type.\n"
            f"expected: {first_type}\nfound: {second_type}\ncomparison result: {type_comatibility}.\n"
            "Feed it a value of the declared type (or a subclass of its element type)."
        )
        super().__init__(self.message)

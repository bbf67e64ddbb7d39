"""``TypeSignature``: a method's ``input_types`` or ``output_types`` compiled once for fast checking.

A declaration maps port names to a ``NeuralType``, or to a container of one: ``[NeuralType(...)]`` for a
list of values, ``[[NeuralType(...)]]`` for a list of lists. Leading list axes
(``AxisType(kind, is_list=True)``) also count as container levels, which a value may give either as
Python lists or as extra tensor dimensions.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nemo.core.neural_types.comparison import NeuralTypeComparisonResult
from nemo.core.neural_types.neural_type import NeuralType

__all__ = ["PortType", "TypeSignature"]

_ACCEPTED_RESULTS = (NeuralTypeComparisonResult.SAME, NeuralTypeComparisonResult.GREATER)
_MAX_REMEMBERED_TYPES = 256


class PortType:
    """One named port of a signature.

    Attributes:
        name: the argument (or output) name.
        type: the base ``NeuralType``, with container brackets removed.
        depth: how many Python container levels the declaration wraps around ``type``.
        list_axes: how many leading axes of ``type`` are list axes.
        rank: the number of axes of ``type``; ``None`` when its axes are not declared.
        accepted: ``id(neural_type) -> neural_type`` for offered types already found compatible,
            so a repeated check is one dict lookup.
    """

    __slots__ = ("name", "type", "depth", "list_axes", "rank", "accepted")

    def __init__(self, name: str, declared: Any, where: str) -> None:
        depth = 0
        while isinstance(declared, (list, tuple)):
            if len(declared) != 1:
                raise TypeError(
                    f"{where}: port {name!r} is declared as {declared!r}; a container declaration must hold "
                    "exactly one NeuralType (e.g. [NeuralType(...)] or [[NeuralType(...)]]). Fix that entry."
                )
            declared = declared[0]
            depth += 1
        if not isinstance(declared, NeuralType):
            raise TypeError(
                f"{where}: port {name!r} is declared as {declared!r} ({type(declared).__name__}); expected a "
                "NeuralType or a list wrapping one. Fix that entry."
            )
        self.name = name
        self.type = declared
        self.depth = depth
        axes = declared.axes
        self.list_axes = 0 if axes is None else sum(1 for axis in axes if axis.is_list)
        self.rank = None if axes is None else len(axes)
        self.accepted: dict[int, NeuralType] = {}

    @property
    def is_container(self) -> bool:
        """Whether values of this port are (possibly nested) lists."""
        return self.depth + self.list_axes > 0

    def mismatch(self, found: NeuralType) -> NeuralTypeComparisonResult | None:
        """Why a value of type ``found`` does not fit this port; ``None`` when it fits (``SAME`` or ``GREATER``).

        Compatible types are remembered by identity, so checking the same type object again is cheap.
        """
        if self.accepted.get(id(found)) is found:
            return None
        result = self.type.compare(found)
        if result not in _ACCEPTED_RESULTS:
            return result
        if len(self.accepted) >= _MAX_REMEMBERED_TYPES:
            self.accepted.clear()
        self.accepted[id(found)] = found
        return None

    def expected_rank(self, depth: int) -> int | None:
        """Tensor rank expected of a value found ``depth`` container levels down.

        List axes not yet consumed by Python nesting are expected as tensor dimensions.
        """
        if not self.list_axes or depth <= self.depth or self.rank is None:
            return self.rank
        return self.rank - min(depth - self.depth, self.list_axes)

    def depth_fits(self, depth: int) -> bool:
        """Whether a leaf value may sit ``depth`` container levels down."""
        return self.depth <= depth <= self.depth + self.list_axes


class TypeSignature:
    """A declaration ``{name: NeuralType | [NeuralType] | ...}`` compiled for checks.

    Args:
        types: the ``input_types`` or ``output_types`` mapping.
        where: what declared it, e.g. ``"MyEncoder.forward input_types"``, for error messages.

    Raises:
        TypeError: an entry is neither a ``NeuralType`` nor a one-element container of one.

    Attributes:
        types: the mapping as declared.
        ports: name -> ``PortType``, in declaration order.
        port_list: the ports in declaration order.
        mandatory: names of the ports not marked ``optional``.
        is_singular_container: exactly one port, and it is a container: every item of a returned list
            belongs to it.
        accepts_single_value: whether one value that is not a list or tuple is a valid set of outputs.
    """

    __slots__ = ("types", "ports", "port_list", "mandatory", "is_singular_container", "accepts_single_value")

    def __init__(self, types: Mapping[str, Any], where: str) -> None:
        if not isinstance(types, Mapping):
            raise TypeError(
                f"{where} is {types!r} ({type(types).__name__}); expected a dict mapping names to NeuralType "
                "(or None for an untyped method). Return a dict from that property."
            )
        self.types = types
        self.port_list = tuple(PortType(name, declared, where) for name, declared in types.items())
        self.ports = {port.name: port for port in self.port_list}
        self.mandatory = tuple(port.name for port in self.port_list if not port.type.optional)
        self.is_singular_container = len(self.port_list) == 1 and self.port_list[0].is_container
        self.accepts_single_value = bool(self.port_list) and len(self.mandatory) <= 1

"""What each axis of a tensor means: ``AxisKind`` (batch, time, ...) and ``AxisType`` (kind, size, list-ness)."""

from __future__ import annotations

from enum import Enum

__all__ = ["AxisKindAbstract", "AxisKind", "AxisType"]


class AxisKindAbstract(Enum):
    """Base of axis-kind enums; subclass it to define axis kinds beyond ``AxisKind``."""


class AxisKind(AxisKindAbstract):
    """What varying an axis means. ``Channel`` is another name for ``Dimension``; ``Any`` matches every kind.

    The short forms accepted by ``from_str`` (and by ``NeuralType(axes=("B", "D", "T"))``) are listed there.
    """

    Batch = 0
    Time = 1
    Dimension = 2
    Channel = 2
    Width = 3
    Height = 4
    Any = 5
    Sequence = 6
    FlowGroup = 7
    Singleton = 8
    """An axis of size 1."""

    def __repr__(self) -> str:
        return str(self)

    def __str__(self) -> str:
        return self.name.lower()

    def t_with_string(self, text: str) -> bool:
        """Whether ``text`` has the form ``"t_<kind>_"`` for this kind, e.g. ``"t_time_"`` for ``Time``."""
        return text.startswith("t_") and text.endswith("_") and text[2:-1] == str(self)

    @staticmethod
    def from_str(label: str) -> AxisKind:
        """Parse a short axis label (case and surrounding spaces ignored).

        ``b``/``n``/``batch`` -> Batch; ``t``/``time``/``t_<anything>`` -> Time; ``d``/``c``/``channel`` ->
        Dimension; ``w``/``width``; ``h``/``height``; ``s``/``singleton``; ``seq``/``sequence``;
        ``flowgroup``; ``any``.

        Raises:
            ValueError: ``label`` is none of these (or not a string).
        """
        if not isinstance(label, str):
            raise ValueError(
                f"Can't create AxisKind from {label!r} ({type(label).__name__}): expected a string label such "
                "as 'B' or 'T'. Use one of the labels listed in AxisKind.from_str, or pass an AxisType."
            )
        key = label.lower().strip()
        kind = _LABELS.get(key)
        if kind is None and len(key) > 2 and key.startswith("t_"):
            kind = AxisKind.Time
        if kind is None:
            raise ValueError(
                f"Can't create AxisKind from {label!r}: expected one of {sorted(_LABELS)} or 't_<name>'. "
                "Use one of these labels in the NeuralType's axes, or pass an AxisType."
            )
        return kind


_LABELS: dict[str, AxisKind] = {
    **dict.fromkeys(("b", "n", "batch"), AxisKind.Batch),
    **dict.fromkeys(("t", "time"), AxisKind.Time),
    **dict.fromkeys(("d", "c", "channel"), AxisKind.Dimension),
    **dict.fromkeys(("w", "width"), AxisKind.Width),
    **dict.fromkeys(("h", "height"), AxisKind.Height),
    **dict.fromkeys(("s", "singleton"), AxisKind.Singleton),
    **dict.fromkeys(("seq", "sequence"), AxisKind.Sequence),
    "flowgroup": AxisKind.FlowGroup,
    "any": AxisKind.Any,
}


class AxisType:
    """Semantics of one axis and, optionally, its fixed size.

    Args:
        kind: what the axis means, e.g. ``AxisKind.Batch``.
        size: the fixed size this axis must have; ``None`` (the default, and usual for Batch and Time)
            for any size.
        is_list: ``True`` for a Python-list axis rather than a tensor axis. List axes come before tensor
            axes in a ``NeuralType`` and cannot have a fixed size.

    Raises:
        ValueError: both ``size`` and ``is_list`` are given.
    """

    def __init__(self, kind: AxisKindAbstract, size: int | None = None, is_list: bool = False) -> None:
        if size is not None and is_list:
            raise ValueError(
                f"AxisType({kind}, size={size}, is_list=True): a list axis can't have a fixed size. "
                "Drop size, or make it a tensor axis (is_list=False)."
            )
        self.kind = kind
        self.size = size
        self.is_list = is_list

    def __repr__(self) -> str:
        text = str(self.kind) if self.size is None else f"{self.kind}:{self.size}"
        return f"{text}_listdim" if self.is_list else text

"""Property tests for axis labels and ``NeuralType`` axes (issue 16, "Bad input, tried in bulk").

``AxisKind.from_str`` and ``NeuralType(axes=...)`` read short axis labels written in module code and
configs (``("B", "T", "D")``). Any input either parses to the kind its docstring lists or raises
``ValueError`` quoting the offending label; a parsed ``NeuralType`` prints, and compares ``SAME`` to itself.

The label table below is written from ``AxisKind.from_str``'s docstring (NeMo 1.23's short forms), not
taken from the code under test.
"""

from __future__ import annotations

from hypothesis import event, example, given, settings
from hypothesis import strategies as st
from nemo.core.neural_types import (
    AxisKind,
    AxisType,
    ChannelType,
    LogitsType,
    NeuralType,
    NeuralTypeComparisonResult,
    SpectrogramType,
    VoidType,
)

EXAMPLES_FROM_STR = 300
"""Random and near-miss labels given to ``AxisKind.from_str``."""
EXAMPLES_NON_STRING = 100
"""Non-string values given to ``AxisKind.from_str`` and as ``NeuralType`` axes."""
EXAMPLES_NEURAL_TYPE = 200
"""Random ``axes`` / ``elements_type`` pairs given to ``NeuralType``, then printed and compared."""

PROPERTY_SETTINGS = dict(deadline=None, derandomize=True, database=None)

DOCUMENTED_LABELS = {
    "b": AxisKind.Batch,
    "n": AxisKind.Batch,
    "batch": AxisKind.Batch,
    "t": AxisKind.Time,
    "time": AxisKind.Time,
    "d": AxisKind.Dimension,
    "c": AxisKind.Dimension,
    "channel": AxisKind.Dimension,
    "w": AxisKind.Width,
    "width": AxisKind.Width,
    "h": AxisKind.Height,
    "height": AxisKind.Height,
    "s": AxisKind.Singleton,
    "singleton": AxisKind.Singleton,
    "seq": AxisKind.Sequence,
    "sequence": AxisKind.Sequence,
    "flowgroup": AxisKind.FlowGroup,
    "any": AxisKind.Any,
}
"""``AxisKind.from_str``'s docstring: label (case and surrounding spaces ignored) -> kind; plus ``t_<name>``."""


def documented_kind(label: str) -> AxisKind | None:
    """The kind the docstring promises for ``label``, or None where it promises a ValueError."""
    key = label.lower().strip()
    if key in DOCUMENTED_LABELS:
        return DOCUMENTED_LABELS[key]
    if len(key) > 2 and key.startswith("t_"):
        return AxisKind.Time
    return None


# ---------------------------------------------------------------------------------------- strategies
_SPACES = st.sampled_from(["", " ", "  ", "\t", "\n", "\u00a0", "\u2003", "\x0b"])


@st.composite
def near_labels(draw: st.DrawFn) -> str:
    """A documented label in random case, maybe padded with (unicode) spaces or a junk suffix or prefix."""
    label = draw(st.sampled_from([*DOCUMENTED_LABELS, "t_enc", "t_", "T_", "t__"]))
    label = "".join(char.upper() if draw(st.booleans()) else char for char in label)
    junk = draw(st.sampled_from(["", "", "", "x", "_", ".", "\0", "é", "s"]))
    label = label + junk if draw(st.booleans()) else junk + label
    return draw(_SPACES) + label + draw(_SPACES)


labels = st.one_of(near_labels(), st.text(max_size=12), st.sampled_from(["", " ", "İ", "ß", "K", "ǅ"]))
non_strings = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.binary(max_size=4),
    st.lists(st.text(max_size=2), max_size=2),
    st.just(AxisKind.Batch),
)
element_types = st.one_of(
    st.sampled_from([VoidType(), ChannelType(), LogitsType(), SpectrogramType()]),
    st.sampled_from([ChannelType, None, "ChannelType", 3]),  # a class instead of an instance, or junk
)


@st.composite
def axes_arguments(draw: st.DrawFn) -> object:
    """What a caller might pass as ``axes``: label tuples, a label string, AxisType tuples (list axes in any
    order), mixtures, non-iterables, ``None``."""
    choice = draw(st.sampled_from(["labels", "labels", "string", "axis types", "mixed", "junk", "none"]))
    if choice == "labels":
        return tuple(draw(st.lists(labels, max_size=5)))
    if choice == "string":
        return draw(st.text(alphabet="BTDCNHWSbtdx _", max_size=5))
    if choice == "axis types":
        kinds = st.sampled_from(list(AxisKind))
        axis = st.builds(AxisType, kinds, st.none(), st.booleans()) | st.builds(
            AxisType, kinds, st.integers(1, 8), st.just(False)
        )
        return tuple(draw(st.lists(axis, max_size=4)))
    if choice == "mixed":
        return (draw(labels), AxisType(AxisKind.Time), *draw(st.lists(non_strings, max_size=2)))
    if choice == "junk":
        return draw(st.one_of(st.integers(), st.floats(), st.just(object())))
    return None


# ---------------------------------------------------------------------------------------- properties
@settings(max_examples=EXAMPLES_FROM_STR, **PROPERTY_SETTINGS)
@given(label=labels)
@example(label=" Batch\t")
@example(label="t_")
@example(label="\x00b")
def test_from_str_parses_documented_labels_or_raises_value_error_quoting_them(label):
    expected = documented_kind(label)
    try:
        kind = AxisKind.from_str(label)
    except ValueError as error:
        event("from_str: ValueError")
        assert expected is None, f"{label!r} is documented as {expected} but was refused: {error}"
        assert repr(label) in str(error)
    else:
        event("from_str: parsed")
        assert kind is expected


@settings(max_examples=EXAMPLES_NON_STRING, **PROPERTY_SETTINGS)
@given(value=non_strings)
def test_non_string_labels_raise_value_error_naming_them(value):
    try:
        AxisKind.from_str(value)
    except ValueError as error:
        assert repr(value) in str(error)
    else:
        raise AssertionError(f"from_str accepted {value!r}")
    try:
        NeuralType((value,), ChannelType())
    except ValueError as error:
        assert repr(value) in str(error)
    else:
        raise AssertionError(f"NeuralType accepted the axis {value!r}")


@settings(max_examples=EXAMPLES_NEURAL_TYPE, **PROPERTY_SETTINGS)
@given(axes=axes_arguments(), elements=element_types, other=axes_arguments())
@example(axes=5, elements=ChannelType(), other=None)
@example(axes=("B", "T"), elements=ChannelType, other=None)
@example(
    axes=(AxisType(AxisKind.Time), AxisType(AxisKind.Batch, is_list=True)), elements=VoidType(), other=None
)
def test_neural_type_builds_prints_and_compares_or_raises_value_error(axes, elements, other):
    try:
        neural_type = NeuralType(axes, elements)
    except ValueError as error:
        event("NeuralType: ValueError")
        message = str(error)
        labels_given = isinstance(axes, tuple) and axes and all(isinstance(axis, str) for axis in axes)
        if labels_given and isinstance(elements, VoidType | ChannelType | LogitsType | SpectrogramType):
            bad = [axis for axis in axes if documented_kind(axis) is None]
            assert bad, f"refused valid labels {axes!r}: {message}"
            assert repr(bad[0]) in message
        return
    event("NeuralType: built")
    _check_built(neural_type, axes, elements)
    assert neural_type.compare(neural_type) is NeuralTypeComparisonResult.SAME
    try:
        second = NeuralType(other, VoidType())
    except ValueError:
        return
    assert isinstance(neural_type.compare(second), NeuralTypeComparisonResult)
    assert isinstance(second.compare(neural_type), NeuralTypeComparisonResult)


def _check_built(neural_type: NeuralType, axes: object, elements: object) -> None:
    """A built type holds what was asked for, and prints."""
    assert neural_type.elements_type is elements
    assert isinstance(str(neural_type), str) and isinstance(repr(neural_type), str)
    if axes is None:
        assert neural_type.axes is None
        return
    given_axes = tuple(axes)
    assert len(neural_type.axes) == len(given_axes)
    if all(isinstance(axis, str) for axis in given_axes):
        assert [axis.kind for axis in neural_type.axes] == [documented_kind(axis) for axis in given_axes]
        assert not any(axis.is_list for axis in neural_type.axes)
    else:
        assert neural_type.axes == given_axes
        is_list = [axis.is_list for axis in given_axes]
        assert is_list == sorted(is_list, reverse=True), "a list axis after a tensor axis was accepted"

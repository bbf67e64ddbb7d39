import pytest
from nemo.core.neural_types.axes import AxisKind, AxisType


@pytest.mark.parametrize(
    ("label", "kind"),
    [
        ("B", AxisKind.Batch),
        ("n", AxisKind.Batch),
        ("batch", AxisKind.Batch),
        ("T", AxisKind.Time),
        ("time", AxisKind.Time),
        ("t_enc", AxisKind.Time),
        ("D", AxisKind.Dimension),
        ("C", AxisKind.Dimension),
        ("channel", AxisKind.Dimension),
        ("W", AxisKind.Width),
        ("width", AxisKind.Width),
        ("H", AxisKind.Height),
        ("height", AxisKind.Height),
        ("S", AxisKind.Singleton),
        ("singleton", AxisKind.Singleton),
        ("seq", AxisKind.Sequence),
        ("sequence", AxisKind.Sequence),
        ("flowgroup", AxisKind.FlowGroup),
        ("any", AxisKind.Any),
        ("  Batch ", AxisKind.Batch),
    ],
)
def test_from_str_parses_every_short_form(label, kind):
    assert AxisKind.from_str(label) is kind


@pytest.mark.parametrize("label", ["x", "t_", "dimension", ""])
def test_from_str_rejects_unknown_labels_naming_them(label):
    with pytest.raises(ValueError, match=f"Can't create AxisKind from {label!r}"):
        AxisKind.from_str(label)


def test_channel_is_another_name_for_dimension():
    assert AxisKind.Channel is AxisKind.Dimension
    assert [kind.name for kind in AxisKind] == [
        "Batch",
        "Time",
        "Dimension",
        "Width",
        "Height",
        "Any",
        "Sequence",
        "FlowGroup",
        "Singleton",
    ]


def test_axis_kind_prints_lower_case_name():
    assert str(AxisKind.FlowGroup) == "flowgroup"
    assert repr(AxisKind.Batch) == "batch"


def test_t_with_string():
    assert AxisKind.Time.t_with_string("t_time_")
    assert not AxisKind.Time.t_with_string("t_batch_")
    assert not AxisKind.Batch.t_with_string("batch")


def test_axis_type_repr_shows_size_and_list_axes():
    assert repr(AxisType(AxisKind.Batch)) == "batch"
    assert repr(AxisType(AxisKind.Dimension, size=80)) == "dimension:80"
    assert repr(AxisType(AxisKind.Batch, is_list=True)) == "batch_listdim"


def test_axis_type_defaults():
    axis = AxisType(AxisKind.Time)
    assert (axis.kind, axis.size, axis.is_list) == (AxisKind.Time, None, False)


def test_list_axis_cannot_have_a_size():
    with pytest.raises(ValueError, match="list axis can't have a fixed size"):
        AxisType(AxisKind.Batch, size=4, is_list=True)

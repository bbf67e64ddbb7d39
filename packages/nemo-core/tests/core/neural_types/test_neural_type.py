import pytest
from nemo.core.neural_types import (
    AcousticEncodedRepresentation,
    AudioSignal,
    AxisKind,
    AxisType,
    ChannelType,
    EncodedRepresentation,
    LengthsType,
    LogitsType,
    MelSpectrogramType,
    NeuralPortNameMismatchError,
    NeuralPortNmTensorMismatchError,
    NeuralType,
    NeuralTypeError,
    SpectrogramType,
    VoidType,
)
from nemo.core.neural_types.comparison import NeuralTypeComparisonResult as R


def test_string_axes_become_axis_types():
    ntype = NeuralType(("B", "D", "T"), SpectrogramType())
    assert [axis.kind for axis in ntype.axes] == [AxisKind.Batch, AxisKind.Dimension, AxisKind.Time]
    assert all(axis.size is None and not axis.is_list for axis in ntype.axes)
    assert isinstance(ntype.axes, tuple)


def test_defaults():
    ntype = NeuralType()
    assert ntype.axes is None
    assert isinstance(ntype.elements_type, VoidType)
    assert ntype.optional is False


def test_element_type_class_instead_of_instance_is_rejected_with_hint():
    with pytest.raises(ValueError, match=r"Pass LogitsType\(\)"):
        NeuralType(("B",), LogitsType)


def test_mixed_axes_are_rejected():
    with pytest.raises(ValueError, match="all short strings"):
        NeuralType(("B", AxisType(AxisKind.Time)), LogitsType())


def test_list_axis_after_tensor_axis_is_rejected():
    with pytest.raises(ValueError, match="list axis follows a tensor axis"):
        NeuralType((AxisType(AxisKind.Time), AxisType(AxisKind.Batch, is_list=True)), LogitsType())


def test_unknown_axis_label_is_rejected():
    with pytest.raises(ValueError, match="Can't create AxisKind from 'Q'"):
        NeuralType(("B", "Q"), LogitsType())


def test_repr_and_str():
    ntype = NeuralType(("B", "T"), LengthsType(), optional=True)
    assert repr(ntype) == "NeuralType(axis=(batch, time), element_type=LengthsType, optional=True)"
    assert str(ntype) == "axes: (batch, time); elements_type: LengthsType"
    assert repr(NeuralType()) == "NeuralType(axis=None, element_type=VoidType)"
    assert str(NeuralType(None, LogitsType())) == "axes: None; elements_type: LogitsType"


def test_same():
    a = NeuralType(("B", "D", "T"), SpectrogramType())
    assert a.compare(NeuralType(("B", "C", "T"), SpectrogramType())) is R.SAME


def test_less_and_greater_follow_element_subclasses():
    general = NeuralType(("B", "D", "T"), EncodedRepresentation())
    special = NeuralType(("B", "D", "T"), AcousticEncodedRepresentation())
    assert general.compare(special) is R.GREATER
    assert special.compare(general) is R.LESS


def test_transposed_axes():
    a = NeuralType(("B", "D", "T"), SpectrogramType())
    assert a.compare(NeuralType(("B", "T", "D"), SpectrogramType())) is R.TRANSPOSE_SAME


def test_transposed_axes_with_other_elements_are_incompatible():
    a = NeuralType(("B", "D", "T"), SpectrogramType())
    assert a.compare(NeuralType(("B", "T", "D"), MelSpectrogramType())) is R.INCOMPATIBLE


def test_list_versus_tensor_axis_is_transpose_same():
    as_list = NeuralType((AxisType(AxisKind.Batch, is_list=True), AxisType(AxisKind.Time)), LogitsType())
    as_tensor = NeuralType(("B", "T"), LogitsType())
    assert as_list.compare(as_tensor) is R.TRANSPOSE_SAME


def test_fixed_size_mismatch_is_dim_incompatible():
    a = NeuralType((AxisType(AxisKind.Batch), AxisType(AxisKind.Dimension, 80)), SpectrogramType())
    b = NeuralType((AxisType(AxisKind.Batch), AxisType(AxisKind.Dimension, 64)), SpectrogramType())
    assert a.compare(b) is R.DIM_INCOMPATIBLE
    c = NeuralType((AxisType(AxisKind.Batch), AxisType(AxisKind.Dimension, 80)), ChannelType())
    assert c.compare(b) is R.INCOMPATIBLE


def test_unsized_declaration_accepts_any_size():
    a = NeuralType(("B", "D"), SpectrogramType())
    b = NeuralType((AxisType(AxisKind.Batch), AxisType(AxisKind.Dimension, 64)), SpectrogramType())
    assert a.compare(b) is R.SAME


def test_different_rank_or_kinds_are_incompatible():
    a = NeuralType(("B", "T"), LogitsType())
    assert a.compare(NeuralType(("B", "T", "D"), LogitsType())) is R.INCOMPATIBLE
    assert a.compare(NeuralType(("B", "D"), LogitsType())) is R.INCOMPATIBLE
    assert a.compare(NeuralType(None, LogitsType())) is R.INCOMPATIBLE


def test_parametrised_elements():
    a = NeuralType(("B", "T"), AudioSignal(freq=16000))
    assert a.compare(NeuralType(("B", "T"), AudioSignal(freq=8000))) is R.SAME_TYPE_INCOMPATIBLE_PARAMS
    assert a.compare(NeuralType(("B", "T"), AudioSignal(freq=16000))) is R.SAME
    assert a.compare(NeuralType(("B", "T"), AudioSignal())) is R.SAME


def test_any_axis_matches_every_kind():
    a = NeuralType(("B", "any"), LogitsType())
    assert a.compare(NeuralType(("B", "T"), LogitsType())) is R.SAME
    assert a.compare(NeuralType(("T", "D"), LogitsType())) is R.INCOMPATIBLE


def test_void_without_axes_is_same_as_everything():
    big_void = NeuralType()
    assert big_void.compare(NeuralType(("B", "T"), LogitsType())) is R.SAME
    assert big_void.compare(NeuralType()) is R.SAME


def test_void_elements_with_axes_still_check_axes():
    a = NeuralType(("B", "T"), VoidType())
    assert a.compare(NeuralType(("B", "T"), LogitsType())) is R.SAME
    assert a.compare(NeuralType(("B", "T", "D"), LogitsType())) is R.INCOMPATIBLE


def test_no_axes_compares_elements_only():
    a = NeuralType(None, EncodedRepresentation())
    assert a.compare(NeuralType(None, AcousticEncodedRepresentation())) is R.GREATER
    assert a.compare(NeuralType(None, LogitsType())) is R.INCOMPATIBLE


def test_equality_means_same():
    assert NeuralType(("B",), LogitsType()) == NeuralType(("B",), LogitsType())
    assert NeuralType(("B",), LogitsType()) != NeuralType(("T",), LogitsType())
    assert NeuralType(("B",), LogitsType()) != "B"


def test_compare_and_raise_error_accepts_same_and_greater():
    port = NeuralType(("B", "D", "T"), EncodedRepresentation())
    port.compare_and_raise_error("Decoder", "encoder_output", port)
    port.compare_and_raise_error(
        "Decoder", "encoder_output", NeuralType(("B", "D", "T"), AcousticEncodedRepresentation())
    )


def test_compare_and_raise_error_names_module_port_and_result():
    port = NeuralType(("B", "D", "T"), AcousticEncodedRepresentation())
    with pytest.raises(NeuralPortNmTensorMismatchError) as info:
        port.compare_and_raise_error("Decoder", "encoder_output", NeuralType(("B", "D", "T"), ChannelType()))
    message = str(info.value)
    assert "Decoder" in message and "'encoder_output'" in message and "LESS" in message
    assert info.value.message == message
    assert isinstance(info.value, NeuralTypeError)


def test_port_name_error_message():
    error = NeuralPortNameMismatchError("signal")
    assert "'signal'" in str(error)
    assert isinstance(error, NeuralTypeError)

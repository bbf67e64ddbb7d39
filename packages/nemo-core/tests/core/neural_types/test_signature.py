import pytest
from nemo.core.neural_types import AudioSignal, AxisKind, AxisType, LengthsType, LogitsType, NeuralType
from nemo.core.neural_types.comparison import NeuralTypeComparisonResult as R
from nemo.core.neural_types.signature import TypeSignature


def test_plain_declaration():
    signature = TypeSignature(
        {"x": NeuralType(("B", "T"), AudioSignal()), "n": NeuralType(("B",), LengthsType(), optional=True)},
        "M",
    )
    assert list(signature.ports) == ["x", "n"]
    assert signature.mandatory == ("x",)
    assert signature.ports["x"].rank == 2 and signature.ports["x"].depth == 0
    assert not signature.is_singular_container
    assert signature.accepts_single_value


def test_container_brackets_set_depth():
    base = NeuralType(("B", "T"), LogitsType())
    signature = TypeSignature({"x": [[base]]}, "M")
    port = signature.ports["x"]
    assert port.type is base and port.depth == 2 and port.is_container
    assert signature.is_singular_container


def test_container_with_two_types_is_rejected():
    with pytest.raises(TypeError, match="port 'x'.*exactly one NeuralType"):
        TypeSignature({"x": [NeuralType(), NeuralType()]}, "M.forward input_types")


def test_non_neural_type_entry_is_rejected_with_its_location():
    with pytest.raises(TypeError, match="M.forward input_types: port 'x' is declared as 'B'"):
        TypeSignature({"x": "B"}, "M.forward input_types")


def test_non_mapping_declaration_is_rejected():
    with pytest.raises(TypeError, match="expected a dict"):
        TypeSignature([NeuralType()], "M.forward output_types")


def test_list_axes_count_as_container_levels():
    ntype = NeuralType((AxisType(AxisKind.Batch, is_list=True), AxisType(AxisKind.Time)), LogitsType())
    port = TypeSignature({"x": ntype}, "M").ports["x"]
    assert port.list_axes == 1 and port.is_container
    assert port.depth_fits(0) and port.depth_fits(1) and not port.depth_fits(2)
    assert port.expected_rank(0) == 2
    assert port.expected_rank(1) == 1


def test_mismatch_remembers_accepted_types_by_identity():
    port = TypeSignature({"x": NeuralType(("B", "T"), AudioSignal(16000))}, "M").ports["x"]
    offered = NeuralType(("B", "T"), AudioSignal(16000))
    assert port.mismatch(offered) is None
    assert port.accepted == {id(offered): offered}
    assert port.mismatch(NeuralType(("B", "T"), AudioSignal(8000))) is R.SAME_TYPE_INCOMPATIBLE_PARAMS
    assert len(port.accepted) == 1

"""@typecheck() on list and list-of-lists ports: ``[NeuralType]`` declarations and list axes."""

import pytest
import torch
from nemo.core.classes.module import NeuralModule
from nemo.core.classes.typecheck import typecheck
from nemo.core.neural_types import AxisKind, AxisType, LengthsType, LogitsType, NeuralType

LOGITS = NeuralType(("B", "T"), LogitsType())


class ListModule(NeuralModule):
    """Takes a list of (B, T) logits and returns them as a list."""

    @property
    def input_types(self):
        return {"chunks": [LOGITS]}

    @property
    def output_types(self):
        return {"chunks_out": [LOGITS]}

    @typecheck()
    def forward(self, chunks):
        return list(chunks)


class NestedModule(NeuralModule):
    @property
    def input_types(self):
        return {"groups": [[LOGITS]]}

    @property
    def output_types(self):
        return {"groups_out": [[LOGITS]], "count": NeuralType(None, LengthsType())}

    @typecheck()
    def forward(self, groups):
        return [list(group) for group in groups], torch.tensor(sum(len(group) for group in groups))


def test_list_input_and_singular_list_output():
    chunks = ListModule()(chunks=[torch.zeros(2, 3), torch.zeros(2, 5)])
    assert isinstance(chunks, list) and len(chunks) == 2
    assert all(chunk.neural_type is LOGITS for chunk in chunks)


def test_elements_of_a_list_input_are_rank_checked():
    with pytest.raises(TypeError, match="ListModule.forward: input 'chunks' has 3 dimension"):
        ListModule()(chunks=[torch.zeros(2, 3), torch.zeros(2, 3, 1)])


def test_elements_of_a_list_input_are_type_checked():
    wrong = torch.zeros(2, 3)
    wrong.neural_type = NeuralType(("B", "T"), LengthsType())
    with pytest.raises(TypeError, match="'chunks' has an incompatible neural type"):
        ListModule()(chunks=[torch.zeros(2, 3), wrong])


def test_too_deep_list_input_is_rejected_unless_collections_are_ignored():
    with pytest.raises(TypeError, match="input 'chunks' is nested 2 list level"):
        ListModule()(chunks=[[torch.zeros(2, 3)]])

    class Lenient(ListModule):
        @typecheck(ignore_collections=True)
        def forward(self, chunks):
            return [torch.zeros(2, 3)]

    Lenient()(chunks=[[torch.zeros(2, 3)]])


def test_list_of_lists():
    groups, count = NestedModule()(groups=[[torch.zeros(2, 3)], [torch.zeros(2, 4), torch.zeros(2, 5)]])
    assert count.item() == 3 and count.neural_type.axes is None
    assert [len(group) for group in groups] == [1, 2]
    assert all(item.neural_type is LOGITS for group in groups for item in group)
    with pytest.raises(TypeError, match="input 'groups' is nested 1 list level"):
        NestedModule()(groups=[torch.zeros(2, 3)])


def test_output_nested_shallower_than_declared_is_rejected():
    class Flat(NestedModule):
        @typecheck()
        def forward(self, groups):
            return [item for group in groups for item in group], torch.tensor(0)

    with pytest.raises(TypeError, match="output 'groups_out' is nested 1 list level"):
        Flat()(groups=[[torch.zeros(2, 3)]])


def test_singular_container_returned_inside_a_one_tuple():
    class Wrapped(ListModule):
        @typecheck()
        def forward(self, chunks):
            return (list(chunks),)

    (chunks,) = Wrapped()(chunks=[torch.zeros(2, 3)])
    assert chunks[0].neural_type is LOGITS


def test_list_output_for_a_non_container_port_is_a_count_error():
    class NotAContainer(ListModule):
        @property
        def output_types(self):
            return {"chunks_out": LOGITS}

    with pytest.raises(TypeError, match=r"returned 2 output\(s\).*declare its type in a list"):
        NotAContainer()(chunks=[torch.zeros(2, 3), torch.zeros(2, 3)])


def test_tensor_for_a_list_port_is_rank_checked_against_the_whole_type():
    module = ListModule()
    module._validate_input_types(input_types={"chunks": [LOGITS]}, chunks=torch.zeros(2, 3))
    with pytest.raises(TypeError, match="has 1 dimension"):
        module._validate_input_types(input_types={"chunks": [LOGITS]}, chunks=torch.zeros(3))


class ListAxisModule(NeuralModule):
    """A batch given as a list of (T,) tensors or as one (B, T) tensor."""

    @property
    def input_types(self):
        return {
            "batch": NeuralType(
                (AxisType(AxisKind.Batch, is_list=True), AxisType(AxisKind.Time)), LogitsType()
            )
        }

    @property
    def output_types(self):
        return {"lengths": NeuralType(tuple("B"), LengthsType())}

    @typecheck()
    def forward(self, batch):
        return torch.tensor([len(item) for item in batch])


def test_list_axis_accepts_a_python_list_of_smaller_tensors():
    lengths = ListAxisModule()(batch=[torch.zeros(3), torch.zeros(5)])
    assert lengths.tolist() == [3, 5]


def test_list_axis_accepts_a_tensor_holding_that_axis():
    assert ListAxisModule()(batch=torch.zeros(2, 7)).tolist() == [7, 7]


def test_list_axis_rejects_wrong_ranks_and_depths():
    with pytest.raises(TypeError, match="input 'batch' has 2 dimension"):
        ListAxisModule()(batch=[torch.zeros(3, 1)])
    with pytest.raises(TypeError, match="input 'batch' is nested 2 list level.*expects 0 to 1"):
        ListAxisModule()(batch=[[torch.zeros(3)]])

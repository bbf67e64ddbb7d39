"""TorchScript: typed NeuralModules (and Exportable ones) script, and scripted code may build element types."""

from __future__ import annotations

import pytest
import torch
from nemo.core.classes.exportable import Exportable
from nemo.core.classes.module import NeuralModule
from nemo.core.neural_types import elements
from nemo.core.neural_types.elements import ElementType
from nemo.core.neural_types.neural_type import NeuralType


class TypedLinear(NeuralModule, Exportable):
    """``x`` (B, 4) -> (B, 2), with neural types and export metadata (all Python-only properties)."""

    def __init__(self) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(4, 2)

    @property
    def input_types(self):
        return {"x": NeuralType(("B", "D"), elements.ChannelType())}

    @property
    def output_types(self):
        return {"y": NeuralType(("B", "D"), elements.ChannelType())}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer(x)


def test_a_typed_exportable_module_scripts_and_computes_the_same() -> None:
    module = TypedLinear().eval()
    scripted = torch.jit.script(module)
    x = torch.randn(3, 4)
    torch.testing.assert_close(scripted(x), module(x))
    assert "num_weights" in TypedLinear.__jit_unused_properties__
    assert "supported_export_formats" in TypedLinear.__jit_unused_properties__


ALL_ELEMENT_TYPES = [
    cls for cls in vars(elements).values() if isinstance(cls, type) and issubclass(cls, ElementType)
]


@pytest.mark.parametrize("element_type", ALL_ELEMENT_TYPES, ids=lambda cls: cls.__name__)
def test_scripted_code_builds_element_types(element_type: type) -> None:
    @torch.jit.script
    def plus_one_unless_void(x: torch.Tensor) -> torch.Tensor:
        if isinstance(element_type(), elements.VoidType):
            return x
        return x + 1

    expected = 1.0 if element_type is elements.VoidType else 2.0
    assert plus_one_unless_void(torch.tensor(1.0)).item() == expected


def test_element_types_still_compare_and_print_in_python() -> None:
    assert str(elements.LogitsType()) == "Logits."
    assert elements.AcousticEncodedRepresentation().compare(elements.ChannelType()).name == "LESS"

"""@typecheck reads declarations that depend on the instance's state afresh after that state changes (NeMo's
mode-specific forwards): a call valid in one mode is a TypeError in another."""

from __future__ import annotations

import pytest
import torch
from nemo.core.classes.typecheck import Typing, typecheck
from nemo.core.neural_types import ChannelType, NeuralType


class ModeDependent(Typing):
    """``train`` takes ``x``; ``eval`` takes ``x`` and ``y``."""

    def __init__(self) -> None:
        self.mode = "eval"

    @property
    def input_types(self):
        names = ("x",) if self.mode == "train" else ("x", "y")
        return {name: NeuralType(("B",), ChannelType()) for name in names}

    @property
    def output_types(self):
        return {"out": NeuralType(("B",), ChannelType())}

    @typecheck()
    def combine(self, x, y=None):
        return x if y is None else x + y


def test_declarations_are_read_again_after_the_mode_changes() -> None:
    module = ModeDependent()
    x = torch.ones(3)
    assert torch.equal(module.combine(x=x, y=x), 2 * x)  # eval: y is declared
    module.mode = "train"
    with pytest.raises(TypeError, match="unexpected input argument"):
        module.combine(x=x, y=x)
    assert torch.equal(module.combine(x=x), x)

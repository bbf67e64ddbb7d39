"""typecheck's process-wide switches: set_typecheck_enabled, disable_checks and the semantic ones."""

import pytest
import torch
from nemo.core.classes.module import NeuralModule
from nemo.core.classes.typecheck import is_semantic_typecheck_enabled, is_typecheck_enabled, typecheck
from nemo.core.neural_types import LengthsType, LogitsType, NeuralType


class Scorer(NeuralModule):
    @property
    def input_types(self):
        return {"logits": NeuralType(("B", "T"), LogitsType())}

    @property
    def output_types(self):
        return {"scores": NeuralType(("B", "T"), LogitsType())}

    @typecheck()
    def forward(self, logits):
        return logits * 2


def lengths_tagged(shape=(2, 3)):
    value = torch.zeros(*shape)
    value.neural_type = NeuralType(("B", "T"), LengthsType())
    return value


@pytest.fixture(autouse=True)
def restore_switches():
    yield
    typecheck.set_typecheck_enabled(enabled=True)
    typecheck.set_semantic_check_enabled(enabled=True)


def test_defaults_are_on():
    assert is_typecheck_enabled() and is_semantic_typecheck_enabled()


def test_set_typecheck_enabled_false_skips_every_check_and_attachment():
    typecheck.set_typecheck_enabled(enabled=False)
    assert not is_typecheck_enabled()
    scores = Scorer()(torch.zeros(2, 3, 4))
    assert not hasattr(scores, "neural_type")
    typecheck.set_typecheck_enabled()
    with pytest.raises(TypeError, match="positional"):
        Scorer()(torch.zeros(2, 3))


def test_disable_checks_is_scoped_and_restores_the_previous_setting():
    with typecheck.disable_checks():
        assert not is_typecheck_enabled()
        Scorer()(torch.zeros(2, 3, 4))
    assert is_typecheck_enabled()
    typecheck.set_typecheck_enabled(enabled=False)
    with typecheck.disable_checks():
        pass
    assert not is_typecheck_enabled()


def test_disable_checks_restores_after_an_error():
    with pytest.raises(ZeroDivisionError), typecheck.disable_checks():
        raise ZeroDivisionError
    assert is_typecheck_enabled()


def test_semantic_switch_skips_only_the_neural_type_comparison():
    with pytest.raises(TypeError, match="incompatible neural type"):
        Scorer()(logits=lengths_tagged())
    typecheck.set_semantic_check_enabled(enabled=False)
    assert not is_semantic_typecheck_enabled()
    assert Scorer()(logits=lengths_tagged()).neural_type.elements_type.__class__ is LogitsType
    with pytest.raises(TypeError, match="dimension"):
        Scorer()(logits=lengths_tagged((2, 3, 4)))


def test_disable_semantic_checks_is_scoped():
    with typecheck.disable_semantic_checks():
        Scorer()(logits=lengths_tagged())
        assert is_typecheck_enabled()
    assert is_semantic_typecheck_enabled()
    with pytest.raises(TypeError, match="incompatible neural type"):
        Scorer()(logits=lengths_tagged())


def test_type_state_marks_undeclared_overrides():
    assert typecheck.TypeState.UNINITIALIZED.value == 0
    plain, overridden = typecheck(), typecheck(input_types=None)
    assert plain.input_types is typecheck.TypeState.UNINITIALIZED and not plain.input_override
    assert overridden.input_types is None and overridden.input_override
    assert plain.output_override is False and plain.ignore_collections is False

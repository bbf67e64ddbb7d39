import pytest
import torch
from nemo.core.classes.file_io import FileIO
from nemo.core.classes.module import NeuralModule
from nemo.core.classes.serialization import Serialization
from nemo.core.classes.typecheck import Typing


class TwoLayers(NeuralModule):
    def __init__(self):
        super().__init__()
        self.encoder = torch.nn.Linear(4, 3)
        self.decoder = torch.nn.Linear(3, 2, bias=False)

    def forward(self, x):
        return self.decoder(self.encoder(x))


def grads(module):
    return {name: param.requires_grad for name, param in module.named_parameters()}


def test_is_a_typed_serializable_torch_module():
    module = TwoLayers()
    assert isinstance(module, (torch.nn.Module, Typing, Serialization, FileIO))
    assert module.input_types is None and module.output_types is None
    assert module.input_example() is None
    assert module.input_example(max_batch=2, max_dim=8) is None


def test_num_weights_counts_trainable_parameters():
    module = TwoLayers()
    assert module.num_weights == 4 * 3 + 3 + 3 * 2
    module.encoder.weight.requires_grad = False
    assert module.num_weights == 3 + 3 * 2


def test_freeze_and_unfreeze():
    module = TwoLayers()
    module.freeze()
    assert not any(grads(module).values()) and not module.training
    assert module.num_weights == 0
    module.unfreeze()
    assert all(grads(module).values()) and module.training


def test_partial_unfreeze_keeps_modules_frozen_before_freeze():
    module = TwoLayers()
    module.encoder.requires_grad_(False)
    module.freeze()
    module.unfreeze(partial=True)
    assert grads(module) == {"encoder.weight": False, "encoder.bias": False, "decoder.weight": True}
    assert module.training


def test_full_unfreeze_unfreezes_everything():
    module = TwoLayers()
    module.encoder.requires_grad_(False)
    module.freeze()
    module.unfreeze()
    assert all(grads(module).values())


def test_partial_unfreeze_needs_a_freeze_first():
    module = TwoLayers()
    with pytest.raises(ValueError, match=r"TwoLayers.unfreeze\(partial=True\).*freeze\(\) was not called"):
        module.unfreeze(partial=True)
    module.freeze()
    module.unfreeze(partial=True)
    with pytest.raises(ValueError, match="freeze"):
        module.unfreeze(partial=True)


def test_freezing_twice_records_the_latest_state():
    module = TwoLayers()
    module.freeze()
    module.freeze()
    module.unfreeze(partial=True)
    assert not any(grads(module).values())


def test_as_frozen_restores_grads_and_mode():
    module = TwoLayers()
    module.decoder.weight.requires_grad = False
    before = grads(module)
    with module.as_frozen():
        assert not any(grads(module).values()) and not module.training
        output = module(torch.ones(1, 4))
    assert grads(module) == before and module.training
    assert not output.requires_grad


def test_as_frozen_keeps_eval_mode_and_an_earlier_freeze():
    module = TwoLayers()
    module.encoder.requires_grad_(False)
    module.freeze()
    with module.as_frozen():
        pass
    assert not module.training and not any(grads(module).values())
    module.unfreeze(partial=True)
    assert grads(module) == {"encoder.weight": False, "encoder.bias": False, "decoder.weight": True}


def test_as_frozen_restores_on_error():
    module = TwoLayers().eval()
    with pytest.raises(RuntimeError), module.as_frozen():
        raise RuntimeError("inside")
    assert all(grads(module).values()) and not module.training

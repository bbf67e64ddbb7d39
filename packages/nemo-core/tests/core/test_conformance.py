"""The conformance kit passes a well-behaved model and fails, naming the check, each way a model can go wrong."""

import pytest
import torch
from nemo.core.classes import ModelPT, typecheck
from nemo.core.classes.exportable import Exportable
from nemo.core.conformance import (
    assert_model_conforms,
    check_save_restore,
    check_typecheck_declarations,
    example_inputs,
)
from nemo.core.neural_types import ChannelType, LengthsType, NeuralType
from omegaconf import OmegaConf
from torch.utils.data import DataLoader, TensorDataset


class Echo(ModelPT, Exportable):
    """Reproduces (B, D) vectors; trains on seeded random vectors."""

    def __init__(self, cfg, trainer=None):
        super().__init__(cfg=cfg, trainer=trainer)
        self.layer = torch.nn.Linear(cfg.dim, cfg.dim)

    @classmethod
    def list_available_models(cls):
        return []

    @property
    def input_types(self):
        return {"vectors": NeuralType(("B", "D"), ChannelType())}

    @property
    def output_types(self):
        return {"outputs": NeuralType(("B", "D"), ChannelType())}

    def input_example(self, max_batch=None, max_dim=None):
        return (torch.randn(max_batch or 3, self.cfg.dim),)

    @typecheck()
    def forward(self, vectors):
        return self.layer(vectors)

    def setup_training_data(self, cfg):
        data = torch.randn(16, self.cfg.dim, generator=torch.Generator().manual_seed(0))
        self._train_dl = DataLoader(TensorDataset(data), batch_size=4)

    def setup_validation_data(self, cfg):
        self._validation_dl = None

    def training_step(self, batch, batch_idx):
        (vectors,) = batch
        return torch.nn.functional.mse_loss(self(vectors=vectors), vectors)


class MisnamedInput(Echo):
    @property
    def input_types(self):
        return {"signal": NeuralType(("B", "D"), ChannelType())}


class UntypedOutput(Echo):
    @property
    def output_types(self):
        return {"outputs": ("B", "D")}


class NeMoNotations(Echo):
    """An optional input forward() does not take (NeMo's ``sample_id``) and a list-of-tensors type."""

    @property
    def input_types(self):
        return {
            "vectors": NeuralType(("B", "D"), ChannelType()),
            "sample_id": NeuralType(("B",), LengthsType(), optional=True),
            "states": [NeuralType(("B", "D"), ChannelType(), optional=True)],
        }


class NoisyOutput(Echo):
    """Adds fresh noise in eval mode: two calls, let alone a restored copy, never agree."""

    def forward(self, vectors):
        return self.layer(vectors) + torch.randn_like(vectors)


def _cfg(lr=0.1):
    return OmegaConf.create(
        {"model": {"dim": 4, "train_ds": {"batch_size": 4}, "optim": {"name": "sgd", "lr": lr}}}
    )


def test_a_well_behaved_model_passes_every_check(tmp_path):
    model = assert_model_conforms(Echo, _cfg(), tmp_path)

    assert isinstance(model, Echo)
    assert (tmp_path / "Echo.nemo").is_file() and (tmp_path / "Echo.onnx").is_file()
    assert list(example_inputs(model)) == ["vectors"]


def test_input_names_forward_does_not_take_fail_the_typecheck_check():
    with pytest.raises(
        AssertionError, match=r"input_types names \['signal'\], which forward\(\) does not take"
    ):
        check_typecheck_declarations(MisnamedInput(cfg=_cfg().model))


def test_nemo_optional_inputs_and_list_types_are_accepted():
    assert check_typecheck_declarations(NeMoNotations(cfg=_cfg().model)) == 1


def test_a_type_that_is_not_a_neural_type_fails():
    with pytest.raises(AssertionError, match=r"output_types\['outputs'\] is a tuple, not a NeuralType"):
        check_typecheck_declarations(UntypedOutput(cfg=_cfg().model))


def test_outputs_that_change_after_restore_fail(tmp_path):
    model = NoisyOutput(cfg=_cfg().model)
    with pytest.raises(AssertionError, match="restored NoisyOutput differs"):
        check_save_restore(model, example_inputs(model), tmp_path)


def test_training_that_changes_no_weight_fails(tmp_path):
    with pytest.raises(AssertionError, match="changed no weight"):
        assert_model_conforms(Echo, _cfg(lr=0.0), tmp_path, export=False)


def test_a_config_that_does_not_build_fails_naming_the_class(tmp_path):
    broken = OmegaConf.create({"model": {"train_ds": {}}})  # no `dim`
    with pytest.raises(AssertionError, match=r"Echo\(cfg=\.\.\.\) failed"):
        assert_model_conforms(Echo, broken, tmp_path)

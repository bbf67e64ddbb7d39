"""Adapter and access mixins: registry, strategies, LinearAdapter keys, allow-list, save/load of adapters alone."""

from __future__ import annotations

import pytest
import torch
from nemo.collections.common.parts.adapter_modules import LinearAdapter, LinearAdapterConfig
from nemo.core.classes.mixins import access_mixins, adapter_mixin_strategies, adapter_mixins
from nemo.core.classes.mixins.access_mixins import AccessMixin
from nemo.core.classes.mixins.adapter_mixins import AdapterModuleMixin
from nemo.utils.target_allowlist import UnsafeTargetError
from omegaconf import OmegaConf


class _Block(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = torch.nn.Linear(6, 6)
        self.bn = torch.nn.BatchNorm1d(6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.fc(x))


class _BlockWithAdapters(_Block, AdapterModuleMixin):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = super().forward(x)
        return self.forward_enabled_adapters(x) if self.is_adapter_available() else x


@pytest.fixture(autouse=True)
def _access_off():
    AccessMixin.set_access_enabled(access_enabled=False)
    yield
    AccessMixin.set_access_enabled(access_enabled=False)


def _linear_cfg(**overrides):
    return {
        "_target_": "nemo.collections.common.parts.adapter_modules.LinearAdapter",
        "in_features": 6,
        "dim": 3,
        **overrides,
    }


def test_linear_adapter_state_dict_keys_are_nemos():
    # Keys printed once by NeMo 1.23 (/tmp/nemo-ref) for LinearAdapter(8, 4) with norm_position pre / post.
    assert list(LinearAdapter(8, 4).state_dict()) == [
        "module.0.weight",
        "module.0.bias",
        "module.1.weight",
        "module.3.weight",
    ]
    assert list(LinearAdapter(8, 4, norm_position="post").state_dict()) == [
        "module.0.weight",
        "module.2.weight",
        "module.3.weight",
        "module.3.bias",
    ]


def test_residual_strategy_adds_the_branch_and_records_the_l2_loss():
    adapter = LinearAdapter(6, 3)
    with torch.no_grad():
        adapter.module[-1].weight.fill_(0.1)
    block = _BlockWithAdapters().train()
    x = torch.randn(4, 6)
    strategy = adapter_mixin_strategies.ResidualAddAdapterStrategy(l2_lambda=0.5)
    out = strategy(x, adapter, module=block)
    branch = adapter(x)
    torch.testing.assert_close(out, x + branch)
    # Hand computation: l2_lambda * mean over the batch of the per-item sum of squared branch values.
    expected = 0.5 * branch.detach().square().sum(dim=1).mean()
    assert AccessMixin.is_access_enabled()
    torch.testing.assert_close(adapter._registry["adapter_loss"][0].detach(), expected)


def test_stochastic_depth_one_drops_the_branch_in_training_only():
    adapter = LinearAdapter(6, 3)
    with torch.no_grad():
        adapter.module[-1].weight.fill_(1.0)
    block = _BlockWithAdapters()
    x = torch.randn(2, 6)
    strategy = adapter_mixin_strategies.ResidualAddAdapterStrategy(stochastic_depth=1.0)
    for _ in range(20):  # one Bernoulli draw per call: every call must drop the branch
        torch.testing.assert_close(strategy(x, adapter, module=block.train()), x)
    torch.testing.assert_close(strategy(x, adapter, module=block.eval()), x + adapter(x))


def test_access_registry_reset_and_per_model_switch():
    outer = torch.nn.Sequential(LinearAdapter(6, 3))
    inner = outer[0]
    assert isinstance(inner, access_mixins.AccessMixin)
    inner.register_accessible_tensor("a", torch.ones(2, requires_grad=True))
    AccessMixin.update_access_cfg({"detach": True})
    try:
        inner.register_accessible_tensor("a", torch.ones(2, requires_grad=True))
    finally:
        AccessMixin.update_access_cfg({"detach": False})
    registry = AccessMixin.get_module_registry(outer)
    assert list(registry) == ["0"] and [t.requires_grad for t in registry["0"]["a"]] == [True, False]
    with pytest.raises(KeyError, match="no registry holds"):
        AccessMixin.reset_registry(outer, registry_key="missing")
    AccessMixin.set_access_enabled(access_enabled=True)
    AccessMixin.reset_registry(outer)
    assert AccessMixin.get_module_registry(outer) == {} and not AccessMixin.is_access_enabled()
    # A model switched on by its guid; other guids follow the default switch.
    AccessMixin.set_access_enabled(access_enabled=True, guid="model-1")
    assert AccessMixin.is_access_enabled("model-1") and not AccessMixin.is_access_enabled("model-2")
    AccessMixin.set_access_enabled(access_enabled=False, guid="model-1")


def test_enable_disable_and_unfreeze_only_enabled_adapters():
    block = _BlockWithAdapters()
    block.add_adapter("a", _linear_cfg())
    block.add_adapter("b", LinearAdapterConfig(in_features=6, dim=2))
    with pytest.raises(ValueError, match="exists already"):
        block.add_adapter("a", _linear_cfg())
    block.set_enabled_adapters("b", enabled=False)
    assert block.get_enabled_adapters() == ["a"]
    for param in block.parameters():
        param.requires_grad_(False)
    block.unfreeze_enabled_adapters()
    trainable = sorted(name for name, p in block.named_parameters() if p.requires_grad)
    assert trainable and all(name.startswith("adapter_layer.a.") for name in trainable)
    assert block.bn.track_running_stats is False


def test_adapter_config_target_goes_through_the_allow_list():
    block = _BlockWithAdapters()
    with pytest.raises(UnsafeTargetError):
        block.add_adapter("evil", {"_target_": "os.system", "command": "true"})
    with pytest.raises(UnsafeTargetError):
        block.add_adapter("evil", _linear_cfg(adapter_strategy={"_target_": "os.system"}))
    assert not block.is_adapter_available()


def test_registry_resolves_registered_paths_without_importing_others():
    if adapter_mixins.get_registered_adapter(_Block) is None:
        adapter_mixins.register_adapter(_Block, _BlockWithAdapters)
    info = adapter_mixins.get_registered_adapter(f"{_Block.__module__}._Block")
    assert info is not None and info.adapter_class is _BlockWithAdapters
    assert adapter_mixins.get_registered_adapter(_BlockWithAdapters) is info
    assert adapter_mixins.get_registered_adapter("untrusted_pkg.Module") is None
    with pytest.raises(ValueError, match="already in the adapter registry"):
        adapter_mixins.register_adapter(_Block, _BlockWithAdapters)


def test_save_adapters_file_loads_weights_only(tmp_path):
    from nemo.core import ModelPT

    class TinyAdapterModel(ModelPT, adapter_mixins.AdapterModelPTMixin):
        def __init__(self, cfg, trainer=None):
            super().__init__(cfg, trainer=trainer)
            self.encoder = _BlockWithAdapters()

        def add_adapter(self, name, cfg):
            super().add_adapter(name, cfg)
            self.encoder.add_adapter(name, cfg)

        def get_enabled_adapters(self):
            return super().get_enabled_adapters() + self.encoder.get_enabled_adapters()

        def forward(self, x):
            return self.encoder(x)

        def list_available_models(cls):
            return []

        def setup_training_data(self, cfg):
            pass

        def setup_validation_data(self, cfg):
            pass

    torch.manual_seed(0)
    model = TinyAdapterModel(OmegaConf.create({}))
    model.add_adapter("a", _linear_cfg())
    with torch.no_grad():
        model.encoder.adapter_layer["a"].module[-1].weight.normal_()
    path = tmp_path / "a.pt"
    model.save_adapters(str(path))
    contents = torch.load(path, weights_only=True)
    assert sorted(contents) == ["__cfg__", "a"] and isinstance(contents["__cfg__"], dict)

    fresh = TinyAdapterModel(OmegaConf.create({}))
    fresh.load_state_dict(model.state_dict(), strict=False)
    fresh.load_adapters(str(path), map_location="cpu")
    x = torch.randn(3, 6)
    model.eval(), fresh.eval()
    torch.testing.assert_close(fresh(x), model(x))
    with pytest.raises(KeyError, match="holds no adapter"):
        TinyAdapterModel(OmegaConf.create({})).load_adapters(str(path), name="b", map_location="cpu")

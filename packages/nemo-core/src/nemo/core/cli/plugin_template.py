"""The files ``nemo plugin new NAME`` writes: a complete plugin distribution, as ``{relative path: text}``.

Placeholders, filled by :func:`render`: ``{{name}}`` (entry-point name and domain, e.g. ``acme``), ``{{package}}``
(``nemo_acme``), ``{{distribution}}`` (``nemo-acme``), ``{{model_class}}`` (``AcmeModel``), ``{{model_name}}``
(``acme.AcmeModel``), ``{{config}}`` (``acme_model``), ``{{plugin_api}}`` and ``{{core_version}}``.
"""

from __future__ import annotations

PYPROJECT = """\
[build-system]
requires = ["hatchling>=1.21"]
build-backend = "hatchling.build"

[project]
name = "{{distribution}}"
version = "0.1.0"
description = "A nemo plugin: {{model_class}}, registered as {{model_name}}."
readme = "README.md"
requires-python = ">=3.10"
dependencies = ["{{core_distribution}}>={{core_version}}"]

[project.optional-dependencies]
test = ["pytest"]

[project.entry-points."nemo.plugins"]
{{name}} = "{{package}}.plugin"

[tool.hatch.build.targets.wheel]
packages = ["{{package}}"]
"""

README = """\
# {{distribution}}

A nemo plugin made by `nemo plugin new {{name}}`. It registers, through the entry point `{{name}}` of the group
`nemo.plugins`:

- the model `{{model_name}}` (`{{package}}.models:{{model_class}}`, a `ModelPT`), with its config `{{config}}`;
- the config folder `{{package}}/conf`;
- the `_target_` prefix `{{package}}.`;
- the pretrained entry `{{name}}_tiny`, a `.nemo` looked up in `$NEMO_CACHE_DIR` (nothing is downloaded).

```bash
pip install -e .[test]
pytest tests                                   # the plugin is found, the model trains, saves and restores
nemo models --domain {{name}}                  # lists {{model_name}}
nemo train {{model_name}} exp_manager.exp_dir=runs
```

Edit `{{package}}/models.py` (the model), `{{package}}/conf/{{config}}.yaml` (its config) and
`{{package}}/plugin.py` (what the plugin registers). The hooks are documented in nemo-core's docs/plugins.md.
"""

INIT = '''\
"""{{distribution}}: a nemo plugin (see README.md)."""
'''

PLUGIN = '''\
"""The plugin module named by the entry point ``{{name}} = "{{package}}.plugin"``.

Hooks return names and import strings only, so ``nemo models`` lists the model without importing torch or
``{{package}}.models``.
"""

from __future__ import annotations

from nemo.core.plugins import ConfigPathSpec, ModelSpec, PretrainedModelInfo, hookimpl

NEMO_PLUGIN_API = "{{plugin_api}}"


@hookimpl
def nemo_register_models() -> list[ModelSpec]:
    return [
        ModelSpec(
            name="{{model_name}}",
            target="{{package}}.models:{{model_class}}",
            domain="{{name}}",
            description="Learns to reproduce its input vectors",
            config="{{config}}",
        )
    ]


@hookimpl
def nemo_register_config_paths() -> list[ConfigPathSpec]:
    return [ConfigPathSpec("pkg://{{package}}.conf")]


@hookimpl
def nemo_register_target_prefixes() -> list[str]:
    return ["{{package}}."]


@hookimpl
def nemo_register_pretrained_models() -> list[PretrainedModelInfo]:
    # Offline: the file is looked up in $NEMO_CACHE_DIR (save a trained model there as {{name}}_tiny.nemo).
    return [
        PretrainedModelInfo(
            pretrained_model_name="{{name}}_tiny",
            description="A {{model_class}} trained for one epoch",
            location="{{name}}_tiny.nemo",
            class_="{{package}}.models.{{model_class}}",
        )
    ]
'''

MODELS = '''\
"""{{model_class}}: a small ``ModelPT`` that learns to reproduce its input vectors; replace it with your model."""

from __future__ import annotations

import torch
from nemo.core.classes import ModelPT, typecheck
from nemo.core.classes.model import PretrainedModelInfo
from nemo.core.neural_types import ChannelType, NeuralType
from omegaconf import DictConfig
from pytorch_lightning import Trainer
from torch.utils.data import DataLoader, TensorDataset


def random_vectors(cfg: DictConfig) -> DataLoader:
    """Batches (B, D) of ``cfg.num_samples`` seeded N(0, 1) vectors of size ``cfg.dim``."""
    generator = torch.Generator().manual_seed(int(cfg.get("seed", 0)))
    vectors = torch.randn(int(cfg.num_samples), int(cfg.dim), generator=generator)
    return DataLoader(
        TensorDataset(vectors), batch_size=int(cfg.batch_size), shuffle=bool(cfg.get("shuffle", False))
    )


class {{model_class}}(ModelPT):
    """Two linear layers trained with mean squared error to output their input.

    Config keys: ``dim`` (D), ``hidden`` (H), ``train_ds`` / ``validation_ds`` (``random_vectors``), ``optim``.
    """

    def __init__(self, cfg: DictConfig, trainer: Trainer | None = None) -> None:
        super().__init__(cfg=cfg, trainer=trainer)
        self.encoder = torch.nn.Linear(self.cfg.dim, self.cfg.hidden)
        self.decoder = torch.nn.Linear(self.cfg.hidden, self.cfg.dim)
        self.loss = torch.nn.MSELoss()

    @classmethod
    def list_available_models(cls) -> list[PretrainedModelInfo]:
        """Checkpoints come from the plugin's ``nemo_register_pretrained_models`` hook."""
        return []

    @property
    def input_types(self) -> dict[str, NeuralType]:
        return {"input_signal": NeuralType(("B", "D"), ChannelType())}

    @property
    def output_types(self) -> dict[str, NeuralType]:
        return {"outputs": NeuralType(("B", "D"), ChannelType())}

    @typecheck()
    def forward(self, input_signal: torch.Tensor) -> torch.Tensor:
        """(B, D) vectors -> (B, D) reconstructions."""
        return self.decoder(torch.relu(self.encoder(input_signal)))

    def setup_training_data(self, train_data_config: DictConfig) -> None:
        self._train_dl = random_vectors(train_data_config)

    def setup_validation_data(self, val_data_config: DictConfig) -> None:
        self._validation_dl = random_vectors(val_data_config)

    def training_step(self, batch: list[torch.Tensor], batch_idx: int) -> torch.Tensor:
        (vectors,) = batch
        loss = self.loss(self(input_signal=vectors), vectors)
        self.log("train_loss", loss, prog_bar=True)
        return loss

    def validation_step(self, batch: list[torch.Tensor], batch_idx: int) -> torch.Tensor:
        (vectors,) = batch
        loss = self.loss(self(input_signal=vectors), vectors)
        self.log("val_loss", loss, prog_bar=True)
        return loss
'''

CONFIG = """\
# nemo train {{model_name}} exp_manager.exp_dir=runs
name: {{config}}

model:
  target: {{package}}.models.{{model_class}}
  dim: 8
  hidden: 32

  train_ds:
    num_samples: 256
    batch_size: 32
    dim: ${..dim}
    seed: 0
    shuffle: true

  validation_ds:
    num_samples: 64
    batch_size: 64
    dim: ${..dim}
    seed: 1

  optim:
    name: adam
    lr: 0.01

trainer:
  max_epochs: 1
  accelerator: auto
  devices: 1
  logger: false
  enable_checkpointing: false

exp_manager:
  exp_dir: null
  name: {{config}}
"""

CONF_INIT = '''\
"""The YAML configs of {{distribution}} (registered as ``pkg://{{package}}.conf``)."""
'''

TESTS = '''\
"""{{distribution}} installed: nemo finds the plugin, the model passes nemo-core's conformance kit, and a trained
model loads by its pretrained name."""

import pytest
import torch
from nemo.core import registry
from nemo.core.conformance import assert_model_conforms, check_fit
from omegaconf import OmegaConf

from {{package}}.models import {{model_class}}


@pytest.fixture
def cfg():
    path = registry.find_config("{{config}}")
    assert path is not None, "the config path of {{distribution}} is not registered"
    return OmegaConf.load(path)


def test_the_plugin_registers_its_model_config_prefix_and_pretrained_entry():
    (info,) = [info for info in registry.plugin_status() if info.name == "{{name}}"]
    assert (info.distribution, info.status, info.error) == ("{{distribution}}", "loaded", None)
    assert registry.get_model_class("{{model_name}}") is {{model_class}}
    assert registry.get_model_spec("{{model_name}}").config == "{{config}}"
    assert "{{package}}." in registry.allowed_target_prefixes()
    assert registry.find_pretrained("{{name}}_tiny") is not None


def test_the_model_conforms(cfg, tmp_path):
    # nemo-core's conformance kit: builds, neural types, save/restore, a real Trainer.fit, export where supported.
    assert_model_conforms({{model_class}}, cfg, tmp_path, inputs={"input_signal": torch.randn(4, cfg.model.dim)})


def test_a_trained_model_loads_by_its_pretrained_name(cfg, tmp_path, monkeypatch):
    model = check_fit({{model_class}}, cfg, tmp_path, max_steps=8)
    model.eval()
    vectors = torch.randn(4, cfg.model.dim)
    with torch.no_grad():
        expected = model(input_signal=vectors)
    monkeypatch.setenv("NEMO_CACHE_DIR", str(tmp_path))
    model.save_to(str(tmp_path / "{{name}}_tiny.nemo"))

    restored = {{model_class}}.from_pretrained("{{name}}_tiny", map_location="cpu")
    restored.eval()
    with torch.no_grad():
        torch.testing.assert_close(restored(input_signal=vectors), expected)
'''

FILES = {
    "pyproject.toml": PYPROJECT,
    "README.md": README,
    "{{package}}/__init__.py": INIT,
    "{{package}}/plugin.py": PLUGIN,
    "{{package}}/models.py": MODELS,
    "{{package}}/conf/__init__.py": CONF_INIT,
    "{{package}}/conf/{{config}}.yaml": CONFIG,
    "tests/test_{{name}}_plugin.py": TESTS,
}


def render(text: str, values: dict[str, str]) -> str:
    """``text`` with every ``{{key}}`` replaced by ``values[key]``."""
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", value)
    return text

"""``nemo train``: config resolution and errors in-process, one real training run in a fresh interpreter."""

import json

import pytest
from nemo.core.cli.main import main
from nemo.core.plugins.testing import plugin_source, run_python, write_distribution
from nemo.core.plugins.types import ConfigPathSpec, ModelSpec

_TINY_MODEL = """
import json

import pytorch_lightning as pl
import torch
from omegaconf import OmegaConf


class TinyModel(pl.LightningModule):
    def __init__(self, cfg, trainer=None):
        super().__init__()
        self.cfg = cfg
        self.layer = torch.nn.Linear(2, 1)

    def train_dataloader(self):
        data = torch.utils.data.TensorDataset(torch.randn(8, 2), torch.randn(8, 1))
        return torch.utils.data.DataLoader(data, batch_size=4)

    def training_step(self, batch, batch_idx):
        inputs, targets = batch
        return torch.nn.functional.mse_loss(self.layer(inputs), targets)

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)

    def on_fit_end(self):
        report = {"cfg": OmegaConf.to_container(self.cfg, resolve=True), "steps": self.trainer.global_step}
        with open(self.cfg.report, "w") as file:
            json.dump(report, file)
"""

_TINY_CONFIG = """
model:
  report: ???
  unused: 1
trainer:
  max_epochs: 1
  accelerator: cpu
  devices: 1
  logger: false
  enable_checkpointing: false
  enable_progress_bar: false
  enable_model_summary: false
"""


@pytest.fixture
def site(tmp_path):
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "tiny_config.yaml").write_text(_TINY_CONFIG)
    source = plugin_source(
        models=[
            ModelSpec("faketrain.tiny", "fake_train_models:TinyModel", "faketrain", config="tiny_config")
        ],
        config_paths=[ConfigPathSpec(conf)],
    )
    return write_distribution(
        tmp_path / "site",
        "nemo-fake-train",
        "1.0",
        plugins={"faketrain": "fake_train_plugin"},
        files={"fake_train_plugin.py": source, "fake_train_models.py": _TINY_MODEL},
    )


@pytest.mark.slow
def test_train_composes_overrides_and_fits_the_registered_model(site, tmp_path):
    report = tmp_path / "report.json"
    overrides = [f"model.report={report}", "+model.extra=5", "~model.unused", "trainer.max_epochs=2"]
    result = run_python(
        ["-m", "nemo.core.cli.main", "train", "faketrain.tiny", *overrides], paths=[site], timeout=300
    )
    assert result.returncode == 0, result.stderr
    trained = json.loads(report.read_text())
    assert trained["cfg"] == {"report": str(report), "extra": 5}
    assert trained["steps"] == 2 * (8 // 4)
    assert "no exp_manager section" in result.stdout


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_unknown_model_or_config_lists_registered_models(capsys):
    assert main(["train", "no.such.model"]) == 1
    error = capsys.readouterr().err
    assert "nemo train: error: 'no.such.model' is not a YAML file, a registered model or a config" in error
    assert "Registered models:" in error


def test_config_without_model_target_or_spec_is_refused(tmp_path, capsys):
    path = _write(tmp_path, "plain.yaml", "model:\n  dim: 2\ntrainer:\n  max_epochs: 1\n")
    assert main(["train", path]) == 1
    error = capsys.readouterr().err
    assert "has no 'model.target'" in error and "plain.yaml" in error


def test_model_target_outside_the_allow_list_is_refused_before_import(tmp_path, capsys):
    path = _write(tmp_path, "evil.yaml", "model:\n  target: os.system\n")
    assert main(["train", path]) == 1
    error = capsys.readouterr().err
    assert "Refusing to import 'os.system'" in error and "model.target" in error


def test_values_left_unset_are_named_before_anything_is_built(tmp_path, capsys):
    path = _write(
        tmp_path,
        "unset.yaml",
        "data: ???\nmodel:\n  target: os.system\n  train_ds:\n    manifest: ${data}\n"
        "  layers: [1, '???']\n  lr: ???\n",
    )
    assert main(["train", path, "model.lr=0.1"]) == 1
    error = capsys.readouterr().err
    assert "leaves 2 value(s) unset (???): data, model.layers[1]." in error
    assert "nemo train unset data=VALUE" in error


def test_bad_override_is_reported_with_hydras_reason(tmp_path, capsys):
    path = _write(tmp_path, "cfg.yaml", "model:\n  target: nemo.core.classes.modelPT.ModelPT\n")
    assert main(["train", path, "model.not_there=1"]) == 1
    error = capsys.readouterr().err
    assert "cannot compose" in error and "not_there" in error


@pytest.mark.parametrize(
    ("name", "expected"), [("missing.yaml", "does not exist"), ("cfg.yml", "only '.yaml'")]
)
def test_missing_or_non_yaml_file(tmp_path, capsys, name, expected):
    if name.endswith(".yml"):
        _write(tmp_path, name, "model: {}\n")
    assert main(["train", str(tmp_path / name)]) == 1
    assert expected in capsys.readouterr().err


def test_a_log_folder_that_cannot_be_created_is_a_message_not_a_traceback(tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    path = _write(
        tmp_path,
        "cfg.yaml",
        "model:\n  target: nemo.core.classes.modelPT.ModelPT\n"
        "trainer:\n  max_epochs: 1\n  logger: false\n  enable_checkpointing: false\n  accelerator: cpu\n"
        f"exp_manager:\n  exp_dir: {blocker / 'runs'}\n",
    )
    assert main(["train", path]) == 1
    error = capsys.readouterr().err
    assert "nemo train: error:" in error and str(blocker) in error and "exp_manager.exp_dir" in error
    assert "Traceback" not in error

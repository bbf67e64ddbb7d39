"""Resuming with ``exp_manager(resume_if_exists=True)`` from checkpoints that pickle OmegaConf configs (as
NeMo 1.23's do) or code, with a real Lightning Trainer loading them the way ``trainer.fit`` does."""

import os

import pytest
import pytorch_lightning as pl
import torch
from nemo.core.connectors.weights import UnsafeCheckpointError, refused_globals
from nemo.utils.exp_log_dir import NEMO_ENV_VARNAME_VERSION
from nemo.utils.exp_manager import exp_manager
from omegaconf import DictConfig, OmegaConf


class ConfigHparamsModel(pl.LightningModule):
    """Keeps an OmegaConf config as hyper-parameters, so Lightning pickles a DictConfig into its checkpoints
    (what NeMo 1.23's ModelPT, and this package's before it saved plain containers, wrote)."""

    def __init__(self, cfg=None):
        super().__init__()
        self.save_hyperparameters({"cfg": OmegaConf.create(cfg or {"lr": 0.1, "labels": ["a", "b"]})})
        self.layer = torch.nn.Linear(2, 1)
        self.start_step = None
        generator = torch.Generator().manual_seed(0)
        self.inputs = torch.randn(8, 2, generator=generator)

    def on_train_start(self):
        self.start_step = self.global_step

    def training_step(self, batch, batch_idx):
        (inputs,) = batch
        return torch.nn.functional.mse_loss(self.layer(inputs), inputs.sum(dim=1, keepdim=True))

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.hparams.cfg.lr)

    def train_dataloader(self):
        return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(self.inputs), batch_size=2)


def make_trainer(max_steps: int) -> pl.Trainer:
    return pl.Trainer(
        max_steps=max_steps,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        log_every_n_steps=1,
    )


EXP = {"name": "legacy", "resume_if_exists": True, "resume_ignore_no_checkpoint": True}
NO_NEMO = {
    "create_tensorboard_logger": False,
    "checkpoint_callback_params": {"save_nemo_on_train_end": False, "monitor": None, "save_top_k": 1},
}


@pytest.fixture(autouse=True)
def fresh_version(monkeypatch):
    """exp_manager shares the chosen version with child processes through the environment; start clean."""
    monkeypatch.delenv(NEMO_ENV_VARNAME_VERSION, raising=False)


def test_checkpoint_with_omegaconf_hyper_parameters_resumes(tmp_path):
    cfg = {"exp_dir": str(tmp_path), **EXP, **NO_NEMO}
    first = make_trainer(max_steps=3)
    log_dir = exp_manager(first, cfg)
    first.fit(ConfigHparamsModel())
    (checkpoint,) = (log_dir / "checkpoints").glob("*last.ckpt")
    assert "omegaconf.dictconfig.DictConfig" in refused_globals(checkpoint)
    with pytest.raises(Exception, match="Unsupported global.*DictConfig"):  # torch's own weights_only refusal
        torch.load(checkpoint, weights_only=True)

    second = make_trainer(max_steps=5)
    exp_manager(second, cfg)
    model = ConfigHparamsModel()
    second.fit(model)  # Lightning reads trainer.ckpt_path with torch.load(weights_only=...) itself
    assert (model.start_step, second.global_step) == (3, 5)
    assert isinstance(model.hparams.cfg, DictConfig) and model.hparams.cfg.labels == ["a", "b"]


def test_checkpoint_with_pickled_code_is_refused_before_training(tmp_path):
    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {tmp_path / 'pwned'}",))

    checkpoints = tmp_path / "legacy" / "checkpoints"
    checkpoints.mkdir(parents=True)
    evil = checkpoints / "legacy--step=3-last.ckpt"
    torch.save({"state_dict": ConfigHparamsModel().state_dict(), "global_step": 3, "extra": Payload()}, evil)

    with pytest.raises(
        UnsafeCheckpointError, match=r"Cannot resume from '.*step=3-last.ckpt': it pickles \['posix.system'\]"
    ) as error:
        exp_manager(make_trainer(max_steps=5), {"exp_dir": str(tmp_path), **EXP, **NO_NEMO})
    assert "resume_if_exists=false" in str(error.value)
    assert not (tmp_path / "pwned").exists()


def test_two_last_checkpoints_left_by_a_kill_resume_from_the_newest(tmp_path, caplog):
    # Lightning writes a run's new last checkpoint before deleting the old one: a kill in between leaves both.
    cfg = {"exp_dir": str(tmp_path), **EXP, **NO_NEMO}
    first = make_trainer(max_steps=2)
    log_dir = exp_manager(first, cfg)
    first.fit(ConfigHparamsModel())
    (older,) = (log_dir / "checkpoints").glob("*last.ckpt")
    kept = tmp_path / "older.ckpt"
    kept.write_bytes(older.read_bytes())

    resumed = make_trainer(max_steps=4)
    exp_manager(resumed, cfg)
    resumed.fit(ConfigHparamsModel())
    (newer,) = (log_dir / "checkpoints").glob("*last.ckpt")
    stale = older.with_name("legacy--step=1-last.ckpt")  # another name, as a different step or metric gives
    stale.write_bytes(kept.read_bytes())
    os.utime(stale, ns=(newer.stat().st_mtime_ns - 10**9,) * 2)

    third = make_trainer(max_steps=6)
    with caplog.at_level("WARNING"):
        exp_manager(third, cfg)
    model = ConfigHparamsModel()
    third.fit(model)
    assert (model.start_step, third.global_step) == (4, 6)
    assert "Several checkpoints match *last.ckpt" in caplog.text and "legacy--step=1-last.ckpt" in caplog.text

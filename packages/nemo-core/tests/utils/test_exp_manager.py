"""exp_manager with a real Lightning Trainer and a tiny LightningModule: folders, loggers, checkpoints, resume."""

import csv
import importlib.util
import os
import re
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
from nemo.utils.exp_log_dir import NEMO_ENV_VARNAME_VERSION
from nemo.utils.exp_manager import (
    CheckpointMisconfigurationError,
    ExpManagerConfig,
    LoggerMisconfigurationError,
    NeMoModelCheckpoint,
    NotFoundError,
    TimingCallback,
    exp_manager,
)
from omegaconf import OmegaConf
from pytorch_lightning.callbacks import EarlyStopping


class TinyModel(pl.LightningModule):
    """Linear regression on 8 samples; `save_to` writes a real tar with the weights, like a `.nemo`."""

    def __init__(self, val_loss_rises: bool = False):
        super().__init__()
        self.layer = torch.nn.Linear(2, 1)
        self.val_loss_rises = val_loss_rises
        self.start_step = None
        generator = torch.Generator().manual_seed(0)
        self.inputs = torch.randn(8, 2, generator=generator)
        self.targets = self.inputs.sum(dim=1, keepdim=True)

    def _loss(self, batch):
        inputs, targets = batch
        return torch.nn.functional.mse_loss(self.layer(inputs), targets)

    def on_train_start(self):
        self.start_step = self.global_step

    def training_step(self, batch, batch_idx):
        loss = self._loss(batch)
        self.log("train_loss", loss)
        return loss

    def validation_step(self, batch, batch_idx):
        # With val_loss_rises the first validation is the best one (mode "min").
        loss = torch.tensor(float(self.global_step)) if self.val_loss_rises else self._loss(batch)
        self.log("val_loss", loss)

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)

    def _loader(self):
        dataset = torch.utils.data.TensorDataset(self.inputs, self.targets)
        return torch.utils.data.DataLoader(dataset, batch_size=2)

    def train_dataloader(self):
        return self._loader()

    def val_dataloader(self):
        return self._loader()

    def save_to(self, save_path):
        weights = Path(save_path).with_suffix(".weights.pt")
        torch.save(self.state_dict(), weights)
        with tarfile.open(save_path, "w") as archive:
            archive.add(weights, arcname="./model_weights.ckpt")
        weights.unlink()


def make_trainer(max_steps: int = 4, **kwargs) -> pl.Trainer:
    options = dict(
        max_steps=max_steps,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        val_check_interval=2,
        limit_val_batches=1,
        num_sanity_val_steps=0,
        log_every_n_steps=1,
    )
    options.update(kwargs)
    return pl.Trainer(**options)


@pytest.fixture(autouse=True)
def fresh_version(monkeypatch):
    """exp_manager shares the chosen version with child processes through the environment; start clean."""
    monkeypatch.delenv(NEMO_ENV_VARNAME_VERSION, raising=False)


def nemo_weights(path: Path) -> dict:
    with tarfile.open(path) as archive:
        return torch.load(archive.extractfile("./model_weights.ckpt"), weights_only=True)


def test_run_writes_nemo_layout_loggers_checkpoints_and_nemo_file(tmp_path):
    trainer = make_trainer()
    log_dir = exp_manager(trainer, {"exp_dir": str(tmp_path), "name": "tiny", "create_csv_logger": True})
    model = TinyModel()
    trainer.fit(model)

    assert log_dir.parent == tmp_path / "tiny"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d", log_dir.name)
    names = {path.name for path in log_dir.iterdir()}
    assert {
        "nemo_log_globalrank-0_localrank-0.txt",
        "cmd-args.log",
        "lightning_logs.txt",
        "hparams.yaml",
    } <= names
    assert "Experiments will be logged at" in (log_dir / "nemo_log_globalrank-0_localrank-0.txt").read_text()
    assert any(name.startswith("events.out.tfevents") for name in names)
    with open(log_dir / "metrics.csv") as metrics:
        rows = list(csv.DictReader(metrics))
    assert {"train_loss", "val_loss", "train_step_timing in s"} <= set(rows[0])

    checkpoints = sorted(path.name for path in (log_dir / "checkpoints").iterdir())
    top_k = [name for name in checkpoints if re.fullmatch(r"tiny--val_loss=\d\.\d{4}-epoch=0\.ckpt", name)]
    last = [
        name for name in checkpoints if re.fullmatch(r"tiny--val_loss=\d\.\d{4}-epoch=0-last\.ckpt", name)
    ]
    assert len(top_k) == 2 and len(last) == 1, checkpoints
    assert "tiny.nemo" in checkpoints
    saved = nemo_weights(log_dir / "checkpoints" / "tiny.nemo")
    assert all(torch.equal(saved[key], value) for key, value in model.state_dict().items())


def test_resume_if_exists_continues_from_the_last_checkpoint(tmp_path):
    cfg = {
        "exp_dir": str(tmp_path),
        "name": "resumable",
        "resume_if_exists": True,
        "resume_ignore_no_checkpoint": True,
    }
    # Validation (and so checkpointing) runs every 2 steps: step 5 is saved by the end-of-training `-last`.
    first_trainer = make_trainer(max_steps=5)
    first_dir = exp_manager(first_trainer, cfg)
    assert first_dir == tmp_path / "resumable"  # no version folder when resuming
    assert first_trainer.ckpt_path is None
    first_trainer.fit(TinyModel())

    assert len(list((first_dir / "checkpoints").glob("*-last.ckpt"))) == 1
    second_trainer = make_trainer(max_steps=7)
    second_dir = exp_manager(second_trainer, cfg)
    assert second_dir == first_dir
    assert second_trainer.ckpt_path.endswith("-last.ckpt")
    model = TinyModel()
    second_trainer.fit(model)
    assert (model.start_step, second_trainer.global_step) == (5, 7)
    assert (second_dir / "run_0" / "nemo_log_globalrank-0_localrank-0.txt").is_file()


def test_resume_without_checkpoint_is_an_error_unless_ignored(tmp_path):
    cfg = {"exp_dir": str(tmp_path), "resume_if_exists": True}
    with pytest.raises(NotFoundError, match="no checkpoints found.*resume_ignore_no_checkpoint"):
        exp_manager(make_trainer(), cfg)
    trainer = make_trainer()
    exp_manager(trainer, {**cfg, "resume_ignore_no_checkpoint": True})
    assert trainer.ckpt_path is None


def test_finished_run_is_not_resumed_past_its_end(tmp_path):
    (tmp_path / "default" / "checkpoints").mkdir(parents=True)
    (tmp_path / "default" / "checkpoints" / "default--end.ckpt").touch()
    with pytest.raises(ValueError, match="already completed.*resume_past_end"):
        exp_manager(make_trainer(), {"exp_dir": str(tmp_path), "resume_if_exists": True})


def test_save_best_model_puts_the_best_weights_in_the_nemo_file(tmp_path):
    trainer = make_trainer()
    params = {"save_best_model": True, "always_save_nemo": True, "save_top_k": 1}
    log_dir = exp_manager(
        trainer, {"exp_dir": str(tmp_path), "name": "best", "checkpoint_callback_params": params}
    )
    model = TinyModel(val_loss_rises=True)
    trainer.fit(model)
    callback = next(cb for cb in trainer.callbacks if isinstance(cb, NeMoModelCheckpoint))
    assert "val_loss=2.0000" in callback.best_model_path
    best = torch.load(callback.best_model_path, map_location="cpu", weights_only=False)["state_dict"]
    saved = nemo_weights(log_dir / "checkpoints" / "best.nemo")
    assert all(torch.equal(saved[key], value) for key, value in best.items())
    assert all(torch.equal(model.state_dict()[key], value) for key, value in best.items())


def test_explicit_log_dir_and_numbered_versions(tmp_path):
    explicit = tmp_path / "here"
    assert exp_manager(make_trainer(), {"explicit_log_dir": str(explicit)}) == explicit
    assert (explicit / "cmd-args.log").is_file()

    numbered = exp_manager(make_trainer(), {"exp_dir": str(tmp_path), "use_datetime_version": False})
    assert numbered == tmp_path / "default" / "version_0"


def test_git_info_is_written_inside_a_repository_only(tmp_path, monkeypatch):
    outside = tmp_path / "plain"
    outside.mkdir()
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    monkeypatch.chdir(outside)
    log_dir = exp_manager(make_trainer(), {"exp_dir": str(tmp_path / "logs"), "version": "a"})
    assert not (log_dir / "git-info.log").exists()

    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], cwd=repo, check=True)
    (repo / "file.txt").write_text("one\n")
    subprocess.run([*git, "add", "file.txt"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "init"], cwd=repo, check=True)
    (repo / "file.txt").write_text("two\n")
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True
    ).stdout.strip()
    monkeypatch.chdir(repo)
    log_dir = exp_manager(make_trainer(), {"exp_dir": str(tmp_path / "logs"), "version": "b"})
    info = (log_dir / "git-info.log").read_text()
    assert info.startswith(f"commit hash: {head}")
    assert "+two" in info


def test_files_to_copy_are_copied_and_missing_ones_named(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    log_dir = exp_manager(make_trainer(), {"exp_dir": str(tmp_path), "files_to_copy": [str(notes)]})
    assert (log_dir / "notes.txt").read_text() == "hello"
    with pytest.raises(FileNotFoundError, match="files_to_copy lists .*missing.txt"):
        exp_manager(
            make_trainer(), {"exp_dir": str(tmp_path), "files_to_copy": [str(tmp_path / "missing.txt")]}
        )


def test_unknown_keys_are_named_with_the_valid_ones(tmp_path):
    with pytest.raises(
        ValueError, match=r"exp_manager\.create_tensorbord_logger.*'create_tensorboard_logger'"
    ):
        exp_manager(make_trainer(), {"exp_dir": str(tmp_path), "create_tensorbord_logger": True})
    with pytest.raises(ValueError, match=r"exp_manager\.checkpoint_callback_params\.save_topk.*'save_top_k'"):
        exp_manager(make_trainer(), OmegaConf.create({"checkpoint_callback_params": {"save_topk": 2}}))
    with pytest.raises(
        ValueError, match="Invalid value for key exp_manager.resume_if_exists.*'maybe' is not a valid bool"
    ):
        exp_manager(make_trainer(), {"resume_if_exists": "maybe"})


def test_trainer_logger_or_checkpointing_conflicts_with_exp_manager(tmp_path):
    with pytest.raises(LoggerMisconfigurationError, match="contained a logger.*logger=False"):
        exp_manager(make_trainer(logger=True, default_root_dir=str(tmp_path)), {"exp_dir": str(tmp_path)})
    with pytest.raises(CheckpointMisconfigurationError, match="contained a ModelCheckpoint"):
        exp_manager(make_trainer(enable_checkpointing=True), {"exp_dir": str(tmp_path)})


@pytest.mark.skipif(importlib.util.find_spec("wandb") is not None, reason="wandb is installed")
def test_wandb_logger_without_wandb_gives_an_install_hint(tmp_path):
    cfg = {
        "exp_dir": str(tmp_path),
        "create_wandb_logger": True,
        "wandb_logger_kwargs": {"name": "n", "project": "p"},
    }
    with pytest.raises(ImportError, match="pip install wandb"):
        exp_manager(make_trainer(), cfg)


def test_disabled_without_cfg_or_with_fast_dev_run(tmp_path):
    assert exp_manager(make_trainer(), None) is None
    assert exp_manager(make_trainer(fast_dev_run=True), {"exp_dir": str(tmp_path)}) is None
    assert not any(tmp_path.iterdir())


def test_config_defaults_are_nemos():
    cfg = ExpManagerConfig()
    params = cfg.checkpoint_callback_params
    assert (cfg.name, cfg.exp_dir, cfg.use_datetime_version, cfg.create_tensorboard_logger) == (
        None,
        None,
        True,
        True,
    )
    assert (params.monitor, params.mode, params.save_top_k, params.save_last) == ("val_loss", "min", 3, True)
    assert (params.always_save_nemo, params.save_nemo_on_train_end, params.save_best_model) == (
        False,
        True,
        False,
    )
    assert os.path.splitext("x" + params.postfix)[1] == ".nemo"


def test_early_stopping_and_step_timing_callbacks_follow_their_params(tmp_path):
    trainer = make_trainer()
    cfg = {
        "exp_dir": str(tmp_path),
        "create_early_stopping_callback": True,
        "early_stopping_callback_params": {"patience": 2},
        "step_timing_kwargs": {"reduction": "max", "buffer_size": 4},
    }
    exp_manager(trainer, cfg)
    early_stopping = next(cb for cb in trainer.callbacks if isinstance(cb, EarlyStopping))
    timing = next(cb for cb in trainer.callbacks if isinstance(cb, TimingCallback))
    assert (early_stopping.patience, early_stopping.monitor) == (2, "val_loss")
    assert (timing.reduction, timing.buffer_size) == ("max", 4)
    with pytest.raises(ValueError, match="reduction='median'.*step_timing_kwargs.reduction"):
        exp_manager(make_trainer(), {"exp_dir": str(tmp_path), "step_timing_kwargs": {"reduction": "median"}})


def test_unknown_key_is_an_omegaconf_key_error_naming_it(tmp_path):
    """NeMo 1.23 raises OmegaConf's error for a key ExpManagerConfig lacks; ours is that and a ValueError."""
    from omegaconf.errors import OmegaConfBaseException

    trainer = pl.Trainer(
        accelerator="cpu", logger=False, enable_checkpointing=False, default_root_dir=tmp_path
    )
    for error in (OmegaConfBaseException, ValueError):
        with pytest.raises(error, match="exp_manager.unused"):
            exp_manager(trainer, {"unused": 1})

"""A run killed with SIGKILL mid-epoch and started again with ``exp_manager.resume_if_exists`` continues as if it
had never stopped: same global step, optimizer and scheduler state, data order (at epoch granularity) and, in
deterministic mode on one CPU thread, bit-for-bit the same final weights as a run that was never interrupted.

Each run is a real Lightning ``Trainer`` fitting a tiny ``ModelPT`` in a fresh interpreter (``CHILD`` below).
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

# 32 samples in batches of 4: 8 steps per epoch, 4 epochs. exp_manager checkpoints after each epoch's
# validation; the killed run is stopped at step 20, the middle of epoch 2, after the checkpoint of step 16.
STEPS_PER_EPOCH, EPOCHS, KILL_AT_STEP = 8, 4, 20
LAST_CHECKPOINT_STEP = (KILL_AT_STEP // STEPS_PER_EPOCH) * STEPS_PER_EPOCH
TIMEOUT_S = 300

CHILD = """
import json
import sys
import time
from pathlib import Path

import pytorch_lightning as pl
import torch
from nemo.core.classes.modelPT import ModelPT
from nemo.utils.exp_manager import exp_manager

NUM_SAMPLES, BATCH_SIZE, EPOCHS = 32, 4, 4


class EpochSeededShuffle(torch.utils.data.Sampler):
    # A new order every epoch, drawn from the epoch number (Lightning calls set_epoch before each epoch).
    def __init__(self, size):
        self.size, self.epoch = size, 0

    def set_epoch(self, epoch):
        self.epoch = epoch

    def __len__(self):
        return self.size

    def __iter__(self):
        generator = torch.Generator().manual_seed(100 + self.epoch)
        return iter(torch.randperm(self.size, generator=generator).tolist())


def samples():
    generator = torch.Generator().manual_seed(7)
    x = torch.randn(NUM_SAMPLES, 4, generator=generator)
    return torch.utils.data.TensorDataset(x, torch.sin(x.sum(dim=1, keepdim=True)), torch.arange(NUM_SAMPLES))


class Regression(ModelPT):
    def __init__(self, cfg, trainer=None, run=None):
        self.run = run
        super().__init__(cfg=cfg, trainer=trainer)
        self.net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))

    def setup_training_data(self, config):
        data = samples()
        self._train_dl = torch.utils.data.DataLoader(
            data, batch_size=BATCH_SIZE, sampler=EpochSeededShuffle(len(data))
        )

    def setup_validation_data(self, config):
        self._validation_dl = torch.utils.data.DataLoader(samples(), batch_size=NUM_SAMPLES)

    @classmethod
    def list_available_models(cls):
        return []

    def training_step(self, batch, batch_idx):
        x, y, _ = batch
        return torch.nn.functional.mse_loss(self.net(x), y)

    def validation_step(self, batch, batch_idx):
        x, y, _ = batch
        self.validation_step_outputs.append({"val_loss": torch.nn.functional.mse_loss(self.net(x), y)})

    def multi_validation_epoch_end(self, outputs, dataloader_idx=0):
        loss = torch.stack([output["val_loss"] for output in outputs]).mean()
        return {"val_loss": loss, "log": {"val_loss": loss}}

    def write(self, record):
        with open(self.run["record"], "a") as stream:
            stream.write(json.dumps(record) + "\\n")

    def write_state(self, event):
        optimizer = self.trainer.optimizers[0]
        scheduler = self.trainer.lr_scheduler_configs[0].scheduler
        self.write({
            "event": event,
            "epoch": self.current_epoch,
            "global_step": self.global_step,
            "lr": [group["lr"] for group in optimizer.param_groups],
            "optimizer": {
                str(index): {key: value.tolist() for key, value in state.items()}
                for index, state in optimizer.state_dict()["state"].items()
            },
            "scheduler": scheduler.state_dict(),
            "weights": {key: value.tolist() for key, value in self.state_dict().items()},
        })

    def on_train_start(self):
        self.write_state("train_start")

    def on_train_epoch_start(self):
        self.write_state("epoch_start")

    def on_train_batch_start(self, batch, batch_idx):
        self.write({"event": "batch", "epoch": self.current_epoch, "ids": batch[2].tolist()})
        if self.global_step == self.run.get("pause_at_step"):
            Path(self.run["paused"]).touch()
            time.sleep(600)  # the test kills this process now


def fit(run):
    pl.seed_everything(0, workers=True)
    torch.set_num_threads(1)
    trainer = pl.Trainer(
        max_epochs=EPOCHS,
        accelerator="cpu",
        devices=1,
        deterministic=True,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
    )
    exp_manager(trainer, {
        "exp_dir": run["exp_dir"],
        "name": "faults",
        "resume_if_exists": True,
        "resume_ignore_no_checkpoint": True,
        "create_tensorboard_logger": False,
    })
    cfg = {
        "train_ds": {},
        "validation_ds": {},
        "optim": {
            "name": "adamw",
            "lr": 0.05,
            "sched": {"name": "CosineAnnealing", "warmup_steps": 3, "min_lr": 1e-4},
        },
    }
    model = Regression(cfg=cfg, trainer=trainer, run=run)
    trainer.fit(model)
    torch.save(model.state_dict(), run["weights"])


if __name__ == "__main__":
    for run in json.loads(sys.argv[1]):
        fit(run)
"""


def child_command(script: Path, runs: list[dict]) -> list[str]:
    return [sys.executable, str(script), json.dumps(runs)]


def child_env() -> dict[str, str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    env.pop("NEMO_EXPM_VERSION", None)  # exp_manager hands the run's version to child processes through it
    return env


def records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def states(run: list[dict], event: str) -> list[dict]:
    return [record for record in run if record["event"] == event]


def batches_from_epoch(run: list[dict], epoch: int) -> list[list[int]]:
    return [record["ids"] for record in run if record["event"] == "batch" and record["epoch"] >= epoch]


def wait_for(path: Path, process: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if process.poll() is not None:
            raise AssertionError(f"the run ended (status {process.returncode}) before step {KILL_AT_STEP}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"the run did not reach step {KILL_AT_STEP} in {timeout} s")
        time.sleep(0.1)


@pytest.mark.slow
def test_run_killed_mid_epoch_resumes_to_the_weights_of_an_uninterrupted_run(tmp_path):
    script = tmp_path / "child.py"
    script.write_text(CHILD, encoding="utf-8")
    reference = {
        "exp_dir": str(tmp_path / "reference"),
        "record": str(tmp_path / "reference.jsonl"),
        "weights": str(tmp_path / "reference_weights.pt"),
    }
    interrupted = {
        "exp_dir": str(tmp_path / "interrupted"),
        "record": str(tmp_path / "killed.jsonl"),
        "weights": str(tmp_path / "interrupted_weights.pt"),
        "pause_at_step": KILL_AT_STEP,
        "paused": str(tmp_path / "paused"),
    }
    # One interpreter trains the uninterrupted reference, then starts the run that is killed at step 20.
    with open(tmp_path / "first.log", "w") as log:
        first = subprocess.Popen(
            child_command(script, [reference, interrupted]),
            stdout=log,
            stderr=subprocess.STDOUT,
            env=child_env(),
        )
        try:
            wait_for(Path(interrupted["paused"]), first, TIMEOUT_S)
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait()
    assert first.returncode == -signal.SIGKILL
    assert Path(reference["weights"]).is_file()
    assert not Path(interrupted["weights"]).exists()
    killed = records(Path(interrupted["record"]))
    assert len(batches_from_epoch(killed, 0)) == KILL_AT_STEP + 1  # it was inside epoch 2 when killed

    resumed_run = {**interrupted, "record": str(tmp_path / "resumed.jsonl")}
    del resumed_run["pause_at_step"]
    second = subprocess.run(
        child_command(script, [resumed_run]),
        capture_output=True,
        text=True,
        env=child_env(),
        timeout=TIMEOUT_S,
        check=False,
    )
    output = second.stdout + second.stderr
    assert second.returncode == 0, output[-3000:]
    assert "Restored all states from the checkpoint" in output

    uninterrupted = records(Path(reference["record"]))
    resumed = records(Path(resumed_run["record"]))
    # Global step, optimizer moments and step counts, scheduler, learning rate and weights when the resumed
    # run starts training are those of the uninterrupted run at the start of epoch 2.
    (start,) = states(resumed, "train_start")
    (reference_epoch_2,) = [state for state in states(uninterrupted, "epoch_start") if state["epoch"] == 2]
    assert start["global_step"] == LAST_CHECKPOINT_STEP
    assert start["optimizer"] and start["scheduler"]["last_epoch"] == LAST_CHECKPOINT_STEP
    for key in ("global_step", "optimizer", "scheduler", "lr", "weights"):
        assert start[key] == reference_epoch_2[key], key
    # Every later epoch starts in the same state, on the same batches in the same order.
    assert [state["epoch"] for state in states(resumed, "epoch_start")] == [2, 3]
    assert states(resumed, "epoch_start") == states(uninterrupted, "epoch_start")[2:]
    assert batches_from_epoch(resumed, 0) == batches_from_epoch(uninterrupted, 2)

    expected = torch.load(reference["weights"], weights_only=True)
    final = torch.load(resumed_run["weights"], weights_only=True)
    assert final.keys() == expected.keys()
    for key, value in expected.items():
        assert torch.equal(final[key], value), key
    # The weights did move after the checkpoint: an unchanged model would not prove anything.
    assert final["net.0.weight"].tolist() != start["weights"]["net.0.weight"]

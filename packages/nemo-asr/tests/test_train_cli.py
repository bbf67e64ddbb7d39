"""``nemo train`` on the demo config as a user runs it: a run killed with SIGKILL resumes from its last
checkpoint (``exp_manager.resume_if_exists``) with its optimizer and learning-rate schedule, a finished run
restarts cleanly, and two CPU processes train with DDP, each on its own share of the duration-bucketed
batches."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

REPO_ROOT = Path(__file__).resolve().parents[3]
DEMO_CONFIG = REPO_ROOT / "examples" / "asr" / "conf" / "demo_ctc_char.yaml"
NEMO = Path(sys.executable).parent / "nemo"
SAMPLE_RATE = 16000
NUM_UTTERANCES = 16  # the demo's 8 buckets of 2 at batch size 8: 8 batches of 2 per epoch
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}

# `nemo train` with a CTC model that appends, per rank, what each training batch held to $RECORD_DIR.
RECORDING_SCRIPT = """
import json, os, sys
from nemo.collections.asr.models import EncDecCTCModel
from nemo.core.classes.target_allowlist import allow_target_prefixes
from nemo.core.cli.main import main


class RecordingCTCModel(EncDecCTCModel):
    def on_train_batch_start(self, batch, batch_idx):
        record = {
            "epoch": self.current_epoch,
            "samples": batch[1].tolist(),
            "sampler": type(self.trainer.train_dataloader.batch_sampler.sampler).__name__,
        }
        with open(os.path.join(os.environ["RECORD_DIR"], f"rank{self.global_rank}.jsonl"), "a") as stream:
            stream.write(json.dumps(record) + "\\n")


if __name__ == "__main__":
    with allow_target_prefixes("__main__."):
        sys.exit(main(sys.argv[1:]))
"""


def write_corpus(folder: Path) -> tuple[Path, list[int]]:
    """Noise clips of distinct lengths (0.40 s + 20 ms steps) with short transcripts; returns the manifest
    and each clip's length in samples (what a batch's ``audio_len`` holds)."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    lines, lengths = [], []
    for index in range(NUM_UTTERANCES):
        length = int(SAMPLE_RATE * (0.40 + 0.02 * index))
        path = folder / f"utt{index}.wav"
        sf.write(path, rng.uniform(-0.3, 0.3, length).astype(np.float32), SAMPLE_RATE, subtype="PCM_16")
        lines.append({"audio_filepath": str(path), "duration": length / SAMPLE_RATE, "text": "ab"})
        lengths.append(length)
    manifest = folder / "train_manifest.json"
    manifest.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return manifest, lengths


def demo_overrides(manifest: Path, runs: Path) -> list[str]:
    """The demo config (with the bucketing the tests count on) with a tiny encoder, no DataLoader workers and
    logs under ``runs``."""
    return [
        f"model.train_ds.manifest_filepath={manifest}",
        "model.train_ds.num_workers=0",
        "model.train_ds.batch_size=8",
        "model.train_ds.shuffle=true",
        "model.train_ds.use_bucketing=true",
        "model.train_ds.num_buckets=8",
        "model.validation_ds.num_workers=0",
        "model.encoder.d_model=16",
        "model.encoder.n_layers=1",
        "model.encoder.n_heads=2",
        "model.log_prediction=false",
        "trainer.accelerator=cpu",
        "trainer.enable_progress_bar=false",
        f"exp_manager.exp_dir={runs}",
    ]


def complete_checkpoint(folder: Path, process: subprocess.Popen, timeout: float = 120) -> tuple[Path, int]:
    """Wait for a ``*last.ckpt`` that loads in full; return it and its global step."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "training ended before it wrote a checkpoint"
        for path in folder.glob("*last.ckpt"):
            try:
                return path, torch.load(path, weights_only=True)["global_step"]
            except (RuntimeError, EOFError, OSError):  # still being written (a torch.load refusal is raised)
                pass
        time.sleep(0.05)
    raise TimeoutError(f"no complete *last.ckpt in {folder} after {timeout} s")


def optimizer_and_schedule_steps(checkpoint: Path) -> tuple[int, int]:
    """How many steps the checkpoint's optimizer (AdamW's per-parameter ``step``) and learning-rate schedule
    (``last_epoch``) have taken; every parameter must agree."""
    state = torch.load(checkpoint, weights_only=True)
    (optimizer,) = state["optimizer_states"]
    (optimizer_steps,) = {int(parameter["step"]) for parameter in optimizer["state"].values()}
    (schedule,) = state["lr_schedulers"]
    return optimizer_steps, schedule["last_epoch"]


def logged_steps(log_dir: Path) -> list[int]:
    """Steps at which the run whose event file is directly in ``log_dir`` logged ``train_loss``."""
    (events,) = log_dir.glob("events.out.tfevents.*")
    accumulator = EventAccumulator(str(events))
    accumulator.Reload()
    if "train_loss" not in accumulator.Tags()["scalars"]:
        return []
    return [event.step for event in accumulator.Scalars("train_loss")]


@pytest.mark.slow
def test_killed_run_resumes_from_its_last_checkpoint_and_a_finished_run_restarts(tmp_path):
    manifest, _ = write_corpus(tmp_path / "data")
    runs = tmp_path / "runs"
    command = [
        str(NEMO),
        "train",
        str(DEMO_CONFIG),
        *demo_overrides(manifest, runs),
        "trainer.max_steps=48",
        "exp_manager.resume_if_exists=true",
        "exp_manager.resume_ignore_no_checkpoint=true",
        f"model.validation_ds.manifest_filepath={manifest}",
        "trainer.check_val_every_n_epoch=2",  # validation and checkpoints every 16 steps: kill between saves
    ]
    log_dir = runs / "demo_conformer_ctc_char"
    checkpoints = log_dir / "checkpoints"

    with open(tmp_path / "killed.log", "w") as log:
        killed = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=ENV)
        try:
            checkpoint, saved_step = complete_checkpoint(checkpoints, killed)
        finally:
            killed.send_signal(signal.SIGKILL)
            killed.wait()
    assert killed.returncode == -signal.SIGKILL
    assert 0 < saved_step < 48
    # Nothing torch.load(weights_only=True) refuses: no pickled OmegaConf config (or other class).
    assert torch.serialization.get_unsafe_globals_in_checkpoint(str(checkpoint)) == []
    assert optimizer_and_schedule_steps(checkpoint) == (saved_step, saved_step)

    resumed = subprocess.run(command, capture_output=True, text=True, env=ENV, timeout=300, check=False)
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    assert f"Restored all states from the checkpoint at {checkpoint}" in resumed.stdout + resumed.stderr
    steps = logged_steps(log_dir)
    assert steps and min(steps) >= saved_step, f"training restarted at step {min(steps)}, not {saved_step}"
    (last,) = checkpoints.glob("*last.ckpt")  # the checkpoint resumed from was replaced, not kept beside it
    assert torch.load(last, weights_only=True)["global_step"] == 48
    # AdamW and the cosine schedule went on from the checkpoint's state: both counted all 48 steps (fresh ones
    # would count only the 48 - saved_step steps since the restart).
    assert optimizer_and_schedule_steps(last) == (48, 48)

    finished = subprocess.run(command, capture_output=True, text=True, env=ENV, timeout=300, check=False)
    output = finished.stdout + finished.stderr
    assert finished.returncode == 0, output[-3000:]
    assert f"Restored all states from the checkpoint at {last}" in output
    assert "`Trainer.fit` stopped: `max_steps=48` reached." in output
    assert logged_steps(log_dir) == []  # no step trained again
    assert list(checkpoints.glob("*last.ckpt")) == [last]


@pytest.mark.slow
def test_two_cpu_processes_train_with_ddp_each_on_its_own_batches(tmp_path):
    manifest, lengths = write_corpus(tmp_path / "data")
    script = tmp_path / "recording_train.py"
    script.write_text(RECORDING_SCRIPT, encoding="utf-8")
    records = tmp_path / "seen"
    records.mkdir()
    command = [
        sys.executable,
        str(script),
        "train",
        str(DEMO_CONFIG),
        *demo_overrides(manifest, tmp_path / "runs"),
        "model.target=__main__.RecordingCTCModel",
        f"model.validation_ds.manifest_filepath={manifest}",
        "trainer.check_val_every_n_epoch=1",
        "trainer.devices=2",
        "trainer.strategy=ddp",
        "trainer.max_steps=8",  # two epochs of 4 steps per process
    ]
    run = subprocess.run(
        command, capture_output=True, text=True, env={**ENV, "RECORD_DIR": str(records)}, timeout=300
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-3000:]
    assert "'val_wer' reached" in output  # validation ran under DDP too

    seen = {
        rank: [json.loads(line) for line in (records / f"rank{rank}.jsonl").read_text().splitlines()]
        for rank in (0, 1)
    }
    assert {record["sampler"] for rank in seen for record in seen[rank]} == {"DistributedSampler"}
    shares = {
        (rank, epoch): [
            length for record in seen[rank] if record["epoch"] == epoch for length in record["samples"]
        ]
        for rank in (0, 1)
        for epoch in (0, 1)
    }
    for epoch in (0, 1):
        assert [len([r for r in seen[rank] if r["epoch"] == epoch]) for rank in (0, 1)] == [4, 4]
        first, second = shares[(0, epoch)], shares[(1, epoch)]
        assert not set(first) & set(second), f"epoch {epoch}: both processes trained on the same clips"
        assert sorted(first + second) == sorted(lengths)
    assert set(shares[(0, 0)]) != set(shares[(0, 1)]), "the batches were not reshuffled for the second epoch"

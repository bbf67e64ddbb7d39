"""A real 2-process DDP run (gloo, CPU) of ``nemo train`` on the tiny FastPitch, checked against one process.

One run trains ``fastpitch_tiny_cpu`` on bundled 16 kHz speech for one epoch under ``trainer.strategy=ddp``,
validating at its end, and records on every rank what each validation step saw, the metrics the
last validation logged and the weights. The test then checks that

- each process validates a disjoint share of the 7 validation clips and together they cover them, nothing
  repeated (Lightning's default sampler would repeat one clip to make the shares equal);
- ``val_loss``, ``val_mel_loss``, ``val_dur_loss`` and ``val_pitch_loss`` are the same on both ranks and equal
  those of the ``.nemo`` that rank 0 wrote, validated again in this single process on the same data;
- the last validation ran after the last training step, with the weights the ``.nemo`` holds;
- that ``.nemo`` restores with exactly the weights every rank ended with.

``nemo train`` cannot be told to validate once more after fitting, so the run ends on an epoch boundary
(``trainer.max_epochs=1``) with ``trainer.check_val_every_n_epoch=1``: Lightning validates at the end of the
last epoch, after its last optimizer step and before ``on_train_end`` writes the ``.nemo``.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import pytorch_lightning as pl
import soundfile as sf
import torch
from nemo.collections.tts.models import FastPitchModel

REPO_ROOT = Path(__file__).resolve().parents[4]
ASTERISK = REPO_ROOT / "data" / "asterisk"
NEMO = Path(sys.executable).parent / "nemo"
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}
NUM_TRAIN, NUM_VAL = 8, 7  # 7 validation clips: an odd count that does not split in two
VAL_METRICS = ("val_loss", "val_mel_loss", "val_dur_loss", "val_pitch_loss")

# `nemo train` with a FastPitch that records, per rank, under $RECORD_DIR: each validation step's clips (audio
# lengths) and losses with their weights, the val metrics at the end of each validation, the weights each
# validation starts with and the weights at the end of training.
RECORDING_SCRIPT = """
import json, os, sys
import torch
from nemo.collections.tts.models import FastPitchModel
from nemo.core.classes.target_allowlist import allow_target_prefixes
from nemo.core.cli.main import main


def record(name, payload):
    with open(os.path.join(os.environ["RECORD_DIR"], name), "a") as stream:
        stream.write(json.dumps(payload) + "\\n")


def save_weights(model, name):
    weights = {key: value.detach().clone() for key, value in model.state_dict().items()}
    torch.save(weights, os.path.join(os.environ["RECORD_DIR"], name))


torch.manual_seed(0)  # the same untrained weights in every run (DDP copies rank 0's to rank 1)


class RecordingFastPitch(FastPitchModel):
    def on_validation_start(self):
        if not self.trainer.sanity_checking:
            save_weights(self, f"val_weights_rank{self.global_rank}.pt")  # the last validation's survive

    def validation_step(self, batch, batch_idx):
        outputs = super().validation_step(batch, batch_idx)
        record(
            f"val_steps_rank{self.global_rank}.jsonl",
            {
                "sanity": self.trainer.sanity_checking,
                "step": self.global_step,
                "lengths": batch[1].tolist(),  # TTSDataset batches: audio, audio_lens, ...
                "mel_loss": float(outputs["mel_loss"]),
                "mel_frames": int(outputs["mel_frames"]),
            },
        )
        return outputs

    def on_validation_end(self):
        logged = {k: float(v) for k, v in self.trainer.callback_metrics.items() if k.startswith("val_")}
        record(
            f"val_rank{self.global_rank}.jsonl",
            {
                "sanity": self.trainer.sanity_checking,
                "step": self.global_step,
                "world_size": self.trainer.world_size,
                "logged": logged,
            },
        )

    def on_train_end(self):
        save_weights(self, f"weights_rank{self.global_rank}.pt")
        record(f"train_end_rank{self.global_rank}.jsonl", {"step": self.global_step})


if __name__ == "__main__":
    with allow_target_prefixes("__main__."):
        sys.exit(main(sys.argv[1:]))
"""


def bundled_clips(split: str, count: int, taken: set[float]) -> list[dict]:
    """The first ``count`` clips of a bundled split lasting 1 to 2.5 s, each of a duration not in ``taken``
    (so its audio length names it), with absolute paths; adds their durations to ``taken``."""
    entries = []
    for line in (ASTERISK / f"{split}_manifest.json").read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        if 1.0 <= entry["duration"] <= 2.5 and entry["duration"] not in taken:
            taken.add(entry["duration"])
            entries.append({**entry, "audio_filepath": str(ASTERISK / entry["audio_filepath"])})
        if len(entries) == count:
            return entries
    raise AssertionError(f"{split}: fewer than {count} clips of 1 to 2.5 s")


def write_manifest(path: Path, entries: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(entry) + "\n" for entry in entries), encoding="utf-8")
    return path


def read_records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def load_weights(path: Path) -> dict[str, torch.Tensor]:
    return torch.load(path, weights_only=True)


def assert_same_weights(
    weights: dict[str, torch.Tensor], reference: dict[str, torch.Tensor], what: str
) -> None:
    assert weights.keys() == reference.keys(), what
    for name, value in weights.items():
        assert torch.equal(value, reference[name]), f"{what}: {name} differs"


def train_two_processes(tmp_path: Path, train: Path, dev: Path, sup: Path, pitch: dict[str, float]) -> Path:
    """``nemo train fastpitch_tiny_cpu`` on 2 CPU processes through the recording script; returns the folder
    of its records."""
    script = tmp_path / "recording_train.py"
    script.write_text(RECORDING_SCRIPT, encoding="utf-8")
    records = tmp_path / "records"
    records.mkdir()
    command = [
        sys.executable,
        str(script),
        "train",
        "fastpitch_tiny_cpu",
        "model.target=__main__.RecordingFastPitch",
        f"train_dataset={train}",
        f"validation_datasets={dev}",
        f"sup_data_path={sup}",
        f"pitch_mean={pitch['pitch_mean']}",
        f"pitch_std={pitch['pitch_std']}",
        "model.train_ds.dataloader_params.batch_size=2",  # 4 clips per process: 2 steps per epoch
        # One clip a batch: a clip's losses depend on its batch's padding (tried: the validation losses of
        # these 7 clips move by up to 1e-2 relative between batch sizes 1, 2 and 7), so only unpadded batches
        # make every clip score the same in one process as in two, whose batches would hold other clips.
        "model.validation_ds.dataloader_params.batch_size=1",
        "trainer.accelerator=cpu",
        "trainer.devices=2",
        "trainer.strategy=ddp",
        "trainer.max_epochs=1",  # ends on an epoch boundary: the validation follows the last step
        "trainer.check_val_every_n_epoch=1",
        "+trainer.enable_progress_bar=false",
        f"exp_manager.exp_dir={tmp_path / 'runs'}",
    ]
    run = subprocess.run(
        command, capture_output=True, text=True, env={**ENV, "RECORD_DIR": str(records)}, timeout=400
    )
    assert run.returncode == 0, (run.stdout + run.stderr)[-4000:]
    return records


def validate_in_one_process(archive: Path) -> tuple[FastPitchModel, dict[str, float]]:
    """The ``.nemo`` restored as a plain FastPitchModel and its metrics from ``trainer.validate`` on one CPU
    process, on the validation set its config names (no training data set up)."""
    config = FastPitchModel.restore_from(str(archive), return_config=True)
    config.target = "nemo.collections.tts.models.FastPitchModel"  # the recording subclass lived in the script
    model = FastPitchModel.restore_from(str(archive), override_config_path=config, map_location="cpu")
    model.setup_validation_data(model.cfg.validation_ds)
    trainer = pl.Trainer(
        accelerator="cpu", devices=1, logger=False, enable_checkpointing=False, enable_progress_bar=False
    )
    (metrics,) = trainer.validate(model, verbose=False)
    return model, metrics


@pytest.mark.slow
def test_two_process_ddp_validation_matches_one_process_and_its_nemo_matches_every_rank(tmp_path):
    taken: set[float] = set()
    train_clips, val_clips = bundled_clips("train", NUM_TRAIN, taken), bundled_clips("dev", NUM_VAL, taken)
    data = tmp_path / "data"
    train = write_manifest(data / "train.json", train_clips)
    dev = write_manifest(data / "dev.json", val_clips)
    sup = tmp_path / "sup"
    # Pitch of every clip computed and cached once, before the processes start: none of them writes the cache.
    stats = subprocess.run(
        [str(NEMO), "tts", "pitch-stats", write_manifest(data / "all.json", train_clips + val_clips)]
        + ["--sample-rate", "16000", "--sup-data-path", str(sup)],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=400,
    )
    assert stats.returncode == 0, stats.stderr[-3000:]
    pitch = {
        k: float(v)
        for k, v in (ln.split(": ") for ln in stats.stdout.splitlines() if ln.startswith("pitch_"))
    }

    records = train_two_processes(tmp_path, train, dev, sup, pitch)

    # The validation ran after the last training step (2: one epoch of 2 steps) on every rank.
    final_step = {rank: read_records(records / f"train_end_rank{rank}.jsonl")[-1]["step"] for rank in (0, 1)}
    assert final_step == {0: 2, 1: 2}
    ends = {
        rank: [r for r in read_records(records / f"val_rank{rank}.jsonl") if not r["sanity"]]
        for rank in (0, 1)
    }
    assert [r["step"] for r in ends[0]] == [r["step"] for r in ends[1]] == [2]

    # Its shares: disjoint, covering the validation set, nothing repeated.
    steps = {
        rank: [
            s
            for s in read_records(records / f"val_steps_rank{rank}.jsonl")
            if not s["sanity"] and s["step"] == 2
        ]
        for rank in (0, 1)
    }
    seen = [[n for step in steps[rank] for n in step["lengths"]] for rank in (0, 1)]
    val_lengths = [sf.info(clip["audio_filepath"]).frames for clip in val_clips]  # 16 kHz files, not trimmed
    assert len(set(val_lengths)) == NUM_VAL
    assert sorted(seen[0] + seen[1]) == sorted(val_lengths)
    assert sorted(map(len, seen)) == [NUM_VAL // 2, NUM_VAL // 2 + 1]

    # Every rank logged the same whole-set metrics, not its own share's.
    last = [ends[rank][-1] for rank in (0, 1)]
    assert [entry["world_size"] for entry in last] == [2, 2]
    ddp = last[0]["logged"]
    assert set(VAL_METRICS) <= ddp.keys(), ddp
    assert last[1]["logged"] == ddp
    own_mel = [
        sum(s["mel_loss"] * s["mel_frames"] for s in steps[r]) / sum(s["mel_frames"] for s in steps[r])
        for r in (0, 1)
    ]
    assert own_mel[0] != own_mel[1], "both shares score alike: the test could not tell a rank-local metric"
    plain_mel = sum(s["mel_loss"] for r in (0, 1) for s in steps[r]) / NUM_VAL
    assert plain_mel != pytest.approx(ddp["val_mel_loss"], rel=1e-5), (
        "unweighted and frame-weighted means agree"
    )

    # The .nemo rank 0 wrote holds every rank's final weights, which the last validation ran with.
    (archive,) = (tmp_path / "runs").rglob("*.nemo")
    model, single = validate_in_one_process(archive)
    restored = model.state_dict()
    for rank in (0, 1):
        assert_same_weights(
            load_weights(records / f"weights_rank{rank}.pt"), restored, f"rank {rank} at train end"
        )
        assert_same_weights(
            load_weights(records / f"val_weights_rank{rank}.pt"), restored, f"rank {rank} last val"
        )

    # One process, the same weights and validation set: the same metrics.
    assert {key for key in single if key.startswith("val_")} == {key for key in ddp if key.startswith("val_")}
    for name in VAL_METRICS:
        assert single[name] == pytest.approx(ddp[name], rel=1e-5), name
    assert ddp["val_loss"] == pytest.approx(
        ddp["val_mel_loss"] + ddp["val_dur_loss"] + ddp["val_pitch_loss"], rel=1e-6
    )

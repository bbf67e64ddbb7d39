"""A real 2-process DDP run (gloo, CPU) of ``nemo train`` on an ASR model, checked against one process.

One run trains a CTC model from tarred shards for two epochs under ``trainer.strategy=ddp`` and then tests it,
recording on every rank what it trained on, what it tested on and its weights. The test then checks that

- the tarred dataset gives each process its own shards: over each epoch every utterance is trained on exactly
  once across the two processes;
- each process tests a disjoint share of the test set and together they cover it, nothing repeated (Lightning's
  default sampler would repeat one of the 11 utterances);
- ``test_loss`` and ``test_wer`` logged by the DDP run equal those of the ``.nemo`` that rank 0 wrote, tested
  again in this single process on the same data;
- that ``.nemo`` restores with exactly the weights every rank ended with.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import pytorch_lightning as pl
import soundfile as sf
import torch
from nemo.collections.asr.data.tarred_dataset_builder import convert_to_tarred_audio_dataset
from nemo.collections.asr.models import EncDecCTCModel

REPO_ROOT = Path(__file__).resolve().parents[3]
DEMO_CONFIG = REPO_ROOT / "examples" / "asr" / "conf" / "demo_ctc_char.yaml"
SAMPLE_RATE = 16000
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}
WORDS = ["ab", "cab", "bead", "face", "dig", "he", "jade", "a"]
# Test transcripts in turn: the seeded untrained model says "z" for every clip, so the even clips (one
# process's share) score 0 and 2 errors, the odd ones an insertion against an empty transcript and 3 errors;
# the WER of either share differs from the whole set's.
TEST_TEXTS = ["z", "", "ab cab", "face dig he"]
NUM_TRAIN, NUM_SHARDS, NUM_TEST = 16, 4, 11  # 11 test utterances: an odd count that does not split in two

# `nemo train` with a CTC model that records, per rank, its training batches, its test batches' outputs and
# its weights at the start of testing (the end of training) under $RECORD_DIR.
RECORDING_SCRIPT = """
import json, os, sys
import torch
from nemo.collections.asr.models import EncDecCTCModel
from nemo.core.classes.target_allowlist import allow_target_prefixes
from nemo.core.cli.main import main


def record(name, payload):
    with open(os.path.join(os.environ["RECORD_DIR"], name), "a") as stream:
        stream.write(json.dumps(payload) + "\\n")


torch.manual_seed(0)  # the same untrained weights in every run (DDP copies rank 0's to rank 1)


class RecordingCTCModel(EncDecCTCModel):
    def on_train_batch_start(self, batch, batch_idx):
        record(f"train_rank{self.global_rank}.jsonl", {"epoch": self.current_epoch, "lengths": batch[1].tolist()})

    def on_test_start(self):
        path = os.path.join(os.environ["RECORD_DIR"], f"weights_rank{self.global_rank}.pt")
        torch.save({name: value.detach().clone() for name, value in self.state_dict().items()}, path)

    def test_step(self, batch, batch_idx, dataloader_idx=0):
        metrics = super().test_step(batch, batch_idx, dataloader_idx)
        record(
            f"test_steps_rank{self.global_rank}.jsonl",
            {
                "lengths": batch[1].tolist(),
                "loss": float(metrics["test_loss"]),
                "errors": int(metrics["test_wer_num"]),
                "words": int(metrics["test_wer_denom"]),
            },
        )
        return metrics

    def on_test_end(self):
        logged = {key: float(value) for key, value in self.trainer.callback_metrics.items()}
        record(f"test_rank{self.global_rank}.jsonl", {"world_size": self.trainer.world_size, "logged": logged})


if __name__ == "__main__":
    with allow_target_prefixes("__main__."):
        sys.exit(main(sys.argv[1:]))
"""


def write_clips(
    folder: Path, count: int, first_length: float, name: str, texts: list[str] | None = None
) -> tuple[Path, list[int]]:
    """``count`` noise clips of distinct lengths with ``texts`` in turn (default: 1 to 4 words); returns the
    manifest and each clip's length in samples (a batch's ``audio_len``, which names the clip)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(len(name) + count)
    lines, lengths = [], []
    for index in range(count):
        length = int(SAMPLE_RATE * (first_length + 0.02 * index))
        path = folder / f"{name}{index}.wav"
        sf.write(path, rng.uniform(-0.3, 0.3, length).astype(np.float32), SAMPLE_RATE, subtype="PCM_16")
        if texts is None:
            text = " ".join(WORDS[(index + k) % len(WORDS)] for k in range(1 + index % 4))
        else:
            text = texts[index % len(texts)]
        lines.append({"audio_filepath": str(path), "duration": length / SAMPLE_RATE, "text": text})
        lengths.append(length)
    manifest = folder / f"{name}_manifest.json"
    manifest.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return manifest, lengths


def read_records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.slow
def test_two_process_ddp_run_matches_one_process_and_its_nemo_matches_every_rank(tmp_path):
    data = tmp_path / "data"
    train_manifest, train_lengths = write_clips(data, NUM_TRAIN, 0.40, "train")
    test_manifest, test_lengths = write_clips(data, NUM_TEST, 0.50, "test", TEST_TEXTS)
    tarred_manifest, _ = convert_to_tarred_audio_dataset(
        str(train_manifest), str(data / "tarred"), num_shards=NUM_SHARDS
    )
    script = tmp_path / "recording_train.py"
    script.write_text(RECORDING_SCRIPT, encoding="utf-8")
    records = tmp_path / "records"
    records.mkdir()
    command = [
        sys.executable,
        str(script),
        "train",
        str(DEMO_CONFIG),
        "model.target=__main__.RecordingCTCModel",
        f"model.train_ds.manifest_filepath={tarred_manifest}",
        "model.train_ds.is_tarred=true",
        f"model.train_ds.tarred_audio_filepaths={data / 'tarred'}/audio__OP_0..{NUM_SHARDS - 1}_CL_.tar",
        "model.train_ds.shuffle_n=8",
        "model.train_ds.use_bucketing=false",
        "model.train_ds.batch_size=4",  # 2 shards of 4 clips per process: 2 steps per epoch
        "model.train_ds.num_workers=0",
        f"model.validation_ds.manifest_filepath={test_manifest}",
        "model.validation_ds.num_workers=0",
        f"model.test_ds.manifest_filepath={test_manifest}",
        "model.test_ds.num_workers=0",
        # One clip a batch: a clip's log-probs depend on its batch's padding (the STFT's last frames see the
        # zeros after a shorter clip instead of reflected audio, as in NeMo), so only unpadded batches make
        # every clip score the same in one process as in two, whose batches hold other clips.
        "model.test_ds.batch_size=1",
        "model.encoder.d_model=16",
        "model.encoder.n_layers=1",
        "model.encoder.n_heads=2",
        "model.log_prediction=false",
        "model.optim.lr=1e-6",  # weights stay near their random start: its errors differ clip by clip
        "trainer.accelerator=cpu",
        "trainer.devices=2",
        "trainer.strategy=ddp",
        "trainer.max_steps=4",
        "trainer.check_val_every_n_epoch=1",
        "trainer.enable_progress_bar=false",
        f"exp_manager.exp_dir={tmp_path / 'runs'}",
    ]
    run = subprocess.run(
        command, capture_output=True, text=True, env={**ENV, "RECORD_DIR": str(records)}, timeout=400
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-4000:]

    # Tarred shards: each epoch, the two processes together trained on every clip once.
    trained = {rank: read_records(records / f"train_rank{rank}.jsonl") for rank in (0, 1)}
    for epoch in (0, 1):
        shares = [[n for r in trained[rank] if r["epoch"] == epoch for n in r["lengths"]] for rank in (0, 1)]
        assert len(shares[0]) == len(shares[1]) == NUM_TRAIN // 2, shares
        assert not set(shares[0]) & set(shares[1]), f"epoch {epoch}: both processes trained on the same clips"
        assert sorted(shares[0] + shares[1]) == sorted(train_lengths)

    # Test set: disjoint shares, nothing repeated or left out.
    steps = {rank: read_records(records / f"test_steps_rank{rank}.jsonl") for rank in (0, 1)}
    tested = [[n for step in steps[rank] for n in step["lengths"]] for rank in (0, 1)]
    assert sorted(tested[0] + tested[1]) == sorted(test_lengths)
    assert sorted(map(len, tested)) == [NUM_TEST // 2, NUM_TEST // 2 + 1]

    # Every rank logged the same whole-set metrics, not its own share's.
    logged = [read_records(records / f"test_rank{rank}.jsonl")[-1] for rank in (0, 1)]
    assert [entry["world_size"] for entry in logged] == [2, 2]
    ddp_loss, ddp_wer = (logged[0]["logged"][key] for key in ("test_loss", "test_wer"))
    for entry in logged:
        assert entry["logged"]["test_loss"] == ddp_loss and entry["logged"]["test_wer"] == ddp_wer
    own_wers = [sum(s["errors"] for s in steps[r]) / sum(s["words"] for s in steps[r]) for r in (0, 1)]
    assert own_wers[0] != own_wers[1], "both shares score alike: the test could not tell a rank-local WER"

    # The .nemo rank 0 wrote holds the weights of every rank.
    (archive,) = (tmp_path / "runs").rglob("*.nemo")
    config = EncDecCTCModel.restore_from(str(archive), return_config=True)
    config.target = "nemo.collections.asr.models.EncDecCTCModel"  # the recording subclass lived in the script
    model = EncDecCTCModel.restore_from(str(archive), override_config_path=config, map_location="cpu")
    restored = model.state_dict()
    for rank in (0, 1):
        weights = torch.load(records / f"weights_rank{rank}.pt", weights_only=True)
        assert weights.keys() == restored.keys()
        for name, value in weights.items():
            assert torch.equal(value, restored[name]), f"rank {rank}: {name} differs from the .nemo"

    # One process, the same weights and test set: the same metrics.
    model.setup_test_data(model.cfg.test_ds)
    trainer = pl.Trainer(
        accelerator="cpu", devices=1, logger=False, enable_checkpointing=False, enable_progress_bar=False
    )
    (single,) = trainer.test(model, verbose=False)
    assert single["test_loss"] == pytest.approx(ddp_loss, rel=1e-5)
    assert single["test_wer"] == pytest.approx(ddp_wer, rel=1e-6)
    assert 0 < ddp_wer, "an untrained model should make errors on these clips"

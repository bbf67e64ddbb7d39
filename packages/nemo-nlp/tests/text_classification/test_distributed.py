"""A real 2-process DDP run (gloo, CPU) of ``nemo train`` on a text classifier, checked against one process.

One run trains a tiny random BERT (MiniLM's tokenizer) for a few steps under ``trainer.strategy=ddp`` and then
tests it on 11 sentences, recording on every rank what it tested on, its per-step losses and predictions, what
it logged and its weights. The test then checks that

- each process tests a disjoint share of the test set and together they cover it, nothing repeated (Lightning's
  default sampler would repeat one of the 11 sentences);
- ``test_loss`` (a per-example mean) and ``test_precision``/``test_recall``/``test_f1`` logged by every rank
  are the same, are the whole set's, and equal those of the ``.nemo`` that rank 0 wrote, tested again in this
  single process on the same data;
- that ``.nemo`` restores with exactly the weights every rank ended with.

A quick one-process test checks the weights behind the loss: with a class-weighted loss, each batch mean
weighs its examples by class, and the epoch loss is still the whole set's whatever the batching.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
from nemo.collections.nlp.models import TextClassificationModel
from omegaconf import OmegaConf

ARCHITECTURE = (
    "{model_type: bert, hidden_size: 32, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 64}"
)
# 11 test sentences (an odd count that does not split in two). Process 0 tests sentences 0, 2, ..., 10 and
# process 1 sentences 1, 3, ..., 9: 4 of 6 against 3 of 5 are labelled 1, so whatever one class an untrained
# model leans to, the two shares score different F1s and a rank-local F1 would show.
TEST_SENTENCES = [
    ("a warm and funny story", 1),
    ("a tedious mess from start to finish", 0),
    ("sharp writing and a great cast", 1),
    ("the best thriller in years", 1),
    ("flat jokes and wooden acting", 0),
    ("i could not wait for it to end", 0),
    ("a moving portrait of a family", 1),
    ("clever , tense and beautifully shot", 1),
    ("a waste of two hours", 0),
    ("charming from the first scene", 1),
    ("a delight for the whole family", 1),
]
TEST_BATCH_SIZE = (
    3  # unequal batches ([3, 3] and [3, 2] per process, [3, 3, 3, 2] in one): the loss's weights count
)

# `nemo train` with a text classifier that records, per rank, its test batches (each sentence's unpadded token
# ids, its label and prediction, the batch loss and its weight), its weights at the start of testing (the end
# of training) and what it logged, under $RECORD_DIR.
RECORDING_SCRIPT = """
import json, os, sys
import torch
from nemo.collections.nlp.models import TextClassificationModel
from nemo.core.classes.target_allowlist import allow_target_prefixes
from nemo.core.cli.main import main


def record(name, payload):
    with open(os.path.join(os.environ["RECORD_DIR"], name), "a") as stream:
        stream.write(json.dumps(payload) + "\\n")


torch.manual_seed(0)  # the same untrained weights in every run (DDP copies rank 0's to rank 1)


class RecordingTextClassificationModel(TextClassificationModel):
    def on_test_start(self):
        path = os.path.join(os.environ["RECORD_DIR"], f"weights_rank{self.global_rank}.pt")
        torch.save({name: value.detach().clone() for name, value in self.state_dict().items()}, path)

    def test_step(self, batch, batch_idx):
        output = super().test_step(batch, batch_idx)
        input_ids, input_type_ids, input_mask, labels = batch
        logits = self.forward(input_ids=input_ids, token_type_ids=input_type_ids, attention_mask=input_mask)
        record(
            f"test_steps_rank{self.global_rank}.jsonl",
            {
                "sentences": [row[mask > 0].tolist() for row, mask in zip(input_ids, input_mask)],
                "labels": labels.tolist(),
                "predictions": logits.argmax(dim=-1).tolist(),
                "loss": float(output["test_loss"]),
                "weight": float(output["test_loss_weight"]),
            },
        )
        return output

    def on_test_end(self):
        logged = {key: float(value) for key, value in self.trainer.callback_metrics.items()}
        record(f"test_rank{self.global_rank}.jsonl", {"world_size": self.trainer.world_size, "logged": logged})


if __name__ == "__main__":
    with allow_target_prefixes("__main__."):
        sys.exit(main(sys.argv[1:]))
"""


def write_tsv(path: Path, examples: list[tuple[str, int]]) -> Path:
    """A ``sentence<TAB>label`` file with a header."""
    path.write_text(
        "sentence\tlabel\n" + "".join(f"{text}\t{label}\n" for text, label in examples), encoding="utf-8"
    )
    return path


def read_records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def unpadded_rows(dataloader: torch.utils.data.DataLoader) -> list[tuple[int, ...]]:
    """Each example's token ids without padding, in the loader's order."""
    return [
        tuple(row[mask > 0].tolist())
        for input_ids, _, input_mask, _ in dataloader
        for row, mask in zip(input_ids, input_mask)
    ]


@pytest.mark.slow
def test_two_process_ddp_run_matches_one_process_and_its_nemo_matches_every_rank(
    tiny_tsv, minilm_dir, tmp_path
):
    test_tsv = write_tsv(tmp_path / "data" / "test.tsv", TEST_SENTENCES)
    script = tmp_path / "recording_train.py"
    script.write_text(RECORDING_SCRIPT, encoding="utf-8")
    records = tmp_path / "records"
    records.mkdir()
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "HF_HOME": str(tmp_path / "hf_home"),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "RECORD_DIR": str(records),
    }
    command = [
        sys.executable,
        str(script),
        "train",
        "nlp.TextClassificationModel",
        "+model.target=__main__.RecordingTextClassificationModel",
        "model.language_model.pretrained_model_name=null",
        f"model.language_model.config={ARCHITECTURE}",
        f"model.tokenizer.tokenizer_name={minilm_dir}",
        "model.dataset.num_classes=2",
        "model.dataset.max_seq_length=32",
        f"model.train_ds.file_path={tiny_tsv}",
        "model.train_ds.batch_size=2",  # 3 of the 6 sentences per process: 2 steps an epoch
        f"model.validation_ds.file_path={test_tsv}",
        f"model.validation_ds.batch_size={TEST_BATCH_SIZE}",
        f"model.test_ds.file_path={test_tsv}",
        f"model.test_ds.batch_size={TEST_BATCH_SIZE}",
        "trainer.accelerator=cpu",
        "trainer.devices=2",
        # Plain DDP: the encoder's pooler, which the [CLS]-state head never uses, is frozen, so DDP does not wait
        # for its gradients. `+`: the shipped config sets neither this key nor enable_progress_bar.
        "+trainer.strategy=ddp",
        "trainer.max_steps=4",
        "+trainer.enable_progress_bar=false",
        f"exp_manager.exp_dir={tmp_path / 'runs'}",
    ]
    run = subprocess.run(command, capture_output=True, text=True, env=env, timeout=400, check=False)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-4000:]

    # The .nemo rank 0 wrote, restored in this process as the plain model (the recording subclass lived in the
    # script), with the whole test set in one unsharded loader.
    (archive,) = (tmp_path / "runs").rglob("*.nemo")
    config = TextClassificationModel.restore_from(str(archive), return_config=True)
    config.target = "nemo.collections.nlp.models.TextClassificationModel"
    model = TextClassificationModel.restore_from(
        str(archive), override_config_path=config, map_location="cpu"
    )
    model.setup_test_data(model.cfg.test_ds)
    all_rows = unpadded_rows(model._test_dl)
    assert len(set(all_rows)) == len(TEST_SENTENCES), "the test sentences should tokenize differently"

    # Test set: disjoint shares, nothing repeated or left out.
    steps = {rank: read_records(records / f"test_steps_rank{rank}.jsonl") for rank in (0, 1)}
    tested = [[tuple(row) for step in steps[rank] for row in step["sentences"]] for rank in (0, 1)]
    assert sorted(tested[0] + tested[1]) == sorted(all_rows)
    assert sorted(map(len, tested)) == [len(TEST_SENTENCES) // 2, len(TEST_SENTENCES) // 2 + 1]

    # Every rank logged the same whole-set metrics, not its own share's.
    logged = [read_records(records / f"test_rank{rank}.jsonl")[-1] for rank in (0, 1)]
    assert [entry["world_size"] for entry in logged] == [2, 2]
    keys = ("test_loss", "test_precision", "test_recall", "test_f1")
    ddp = {key: logged[0]["logged"][key] for key in keys}
    for entry in logged:
        assert {key: entry["logged"][key] for key in keys} == ddp
    # The loss is the per-example mean over both processes' batches, each batch mean weighted by its size.
    all_steps = steps[0] + steps[1]
    assert [step["weight"] for step in all_steps] == [len(step["labels"]) for step in all_steps]
    per_example = sum(step["loss"] * step["weight"] for step in all_steps) / len(all_rows)
    assert ddp["test_loss"] == pytest.approx(per_example, rel=1e-5)
    own_losses = [sum(s["loss"] * s["weight"] for s in steps[r]) / len(tested[r]) for r in (0, 1)]
    own_accuracies = [
        sum(p == y for s in steps[r] for p, y in zip(s["predictions"], s["labels"])) / len(tested[r])
        for r in (0, 1)
    ]
    assert own_losses[0] != pytest.approx(own_losses[1], rel=1e-3), "a rank-local loss would pass unseen"
    assert own_accuracies[0] != own_accuracies[1], "a rank-local F1 (micro: accuracy) would pass unseen"

    # The .nemo holds the weights of every rank.
    restored = model.state_dict()
    for rank in (0, 1):
        weights = torch.load(records / f"weights_rank{rank}.pt", weights_only=True)
        assert weights.keys() == restored.keys()
        for name, value in weights.items():
            assert torch.equal(value, restored[name]), f"rank {rank}: {name} differs from the .nemo"

    # One process, the same weights and test set: the same metrics.
    trainer = pl.Trainer(
        accelerator="cpu", devices=1, logger=False, enable_checkpointing=False, enable_progress_bar=False
    )
    (single,) = trainer.test(model, verbose=False)
    for key in keys:
        assert single[key] == pytest.approx(ddp[key], rel=1e-5), key


def test_a_class_weighted_epoch_loss_is_the_whole_sets_whatever_the_batching(tiny_model_cfg, tmp_path):
    examples = [("a great film", 1), ("boring", 0), ("i loved it", 1), ("so moving", 1), ("dull", 0)]
    tsv = write_tsv(tmp_path / "imbalanced.tsv", examples)
    tiny_model_cfg.train_ds = {"file_path": str(tsv), "batch_size": 2, "shuffle": False}
    tiny_model_cfg.dataset.class_balancing = "weighted_loss"
    torch.manual_seed(0)
    model = TextClassificationModel(cfg=tiny_model_cfg)
    with torch.no_grad():  # far from the uniform guess of a fresh head, so that examples lose differently
        for parameter in model.parameters():
            parameter.normal_(0, 0.5)
    class_weights = model.loss.weight
    assert class_weights[0] != class_weights[1]

    losses = {}
    for batch_size in (1, 2, len(examples)):  # batches [1 x 5], [2, 2, 1], [5]
        model.setup_validation_data(OmegaConf.create({"file_path": str(tsv), "batch_size": batch_size}))
        trainer = pl.Trainer(
            accelerator="cpu", logger=False, enable_checkpointing=False, enable_progress_bar=False
        )
        (metrics,) = trainer.validate(model, dataloaders=model._validation_dl, verbose=False)
        losses[batch_size] = metrics["val_loss"]

    # torch's own class-weighted mean over the whole set in one batch, outside the model's epoch reduction.
    batch = next(iter(model._validation_dl))
    model.eval()  # no dropout, as in validation
    with torch.no_grad():
        logits = model(input_ids=batch[0], token_type_ids=batch[1], attention_mask=batch[2])
    expected = torch.nn.functional.cross_entropy(logits, batch[3], weight=class_weights).item()
    assert losses == pytest.approx(dict.fromkeys(losses, expected), rel=1e-5)

"""Epoch-end evaluation metrics of the audio classification models, reduced across real processes.

Two processes joined in a gloo process group (no Lightning) each build the real tiny models and hand their own
steps' outputs to the epoch-end methods: rank 0 three steps, rank 1 two (evaluation shares may differ by a
step). Every metric both ranks return must equal the one computed here, in plain Python, from all five steps:
counts and per-class statistics summed, losses weighted by what each step's loss is a mean over. One process
given all five steps must return the same. The frame model's loss weight is checked on real batches too.

Run as ``python test_epoch_metrics_across_processes.py worker RANK STORE OUT``, this file is one such process.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir
from nemo.collections.asr.models import (
    EncDecClassificationModel,
    EncDecFrameClassificationModel,
    EncDecRegressionModel,
    EncDecSpeakerLabelModel,
    configs,
)
from nemo.collections.asr.modules import conv_asr
from nemo.core import registry
from omegaconf import OmegaConf

THIS_FILE = Path(__file__).resolve()
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}
WORLD_SIZE = 2
ALL_STEPS = range(5)
# Rank 0 evaluates steps 0-2, rank 1 steps 3-4.
RANK_STEPS = {0: range(0, 3), 1: range(3, 5)}
NUM_CLASSES = 3

# One utterance-level evaluation step: (the loss it reports, a mean over its utterances; predicted classes;
# true classes). Batches of 4, 4, 2 | 4, 1 utterances, so an unweighted mean of step losses is wrong.
CLASS_STEPS = [
    (0.9, [0, 1, 2, 2], [0, 1, 2, 0]),
    (1.2, [1, 1, 1, 0], [0, 1, 2, 2]),
    (0.3, [2, 0], [2, 0]),
    (2.0, [0, 0, 1, 1], [1, 2, 0, 2]),
    (0.5, [2], [2]),
]
# One frame-level step (two classes): (loss, what the loss is a mean over, predicted frames, true frames).
FRAME_STEPS = [
    (0.40, 9.0, [1, 1, 0, 1, 0], [1, 1, 0, 0, 0]),
    (0.70, 4.0, [0, 0, 0], [1, 0, 1]),
    (0.20, 12.0, [1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 0, 1]),
    (1.10, 2.0, [1, 0], [0, 1]),
    (0.05, 7.0, [0, 0, 0, 1], [0, 0, 0, 1]),
]
# One regression step: its prediction errors (prediction - target), one per utterance.
REGRESSION_STEPS = [[0.5, 0.0, -2.0], [2.0], [-1.0, 0.25], [3.0, -0.5, 1.0, 0.0], [-0.75]]


# ------------------------------------------------------------------------------------------------ models
def _compose(name: str, overrides: Sequence[str]):
    path = registry.find_config(name)
    assert path is not None, f"{name}.yaml is not in the registered config paths"
    with initialize_config_dir(config_dir=str(path.parent), version_base=None):
        return compose(config_name=name, overrides=list(overrides))


def _jasper_block(filters: int) -> conv_asr.JasperEncoderConfig:
    return conv_asr.JasperEncoderConfig(
        filters=filters, repeat=1, kernel=[3], stride=[1], dilation=[1], dropout=0.0, residual=False
    )


def _classification_model() -> EncDecClassificationModel:
    cfg = configs.EncDecClassificationConfig(
        labels=["x", "y", "z"],
        timesteps=40,
        preprocessor=configs.AudioToMFCCPreprocessorConfig(n_mfcc=16, n_mels=32),
        encoder=configs.ConvASREncoderConfig(feat_in=16, activation="relu", jasper=[_jasper_block(8)]),
        decoder=configs.ConvASRDecoderClassificationConfig(feat_in=8, num_classes=NUM_CLASSES),
    )
    return EncDecClassificationModel(cfg=OmegaConf.structured(cfg))


def _regression_model() -> EncDecRegressionModel:
    cfg = {
        "is_regression_task": True,
        "labels": None,
        "preprocessor": {"_target_": "nemo.collections.asr.modules.AudioToMelSpectrogramPreprocessor"},
        "encoder": {
            "_target_": "nemo.collections.asr.modules.ConvASREncoder",
            "feat_in": 64,
            "activation": "relu",
            "jasper": [dataclasses.asdict(_jasper_block(8))],
        },
        "decoder": {
            "_target_": "nemo.collections.asr.modules.ConvASRDecoderClassification",
            "feat_in": 8,
            "num_classes": 1,
        },
    }
    return EncDecRegressionModel(OmegaConf.create(cfg))


def _frame_model(loss_weight: Sequence[float] | None = None) -> EncDecFrameClassificationModel:
    """The shipped frame VAD config, without data, SpecAugment or dither."""
    overrides = [
        "model.train_ds.manifest_filepath=null",
        "model.validation_ds.manifest_filepath=null",
        "model.spec_augment=null",
        "model.preprocessor.dither=0.0",
    ]
    if loss_weight is not None:
        overrides.append(f"++model.loss.weight=[{','.join(str(value) for value in loss_weight)}]")
    return EncDecFrameClassificationModel(cfg=_compose("marblenet_3x2x64_20ms", overrides).model)


def _speaker_model() -> EncDecSpeakerLabelModel:
    overrides = [
        "model.model_defaults.filters=16",
        "model.model_defaults.repeat=1",
        "model.decoder.feat_in=32",
        "model.decoder.emb_sizes=16",
        "+model.decoder.attention_channels=8",
        f"model.decoder.num_classes={NUM_CLASSES}",
        "model.train_ds.augmentor=null",
        "model.train_ds.manifest_filepath=null",
        "model.validation_ds.manifest_filepath=null",
    ]
    return EncDecSpeakerLabelModel(cfg=_compose("titanet-small", overrides).model)


def _build_models() -> dict:
    return {
        "classification": _classification_model(),
        "regression": _regression_model(),
        "frame": _frame_model(),
        "speaker": _speaker_model(),
    }


# ------------------------------------------------------------------------------------------ step outputs
def _class_stats(predicted: Sequence[int], labels: Sequence[int], num_classes: int) -> torch.Tensor:
    """(4, C) int64 rows tp, fp, tn, fn of one step, counted one example at a time."""
    row_of = {(True, True): 0, (True, False): 1, (False, False): 2, (False, True): 3}
    stats = [[0] * num_classes for _ in range(4)]
    for prediction, label in zip(predicted, labels):
        for cls in range(num_classes):
            stats[row_of[(prediction == cls, label == cls)]][cls] += 1
    return torch.tensor(stats, dtype=torch.int64)


def _counts(predicted: Sequence[int], labels: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
    correct = sum(prediction == label for prediction, label in zip(predicted, labels))
    return torch.tensor([correct]), torch.tensor([len(labels)])


def _classification_outputs(prefix: str, steps: Sequence[int]) -> list[dict]:
    outputs = []
    for loss, predicted, labels in (CLASS_STEPS[index] for index in steps):
        correct, total = _counts(predicted, labels)
        outputs.append(
            {
                f"{prefix}_loss": torch.tensor(loss),
                f"{prefix}_correct_counts": correct,
                f"{prefix}_total_counts": total,
                f"{prefix}_acc": [correct.float() / total],
            }
        )
    return outputs


def _speaker_outputs(tag: str, steps: Sequence[int]) -> list[dict]:
    outputs = []
    for output, index in zip(_classification_outputs(tag, steps), steps):
        _, predicted, labels = CLASS_STEPS[index]
        output[f"{tag}_acc_micro_top_k"] = output.pop(f"{tag}_acc")
        output[f"{tag}_acc_macro_stats"] = _class_stats(predicted, labels, NUM_CLASSES)
        outputs.append(output)
    return outputs


def _frame_outputs(prefix: str, steps: Sequence[int]) -> list[dict]:
    outputs = []
    for loss, weight, predicted, labels in (FRAME_STEPS[index] for index in steps):
        correct, total = _counts(predicted, labels)
        outputs.append(
            {
                f"{prefix}_loss": torch.tensor(loss),
                f"{prefix}_loss_weight": torch.tensor(weight, dtype=torch.float64),
                f"{prefix}_correct_counts": correct,
                f"{prefix}_total_counts": total,
                f"{prefix}_acc_micro": [correct.float() / total],
                f"{prefix}_acc_stats": _class_stats(predicted, labels, 2),
            }
        )
    return outputs


def _regression_outputs(prefix: str, steps: Sequence[int]) -> list[dict]:
    outputs = []
    for errors in (torch.tensor(REGRESSION_STEPS[index]) for index in steps):
        outputs.append(
            {
                f"{prefix}_loss": errors.square().mean(),
                f"{prefix}_mse": errors.square().mean(),
                f"{prefix}_mae": errors.abs().mean(),
                f"{prefix}_squared_error_sum": errors.square().sum(),
                f"{prefix}_abs_error_sum": errors.abs().sum(),
                f"{prefix}_count": torch.tensor(errors.numel()),
            }
        )
    return outputs


def _epoch_logs(models: dict, steps: Sequence[int]) -> dict[str, dict[str, float]]:
    """Each model's epoch-end log for these steps (every process calls them in this same order)."""
    logs = {
        "classification": models["classification"].multi_validation_epoch_end(
            _classification_outputs("val", steps)
        )["log"],
        "regression": models["regression"].multi_validation_epoch_end(_regression_outputs("val", steps))[
            "log"
        ],
        "frame": models["frame"].multi_validation_epoch_end(_frame_outputs("val", steps))["log"],
        "speaker": models["speaker"].multi_test_epoch_end(_speaker_outputs("test", steps))["log"],
    }
    return {kind: {key: float(value) for key, value in log.items()} for kind, log in logs.items()}


# -------------------------------------------------------------------------------- expected, plain Python
def _macro(pairs: list[tuple[int, int]], num_classes: int) -> float:
    """Mean recall over the classes predicted or present in ``(predicted, label)`` pairs."""
    recalls = []
    for cls in range(num_classes):
        tp = sum(p == cls and y == cls for p, y in pairs)
        fp = sum(p == cls and y != cls for p, y in pairs)
        fn = sum(p != cls and y == cls for p, y in pairs)
        if tp + fp + fn:
            recalls.append(tp / (tp + fn) if tp + fn else 0.0)
    return sum(recalls) / len(recalls)


def _expected_logs(steps: Sequence[int]) -> dict[str, dict[str, float]]:
    """Every metric from the raw numbers of ``steps``: counts summed, losses weighted by what they average."""
    class_steps = [CLASS_STEPS[index] for index in steps]
    class_pairs = [pair for _, predicted, labels in class_steps for pair in zip(predicted, labels)]
    utterances = len(class_pairs)
    class_loss = sum(loss * len(labels) for loss, _, labels in class_steps) / utterances
    class_top1 = sum(p == y for p, y in class_pairs) / utterances

    frame_steps = [FRAME_STEPS[index] for index in steps]
    frame_pairs = [pair for *_, predicted, labels in frame_steps for pair in zip(predicted, labels)]
    frame_loss = sum(loss * weight for loss, weight, *_ in frame_steps) / sum(step[1] for step in frame_steps)

    errors = [error for index in steps for error in REGRESSION_STEPS[index]]
    mse = sum(error * error for error in errors) / len(errors)
    return {
        "classification": {"val_loss": class_loss, "val_epoch_top@1": class_top1},
        "regression": {"val_loss": mse, "val_mse": mse, "val_mae": sum(map(abs, errors)) / len(errors)},
        "frame": {
            "val_loss": frame_loss,
            "val_acc_macro": _macro(frame_pairs, 2),
            "val_acc_micro_top@1": sum(p == y for p, y in frame_pairs) / len(frame_pairs),
        },
        "speaker": {
            "test_loss": class_loss,
            "test_acc_macro": _macro(class_pairs, NUM_CLASSES),
            "test_acc_micro_top_1": class_top1,
        },
    }


def _assert_logs_equal(got: dict, expected: dict) -> None:
    assert set(got) == set(expected)
    for kind, metrics in expected.items():
        assert got[kind] == pytest.approx(metrics, rel=1e-6), kind


# ----------------------------------------------------------------------------------------------- worker
def _worker(rank: int, store: str, out: str) -> None:
    """One process of the group: its share of the steps through every model's epoch end, logs to ``out``."""
    torch.set_num_threads(1)
    torch.distributed.init_process_group(
        "gloo", init_method=f"file://{store}", rank=rank, world_size=WORLD_SIZE
    )
    try:
        logs = _epoch_logs(_build_models(), RANK_STEPS[rank])
        Path(out).write_text(json.dumps(logs), encoding="utf-8")
    finally:
        torch.distributed.destroy_process_group()


@pytest.fixture(scope="module")
def rank_logs(tmp_path_factory) -> list[dict]:
    """The logs each of the two processes returned."""
    folder = tmp_path_factory.mktemp("epoch_metrics")
    outs = [folder / f"rank{rank}.json" for rank in range(WORLD_SIZE)]
    processes = [
        subprocess.Popen(
            [sys.executable, str(THIS_FILE), "worker", str(rank), str(folder / "store"), str(outs[rank])],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=ENV,
        )
        for rank in range(WORLD_SIZE)
    ]
    reports = []
    try:
        for process in processes:
            stdout, stderr = process.communicate(timeout=400)
            reports.append(f"rc={process.returncode}\n{stdout[-3000:]}\n{stderr[-3000:]}")
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
    for rank, (process, report) in enumerate(zip(processes, reports)):
        assert process.returncode == 0, f"rank {rank} failed:\n{report}"
    return [json.loads(out.read_text(encoding="utf-8")) for out in outs]


def test_the_ranks_own_shares_give_other_metrics_than_the_whole_set():
    """The test data can tell a rank-local (or unweighted) reduction from the right one."""
    whole = _expected_logs(ALL_STEPS)
    for steps in RANK_STEPS.values():
        share = _expected_logs(steps)
        for kind, metrics in whole.items():
            for key, value in metrics.items():
                assert share[kind][key] != pytest.approx(value, rel=1e-3), (kind, key)
    unweighted = sum(step[0] for step in CLASS_STEPS) / len(CLASS_STEPS)
    assert unweighted != pytest.approx(whole["classification"]["val_loss"], rel=1e-3)
    unweighted = sum(step[0] for step in FRAME_STEPS) / len(FRAME_STEPS)
    assert unweighted != pytest.approx(whole["frame"]["val_loss"], rel=1e-3)


def test_every_rank_returns_the_metrics_of_all_steps_of_both_processes(rank_logs):
    expected = _expected_logs(ALL_STEPS)
    for logs in rank_logs:
        _assert_logs_equal(logs, expected)
    assert rank_logs[0] == rank_logs[1]


def test_one_process_with_every_step_returns_the_same_metrics(rank_logs):
    assert not torch.distributed.is_initialized()
    single = _epoch_logs(_build_models(), ALL_STEPS)
    _assert_logs_equal(single, _expected_logs(ALL_STEPS))
    for kind, metrics in single.items():
        assert rank_logs[0][kind] == pytest.approx(metrics, rel=1e-6), kind


def test_frame_loss_is_the_class_weighted_mean_over_every_valid_frame():
    """Real batches through ``_eval_step``: the epoch loss equals torch's weighted cross entropy over the valid
    frames of both batches together (the batches have different shares of each class, so weighting each step
    by its frame count alone would not)."""
    class_weight = [1.0, 3.0]
    model = _frame_model(loss_weight=class_weight).eval()
    generator = torch.Generator().manual_seed(0)
    batches = []
    for speech_share, lengths in ((0.8, [16000, 12000]), (0.2, [9000, 16000, 14000])):
        audio = 0.1 * torch.randn(len(lengths), max(lengths), generator=generator)
        labels = (torch.rand(len(lengths), 50, generator=generator) < speech_share).long()  # 20 ms labels
        labels_len = torch.tensor([length // 320 for length in lengths])
        batches.append((audio, torch.tensor(lengths), labels, labels_len))
    with torch.no_grad():
        outputs = [model._eval_step(batch, "val") for batch in batches]
        valid = [model._loss_and_logits(batch)[1:] for batch in batches]
    logits = torch.cat([batch_logits for batch_logits, _ in valid])
    labels = torch.cat([batch_labels for _, batch_labels in valid])
    expected = torch.nn.functional.cross_entropy(logits, labels, weight=torch.tensor(class_weight))
    got = model.multi_validation_epoch_end(outputs)["log"]["val_loss"]
    assert float(got) == pytest.approx(float(expected), rel=1e-5)


if __name__ == "__main__":
    if len(sys.argv) != 5 or sys.argv[1] != "worker":
        sys.exit(f"usage: python {THIS_FILE.name} worker RANK STORE OUT")
    _worker(int(sys.argv[2]), sys.argv[3], sys.argv[4])

"""Train NeMo's frame-level MarbleNet voice activity detector on the bundled speech-in-noise clips, on the CPU.

    python examples/asr/voice_activity.py [--run-dir DIR] [--dev-only] [--minutes 5] [--lr LR] ...

Steps, all through NeMo's public API:
  1. ``scripts/prepare_vad_task.py build`` renders ``data/vad``'s recipes into ``RUN_DIR/data``: speech prompts
     in silence or in white, pink or brown noise at 20, 10, 5 and 0 dB SNR, with one label per 20 ms frame
     (train: 654 clips; dev 185 and test 215, every layout in all five conditions);
  2. the shipped ``marblenet_3x2x64_20ms`` config (NeMo's keys; ``EncDecFrameClassificationModel``) on the
     training manifest, trained by a real ``pytorch_lightning.Trainer.fit`` (progress bar on) for ``--max-steps``
     steps or until the ``--minutes`` budget says stop;
  3. ``save_to(RUN_DIR/voice_activity.nemo)`` and ``restore_from`` it: every figure below is the restored
     archive's;
  4. frame F1 of the speech class on the dev split per condition (where every setting was chosen), then, unless
     ``--dev-only``, on the test split, read once, here.

Frame F1: every 20 ms frame of every clip of a condition, a frame counting as speech when the model's speech
probability is at least ``--threshold`` (0.5), against the frame labels (speech frames of the clean prompts,
see data/vad/README.md). Precision, recall and F1 per condition go to ``RUN_DIR/results.json``; the issue's
target is F1 0.9 at 10 dB SNR (``snr10``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NEMO_NAME = "voice_activity.nemo"
CONDITIONS = ("clean", "snr20", "snr10", "snr5", "snr0")
# Seconds kept back from --minutes for saving, restoring and scoring dev and test after training.
AFTER_TRAINING_S = 60.0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run-dir", type=Path, default=Path("nemo_experiments/voice_activity"))
    parser.add_argument("--max-steps", type=int, default=120, help="training steps (default 120)")
    parser.add_argument("--minutes", type=float, default=5.0, help="budget of the whole run (default 5)")
    parser.add_argument("--lr", type=float, default=3e-3, help="peak learning rate of AdamW (default 3e-3)")
    parser.add_argument("--batch-size", type=int, default=16, help="clips per training batch (default 16)")
    parser.add_argument("--threshold", type=float, default=0.5, help="speech probability threshold")
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument(
        "--dev-only", action="store_true", help="score the dev split only; never read the test split"
    )
    return parser.parse_args()


def build_data(run_dir: Path) -> Path:
    """Render ``data/vad``'s recipes into ``run_dir/data`` (once; about 30 s) and return that folder."""
    out = run_dir / "data"
    if not (out / "test_manifest.json").is_file():
        subprocess.run(
            [sys.executable, str(ROOT / "scripts" / "prepare_vad_task.py"), "build", "--out", str(out)],
            check=True,
        )
    return out


def build_config(args: argparse.Namespace, data: Path):
    """The shipped ``marblenet_3x2x64_20ms`` config on the bundled training clips, without a validation pass."""
    from importlib.resources import files as package_files

    from omegaconf import OmegaConf

    cfg = OmegaConf.load(str(package_files("nemo.collections.asr.conf") / "marblenet_3x2x64_20ms.yaml"))
    model = cfg.model
    model.train_ds.manifest_filepath = str(data / "train_manifest.json")
    model.train_ds.batch_size = args.batch_size
    model.train_ds.num_workers = 1
    model.validation_ds.manifest_filepath = None
    # AdamW with a linear decay to 0 at --max-steps: NeMo's SGD recipe is for hundreds of epochs, this run has
    # minutes.
    model.optim = {
        "name": "adamw",
        "lr": args.lr,
        "weight_decay": 0.001,
        "sched": {"name": "WarmupAnnealing", "warmup_ratio": 0.05, "last_epoch": -1},
    }
    return cfg


def read_manifest(path: Path) -> list[dict]:
    """The lines of a JSON-lines manifest, ``audio_filepath`` made absolute."""
    entries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        entry["audio_filepath"] = str(path.parent / entry["audio_filepath"])
        entries.append(entry)
    return entries


def speech_frame_counts(logits, labels, threshold: float) -> tuple[int, int, int]:
    """True-positive, false-positive and false-negative speech frames of one clip.

    Args:
        logits: (T, 2) frame logits, column 1 speech.
        labels: (T',) 0/1 frame labels; the shorter of T and T' is scored.
        threshold: a frame is speech when its softmax speech probability is at least this.
    """
    import numpy as np

    shifted = logits - logits.max(axis=-1, keepdims=True)
    probs = np.exp(shifted[:, 1]) / np.exp(shifted).sum(axis=-1)
    count = min(len(probs), len(labels))
    predicted, truth = probs[:count] >= threshold, np.asarray(labels[:count]) == 1
    return int((predicted & truth).sum()), int((predicted & ~truth).sum()), int((~predicted & truth).sum())


def f1_scores(tp: int, fp: int, fn: int) -> dict[str, float]:
    """Precision, recall and F1 from frame counts (0 where undefined)."""
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def frame_scores(model, manifest: Path, threshold: float) -> dict[str, float]:
    """Speech-frame precision, recall and F1 of ``model`` over every clip of ``manifest``.

    The model's frames and the labels both step 20 ms; a clip whose counts differ by more than one frame is an
    error.
    """
    entries = read_manifest(manifest)
    logits = model.transcribe([entry["audio_filepath"] for entry in entries], batch_size=16, logprobs=True)
    totals = [0, 0, 0]
    for entry, clip_logits in zip(entries, logits):
        labels = [int(label) for label in entry["label"].split()]
        if abs(len(clip_logits) - len(labels)) > 1:
            raise ValueError(
                f"{manifest}: {entry['audio_filepath']} has {len(labels)} frame labels but the model gave "
                f"{len(clip_logits)} frames; the labels must be one per 20 ms frame (marblenet_3x2x64_20ms)."
            )
        for index, value in enumerate(speech_frame_counts(clip_logits, labels, threshold)):
            totals[index] += value
    return {"clips": len(entries), **f1_scores(*totals)}


def score_split(model, data: Path, split: str, threshold: float) -> dict[str, dict[str, float]]:
    """Frame scores of ``split`` per condition, printed as one line."""
    scores = {
        condition: frame_scores(model, data / f"{split}_{condition}_manifest.json", threshold)
        for condition in CONDITIONS
    }
    print(
        f"{split}: speech-frame F1 "
        + ", ".join(f"{name} {value['f1']:.3f}" for name, value in scores.items())
    )
    return scores


def main() -> None:
    args = parse_args()
    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    args.run_dir.mkdir(parents=True, exist_ok=True)
    data = build_data(args.run_dir)

    import pytorch_lightning as pl
    from nemo.collections.asr.models import EncDecFrameClassificationModel
    from nemo.utils import logging

    logging.setLevel(logging.WARNING)
    cfg = build_config(args, data)
    pl.seed_everything(args.seed, verbose=False)
    budget_s = args.minutes * 60 - AFTER_TRAINING_S - (time.perf_counter() - started)
    trainer = pl.Trainer(
        max_steps=args.max_steps,
        max_time={"seconds": max(budget_s, 1.0)},
        accelerator="cpu",
        devices=1,
        logger=False,
        enable_checkpointing=False,
        enable_model_summary=False,
        limit_val_batches=0,
        num_sanity_val_steps=0,
        default_root_dir=str(args.run_dir),
    )
    model = EncDecFrameClassificationModel(cfg=cfg.model, trainer=trainer)
    fit_started = time.perf_counter()
    trainer.fit(model)
    fit_s = time.perf_counter() - fit_started
    print(f"Trained {trainer.global_step} of {args.max_steps} steps in {fit_s:.0f} s")

    nemo_path = args.run_dir / NEMO_NAME
    model.save_to(str(nemo_path))
    restored = EncDecFrameClassificationModel.restore_from(str(nemo_path), map_location="cpu")
    results = {
        "settings": {
            key: str(value) if isinstance(value, Path) else value for key, value in vars(args).items()
        },
        "steps": trainer.global_step,
        "fit_s": round(fit_s, 1),
        "metric": "speech-frame precision/recall/F1 over every 20 ms frame of the split's clips, per condition",
        "dev": score_split(restored, data, "dev", args.threshold),
    }
    if not args.dev_only:
        # The test split is read here, once, after every choice was made on the dev split.
        results["test (held out, read once)"] = score_split(restored, data, "test", args.threshold)
    results["wall_s"] = round(time.perf_counter() - started, 1)
    results["load_average_1min"] = {"before": load_before, "after": os.getloadavg()[0]}
    (args.run_dir / "results.json").write_text(json.dumps(results, indent=1))
    print(
        f"Whole run {results['wall_s']:.0f} s (1-minute load average {load_before:.1f} before, "
        f"{results['load_average_1min']['after']:.1f} after); {args.run_dir / 'results.json'}, {nemo_path}"
    )


if __name__ == "__main__":
    main()

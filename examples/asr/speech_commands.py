"""Train a small MatchboxNet on the bundled spoken commands (synthetic voices) and test it on a real voice, on the CPU.

    python examples/asr/speech_commands.py [--run-dir DIR] [--dev-only] [--minutes 5] [--max-steps N] ...

The data is ``data/commands`` (see its README): 36 words (digits "zero"-"nine", letters "a"-"z"), 3,636 training
clips of 81 espeak-ng and flite voices, 504 dev clips of 14 held-out espeak-ng voices and 36 test clips of the
real Asterisk voice, which no training clip has.

Steps, all through NeMo's public API:
  1. NeMo's ``matchboxnet_3x1x64_v1`` config with the 36 words as ``labels`` and the bundled manifests;
     ``EncDecClassificationModel(cfg.model, trainer)`` and a real ``pytorch_lightning.Trainer.fit`` (progress bar
     on) for ``--max-steps`` steps or until the ``--minutes`` budget, less what scoring needs, is spent;
  2. ``save_to(RUN_DIR/matchboxnet_commands.nemo)`` and ``restore_from`` it: every figure is the restored archive's;
  3. ``transcribe`` on the dev clips (where every setting was chosen) and on ``dev_real_manifest.json`` (the real
     voice's digit words cut from its other prompts, no test recording among them; the clips are cut out into
     ``RUN_DIR/clips``), then, unless ``--dev-only``, on the test clips, read once, here: accuracy per word group
     (digits, letters) and overall, a confusion-matrix PNG per split and ``RUN_DIR/results.json``.

Torch runs on one thread and one data-loader worker process decodes and augments the training clips on the other
core (``--threads 1 --workers 1``): on 2 idle cores that trains the most steps in the budget.

The defaults were chosen on the dev split (docs/asr.md lists the runs); ``--dev-only`` is how to try others without
looking at the test split.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
COMMANDS = ROOT / "data" / "commands"
NEMO_NAME = "matchboxnet_commands.nemo"

sys.path.insert(0, str(ROOT / "examples"))
from example_support import RunClock, fit_save_restore, sound_example_parser, write_results  # noqa: E402


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = sound_example_parser(
        __doc__.split("\n\n")[0],
        run_dir=Path("nemo_experiments/speech_commands"),
        data_dir=COMMANDS,
        max_steps=500,
        batch_size=128,
    )
    parser.add_argument(
        "--lr", type=float, default=0.05, help="peak learning rate of NovoGrad (default 0.05)"
    )
    parser.add_argument(
        "--filters", type=int, default=64, help="channels of the residual blocks (default 64)"
    )
    parser.add_argument(
        "--speed-prob",
        type=float,
        default=0.0,
        help="probability of NeMo's speed perturbation (tempo and pitch together) of a training clip (default 0)",
    )
    parser.add_argument(
        "--speed-range",
        type=float,
        default=0.15,
        help="speed rates drawn from 1 - R to 1 + R (default 0.15)",
    )
    parser.add_argument(
        "--noise-max-db",
        type=float,
        default=-46.0,
        help="loudest white noise added to training clips, dBFS (default -46, the config's)",
    )
    parser.add_argument(
        "--shift-ms",
        type=float,
        default=5.0,
        help="training clips are shifted in time by up to this many ms either way (default 5, the config's)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="data-loader worker processes that decode and augment training clips (default 1; 0: the main one)",
    )
    parser.add_argument(
        "--features",
        choices=("mfcc", "mel_per_feature"),
        default="mfcc",
        help="the config's MFCCs (default), or log-mel spectrograms with each clip's per-band mean and deviation "
        "taken out (NeMo's AudioToMelSpectrogramPreprocessor, normalize: per_feature)",
    )
    parser.add_argument(
        "--highfreq",
        type=float,
        help="highest mel frequency in Hz of the features (the preprocessor's highfreq; default: half the sample "
        "rate). The real voice is G.722 audio, which holds nothing above 7 kHz",
    )
    return parser.parse_args(argv)


def read_labels(path: Path) -> tuple[list[str], dict[str, str]]:
    """The words of ``labels.txt`` in order and each word's group (``digits`` / ``letters``)."""
    words, groups = [], {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        fields = line.split()
        if len(fields) != 2:
            raise SystemExit(f"{path}:{number}: expected '<word> <group>', got {line!r}.")
        words.append(fields[0])
        groups[fields[0]] = fields[1]
    return words, groups


def read_manifest(path: Path, cut_dir: Path) -> tuple[list[str], list[str]]:
    """Audio paths and labels of a NeMo manifest (``audio_filepath`` relative to its folder or absolute).

    An entry that is part of a longer file (``offset`` > 0 or a ``duration`` shorter than the file) is cut out
    into a wav file under ``cut_dir``, since ``transcribe`` reads whole files.
    """
    import soundfile
    from nemo.collections.asr.data.manifest import read_manifest_entries

    paths, labels = [], []
    for entry in read_manifest_entries(str(path)):
        audio = entry.audio_filepath
        info = soundfile.info(audio)
        offset = entry.offset or 0.0
        if offset > 0 or entry.duration < info.duration - 1e-3:
            start = round(offset * info.samplerate)
            samples, rate = soundfile.read(
                audio, start=start, stop=start + round(entry.duration * info.samplerate)
            )
            audio = str(cut_dir / f"{path.stem}_{entry.line_number}.wav")
            soundfile.write(audio, samples, rate)
        paths.append(audio)
        labels.append(entry.extra["label"])
    return paths, labels


def confusion_matrix(truth: Sequence[str], predicted: Sequence[str], labels: Sequence[str]) -> np.ndarray:
    """Counts (C, C): row = the true label, column = the predicted one, both in ``labels`` order."""
    index = {label: i for i, label in enumerate(labels)}
    counts = np.zeros((len(labels), len(labels)), dtype=np.int64)
    for true_label, predicted_label in zip(truth, predicted, strict=True):
        counts[index[true_label], index[predicted_label]] += 1
    return counts


def group_accuracy(
    truth: Sequence[str], predicted: Sequence[str], groups: dict[str, str]
) -> dict[str, dict[str, float | int]]:
    """Accuracy and clip count per word group (by the true word's group) and ``overall``."""
    hits: dict[str, list[bool]] = {}
    for true_label, predicted_label in zip(truth, predicted, strict=True):
        hits.setdefault(groups[true_label], []).append(true_label == predicted_label)
        hits.setdefault("overall", []).append(true_label == predicted_label)
    return {
        group: {"accuracy": sum(flags) / len(flags), "clips": len(flags)} for group, flags in hits.items()
    }


def plot_confusion(counts: np.ndarray, labels: Sequence[str], title: str, path: Path) -> None:
    """Write the confusion matrix ``counts`` (C, C) as a PNG heat map with the counts written in."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(11, 10))
    axes.imshow(counts, cmap="Blues")
    axes.set_xticks(range(len(labels)), labels, rotation=90)
    axes.set_yticks(range(len(labels)), labels)
    axes.set_xlabel("predicted")
    axes.set_ylabel("spoken")
    axes.set_title(title)
    for row, column in zip(*np.nonzero(counts)):
        color = "white" if counts[row, column] > counts.max() / 2 else "black"
        axes.text(column, row, str(counts[row, column]), ha="center", va="center", fontsize=7, color=color)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def build_config(args: argparse.Namespace, words: list[str]):
    """NeMo's ``matchboxnet_3x1x64_v1`` config for the bundled commands."""
    from importlib.resources import files as package_files

    from omegaconf import OmegaConf, open_dict

    cfg = OmegaConf.load(str(package_files("nemo.collections.asr.conf") / "matchboxnet_3x1x64_v1.yaml"))
    model = cfg.model
    model.labels = words
    for name in ("train_ds", "validation_ds", "test_ds"):
        with open_dict(model[name]):
            model[name].num_workers = args.workers if name == "train_ds" else 0
            model[name].pin_memory = False
    model.train_ds.manifest_filepath = str(args.data_dir / "train_manifest.json")
    model.train_ds.batch_size = args.batch_size
    model.train_ds.augmentor.white_noise.max_level = args.noise_max_db
    model.train_ds.augmentor.shift.min_shift_ms = -args.shift_ms
    model.train_ds.augmentor.shift.max_shift_ms = args.shift_ms
    if args.speed_prob > 0:
        model.train_ds.augmentor.speed = {
            "prob": args.speed_prob,
            "sr": model.sample_rate,
            "resample_type": "kaiser_fast",
            "min_speed_rate": 1.0 - args.speed_range,
            "max_speed_rate": 1.0 + args.speed_range,
        }
    model.validation_ds.manifest_filepath = None
    if args.features == "mel_per_feature":
        model.preprocessor = {
            "_target_": "nemo.collections.asr.modules.AudioToMelSpectrogramPreprocessor",
            "window_size": model.preprocessor.window_size,
            "window_stride": model.preprocessor.window_stride,
            "window": model.preprocessor.window,
            "features": model.preprocessor.n_mels,
            "n_fft": model.preprocessor.n_fft,
            "normalize": "per_feature",
            "dither": 0.0,
        }
    if args.highfreq is not None:
        with open_dict(model.preprocessor):
            model.preprocessor.highfreq = args.highfreq
    for block in model.encoder.jasper[1:4]:
        block.filters = args.filters
    model.optim.lr = args.lr
    return cfg


def score(model, data_dir: Path, split: str, words: list[str], groups: dict[str, str], run_dir: Path) -> dict:
    """Transcribe a split's clips with ``model``: accuracies, the confusion matrix PNG, the seconds taken."""
    cut_dir = run_dir / "clips" / split
    cut_dir.mkdir(parents=True, exist_ok=True)
    paths, truth = read_manifest(data_dir / f"{split}_manifest.json", cut_dir)
    started = time.perf_counter()
    predicted = model.transcribe(paths, batch_size=64)
    seconds = time.perf_counter() - started
    counts = confusion_matrix(truth, predicted, words)
    figures = group_accuracy(truth, predicted, groups)
    png = run_dir / f"confusion_{split}.png"
    plot_confusion(counts, words, f"{split}: {figures['overall']['accuracy']:.1%} of {len(truth)} clips", png)
    return {"accuracy": figures, "transcribe_s": round(seconds, 2), "confusion_png": str(png)}


def summary(split: str, figures: dict) -> str:
    parts = [f"{group} {value['accuracy']:.1%} of {value['clips']}" for group, value in figures.items()]
    return f"{split}: " + ", ".join(parts)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    clock = RunClock()
    args.run_dir.mkdir(parents=True, exist_ok=True)
    words, groups = read_labels(args.data_dir / "labels.txt")

    from nemo.collections.asr.models import EncDecClassificationModel

    cfg = build_config(args, words)
    restored, nemo_path, results = fit_save_restore(EncDecClassificationModel, cfg, args, clock, NEMO_NAME)
    results["dev"] = score(restored, args.data_dir, "dev", words, groups, args.run_dir)
    print(summary("dev", results["dev"]["accuracy"]) + f" (restored {nemo_path.name})")
    if (args.data_dir / "dev_real_manifest.json").exists():
        # The real voice's digit words cut from its other prompts (scripts/prepare_commands_real_dev.py): a dev
        # set in the test's voice that shares no recording with the test split.
        results["dev_real"] = score(restored, args.data_dir, "dev_real", words, groups, args.run_dir)
        print(
            summary(
                "dev_real (real voice, words cut from its other prompts)", results["dev_real"]["accuracy"]
            )
        )
    if not args.dev_only:
        # The real voice is read here, once, after every choice was made on the dev split.
        results["test (read once)"] = score(restored, args.data_dir, "test", words, groups, args.run_dir)
        print(summary("test (real voice, read once)", results["test (read once)"]["accuracy"]))
    write_results(results, args.run_dir, clock, nemo_path)


if __name__ == "__main__":
    main()

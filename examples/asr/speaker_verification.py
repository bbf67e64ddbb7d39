"""Train a small TitaNet on the bundled speakers and measure verification on held-out speakers, on the CPU.

    python examples/asr/speaker_verification.py [--run-dir DIR] [--dev-only] [--minutes 5] [--max-steps N] ...

The data is ``data/speakers`` (see its README): 61 training speakers (902 utterances of espeak-ng and flite
voices), 17 held-out dev speakers with 4,080 trials and 18 held-out test speakers (the real Asterisk voice among
them) with 4,320 trials, in NeMo's VoxCeleb trial format ``<1|0> <path> <path>``.

Steps, all through NeMo's public API:
  1. NeMo's ``titanet-small`` config, shrunk to fit the budget (``--filters``, ``--repeat``, ``--emb-size``,
     training clips up to ``--max-duration`` seconds, AdamW in place of SGD: more is learnt in few steps,
     ``all_features`` normalization in place of ``per_feature``, which takes out each clip's spectral mean; the
     noise, impulse and speed augmentors off: they need noise manifests), its decoder sized to the training
     speakers; ``EncDecSpeakerLabelModel(cfg.model, trainer)`` and a real ``pytorch_lightning.Trainer.fit``
     (progress bar on) for ``--max-steps`` steps or until the ``--minutes`` budget, less what scoring needs, is
     spent;
  2. ``save_to(RUN_DIR/titanet_speakers.nemo)`` and ``restore_from`` it: every figure is the restored archive's;
  3. ``get_embedding`` of every dev utterance, each trial scored as ``verify_speakers`` scores it
     (``(cos + 1) / 2`` of the two embeddings): the equal error rate and its threshold, a DET curve PNG; then,
     unless ``--dev-only``, the same on the test trials, read once, here. Figures go to ``RUN_DIR/results.json``.

The defaults were chosen on the dev trials (docs/asr.md lists the runs); ``--dev-only`` is how to try others
without looking at the test split.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from statistics import NormalDist

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
SPEAKERS = ROOT / "data" / "speakers"
NEMO_NAME = "titanet_speakers.nemo"

sys.path.insert(0, str(ROOT / "examples"))
from example_support import RunClock, fit_save_restore, sound_example_parser, write_results  # noqa: E402


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = sound_example_parser(
        __doc__.split("\n\n")[0],
        run_dir=Path("nemo_experiments/speaker_verification"),
        data_dir=SPEAKERS,
        max_steps=450,
        batch_size=32,
        threads=2,
    )
    parser.add_argument(
        "--optim",
        choices=("sgd", "adamw"),
        default="adamw",
        help="optimizer (default adamw; titanet-small has sgd)",
    )
    parser.add_argument("--lr", type=float, default=0.005, help="peak learning rate (default 0.005)")
    parser.add_argument("--filters", type=int, default=64, help="channels of the encoder blocks (default 64)")
    parser.add_argument("--repeat", type=int, default=1, help="sub-blocks per residual block (default 1)")
    parser.add_argument("--emb-size", type=int, default=128, help="speaker embedding size (default 128)")
    parser.add_argument(
        "--normalize",
        choices=("per_feature", "all_features", "NA"),
        default="all_features",
        help="the preprocessor's feature normalization (default all_features; titanet-small has per_feature)",
    )
    parser.add_argument(
        "--max-duration", type=float, default=4.0, help="skip longer training clips (default 4 s)"
    )
    return parser.parse_args(argv)


def read_trials(path: Path) -> tuple[np.ndarray, list[tuple[str, str]]]:
    """Targets (N,) (1 same speaker, 0 different) and path pairs of a VoxCeleb-format trial list."""
    targets, pairs = [], []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        fields = line.split()
        if len(fields) != 3 or fields[0] not in ("0", "1"):
            raise SystemExit(f"{path}:{number}: expected '<1|0> <path> <path>', got {line!r}.")
        targets.append(int(fields[0]))
        pairs.append((fields[1], fields[2]))
    return np.asarray(targets), pairs


def equal_error_rate(scores: Sequence[float], targets: Sequence[int]) -> tuple[float, float]:
    """The equal error rate of verification scores and the threshold where it is met.

    A trial is accepted when its score is at least the threshold. The false-acceptance rate (FAR, over the
    different-speaker trials) and the false-rejection rate (FRR, over the same-speaker trials) are evaluated at
    every distinct score; the EER is where the two piecewise-linear curves cross, interpolated between the two
    neighbouring thresholds.

    Args:
        scores: (N,) scores, higher for more alike.
        targets: (N,) 1 for a same-speaker trial, 0 otherwise; both kinds must occur.

    Returns:
        ``(eer, threshold)``: the rate in [0, 1] and a score threshold at the crossing.
    """
    far, frr, thresholds = error_rates(scores, targets)
    crossed = int(np.argmax(far >= frr))
    if far[crossed] == frr[crossed] or crossed == 0:
        return float(far[crossed]), float(thresholds[crossed])
    # Between thresholds crossed-1 (far < frr) and crossed (far >= frr): where far - frr changes sign.
    gap_before = frr[crossed - 1] - far[crossed - 1]
    gap_after = far[crossed] - frr[crossed]
    weight = gap_before / (gap_before + gap_after)
    eer = far[crossed - 1] + weight * (far[crossed] - far[crossed - 1])
    threshold = thresholds[crossed - 1] + weight * (thresholds[crossed] - thresholds[crossed - 1])
    return float(eer), float(threshold)


def error_rates(scores: Sequence[float], targets: Sequence[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """FAR and FRR (each (K+1,)) at the thresholds +inf and then every distinct score, descending."""
    scores, targets = np.asarray(scores, dtype=np.float64), np.asarray(targets)
    positives, negatives = int((targets == 1).sum()), int((targets == 0).sum())
    if positives == 0 or negatives == 0:
        raise ValueError(
            f"equal_error_rate needs both kinds of trial; got {positives} same-speaker and {negatives} "
            "different-speaker trials. Score a trial list with both."
        )
    thresholds = np.concatenate([[np.inf], np.unique(scores)[::-1]])
    order = np.sort(scores[targets == 1])
    impostors = np.sort(scores[targets == 0])
    accepted_impostors = negatives - np.searchsorted(impostors, thresholds, side="left")
    rejected_targets = np.searchsorted(order, thresholds, side="left")
    return accepted_impostors / negatives, rejected_targets / positives, thresholds


def plot_det(curves: dict[str, tuple[np.ndarray, np.ndarray, float]], path: Path) -> None:
    """Write DET curves (FRR against FAR on normal-deviate axes) of ``{name: (far, frr, eer)}`` as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    normal = NormalDist()
    ticks = [0.001, 0.01, 0.02, 0.05, 0.1, 0.2, 0.4]

    def deviate(rates: np.ndarray) -> np.ndarray:
        return np.asarray([normal.inv_cdf(min(max(rate, 5e-4), 1 - 5e-4)) for rate in rates])

    figure, axes = plt.subplots(figsize=(6, 6))
    for name, (far, frr, eer) in curves.items():
        axes.plot(deviate(far), deviate(frr), label=f"{name} (EER {eer:.2%})")
    axes.plot(deviate(np.asarray(ticks)), deviate(np.asarray(ticks)), ":", color="gray", label="FAR = FRR")
    positions = deviate(np.asarray(ticks))
    labels = [f"{tick:.1%}" for tick in ticks]
    axes.set_xticks(positions, labels)
    axes.set_yticks(positions, labels)
    axes.set_xlim(positions[0], positions[-1])
    axes.set_ylim(positions[0], positions[-1])
    axes.set_xlabel("false acceptance rate")
    axes.set_ylabel("false rejection rate")
    axes.set_title("DET curve, held-out speakers")
    axes.grid(True, alpha=0.3)
    axes.legend(loc="upper right")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def build_config(args: argparse.Namespace, num_speakers: int):
    """NeMo's ``titanet-small`` config, shrunk, for the bundled speakers."""
    from importlib.resources import files as package_files

    from omegaconf import OmegaConf, open_dict

    cfg = OmegaConf.load(str(package_files("nemo.collections.asr.conf") / "titanet-small.yaml"))
    model = cfg.model
    model.train_ds.manifest_filepath = str(args.data_dir / "train_manifest.json")
    model.train_ds.batch_size = args.batch_size
    model.train_ds.augmentor = None
    with open_dict(model.train_ds):
        model.train_ds.num_workers = 0
        model.train_ds.max_duration = args.max_duration
    model.validation_ds.manifest_filepath = None
    model.preprocessor.normalize = args.normalize
    model.model_defaults.filters = args.filters
    model.model_defaults.repeat = args.repeat
    model.decoder.feat_in = 4 * args.filters
    model.decoder.emb_sizes = args.emb_size
    model.decoder.num_classes = num_speakers
    model.optim.lr = args.lr
    if args.optim != "sgd":
        model.optim.name = args.optim
        model.optim.pop("momentum")
    return cfg


def embeddings(model, data_dir: Path, paths: set[str]) -> dict[str, np.ndarray]:
    """L2-normalised (E,) embedding of each trial path (relative to ``data_dir``), from ``get_embedding``."""
    table = {}
    for path in sorted(paths):
        embedding = model.get_embedding(str(data_dir / path)).squeeze(0).cpu().numpy().astype(np.float64)
        table[path] = embedding / np.linalg.norm(embedding)
    return table


def espeak_variant(speaker: str) -> str | None:
    """The espeak-ng voice variant of a ``data/speakers`` speaker (``espeak-en-us-nyc-f4`` -> ``f4``), else None."""
    return speaker.rsplit("-", 1)[-1] if speaker.startswith("espeak-") else None


def same_voice_other_accent(first: str, second: str) -> bool:
    """Whether two different speakers are one espeak-ng variant (its pitch, formants, voicing) in two accents."""
    variant = espeak_variant(first)
    return first != second and variant is not None and variant == espeak_variant(second)


def read_speakers(manifest: Path) -> dict[str, str]:
    """``audio_filepath`` -> ``label`` of a speaker manifest."""
    lines = manifest.read_text(encoding="utf-8").splitlines()
    return {entry["audio_filepath"]: entry["label"] for entry in map(json.loads, filter(str.strip, lines))}


def verification_figures(scores: np.ndarray, targets: np.ndarray, accent_pairs: np.ndarray) -> dict:
    """EER and its threshold over all trials, and the EER without the accent-pair trials.

    Args:
        scores: (N,) trial scores. targets: (N,) 1 same speaker, 0 different.
        accent_pairs: (N,) bool, the different-speaker trials between two accents of one espeak-ng variant.
    """
    eer, threshold = equal_error_rate(scores, targets)
    return {
        "eer": eer,
        "threshold": threshold,
        "accent_pair_trials": int(accent_pairs.sum()),
        "eer_without_accent_pairs": equal_error_rate(scores[~accent_pairs], targets[~accent_pairs])[0],
    }


def score_trials(model, data_dir: Path, split: str) -> tuple[dict, tuple[np.ndarray, np.ndarray, float]]:
    """EER and threshold of a split's trials (scores as ``verify_speakers``'), and its DET curve points.

    Besides the EER over every trial (the figure the task reports), ``eer_without_accent_pairs`` leaves out the
    different-speaker trials between two accents of one espeak-ng variant: the same synthetic voice settings
    reading with other pronunciation rules, which is where most false acceptances come from (docs/asr.md).
    """
    targets, pairs = read_trials(data_dir / f"{split}_trials.txt")
    speakers = read_speakers(data_dir / f"{split}_manifest.json")
    started = time.perf_counter()
    table = embeddings(model, data_dir, {path for pair in pairs for path in pair})
    scores = np.asarray([(table[first] @ table[second] + 1) / 2 for first, second in pairs])
    seconds = time.perf_counter() - started
    accent_pairs = np.asarray([same_voice_other_accent(speakers[a], speakers[b]) for a, b in pairs])
    figures = {
        "trials": len(pairs),
        "same_speaker_trials": int(targets.sum()),
        "utterances": len(table),
        **verification_figures(scores, targets, accent_pairs),
        "embedding_s": round(seconds, 1),
    }
    far, frr, _ = error_rates(scores, targets)
    eer = figures["eer"]
    return figures, (far, frr, eer)


def accent_note(figures: dict) -> str:
    """The printed clause that gives a split's EER without its accent-pair trials."""
    return (
        f"{figures['eer_without_accent_pairs']:.2%} without the {figures['accent_pair_trials']} different-speaker "
        "trials between two accents of one espeak-ng variant"
    )


def count_speakers(manifest: Path) -> int:
    """How many distinct ``label`` values a manifest has."""
    lines = manifest.read_text(encoding="utf-8").splitlines()
    return len({json.loads(line)["label"] for line in lines if line.strip()})


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    clock = RunClock()
    args.run_dir.mkdir(parents=True, exist_ok=True)

    from nemo.collections.asr.models import EncDecSpeakerLabelModel

    cfg = build_config(args, count_speakers(args.data_dir / "train_manifest.json"))
    restored, nemo_path, results = fit_save_restore(EncDecSpeakerLabelModel, cfg, args, clock, NEMO_NAME)
    dev, dev_curve = score_trials(restored, args.data_dir, "dev")
    curves = {"dev": dev_curve}
    print(
        f"dev ({dev['trials']} trials): EER {dev['eer']:.2%} at threshold {dev['threshold']:.4f}; "
        + accent_note(dev)
    )
    results["dev"] = dev
    if not args.dev_only:
        # The test trials are read here, once, after every choice was made on the dev trials.
        test, curves["test (read once)"] = score_trials(restored, args.data_dir, "test")
        results["test (read once)"] = test
        print(
            f"test ({test['trials']} trials, read once): EER {test['eer']:.2%} at threshold {test['threshold']:.4f}; "
            + accent_note(test)
        )
    det_png = args.run_dir / "det_curve.png"
    plot_det(curves, det_png)
    results["det_png"] = str(det_png)
    write_results(results, args.run_dir, clock, nemo_path)


if __name__ == "__main__":
    main()

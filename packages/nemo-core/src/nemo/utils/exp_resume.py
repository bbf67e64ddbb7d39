"""Resuming a run: find the checkpoint ``exp_manager`` should continue from and hand it to the trainer."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from nemo.utils import logging
from nemo.utils.checkpoint_loading import (
    CONFIG_GLOBAL_NAMES,
    UnsafeCheckpointError,
    config_safe_globals,
    refused_globals,
)
from nemo.utils.exp_log_dir import is_global_rank_zero
from nemo.utils.exp_manager_errors import NotFoundError
from pytorch_lightning.plugins.io import TorchCheckpointIO


def check_resume(
    trainer: pl.Trainer,
    log_dir: str | Path,
    resume_if_exists: bool = False,
    resume_past_end: bool = False,
    resume_ignore_no_checkpoint: bool = False,
    dirpath: str | None = None,
    resume_from_checkpoint: str | None = None,
) -> None:
    """Set ``trainer.ckpt_path`` to the checkpoint to resume from, with NeMo's rules.

    * ``resume_from_checkpoint`` is used when given.
    * With ``resume_if_exists``, ``{log_dir}/checkpoints`` (or ``dirpath``) is searched: a ``*end.ckpt``
      means the previous run finished (an error, unless ``resume_past_end``); otherwise the single
      ``*last.ckpt`` is resumed. No checkpoint is an error unless ``resume_ignore_no_checkpoint``.
    * Files already in ``log_dir`` (logs of a previous run) are moved to a new ``log_dir/run_N`` folder.

    The trainer reads the checkpoint with ``torch.load(weights_only=True)``. A checkpoint that pickles
    OmegaConf configs (written by NeMo 1.23, or by this package before ``ModelPT`` saved plain containers)
    is read with those classes allowed (``nemo.core.connectors.weights.config_safe_globals``); one that
    pickles anything else is refused here, before training starts.

    Args:
        trainer: the trainer whose ``ckpt_path`` is set.
        log_dir: the run's log folder.
        resume_if_exists: look for a checkpoint of a previous run.
        resume_past_end: resume even if the previous run finished (``*end.ckpt``).
        resume_ignore_no_checkpoint: start from scratch (with a warning) when nothing is found.
        dirpath: checkpoint folder, if not ``{log_dir}/checkpoints``.
        resume_from_checkpoint: explicit checkpoint path.

    Raises:
        NotFoundError: ``resume_if_exists`` and no checkpoint found (and not ``resume_ignore_no_checkpoint``).
        ValueError: the previous run finished, or several checkpoints match ``*end.ckpt``. (Several
            ``*last.ckpt``, which a run killed between writing its new last checkpoint and deleting the old one
            leaves, resume from the newest, with a warning; NeMo 1.23 stops there.)
        UnsafeCheckpointError: the checkpoint pickles classes or functions that could run code.
    """
    if not log_dir:
        raise ValueError(f"Resuming requires the log_dir {log_dir} to be passed to exp_manager")

    checkpoint = resume_from_checkpoint or None
    if resume_if_exists:
        checkpoint_dir = Path(dirpath) if dirpath else Path(log_dir) / "checkpoints"
        end_checkpoints = sorted(checkpoint_dir.rglob("*end.ckpt"))
        last_checkpoints = sorted(checkpoint_dir.rglob("*last.ckpt"))
        if not end_checkpoints and not last_checkpoints:
            message = (
                "There were no checkpoints found in checkpoint_dir or no checkpoint folder at checkpoint_dir: "
                f"{checkpoint_dir}."
            )
            if not resume_ignore_no_checkpoint:
                raise NotFoundError(
                    f"{message} Cannot resume. Set exp_manager.resume_ignore_no_checkpoint=True to start from scratch."
                )
            logging.warning(
                f"{message} " + (f"Training from {checkpoint}." if checkpoint else "Training from scratch.")
            )
        elif end_checkpoints:
            if not resume_past_end:
                raise ValueError(
                    f"Found {end_checkpoints[0]} indicating that the last training run has already completed. "
                    "Set exp_manager.resume_past_end=True to continue it anyway."
                )
            if len(end_checkpoints) > 1:
                raise ValueError(f"Multiple checkpoints {end_checkpoints} match *end.ckpt; keep only one.")
            checkpoint = end_checkpoints[0]
        elif len(last_checkpoints) > 1:
            checkpoint = _newest_of(last_checkpoints)
        else:
            checkpoint = last_checkpoints[0]

    if checkpoint is not None:
        _prepare_loading(trainer, Path(checkpoint))
        trainer.ckpt_path = str(checkpoint)
        logging.info(f"Resuming training from checkpoint: {trainer.ckpt_path}")

    if is_global_rank_zero():
        _move_previous_run_files(Path(log_dir))


class ConfigSafeCheckpointIO(TorchCheckpointIO):
    """Lightning's ``TorchCheckpointIO``, reading with ``weights_only=True`` and OmegaConf configs allowed."""

    def load_checkpoint(
        self,
        path: str | Path,
        map_location: Callable | None = lambda storage, loc: storage,
        weights_only: bool | None = None,
    ) -> dict[str, Any]:
        """Load ``path`` as ``TorchCheckpointIO`` does; ``weights_only=False`` (only if asked) loads any pickle."""
        if weights_only is False:
            return super().load_checkpoint(path, map_location=map_location, weights_only=False)
        with config_safe_globals():
            return super().load_checkpoint(path, map_location=map_location, weights_only=True)


def _prepare_loading(trainer: pl.Trainer, checkpoint: Path) -> None:
    """Refuse a checkpoint the trainer could not load safely; let it read pickled OmegaConf configs."""
    try:
        refused = refused_globals(checkpoint)
    except (ValueError, OSError):
        return  # not a local torch.save zip archive: Lightning's loading reads or reports it
    unsafe = [name for name in refused if name not in CONFIG_GLOBAL_NAMES]
    if unsafe:
        raise UnsafeCheckpointError(
            f"Cannot resume from {str(checkpoint)!r}: it pickles {unsafe}, which torch.load(weights_only=True) "
            "refuses because loading them could run code; nothing was loaded. Expected only tensors, plain "
            "containers and OmegaConf configs (what NeMo checkpoints hold). If you trust the file, resume it "
            "yourself with trainer.fit(model, ckpt_path=..., weights_only=False); otherwise move it out of the "
            "checkpoint folder or set exp_manager.resume_if_exists=false."
        )
    if not refused:
        return
    checkpoint_io = trainer.strategy.checkpoint_io
    if type(checkpoint_io) is TorchCheckpointIO:
        trainer.strategy.checkpoint_io = ConfigSafeCheckpointIO()
        logging.info(
            f"{checkpoint} holds OmegaConf configs (an older NeMo checkpoint); loading them as data."
        )
    else:
        logging.warning(
            f"{checkpoint} holds OmegaConf configs (an older NeMo checkpoint), which torch.load(weights_only=True) "
            f"refuses; the trainer's {type(checkpoint_io).__name__} is left as it is, so it must allow them "
            "(nemo.core.connectors.weights.config_safe_globals)."
        )


def _move_previous_run_files(log_dir: Path) -> None:
    """Move the files directly under ``log_dir`` into a new ``log_dir/run_N`` folder."""
    if not log_dir.exists():
        return
    files_to_move = [child for child in log_dir.iterdir() if child.is_file()]
    if not files_to_move:
        return
    run_count = sum(1 for folder in log_dir.glob("run_*") if folder.is_dir())
    new_run_dir = log_dir / f"run_{run_count}"
    new_run_dir.mkdir()
    for file in files_to_move:
        shutil.move(str(file), str(new_run_dir))


def _newest_of(last_checkpoints: list[Path]) -> Path:
    """The most recently written of several ``*last.ckpt`` files, with a warning that names them all.

    Lightning writes a run's new last checkpoint before it deletes the old one, so a run killed in between
    leaves both; the newer one is where the run got to.
    """
    newest = max(last_checkpoints, key=lambda path: path.stat().st_mtime_ns)
    logging.warning(
        f"Several checkpoints match *last.ckpt: {[str(path) for path in last_checkpoints]} (a run killed while it "
        f"replaced its last checkpoint leaves two). Resuming from the newest, {newest}; delete the others to "
        "silence this warning."
    )
    return newest

"""``NeMoModelCheckpoint``: Lightning's ``ModelCheckpoint`` that also writes the model as a ``.nemo`` archive."""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from nemo.utils import logging
from nemo.utils.callbacks.atomic_checkpoint_io import (
    atomic_checkpoint_io,
    explained_write_error,
    partial_write_path,
    remove_partial_writes,
    replace_atomically,
)
from nemo.utils.callbacks.ema import EMA, ema_checkpoint_path
from nemo.utils.exp_log_dir import is_global_rank_zero
from pytorch_lightning.callbacks import ModelCheckpoint
from pytorch_lightning.utilities.rank_zero import rank_zero_info


class NeMoModelCheckpoint(ModelCheckpoint):
    """Checkpoint callback that keeps Lightning's ``.ckpt`` files and adds ``{dirpath}/{prefix}{postfix}``.

    The ``.nemo`` file is written with ``pl_module.save_to(path)`` (``ModelPT`` has it; a module without
    ``save_to`` gets a warning instead): at the end of training with ``save_nemo_on_train_end``, and at every
    checkpoint with ``always_save_nemo``. With ``save_best_model`` the archive holds the weights of the best
    checkpoint (by ``monitor``), and at the end of training the module itself is left with those weights.
    At the end of training the ``-last`` checkpoint is also written if the final step has not been saved yet,
    so that a restarted job resumes from where this one stopped.

    With an :class:`~nemo.utils.callbacks.ema.EMA` callback on the trainer, every checkpoint ``X.ckpt`` gets a
    twin ``X-EMA.ckpt`` holding the averaged weights (and the EMA optimizer state), removed together with it.

    Every ``.ckpt`` and ``.nemo`` file is written to a temporary file in its folder and renamed into place
    (:mod:`nemo.utils.callbacks.atomic_checkpoint_io`): a run killed while saving leaves the previous file
    complete and loadable. Temporary files left by such a run are removed when the next one starts training.

    Args:
        always_save_nemo: write the ``.nemo`` file whenever a checkpoint is saved.
        save_nemo_on_train_end: write the ``.nemo`` file when training ends.
        save_best_model: write the best checkpoint's weights (rather than the current ones) to the ``.nemo``.
        postfix: extension of the archive.
        prefix: file name of the archive without extension (``exp_manager`` passes the experiment name).
        **kwargs: arguments of ``pytorch_lightning.callbacks.ModelCheckpoint``.
    """

    def __init__(
        self,
        always_save_nemo: bool = False,
        save_nemo_on_train_end: bool = True,
        save_best_model: bool = False,
        postfix: str = ".nemo",
        prefix: str = "",
        **kwargs: Any,
    ) -> None:
        self.always_save_nemo = always_save_nemo
        self.save_nemo_on_train_end = save_nemo_on_train_end
        self.save_best_model = save_best_model
        if self.save_best_model and not self.save_nemo_on_train_end:
            logging.warning(
                "Found save_best_model is True and save_nemo_on_train_end is False. "
                "Set save_nemo_on_train_end to True to automatically save the best model."
            )
        self.postfix = postfix
        self.prefix = prefix
        self.previous_best_path = ""
        super().__init__(**kwargs)

    @property
    def nemo_path(self) -> str:
        """Path of the ``.nemo`` archive: ``{dirpath}/{prefix}{postfix}``."""
        return os.path.join(self.dirpath or "", self.prefix + self.postfix)

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        """Lightning's setup; before fitting, global rank zero removes unfinished writes of a killed run."""
        super().setup(trainer, pl_module, stage)
        if stage == "fit" and trainer.is_global_zero and self.dirpath:
            remove_partial_writes(self.dirpath, (self.FILE_EXTENSION, self.postfix))

    def on_save_checkpoint(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        super().on_save_checkpoint(trainer, pl_module, checkpoint)
        if not self.always_save_nemo:
            return
        if not self.save_best_model:
            self._save_nemo(pl_module)
            return
        if not self.best_model_path or self.best_model_path == self.previous_best_path:
            return
        self.previous_best_path = self.best_model_path
        if not os.path.exists(self.best_model_path):
            # The new best checkpoint is the one being written right now: the module holds its weights.
            self._save_nemo(pl_module)
            return
        current_weights = copy.deepcopy(pl_module.state_dict())
        self._load_weights(trainer, pl_module, self.best_model_path)
        self._save_nemo(pl_module)
        pl_module.load_state_dict(current_weights, strict=True)

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.fast_dev_run:
            return
        if self.save_last and self._last_global_step_saved != trainer.global_step:
            self._save_last_checkpoint(trainer, self._monitor_candidates(trainer))
        super().on_train_end(trainer, pl_module)

        if self.save_best_model:
            trainer.strategy.barrier("NeMoModelCheckpoint.save_best_model")
            if not self.best_model_path:
                logging.warning(
                    f"{type(self).__name__} was told to save the best checkpoint at the end of training, but no "
                    f"checkpoint monitoring {self.monitor!r} was saved. Saving the latest weights instead."
                )
            else:
                self._load_weights(trainer, pl_module, self.best_model_path)
        if self.save_nemo_on_train_end:
            self._save_nemo(pl_module)

    def _should_remove_checkpoint(self, trainer: pl.Trainer, previous: str, current: str) -> bool:
        """Lightning's rule, except that a resumed-from ``-last`` checkpoint goes once a new one is written.

        Lightning keeps the checkpoint it resumed from; a kept ``*last.ckpt`` beside the new one would make
        the next ``resume_if_exists`` start fail with "Multiple checkpoints ... match *last.ckpt".
        """
        both_last = str(previous).endswith("last.ckpt") and str(current).endswith("last.ckpt")
        resumed_from = os.path.abspath(trainer.ckpt_path) if trainer.ckpt_path else None
        if both_last and previous != current and os.path.abspath(previous) == resumed_from:
            return True
        return super()._should_remove_checkpoint(trainer, previous, current)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Lightning's restore, then (resuming with a smaller ``save_top_k``) delete the worst surplus checkpoints.

        Their ``-EMA`` twins go with them.
        """
        super().load_state_dict(state_dict)
        surplus = len(self.best_k_models) - self.save_top_k
        if self.save_top_k < 0 or surplus <= 0:
            return
        ranked = sorted(
            self.best_k_models, key=lambda path: float(self.best_k_models[path]), reverse=self.mode == "max"
        )
        for path in ranked[-surplus:]:
            del self.best_k_models[path]
            if is_global_rank_zero():
                for stale in (path, ema_checkpoint_path(path, self.FILE_EXTENSION)):
                    if self._fs.exists(stale):
                        self._fs.rm(stale)
                        logging.info(f"Removed checkpoint beyond save_top_k={self.save_top_k}: {stale}")
        kept = ranked[:-surplus]
        self.best_model_path = kept[0] if kept else ""
        self.best_model_score = self.best_k_models[kept[0]] if kept else None
        self.kth_best_model_path = kept[-1] if kept else ""
        if kept:
            self.kth_value = self.best_k_models[kept[-1]]

    def _save_checkpoint(self, trainer: pl.Trainer, filepath: str) -> None:
        """Lightning's save (and the ``-EMA`` twin), each file written atomically."""
        with atomic_checkpoint_io(trainer.strategy):
            ema_callback = _ema_callback(trainer)
            if ema_callback is None:
                super()._save_checkpoint(trainer, filepath)
                return
            with ema_callback.save_original_optimizer_state(trainer):
                super()._save_checkpoint(trainer, filepath)
            ema_filepath = ema_checkpoint_path(filepath, self.FILE_EXTENSION)
            with ema_callback.save_ema_model(trainer):
                if self.verbose:
                    rank_zero_info(f"Saving EMA weights to separate checkpoint {ema_filepath}")
                super()._save_checkpoint(trainer, ema_filepath)

    def _remove_checkpoint(self, trainer: pl.Trainer, filepath: str) -> None:
        super()._remove_checkpoint(trainer, filepath)
        if _ema_callback(trainer) is not None:
            super()._remove_checkpoint(trainer, ema_checkpoint_path(filepath, self.FILE_EXTENSION))

    def _save_nemo(self, pl_module: pl.LightningModule) -> None:
        save_to = getattr(pl_module, "save_to", None)
        if save_to is None:
            logging.warning(
                f"{type(self).__name__} cannot write {self.nemo_path}: {type(pl_module).__name__} has no save_to() "
                "method (ModelPT has one). Set checkpoint_callback_params.save_nemo_on_train_end=False and "
                "always_save_nemo=False to silence this."
            )
            return
        # With always_save_nemo the first archive can come before Lightning has created the folder.
        os.makedirs(os.path.dirname(self.nemo_path) or ".", exist_ok=True)
        # save_to writes a temporary file beside the archive, renamed over it once complete, so that a kill
        # leaves the previous archive whole whatever save_to does. ModelPT.save_to writes on global rank zero
        # only: elsewhere there is nothing to rename.
        temporary = partial_write_path(self.nemo_path)
        try:
            save_to(str(temporary))
            if temporary.is_file():
                replace_atomically(temporary, self.nemo_path)
        except OSError as error:
            _remove_file(temporary)
            raise explained_write_error(error, self.nemo_path) from error
        except BaseException:
            _remove_file(temporary)
            raise
        logging.info(f".nemo model saved to: {self.nemo_path}")

    @staticmethod
    def _load_weights(trainer: pl.Trainer, pl_module: pl.LightningModule, checkpoint_path: str) -> None:
        checkpoint = trainer.strategy.load_checkpoint(checkpoint_path)
        pl_module.load_state_dict(checkpoint["state_dict"], strict=True)


def _remove_file(path: Path) -> None:
    if path.is_file():
        path.unlink()


def _ema_callback(trainer: pl.Trainer) -> EMA | None:
    """The trainer's EMA callback (the last one, if several), or ``None``."""
    found = [callback for callback in trainer.callbacks if isinstance(callback, EMA)]
    return found[-1] if found else None

"""``StatelessTimer``: a time limit per run, for clusters whose jobs are killed after a fixed wall time.

Lightning's ``Timer`` saves the elapsed time in checkpoints, so a resumed run inherits it and soon stops again.
This timer saves nothing: every run (every resume) gets the full ``duration``. When the time is up it saves the
``-last`` checkpoint, so the next run resumes from there, and ends the fit cleanly.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.callbacks.timer import Interval, Timer
from pytorch_lightning.utilities.exceptions import _TunerExitException

__all__ = ["StatelessTimer"]


class StatelessTimer(Timer):
    """A Lightning ``Timer`` whose elapsed time is not checkpointed (NeMo's ``exp_manager.max_time_per_run``).

    Args:
        duration: Time allowed per run: ``"DD:HH:MM:SS"``, a ``timedelta`` or a dict of ``timedelta`` arguments.
        interval: Check the time after every ``"step"`` or every ``"epoch"``.
        verbose: Log when the limit is reached.
    """

    def __init__(
        self,
        duration: str | timedelta | dict[str, int] | None = None,
        interval: str = Interval.step,
        verbose: bool = True,
    ) -> None:
        super().__init__(duration, interval, verbose)

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Ignore any saved time: a resumed run starts with the full duration."""

    def _check_time_remaining(self, trainer: pl.Trainer) -> None:
        super()._check_time_remaining(trainer)
        if not trainer.should_stop:
            return
        checkpoint_callback = trainer.checkpoint_callback
        if checkpoint_callback is not None and hasattr(checkpoint_callback, "_save_last_checkpoint"):
            checkpoint_callback._save_last_checkpoint(
                trainer, checkpoint_callback._monitor_candidates(trainer)
            )
        # Lightning ends fit() quietly on this exception (it is how its tuner stops early).
        raise _TunerExitException()

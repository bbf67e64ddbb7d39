"""Helpers shared by the nemo-tts tests."""

from collections.abc import Callable
from typing import Any

import pytest
import pytorch_lightning as pl


@pytest.fixture(scope="session")
def cpu_trainer() -> Callable[..., pl.Trainer]:
    """Builds a real Lightning Trainer on the CPU without a logger, checkpoints, progress bar or model summary
    (each can be turned back on); the keyword arguments go to ``pl.Trainer``."""

    def build(**kwargs: Any) -> pl.Trainer:
        quiet = {
            "accelerator": "cpu",
            "logger": False,
            "enable_checkpointing": False,
            "enable_progress_bar": False,
            "enable_model_summary": False,
        }
        return pl.Trainer(**{**quiet, **kwargs})

    return build

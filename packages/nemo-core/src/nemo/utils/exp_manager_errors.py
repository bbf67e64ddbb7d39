"""Errors raised by :func:`nemo.utils.exp_manager.exp_manager` when the trainer and its config disagree."""

from __future__ import annotations

from nemo.utils.exceptions import NeMoBaseException
from omegaconf.errors import ConfigKeyError


class NotFoundError(NeMoBaseException):
    """A checkpoint or folder that ``exp_manager`` was told to resume from does not exist."""


class LoggerMisconfigurationError(NeMoBaseException):
    """The trainer already has a logger while ``exp_manager`` was asked to create one (or to name the run)."""

    def __init__(self, message: str) -> None:
        super().__init__(
            message
            + " You can disable lightning's trainer from creating a logger by passing logger=False to its "
            "constructor."
        )


class CheckpointMisconfigurationError(NeMoBaseException):
    """The trainer already has a ``ModelCheckpoint`` while ``exp_manager`` was asked to create one."""


class ExpManagerConfigKeyError(NeMoBaseException, ConfigKeyError, ValueError):
    """The exp_manager config has a key that ``ExpManagerConfig`` does not define.

    It is an OmegaConf ``ConfigKeyError`` (what NeMo 1.23 raises for such a key) and a ``ValueError``.
    """

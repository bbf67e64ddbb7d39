"""Where ``exp_manager`` logs a run: ``{exp_dir}/{name}/{version}``, NeMo's layout.

* ``exp_dir`` defaults to ``./nemo_experiments``, ``name`` to ``"default"``.
* ``version`` defaults to the start time (``%Y-%m-%d_%H-%M-%S``), or ``version_N`` (TensorBoard's numbering)
  with ``use_datetime_version=False``. With ``resume_if_exists`` there is no version folder, so that a
  restarted job finds the previous run's checkpoints.
* The chosen version is stored in the ``NEMO_EXPM_VERSION`` environment variable so that the processes
  Lightning launches for distributed training (which inherit it) log to the same folder.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytorch_lightning as pl
from nemo.constants import NEMO_ENV_VARNAME_VERSION
from nemo.utils import logging
from nemo.utils.exp_manager_errors import LoggerMisconfigurationError
from pytorch_lightning.loggers import TensorBoardLogger
from pytorch_lightning.utilities.rank_zero import rank_zero_only


def is_global_rank_zero() -> bool:
    """Whether this process is global rank 0 (read from the launcher's environment, as Lightning does)."""
    return getattr(rank_zero_only, "rank", 0) == 0


def get_log_dir(
    trainer: pl.Trainer,
    exp_dir: str | None = None,
    name: str | None = None,
    version: str | None = None,
    explicit_log_dir: str | None = None,
    use_datetime_version: bool = True,
    resume_if_exists: bool = False,
) -> tuple[Path, str, str, str | None]:
    """Resolve the log folder of a run.

    Args:
        trainer: the trainer; if it already has a logger, that logger's ``save_dir``, ``name`` and version are used.
        exp_dir: base folder of all experiments (default ``./nemo_experiments``).
        name: experiment name (default ``"default"``).
        version: run name inside the experiment (default: see module docstring).
        explicit_log_dir: use this folder as it is, ignoring ``exp_dir``, ``name`` and ``version``.
        use_datetime_version: name runs by start time rather than ``version_N``.
        resume_if_exists: leave out the version folder (see module docstring).

    Returns:
        ``(log_dir, exp_dir, name, version)``; ``name`` and ``version`` are ``""`` with ``explicit_log_dir``,
        ``version`` is ``None`` without a version folder.

    Raises:
        LoggerMisconfigurationError: the trainer has a logger and ``exp_dir`` (with a logger ``save_dir``),
            ``name`` or ``explicit_log_dir`` was also given.
    """
    if explicit_log_dir:
        return check_explicit_log_dir(trainer, explicit_log_dir, exp_dir, name, version)

    _exp_dir = exp_dir if exp_dir is not None else str(Path.cwd() / "nemo_experiments")

    if trainer.logger is not None:
        if trainer.logger.save_dir:
            if exp_dir:
                raise LoggerMisconfigurationError(
                    "The pytorch lightning trainer that was passed to exp_manager contained a logger, the logger's "
                    f"save_dir was not None, and exp_dir ({exp_dir}) was not None. If trainer.logger.save_dir "
                    "exists, exp_manager will use trainer.logger.save_dir as the logging directory and exp_dir "
                    "must be None."
                )
            _exp_dir = trainer.logger.save_dir
        if name:
            raise LoggerMisconfigurationError(
                "The pytorch lightning trainer that was passed to exp_manager contained a logger, and name: "
                f"{name} was also passed to exp_manager. If the trainer contains a logger, exp_manager will use "
                "trainer.logger.name, and name passed to exp_manager must be None."
            )
        name = trainer.logger.name
        version = f"version_{trainer.logger.version}"
    else:
        name = name or "default"
        version = version or os.environ.get(NEMO_ENV_VARNAME_VERSION) or None
        if not version:
            if resume_if_exists:
                logging.warning(
                    "No version folders would be created under the log folder as 'resume_if_exists' is enabled."
                )
            elif is_global_rank_zero():
                if use_datetime_version:
                    version = time.strftime("%Y-%m-%d_%H-%M-%S")
                else:
                    version = f"version_{TensorBoardLogger(save_dir=_exp_dir, name=name).version}"
                os.environ[NEMO_ENV_VARNAME_VERSION] = version

    log_dir = Path(_exp_dir) / str(name) / ("" if version is None else str(version))
    return log_dir, str(_exp_dir), name, version


def check_explicit_log_dir(
    trainer: pl.Trainer, explicit_log_dir: str, exp_dir: str | None, name: str | None, version: str | None
) -> tuple[Path, str, str, str]:
    """Use ``explicit_log_dir`` as the log folder (``exp_dir`` and ``version`` are ignored, with an error log).

    Raises:
        LoggerMisconfigurationError: the trainer already has a logger.
    """
    if trainer.logger is not None:
        raise LoggerMisconfigurationError(
            "The pytorch lightning trainer that was passed to exp_manager contained a logger and explicit_log_dir: "
            f"{explicit_log_dir} was pass to exp_manager. Please remove the logger from the lightning trainer."
        )
    if exp_dir or version:
        logging.error(
            f"exp_manager received explicit_log_dir: {explicit_log_dir} and at least one of exp_dir: {exp_dir}, "
            f"or version: {version}. Please note that exp_dir, name, and version will be ignored."
        )
    if is_global_rank_zero() and Path(explicit_log_dir).exists():
        logging.warning(f"Exp_manager is logging to {explicit_log_dir}, but it already exists.")
    return Path(explicit_log_dir), str(explicit_log_dir), "", ""

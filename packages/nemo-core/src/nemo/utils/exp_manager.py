"""``exp_manager``: give a Lightning trainer NeMo's experiment folder, loggers, checkpointing and resuming.

A run logs to ``{exp_dir or ./nemo_experiments}/{name or "default"}/{version}/`` (see
:mod:`nemo.utils.exp_log_dir`), which holds:

* ``nemo_log_globalrank-{g}_localrank-{l}.txt``: NeMo's log; ``lightning_logs.txt``: Lightning's log;
* ``cmd-args.log``: the command line; ``git-info.log``: commit and diff, when run inside a git repository;
* TensorBoard event files, ``metrics.csv`` (CSV logger) and ``hparams.yaml`` written by the loggers;
* ``checkpoints/{name}--{val_loss:.4f}-{epoch}.ckpt`` (top k), ``...-last.ckpt`` and ``{name}.nemo``.

The trainer must not create its own logger or checkpoint callback when ``exp_manager`` creates them: build it
with ``logger=False, enable_checkpointing=False``.

Before anything is written, the log folder and the checkpoint folder are created and checked: a folder that
cannot be written (a probe file is created and deleted) or a disk with less than :data:`MIN_FREE_DISK_BYTES`
free raises :class:`LogDirError` naming the folder, so that a run fails at start rather than at its first
checkpoint. Checkpoint and ``.nemo`` files are written atomically (see
:mod:`nemo.utils.callbacks.atomic_checkpoint_io`).

Example:
    >>> trainer = pl.Trainer(max_steps=100, logger=False, enable_checkpointing=False)
    >>> log_dir = exp_manager(trainer, {"exp_dir": "runs", "name": "asr", "resume_if_exists": True})
    >>> trainer.fit(model)
"""

from __future__ import annotations

import dataclasses
import logging as _std_logging
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from nemo.utils import logging
from nemo.utils.callbacks.ema import EMA
from nemo.utils.callbacks.nemo_model_checkpoint import NeMoModelCheckpoint
from nemo.utils.callbacks.stateless_timer import StatelessTimer
from nemo.utils.callbacks.step_timing import TimingCallback
from nemo.utils.exp_log_dir import (
    NEMO_ENV_VARNAME_VERSION,
    check_explicit_log_dir,
    get_log_dir,
    is_global_rank_zero,
)
from nemo.utils.exp_manager_errors import (
    CheckpointMisconfigurationError,
    ExpManagerConfigKeyError,
    LoggerMisconfigurationError,
    NotFoundError,
)
from nemo.utils.exp_resume import check_resume
from nemo.utils.git_info import get_git_diff, get_git_hash
from omegaconf import DictConfig, OmegaConf, open_dict
from omegaconf.errors import ValidationError
from pytorch_lightning.callbacks import EarlyStopping, ModelCheckpoint, Timer
from pytorch_lightning.loggers import CSVLogger, Logger, TensorBoardLogger, WandbLogger
from pytorch_lightning.strategies import DDPStrategy

__all__ = [
    "CallbackParams",
    "CheckpointMisconfigurationError",
    "EMAParams",
    "EarlyStoppingParams",
    "ExpManagerConfig",
    "LogDirError",
    "LoggerMisconfigurationError",
    "MIN_FREE_DISK_BYTES",
    "NEMO_ENV_VARNAME_VERSION",
    "NeMoModelCheckpoint",
    "NotFoundError",
    "StatelessTimer",
    "StepTimingParams",
    "TimingCallback",
    "check_explicit_log_dir",
    "check_resume",
    "check_writable_folder",
    "configure_checkpointing",
    "configure_loggers",
    "error_checks",
    "exp_manager",
    "get_git_diff",
    "get_git_hash",
    "get_log_dir",
]

MIN_FREE_DISK_BYTES = 100 * 1024**2
"""Free space (bytes) that the disks of the log and checkpoint folders must have when ``exp_manager`` starts a
run: 100 MiB, room for logs and a small checkpoint. A larger model needs more; this only catches a full disk
before training rather than at the first checkpoint. Change it with ``nemo.utils.exp_manager.MIN_FREE_DISK_BYTES
= ...`` before calling ``exp_manager`` (0 turns the check off)."""


class LogDirError(OSError):
    """A log or checkpoint folder of ``exp_manager`` cannot be created or written, or its disk is (almost) full."""


@dataclass
class CallbackParams:
    """``checkpoint_callback_params``: arguments of :class:`NeMoModelCheckpoint` (Lightning's plus NeMo's)."""

    filepath: str | None = None  # deprecated: use dirpath and filename
    dirpath: str | None = None  # default: {log_dir}/checkpoints
    filename: str | None = None  # default: {name}--{<monitor>:.4f}-{epoch}
    monitor: str | None = "val_loss"
    verbose: bool | None = True
    save_last: bool | None = True
    save_top_k: int | None = 3
    save_weights_only: bool | None = False
    mode: str | None = "min"
    auto_insert_metric_name: bool = True
    every_n_epochs: int | None = 1
    every_n_train_steps: int | None = None
    train_time_interval: Any = None
    prefix: str | None = None  # default: the experiment name
    postfix: str = ".nemo"
    save_best_model: bool = False
    always_save_nemo: bool = False
    save_nemo_on_train_end: bool | None = True
    save_on_train_epoch_end: bool | None = False


@dataclass
class StepTimingParams:
    """``step_timing_kwargs``: how :class:`TimingCallback` reduces step times."""

    reduction: str | None = "mean"
    sync_cuda: bool | None = False
    buffer_size: int | None = 1


@dataclass
class EarlyStoppingParams:
    """``early_stopping_callback_params``: arguments of Lightning's ``EarlyStopping``."""

    monitor: str = "val_loss"
    mode: str = "min"
    min_delta: float = 0.001
    patience: int = 10
    verbose: bool = True
    strict: bool = True
    check_finite: bool = True
    stopping_threshold: float | None = None
    divergence_threshold: float | None = None
    check_on_train_epoch_end: bool | None = None
    log_rank_zero_only: bool = False


@dataclass
class EMAParams:
    """``exp_manager.ema``: keep an exponential moving average of the weights (:class:`EMA` callback)."""

    enable: bool | None = False
    decay: float | None = 0.999
    cpu_offload: bool | None = False
    validate_original_weights: bool | None = False
    every_n_steps: int = 1


@dataclass
class ExpManagerConfig:
    """The ``exp_manager`` section of a NeMo config."""

    # Log folder
    explicit_log_dir: str | None = None
    exp_dir: str | None = None
    name: str | None = None
    version: str | None = None
    use_datetime_version: bool | None = True
    resume_if_exists: bool | None = False
    resume_past_end: bool | None = False
    resume_ignore_no_checkpoint: bool | None = False
    resume_from_checkpoint: str | None = None
    # Loggers
    create_tensorboard_logger: bool | None = True
    summary_writer_kwargs: dict[Any, Any] | None = None
    create_csv_logger: bool | None = False
    create_wandb_logger: bool | None = False
    wandb_logger_kwargs: dict[Any, Any] | None = None
    # Checkpointing and early stopping
    create_checkpoint_callback: bool | None = True
    checkpoint_callback_params: CallbackParams | None = field(default_factory=CallbackParams)
    create_early_stopping_callback: bool | None = False
    early_stopping_callback_params: EarlyStoppingParams | None = field(default_factory=EarlyStoppingParams)
    # Extras
    files_to_copy: list[str] | None = None
    log_step_timing: bool | None = True
    step_timing_kwargs: StepTimingParams | None = field(default_factory=StepTimingParams)
    log_local_rank_0_only: bool | None = False
    log_global_rank_0_only: bool | None = False
    seconds_to_sleep: float = 5
    # Exponential moving average of the weights, and a wall-time limit per run ("DD:HH:MM:SS") not carried
    # over when resuming (StatelessTimer).
    ema: EMAParams | None = field(default_factory=EMAParams)
    max_time_per_run: str | None = None


# File handlers installed by the latest exp_manager call, removed by the next one so that logs of a new run
# do not keep flowing into an old run's files.
_installed_handlers: list[tuple[Any, _std_logging.Handler]] = []
_LIGHTNING_LOGGER_NAMES = ("pytorch_lightning", "lightning_fabric")


def exp_manager(trainer: pl.Trainer, cfg: DictConfig | dict[str, Any] | None = None) -> Path | None:
    """Set up the log folder, loggers, checkpointing and resuming of ``trainer`` (NeMo's ``exp_manager``).

    Args:
        trainer: a Lightning trainer built with ``logger=False`` and ``enable_checkpointing=False`` when
            ``exp_manager`` is to create the loggers and the checkpoint callback (the defaults).
        cfg: the ``exp_manager`` config (keys of :class:`ExpManagerConfig`). ``None`` disables ``exp_manager``.

    Returns:
        The run's log folder, or ``None`` when disabled (no ``cfg``, or ``trainer.fast_dev_run``).

    Raises:
        ValueError: unknown key or wrong value type in ``cfg`` (the message names the key and lists the valid
            ones), conflicting options, or a previous run that already finished when resuming.
        LoggerMisconfigurationError: the trainer has a logger while ``exp_manager`` should create one.
        CheckpointMisconfigurationError: the trainer has a ``ModelCheckpoint`` while ``exp_manager`` should
            create one.
        NotFoundError: ``resume_if_exists`` without a checkpoint to resume (and not
            ``resume_ignore_no_checkpoint``).
        LogDirError: the log or checkpoint folder cannot be created or written, or its disk has less than
            :data:`MIN_FREE_DISK_BYTES` free.
        ImportError: ``create_wandb_logger`` without the ``wandb`` package.
    """
    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    global_rank = trainer.node_rank * trainer.num_devices + local_rank

    if cfg is None:
        logging.error("exp_manager did not receive a cfg argument. It will be disabled.")
        return None
    if trainer.fast_dev_run:
        logging.info(
            "Trainer was called with fast_dev_run. exp_manager will return without any functionality."
        )
        return None

    cfg = _validated_config(cfg)
    error_checks(trainer, cfg)
    if cfg.log_local_rank_0_only and cfg.log_global_rank_0_only:
        raise ValueError(
            "Cannot set both log_local_rank_0_only and log_global_rank_0_only to True. Please set either one or "
            "neither in the exp_manager config."
        )
    _remove_installed_handlers()

    log_dir, exp_dir, name, version = get_log_dir(
        trainer=trainer,
        exp_dir=cfg.exp_dir,
        name=cfg.name,
        version=cfg.version,
        explicit_log_dir=cfg.explicit_log_dir,
        use_datetime_version=cfg.use_datetime_version,
        resume_if_exists=cfg.resume_if_exists,
    )
    _check_run_folders(log_dir, cfg)
    check_resume(
        trainer,
        log_dir,
        resume_if_exists=cfg.resume_if_exists,
        resume_past_end=cfg.resume_past_end,
        resume_ignore_no_checkpoint=cfg.resume_ignore_no_checkpoint,
        dirpath=cfg.checkpoint_callback_params.dirpath,
        resume_from_checkpoint=cfg.resume_from_checkpoint,
    )
    checkpoint_name = name or cfg.name or "default"
    cfg.name = name
    cfg.version = version

    os.makedirs(log_dir, exist_ok=True)
    log_file = log_dir / f"nemo_log_globalrank-{global_rank}_localrank-{local_rank}.txt"
    if (
        (cfg.log_local_rank_0_only and local_rank == 0)
        or (cfg.log_global_rank_0_only and global_rank == 0)
        or not (cfg.log_local_rank_0_only or cfg.log_global_rank_0_only)
    ):
        _installed_handlers.append((logging, logging.add_file_handler(log_file)))
    logging.info(f"Experiments will be logged at {log_dir}")
    trainer._default_root_dir = str(log_dir)

    if cfg.create_tensorboard_logger or cfg.create_csv_logger or cfg.create_wandb_logger:
        configure_loggers(
            trainer,
            exp_dir=exp_dir,
            name=cfg.name,
            version=cfg.version,
            create_tensorboard_logger=cfg.create_tensorboard_logger,
            summary_writer_kwargs=cfg.summary_writer_kwargs,
            create_csv_logger=cfg.create_csv_logger,
            create_wandb_logger=cfg.create_wandb_logger,
            wandb_kwargs=cfg.wandb_logger_kwargs,
        )

    if cfg.log_step_timing:
        trainer.callbacks.insert(0, TimingCallback(timer_kwargs=_plain_dict(cfg.step_timing_kwargs)))
    if cfg.ema is not None and cfg.ema.enable:
        trainer.callbacks.append(
            EMA(
                decay=cfg.ema.decay,
                validate_original_weights=cfg.ema.validate_original_weights,
                cpu_offload=cfg.ema.cpu_offload,
                every_n_steps=cfg.ema.every_n_steps,
            )
        )
    if cfg.create_early_stopping_callback:
        trainer.callbacks.append(EarlyStopping(**_plain_dict(cfg.early_stopping_callback_params)))
    if cfg.create_checkpoint_callback:
        configure_checkpointing(trainer, log_dir, checkpoint_name, cfg.checkpoint_callback_params)
    if cfg.max_time_per_run is not None:
        _add_stateless_timer(trainer, cfg.max_time_per_run)

    if is_global_rank_zero():
        _write_run_files(log_dir, cfg.files_to_copy)
    elif trainer.num_nodes * trainer.num_devices > 1:
        # Give rank 0 time to create the folders and copy files before the other ranks use them.
        time.sleep(cfg.seconds_to_sleep)
    return log_dir


def check_writable_folder(folder: str | os.PathLike[str], what: str, fix: str) -> None:
    """Create ``folder`` if needed and check that a file can be written there and its disk is not full.

    Args:
        folder: the folder a run will write to.
        what: what the folder is for, for the message ("log folder").
        fix: the setting that chooses the folder, for the message ("exp_manager.exp_dir").

    Raises:
        LogDirError: the folder cannot be created or written (the message gives the system's reason), or its
            disk has less than :data:`MIN_FREE_DISK_BYTES` free.
    """
    folder = Path(folder)
    advice = f"Set {fix} to a folder on a disk with free space that you can write to"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise LogDirError(
            f"exp_manager cannot create the {what} {str(folder)!r}: {error.strerror or error}. {advice}, or "
            "fix the permissions of its parent folder."
        ) from error
    free = shutil.disk_usage(folder).free
    if free < MIN_FREE_DISK_BYTES:
        raise LogDirError(
            f"The disk holding the {what} {str(folder)!r} has {_mib(free)} free; exp_manager requires at least "
            f"{_mib(MIN_FREE_DISK_BYTES)} (nemo.utils.exp_manager.MIN_FREE_DISK_BYTES) before training starts. "
            f"Free some space, or {advice[0].lower()}{advice[1:]}."
        )
    try:
        descriptor, probe = tempfile.mkstemp(prefix=".nemo_write_probe_", dir=folder)
        try:
            os.write(descriptor, b"\0")
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
            os.remove(probe)
    except OSError as error:
        raise LogDirError(
            f"exp_manager cannot write to the {what} {str(folder)!r}: {error.strerror or error}. {advice}, or "
            "make the folder writable by this user."
        ) from error


def error_checks(trainer: pl.Trainer, cfg: DictConfig) -> None:
    """Check that the trainer agrees with the ``exp_manager`` config (NeMo's checks).

    Raises:
        ValueError: Hydra changed the working directory (pass ``hydra.run.dir=.``).
        LoggerMisconfigurationError: the trainer has a logger and ``exp_manager`` should create one.
    """
    from hydra.core.hydra_config import HydraConfig
    from hydra.utils import get_original_cwd

    if HydraConfig.initialized() and get_original_cwd() != os.getcwd():
        raise ValueError(
            "Hydra changed the working directory. This interferes with ExpManger's functionality. Please pass "
            "hydra.run.dir=. to your python script."
        )
    if trainer.logger is not None and (
        cfg.create_tensorboard_logger or cfg.create_csv_logger or cfg.create_wandb_logger
    ):
        raise LoggerMisconfigurationError(
            "The pytorch lightning trainer that was passed to exp_manager contained a logger, and either "
            f"create_tensorboard_logger: {cfg.create_tensorboard_logger}, create_csv_logger: "
            f"{cfg.create_csv_logger} or create_wandb_logger: {cfg.create_wandb_logger} was set to True. "
            "These can only be used if trainer does not already have a logger."
        )
    if trainer.num_devices > 1 and not isinstance(trainer.strategy, DDPStrategy):
        logging.error(
            f"You are running multi-device ({trainer.num_devices}) with {type(trainer.strategy).__name__}, which "
            "exp_manager does not support. Use a DDP strategy (trainer.strategy=ddp)."
        )


def configure_loggers(
    trainer: pl.Trainer,
    exp_dir: str,
    name: str,
    version: str | None,
    create_tensorboard_logger: bool,
    summary_writer_kwargs: DictConfig | dict[str, Any] | None,
    create_csv_logger: bool,
    create_wandb_logger: bool,
    wandb_kwargs: DictConfig | dict[str, Any] | None,
) -> None:
    """Create the requested loggers, all writing to ``{exp_dir}/{name}/{version}``, and give them to the trainer.

    Raises:
        ValueError: ``summary_writer_kwargs`` sets ``log_dir``, or ``wandb_logger_kwargs`` has neither
            ``name`` nor ``project``.
        ImportError: ``create_wandb_logger`` without the ``wandb`` package.
    """
    version = "" if version is None else version
    loggers: list[Logger] = []
    if create_tensorboard_logger:
        writer_kwargs = _plain_dict(summary_writer_kwargs)
        if "log_dir" in writer_kwargs:
            raise ValueError(
                "You cannot pass `log_dir` as part of `summary_writer_kwargs`. `log_dir` is handled by lightning's "
                "TensorBoardLogger logger."
            )
        loggers.append(TensorBoardLogger(save_dir=exp_dir, name=name, version=version, **writer_kwargs))
        logging.info("TensorboardLogger has been set up")
    if create_csv_logger:
        loggers.append(CSVLogger(save_dir=exp_dir, name=name, version=version))
        logging.info("CSVLogger has been set up")
    if create_wandb_logger:
        loggers.append(_wandb_logger(exp_dir, version, _plain_dict(wandb_kwargs)))
        logging.info("WandBLogger has been set up")
    trainer.loggers = loggers


def configure_checkpointing(
    trainer: pl.Trainer, log_dir: Path, name: str, params: DictConfig
) -> NeMoModelCheckpoint:
    """Add a :class:`NeMoModelCheckpoint` built from ``checkpoint_callback_params`` to the trainer.

    Raises:
        CheckpointMisconfigurationError: the trainer already has a ``ModelCheckpoint``.
    """
    for callback in trainer.callbacks:
        if isinstance(callback, ModelCheckpoint):
            raise CheckpointMisconfigurationError(
                "The pytorch lightning trainer that was passed to exp_manager contained a ModelCheckpoint "
                "and create_checkpoint_callback was set to True. Please either set create_checkpoint_callback "
                "to False, or remove ModelCheckpoint from the lightning trainer (build it with "
                "enable_checkpointing=False)."
            )
    params = OmegaConf.create(OmegaConf.to_container(params))
    if params.filepath is not None:
        logging.warning("filepath is deprecated. Please switch to dirpath and filename instead")
        if params.dirpath is None:
            params.dirpath = str(Path(params.filepath).parent)
        if params.filename is None:
            params.filename = Path(params.filepath).name
    with open_dict(params):
        del params["filepath"]
    if params.dirpath is None:
        params.dirpath = str(Path(log_dir) / "checkpoints")
    if params.filename is None:
        params.filename = f"{name}--{{{params.monitor}:.4f}}-{{epoch}}"
    if params.prefix is None:
        params.prefix = name

    if params.monitor and "val" in params.monitor:
        if (
            trainer.max_epochs is not None
            and trainer.max_epochs != -1
            and trainer.max_epochs < trainer.check_val_every_n_epoch
        ):
            logging.error(
                "The checkpoint callback was told to monitor a validation value but trainer.max_epochs("
                f"{trainer.max_epochs}) was less than trainer.check_val_every_n_epoch({trainer.check_val_every_n_epoch}"
                f"). It is very likely this run will fail with ModelCheckpoint(monitor='{params.monitor}') not found "
                "in the returned metrics. Please ensure that validation is run within trainer.max_epochs."
            )
        elif trainer.max_steps is not None and trainer.max_steps != -1:
            logging.warning(
                "The checkpoint callback was told to monitor a validation value and trainer's max_steps was set to "
                f"{trainer.max_steps}. Please ensure that max_steps will run for at least "
                f"{trainer.check_val_every_n_epoch} epochs to ensure that checkpointing will not error out."
            )

    checkpoint_callback = NeMoModelCheckpoint(**OmegaConf.to_container(params))
    checkpoint_callback.CHECKPOINT_NAME_LAST = f"{params.filename}-last"
    checkpoint_callback.last_model_path = str(trainer.ckpt_path or "")
    trainer.callbacks.append(checkpoint_callback)
    return checkpoint_callback


def _check_run_folders(log_dir: Path, cfg: DictConfig) -> None:
    """:func:`check_writable_folder` on the log folder and (when exp_manager checkpoints) the checkpoint folder."""
    log_key = "exp_manager.explicit_log_dir" if cfg.explicit_log_dir else "exp_manager.exp_dir"
    check_writable_folder(log_dir, "log folder", log_key)
    if not cfg.create_checkpoint_callback:
        return
    params = cfg.checkpoint_callback_params
    if params.dirpath:
        checkpoint_dir, key = Path(params.dirpath), "exp_manager.checkpoint_callback_params.dirpath"
    elif params.filepath:
        checkpoint_dir, key = Path(params.filepath).parent, "exp_manager.checkpoint_callback_params.filepath"
    else:
        checkpoint_dir, key = Path(log_dir) / "checkpoints", log_key
    check_writable_folder(checkpoint_dir, "checkpoint folder", key)


def _mib(size: int) -> str:
    return f"{size / 1024**2:.1f} MiB"


def _add_stateless_timer(trainer: pl.Trainer, max_time_per_run: str) -> None:
    """Limit each run to ``max_time_per_run``; a Lightning ``Timer`` (from ``trainer.max_time``) is replaced."""
    timer = StatelessTimer(max_time_per_run)
    for index, callback in enumerate(trainer.callbacks):
        if isinstance(callback, Timer):
            logging.warning(
                "Found a PTL Timer callback, replacing with a StatelessTimer callback. This will happen if you set "
                "trainer.max_time as well as exp_manager.max_time_per_run."
            )
            trainer.callbacks[index] = timer
            return
    trainer.callbacks.append(timer)


def _validated_config(cfg: DictConfig | dict[str, Any]) -> DictConfig:
    """``cfg`` merged over :class:`ExpManagerConfig`, after checking every key (nested ones too)."""
    if isinstance(cfg, dict):
        cfg = OmegaConf.create(cfg)
    elif not isinstance(cfg, DictConfig):
        raise ValueError(
            f"exp_manager received a cfg of type {type(cfg).__name__}; expected a dict or a DictConfig with the "
            "keys of nemo.utils.exp_manager.ExpManagerConfig."
        )
    values = OmegaConf.to_container(cfg, resolve=True)
    _check_keys(values, ExpManagerConfig, "exp_manager")
    try:
        return OmegaConf.merge(OmegaConf.structured(ExpManagerConfig), OmegaConf.create(values))
    except ValidationError as error:
        raise ValueError(
            f"Invalid value for key exp_manager.{error.full_key} in the exp_manager config: {error.msg}. "
            "Fix it in the config."
        ) from error


def _check_keys(values: dict[str, Any], schema: type, path: str) -> None:
    fields = {f.name: f for f in dataclasses.fields(schema)}
    for key, value in values.items():
        if key not in fields:
            raise ExpManagerConfigKeyError(
                f"Unknown key {path}.{key} in the exp_manager config (found {key}={value!r}). "
                f"Valid keys of {path} are: {sorted(fields)}. Fix or remove it."
            )
        factory = fields[key].default_factory
        if factory is not dataclasses.MISSING and isinstance(value, dict):
            _check_keys(value, type(factory()), f"{path}.{key}")


def _plain_dict(values: DictConfig | dict[str, Any] | None) -> dict[str, Any]:
    if values is None:
        return {}
    if isinstance(values, DictConfig):
        return OmegaConf.to_container(values, resolve=True)
    return dict(values)


def _wandb_logger(exp_dir: str, version: str, wandb_kwargs: dict[str, Any]) -> WandbLogger:
    import importlib.util

    if "name" not in wandb_kwargs and "project" not in wandb_kwargs:
        raise ValueError(
            "name and project are required for wandb_logger: set exp_manager.wandb_logger_kwargs.name and "
            "exp_manager.wandb_logger_kwargs.project."
        )
    if importlib.util.find_spec("wandb") is None:
        raise ImportError(
            "exp_manager.create_wandb_logger is True but the `wandb` package is not installed. "
            "Install it with `pip install wandb`, or set create_wandb_logger to False."
        )
    if wandb_kwargs.get("save_dir") is None:
        wandb_kwargs["save_dir"] = exp_dir
    os.makedirs(wandb_kwargs["save_dir"], exist_ok=True)
    return WandbLogger(version=version or None, **wandb_kwargs)


def _write_run_files(log_dir: Path, files_to_copy: list[str] | None) -> None:
    """Copy ``files_to_copy`` and write ``cmd-args.log``, ``git-info.log`` and ``lightning_logs.txt``."""
    for file in files_to_copy or []:
        if not Path(file).is_file():
            raise FileNotFoundError(
                f"exp_manager.files_to_copy lists {file!r}, which is not a file (cwd: {os.getcwd()}). "
                "Fix the path or remove it from files_to_copy."
            )
        shutil.copy(Path(file), log_dir)

    (log_dir / "cmd-args.log").write_text(" ".join(sys.argv), encoding="utf-8")

    in_git_repo, git_hash = get_git_hash()
    if in_git_repo:
        (log_dir / "git-info.log").write_text(f"commit hash: {git_hash}{get_git_diff()}", encoding="utf-8")

    for logger_name in _LIGHTNING_LOGGER_NAMES:
        handler = _std_logging.FileHandler(log_dir / "lightning_logs.txt")
        handler.setLevel(_std_logging.INFO)
        lightning_logger = _std_logging.getLogger(logger_name)
        lightning_logger.addHandler(handler)
        _installed_handlers.append((lightning_logger, handler))


def _remove_installed_handlers() -> None:
    while _installed_handlers:
        owner, handler = _installed_handlers.pop()
        if owner is logging:
            logging.remove_handler(handler)
        else:
            owner.removeHandler(handler)
            handler.close()

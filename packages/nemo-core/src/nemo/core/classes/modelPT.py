"""ModelPT: the Lightning-based NeMo model (NeMo 1.23's class, names and behaviour).

A subclass implements ``setup_training_data`` / ``setup_validation_data`` (and optionally
``setup_test_data``), ``list_available_models`` and Lightning's ``training_step`` / ``validation_step``.
ModelPT then provides, from the model config (``cfg``):

- data: ``train_ds`` / ``validation_ds`` / ``test_ds`` set up at construction (unless ``defer_setup`` or
  while restoring); a list of ``manifest_filepath`` values gives one dataloader each, whose metrics are
  logged with a prefix taken from the file name (``dev_other_val_loss``);
- optimization: ``optim`` (``name``, ``lr``, ``betas``, ``weight_decay``, ``sched``) through
  ``nemo.core.optim``, with ``max_steps`` computed from the trainer when it is not given;
- ``.nemo`` archives: ``save_to`` / ``restore_from`` / ``register_artifact`` / ``from_pretrained`` through
  :class:`~nemo.core.connectors.save_restore_connector.SaveRestoreConnector`;
- initialisation from other checkpoints: ``maybe_init_from_pretrained_checkpoint``.

Example:
    >>> model = MyModel(cfg=cfg.model, trainer=trainer)
    >>> trainer.fit(model)
    >>> model.save_to("my_model.nemo")
    >>> same = MyModel.restore_from("my_model.nemo")
"""

from __future__ import annotations

import copy
import functools
import os
import pickle
import tempfile
import uuid
from abc import abstractmethod
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, NamedTuple

import pytorch_lightning as pl
import torch
from nemo.core.classes.model import Model
from nemo.core.connectors.restore_context import (
    RestoreContext,
    current_restore_context,
    restoring,
    set_restore_context,
)
from nemo.core.connectors.save_restore_connector import SaveRestoreConnector
from nemo.core.connectors.weights import (
    UnsafeCheckpointError,
    config_safe_globals,
    load_checkpoint,
    plain_containers,
    unpickling_error_reason,
)
from nemo.core.version import __version__
from nemo.utils import logging, model_utils
from nemo.utils.app_state import AppState
from nemo.utils.distributed import shard_for_evaluation
from nemo.utils.exceptions import NeMoBaseException
from omegaconf import DictConfig, ListConfig, OmegaConf, open_dict
from pytorch_lightning.utilities import model_summary
from pytorch_lightning.utilities.rank_zero import rank_zero_only

__all__ = ["ModelPT"]

_INIT_KEYS = ("init_from_nemo_model", "init_from_pretrained_model", "init_from_ptl_ckpt")


class _Stage(NamedTuple):
    """Where ModelPT keeps one evaluation stage's dataloaders, their logging names and the main index."""

    prefix: str
    dl_attr: str
    names_attr: str
    idx_attr: str
    idx_key: str


_STAGES = {
    "validation": _Stage("val", "_validation_dl", "_validation_names", "_val_dl_idx", "val_dl_idx"),
    "test": _Stage("test", "_test_dl", "_test_names", "_test_dl_idx", "test_dl_idx"),
}


def _log_training_step_outputs(training_step: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a ``training_step`` so that a returned ``{"loss": ..., "log": {...}}`` logs ``log`` per step."""
    if getattr(training_step, "_nemo_logs_outputs", False):
        return training_step

    @functools.wraps(training_step)
    def wrapped(self: ModelPT, *args: Any, **kwargs: Any) -> Any:
        output = training_step(self, *args, **kwargs)
        if isinstance(output, dict) and "log" in output:
            self.log_dict(output.pop("log"), on_step=True)
        return output

    wrapped._nemo_logs_outputs = True
    return wrapped


class ModelPT(pl.LightningModule, Model):
    """Interface for PyTorch Lightning based NeMo models."""

    _save_restore_connector: SaveRestoreConnector = SaveRestoreConnector()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # Subclasses may register artifacts before calling ModelPT.__init__, so they need a connector
        # before the instance has one.
        cls._save_restore_connector = SaveRestoreConnector()
        if "training_step" in cls.__dict__:
            cls.training_step = _log_training_step_outputs(cls.__dict__["training_step"])

    def __init__(self, cfg: DictConfig | Mapping[str, Any], trainer: pl.Trainer | None = None) -> None:
        """Store the config, attach the trainer and set up the datasets the config describes.

        Args:
            cfg: model config; may hold ``train_ds``, ``validation_ds``, ``test_ds`` and ``optim``.
            trainer: Lightning trainer (needed to compute the scheduler's ``max_steps``).

        Raises:
            ValueError: ``trainer`` is not a Lightning ``Trainer``, or ``cfg`` has a ``model`` key.
        """
        if trainer is not None and not isinstance(trainer, pl.Trainer):
            raise ValueError(
                f"trainer must be None or a pytorch_lightning.Trainer; got {type(trainer).__name__}. "
                "Create it with pytorch_lightning.Trainer(...) and pass it as trainer=."
            )
        super().__init__()
        # Child NeMo models registered with register_nemo_submodule: attribute name -> config key.
        self._nemo_submodule_name_to_config_field: dict[str, str] = {}
        cfg = model_utils.convert_model_config_to_dict_config(cfg)
        if "model" in cfg:
            raise ValueError(
                "Creating model config node is forbidden: the model config has a `model` key, a name reserved "
                "because it clashes with Lightning checkpoints. Pass the `model` section itself, e.g. cfg.model, "
                "or rename the key."
            )
        with open_dict(cfg):
            if "target" not in cfg:
                cfg.target = f"{type(self).__module__}.{type(self).__name__}"
            if "nemo_version" not in cfg:
                cfg.nemo_version = __version__
        self._cfg = cfg
        self.save_hyperparameters({"cfg": self._cfg})
        self._train_dl = None
        self._validation_dl = None
        self._test_dl = None
        self._optimizer_param_groups = None
        self._optimizer = None
        self._scheduler = None
        self._validation_step_outputs = None
        self._test_step_outputs = None
        self.set_trainer(trainer)
        self._save_restore_connector = SaveRestoreConnector()
        # NeMo's process-wide registry of models; restore_from records the path this one came from.
        self.model_guid = str(uuid.uuid4())
        AppState().register_model_guid(self.model_guid)

        if not self._is_model_being_restored():
            for key, setup in (
                ("train_ds", self.setup_training_data),
                ("validation_ds", self.setup_multiple_validation_data),
                ("test_ds", self.setup_multiple_test_data),
            ):
                ds_cfg = self._cfg.get(key)
                if ds_cfg is not None and not ds_cfg.get("defer_setup", False):
                    setup(ds_cfg)
        else:
            for key in ("train_ds", "validation_ds", "test_ds"):
                if self._cfg.get(key) is not None:
                    logging.warning(
                        f"The restored model's `{key}` was not set up (its files may not exist here). To train, "
                        f"validate or test, call the matching setup_*_data() method with a valid config.\n"
                        f"{OmegaConf.to_yaml(self._cfg[key])}"
                    )

    # --------------------------------------------------------------------------------------- config
    @property
    def cfg(self) -> DictConfig:
        """The model config. Changing it does not rebuild the model; create a new model for that."""
        return self._cfg

    @cfg.setter
    def cfg(self, cfg: DictConfig) -> None:
        self._cfg = cfg
        self._set_hparams({"cfg": self._cfg})
        self._hparams_initial = copy.deepcopy(self._hparams)

    @property
    def num_weights(self) -> int:
        """Number of trainable parameters."""
        return sum(parameter.numel() for parameter in self.parameters() if parameter.requires_grad)

    def set_trainer(self, trainer: pl.Trainer | None) -> None:
        """Attach a Lightning trainer (or detach with ``None``)."""
        self.trainer = trainer
        self._trainer = trainer
        self.set_world_size(trainer)

    def set_world_size(self, trainer: pl.Trainer | None) -> None:
        """``self.world_size``: devices x nodes of ``trainer``, 1 without one."""
        self.world_size = 1
        if trainer is not None and trainer.num_devices and trainer.num_nodes:
            self.world_size = trainer.num_devices * trainer.num_nodes

    def summarize(self, max_depth: int = 1) -> model_summary.ModelSummary:
        """Lightning's layer summary of this model, ``max_depth`` levels deep."""
        return model_summary.summarize(self, max_depth=max_depth)

    def prepare_test(self, trainer: pl.Trainer) -> bool:
        """Attach ``trainer`` for testing; False (with a logged reason) when testing is not advisable.

        Example:
            >>> if model.prepare_test(trainer):
            ...     trainer.test(model)
        """
        if "test_ds" not in self._cfg:
            logging.info("No `test_ds` in the model config; nothing to test.")
            return False
        if trainer is not None and trainer.num_devices > 1:
            logging.warning(
                "Testing on several devices can duplicate or drop samples at the batch boundaries. Test with a "
                "single-device trainer, e.g. Trainer(devices=1), then call prepare_test(trainer) again."
            )
            return False
        self.set_trainer(trainer)
        return True

    # ----------------------------------------------------------------------------------------- data
    @abstractmethod
    def setup_training_data(self, train_data_config: DictConfig | dict) -> None:
        """Set ``self._train_dl`` from the ``train_ds`` config."""

    @abstractmethod
    def setup_validation_data(self, val_data_config: DictConfig | dict) -> None:
        """Set ``self._validation_dl`` from the ``validation_ds`` config."""

    def setup_test_data(self, test_data_config: DictConfig | dict) -> None:
        """Set ``self._test_dl`` from the ``test_ds`` config (optional for subclasses).

        Raises:
            NotImplementedError: the subclass does not support testing.
        """
        raise NotImplementedError(
            f"{type(self).__name__} does not implement setup_test_data(test_data_config); override it to "
            "build self._test_dl, or remove `test_ds` from the config."
        )

    def setup_multiple_validation_data(self, val_data_config: DictConfig | dict) -> None:
        """Set up one validation dataloader per path listed in ``val_data_config`` (or a single one).

        The logging prefix of each comes from its file name; ``val_dl_idx`` picks the dataloader whose
        metrics are also logged without a prefix (default 0).
        """
        self._setup_multiple("validation", val_data_config)

    def setup_multiple_test_data(self, test_data_config: DictConfig | dict) -> None:
        """As :meth:`setup_multiple_validation_data`, for ``test_ds`` (``test_dl_idx``)."""
        self._setup_multiple("test", test_data_config)

    def _setup_multiple(self, stage: str, data_config: DictConfig | dict) -> None:
        where = _STAGES[stage]
        setattr(self, where.idx_attr, 0)
        setattr(self, where.names_attr, None)
        setattr(self, where.dl_attr, None)
        self._update_dataset_config(dataset_name=stage, config=data_config)
        try:
            self._multi_dataset_mode = True
            self._resolve_dataloaders(stage)
        finally:
            self._multi_dataset_mode = False
        dataloaders = getattr(self, where.dl_attr)
        if getattr(self, where.names_attr) is None and isinstance(dataloaders, (list, tuple)):
            setattr(self, where.names_attr, [f"{where.prefix}_{index}_" for index in range(len(dataloaders))])
        setattr(self, f"_{stage}_step_outputs", None)

    def _resolve_dataloaders(self, stage: str) -> None:
        """Set up one dataloader per dataset path listed in ``cfg.<stage>_ds`` (NeMo's multi-dataset rules).

        The config's ``val_dl_idx`` / ``test_dl_idx`` is taken out and kept as the main index. Without a
        key holding existing paths (or with a negative index) the stage's setup method gets the config
        once; otherwise once per path, and each dataloader is named after its file.
        """
        where = _STAGES[stage]
        setup = self.setup_validation_data if stage == "validation" else self.setup_test_data
        ds_cfg = copy.deepcopy(self._cfg)[f"{stage}_ds"]
        dl_idx = 0
        if where.idx_key in ds_cfg:
            container = OmegaConf.to_container(ds_cfg)
            dl_idx = container.pop(where.idx_key)
            ds_cfg = OmegaConf.create(container)
        setattr(self, where.idx_attr, dl_idx)

        item_key = model_utils.resolve_dataset_name_from_cfg(ds_cfg)
        if item_key is None or dl_idx < 0:
            logging.debug(f"No dataset path found in {stage}_ds; setting up a single {stage} dataloader.")
            setup(ds_cfg)
            return
        values = ds_cfg[item_key]
        if not isinstance(values, (list, tuple, ListConfig)):
            setup(ds_cfg)
            names = [model_utils.parse_dataset_as_name(values)]
        else:
            dataloaders = []
            for value in values:
                one_cfg = copy.deepcopy(ds_cfg)
                one_cfg[item_key] = value
                setup(one_cfg)
                dataloaders.append(getattr(self, where.dl_attr))
            setattr(self, where.dl_attr, dataloaders)
            names = [model_utils.parse_dataset_as_name(value) for value in values]
        model_utils.unique_names_check(names)
        setattr(self, where.names_attr, names)

    def _update_dataset_config(self, dataset_name: str, config: DictConfig | dict | None) -> None:
        """Store ``config`` as ``cfg.<dataset_name>_ds`` (skipped while setting up several dataloaders).

        Raises:
            ValueError: ``dataset_name`` is not ``train``, ``validation`` or ``test``.
        """
        if getattr(self, "_multi_dataset_mode", False) or config is None:
            return
        if dataset_name not in ("train", "validation", "test"):
            raise ValueError(f"dataset_name must be 'train', 'validation' or 'test'; got {dataset_name!r}.")
        if not isinstance(config, DictConfig):
            config = OmegaConf.create(config)
        with open_dict(self._cfg):
            self._cfg[f"{dataset_name}_ds"] = config
        self.cfg = self._cfg

    def setup(self, stage: str | None = None) -> None:
        """Lightning hook: set up datasets whose config has ``defer_setup: true``."""
        if stage == "fit" and self._deferred("train_ds") and self._train_dl is None:
            self.setup_training_data(self._cfg.train_ds)
        if stage in ("fit", "validate") and self._deferred("validation_ds") and not self._validation_dl:
            self.setup_multiple_validation_data(self._cfg.validation_ds)
        if stage == "test" and self._deferred("test_ds") and not self._test_dl:
            self.setup_multiple_test_data(self._cfg.test_ds)

    def _deferred(self, key: str) -> bool:
        ds_cfg = self._cfg.get(key)
        return ds_cfg is not None and bool(ds_cfg.get("defer_setup", False))

    def train_dataloader(self) -> Any:
        return self._train_dl

    def val_dataloader(self) -> Any:
        """The validation loader(s); in a distributed run, each process's disjoint unrepeated share.

        See :func:`nemo.utils.distributed.shard_for_evaluation`: with it, metrics reduced from totals summed
        over processes equal the one-process result on the same data.
        """
        # Lightning 2 refuses None; an empty list means "no validation".
        if self._validation_dl is None:
            return []
        return shard_for_evaluation(self._validation_dl, self._uses_distributed_sampler())

    def test_dataloader(self) -> Any:
        """As :meth:`val_dataloader`, for the test loader(s)."""
        if self._test_dl is None:
            return []
        return shard_for_evaluation(self._test_dl, self._uses_distributed_sampler())

    @property
    def _ddp_params_and_buffers_to_ignore(self) -> list[str]:
        """Buffers that ``DistributedDataParallel`` leaves to each process (it reads this attribute).

        A submodule lists such buffers in a ``rank_local_buffers`` class attribute: buffers that are a pure
        function of their size, like sinusoidal position tables that each process grows to its own longest
        input. DDP would broadcast rank 0's copy every training step, which fails once the sizes differ, so
        without this every forward would have to agree on sizes across processes (NeMo 1.23's Conformer does
        an all-reduce per forward), and evaluation shards of unequal length would hang.
        """
        local = [
            f"{module_name}.{buffer}" if module_name else buffer
            for module_name, module in self.named_modules()
            for buffer in getattr(module, "rank_local_buffers", ())
        ]
        return local + list(self.__dict__.get("_extra_ddp_ignored", []))

    @_ddp_params_and_buffers_to_ignore.setter
    def _ddp_params_and_buffers_to_ignore(self, names: list[str]) -> None:
        # DistributedDataParallel._set_params_and_buffers_to_ignore_for_model assigns it: keep those too.
        self.__dict__["_extra_ddp_ignored"] = list(names)

    def _uses_distributed_sampler(self) -> bool:
        """The trainer's ``use_distributed_sampler`` (True without a trainer, as Lightning's default)."""
        connector = getattr(self._trainer, "_accelerator_connector", None)
        return bool(getattr(connector, "use_distributed_sampler", True))

    # ----------------------------------------------------------------------------- epoch-end hooks
    @property
    def validation_step_outputs(self) -> list:
        """Where ``validation_step`` appends its outputs: a list, or one list per dataloader when there are several."""
        if self._validation_step_outputs is None:
            self._validation_step_outputs = self._empty_outputs(self._validation_dl)
        return self._validation_step_outputs

    @validation_step_outputs.setter
    def validation_step_outputs(self, value: list) -> None:
        self._validation_step_outputs = value

    @property
    def test_step_outputs(self) -> list:
        """As :attr:`validation_step_outputs`, for ``test_step``."""
        if self._test_step_outputs is None:
            self._test_step_outputs = self._empty_outputs(self._test_dl)
        return self._test_step_outputs

    @test_step_outputs.setter
    def test_step_outputs(self, value: list) -> None:
        self._test_step_outputs = value

    @staticmethod
    def _empty_outputs(dataloaders: Any) -> list:
        if isinstance(dataloaders, (list, tuple)) and len(dataloaders) > 1:
            return [[] for _ in dataloaders]
        return []

    def on_validation_epoch_end(self) -> dict[str, Any] | None:
        """Reduce ``validation_step_outputs`` through ``multi_validation_epoch_end`` per dataloader and log.

        With several dataloaders, each one's ``log`` entries get its prefix (``<name>_val_loss``); those of
        the ``val_dl_idx`` dataloader are logged without a prefix too.
        """
        return self._on_epoch_end("validation", self.validation_step_outputs, self.multi_validation_epoch_end)

    def on_test_epoch_end(self) -> dict[str, Any] | None:
        """As :meth:`on_validation_epoch_end`, for test (``multi_test_epoch_end``, ``test_dl_idx``)."""
        return self._on_epoch_end("test", self.test_step_outputs, self.multi_test_epoch_end)

    def _on_epoch_end(
        self, stage: str, outputs: list, reduce: Callable[[list, int], dict[str, Any] | None]
    ) -> dict[str, Any] | None:
        if not outputs:
            return {}
        if not isinstance(outputs[0], list):
            output_dict = reduce(outputs, 0)
            if output_dict is not None and "log" in output_dict:
                self.log_dict(output_dict.pop("log"), on_epoch=True)
            outputs.clear()
            return output_dict

        prefix_of = (
            self.get_validation_dataloader_prefix
            if stage == "validation"
            else self.get_test_dataloader_prefix
        )
        main_idx = getattr(self, _STAGES[stage].idx_attr, 0)
        loss_key = f"{_STAGES[stage].prefix}_loss"
        output_dict: dict[str, Any] = {"log": {}}
        for dataloader_idx, dataloader_outputs in enumerate(outputs):
            prefix = prefix_of(dataloader_idx)
            results = reduce(dataloader_outputs, dataloader_idx) or {}
            if loss_key in results and loss_key not in output_dict and dataloader_idx == main_idx:
                output_dict[loss_key] = results[loss_key]
            for key, value in results.items():
                if key != "log":
                    output_dict[prefix + key] = value
                    continue
                for log_key, log_value in value.items():
                    if log_key not in output_dict["log"] and dataloader_idx == main_idx:
                        output_dict["log"][log_key] = log_value
                    output_dict["log"][prefix + log_key] = log_value
            dataloader_outputs.clear()
        self.log_dict(output_dict.pop("log"), on_epoch=True)
        return output_dict

    def multi_validation_epoch_end(self, outputs: list, dataloader_idx: int = 0) -> dict[str, Any] | None:
        """Reduce one validation dataloader's outputs to ``{"val_loss": ..., "log": {...}}``; override this.

        Args:
            outputs: what ``validation_step`` appended for this dataloader.
            dataloader_idx: index of the dataloader.
        """
        logging.warning(
            f"{type(self).__name__} appends validation outputs but does not implement "
            "multi_validation_epoch_end(outputs, dataloader_idx); override it to log validation metrics."
        )
        return None

    def multi_test_epoch_end(self, outputs: list, dataloader_idx: int = 0) -> dict[str, Any] | None:
        """As :meth:`multi_validation_epoch_end`, for test outputs (``test_loss``)."""
        logging.warning(
            f"{type(self).__name__} appends test outputs but does not implement "
            "multi_test_epoch_end(outputs, dataloader_idx); override it to log test metrics."
        )
        return None

    def get_validation_dataloader_prefix(self, dataloader_idx: int = 0) -> str:
        """Logging prefix of validation dataloader ``dataloader_idx`` (e.g. ``"dev_clean_"``)."""
        return self._validation_names[dataloader_idx]

    def get_test_dataloader_prefix(self, dataloader_idx: int = 0) -> str:
        """Logging prefix of test dataloader ``dataloader_idx``."""
        return self._test_names[dataloader_idx]

    # --------------------------------------------------------------------------------- optimization
    def setup_optimizer_param_groups(self) -> None:
        """Set ``self._optimizer_param_groups``: all parameters, or per-module groups from ``optim_param_groups``.

        ``cfg.optim_param_groups: {encoder: {lr: 1e-4}}`` gives the encoder's parameters their own options;
        the remaining parameters form a first group with the optimizer's defaults.

        Raises:
            ValueError: a group names no attribute of the model, or one without parameters.
        """
        groups_cfg = self._cfg.get("optim_param_groups")
        if not groups_cfg:
            self._optimizer_param_groups = [{"params": self.parameters()}]
            return
        param_groups = []
        for group, group_cfg in groups_cfg.items():
            module = getattr(self, group, None)
            if module is None or not hasattr(module, "parameters"):
                raise ValueError(
                    f"optim_param_groups.{group}: the model has no module {group!r} with parameters. "
                    f"Use the name of a child module, one of {[name for name, _ in self.named_children()]}."
                )
            param_groups.append({"params": list(module.parameters()), **OmegaConf.to_container(group_cfg)})
        grouped = {id(p) for group in param_groups for p in group["params"]}
        other = [p for p in self.parameters() if id(p) not in grouped]
        self._optimizer_param_groups = ([{"params": other}] if other else []) + param_groups

    def setup_optimization(
        self,
        optim_config: DictConfig | dict | None = None,
        optim_kwargs: dict[str, Any] | None = None,
    ) -> tuple[torch.optim.Optimizer, dict[str, Any] | None] | None:
        """Build the optimizer and learning-rate scheduler from an ``optim`` config (default ``cfg.optim``).

        Config keys: ``name`` (a ``nemo.core.optim`` optimizer, default ``adam``) or ``_target_`` (an
        optimizer class path), ``lr``, other optimizer arguments (``betas``, ``weight_decay``, ...) flat or
        under ``args``, and ``sched`` (``name``, ``warmup_steps`` / ``warmup_ratio``, ``min_lr``,
        ``max_steps``, ...). Without ``sched.max_steps``, the trainer's ``max_steps`` is used, or, when that
        is unset, ``max_epochs`` x batches per epoch / ``accumulate_grad_batches`` (honouring
        ``limit_train_batches``) is computed by ``nemo.core.optim.prepare_lr_scheduler``.

        Args:
            optim_config: the ``optim`` config; it replaces ``cfg.optim``.
            optim_kwargs: extra optimizer arguments that are not config-friendly (e.g. objects).

        Returns:
            ``(optimizer, scheduler dict or None)``, or ``None`` when there is no ``optim`` config.

        Raises:
            ValueError: ``accumulate_grad_batches`` is not an integer.
        """
        from nemo.core import optim

        self.setup_optimizer_param_groups()
        if optim_config is None:
            optim_config = self._cfg.get("optim")
        if optim_config is None:
            logging.info("No optimizer config provided, therefore no optimizer was created")
            return None
        if not isinstance(optim_config, DictConfig):
            optim_config = OmegaConf.create(optim_config)
        with open_dict(self._cfg):
            self._cfg.optim = copy.deepcopy(optim_config)
        optim_config = OmegaConf.to_container(optim_config, resolve=True)

        if self._trainer is None:
            logging.warning(
                "Trainer wasn't specified in model constructor. Make sure that you really wanted it."
            )
        if optim_config.get("sched") is not None and self._trainer is not None:
            self._add_trainer_steps(optim_config["sched"])

        scheduler_config = optim_config.pop("sched", None)
        optimizer_target = optim_config.pop("_target_", None)
        if optimizer_target is None:
            optimizer_name = optim_config.get("name", "adam")
        else:
            optimizer_name = str(optimizer_target).rsplit(".", 1)[-1].lower()
        lr = optim_config.get("lr")
        if "args" in optim_config:
            optimizer_args = optim.parse_optimizer_args(optimizer_name, optim_config.pop("args"))
        else:
            optimizer_args = {k: v for k, v in optim_config.items() if k not in ("name", "cls", "lr")}
        if lr is not None:
            optimizer_args["lr"] = lr
        optimizer_args.update(optim_kwargs or {})
        optimizer_args = optim.drop_unset_arguments(optimizer_args, optimizer_name)

        if optimizer_target is not None:
            optimizer_cls = model_utils.import_class_by_path(
                optimizer_target, source="config key 'optim._target_'"
            )
        else:
            optimizer_cls = optim.get_optimizer(optimizer_name)
        self._optimizer = optim.build_optimizer(optimizer_cls, self._optimizer_param_groups, **optimizer_args)
        logging.info("Optimizer config = %s", self._optimizer)
        self._scheduler = optim.prepare_lr_scheduler(
            optimizer=self._optimizer, scheduler_config=scheduler_config, train_dataloader=self._train_dl
        )
        return self._optimizer, self._scheduler

    def _add_trainer_steps(self, sched: dict[str, Any]) -> None:
        """Give the scheduler config the trainer's ``max_steps``, or what it needs to compute them."""
        trainer = self._trainer
        if not isinstance(trainer.accumulate_grad_batches, int):
            raise ValueError(
                f"trainer.accumulate_grad_batches must be an integer to size the LR schedule; got "
                f"{trainer.accumulate_grad_batches!r}. Pass an int to Trainer(accumulate_grad_batches=...)."
            )
        if trainer.max_steps is None or trainer.max_steps < 0:
            sched["t_max_epochs"] = trainer.max_epochs
            sched["t_accumulate_grad_batches"] = trainer.accumulate_grad_batches
            sched["t_limit_train_batches"] = trainer.limit_train_batches
            sched["t_num_workers"] = trainer.num_devices * trainer.num_nodes
        else:
            sched["max_steps"] = trainer.max_steps

    def configure_optimizers(self) -> Any:
        """Lightning hook: the optimizer, or ``[optimizer], [scheduler dict]`` when ``optim.sched`` is set."""
        self.setup_optimization()
        if self._scheduler is None:
            return self._optimizer
        return [self._optimizer], [self._scheduler]

    # ------------------------------------------------------------------------------ save / restore
    def register_artifact(self, config_path: str, src: str, verify_src_exists: bool = True) -> str | None:
        """Register a file to be packed into saved ``.nemo`` archives; call it in the model's constructor.

        Args:
            config_path: dotted config key holding the file's path, e.g. ``"tokenizer.model_path"``.
            src: a local file, or ``nemo:<name>`` (a file of the archive being restored).
            verify_src_exists: when False, a missing optional file gives ``None`` instead of an error.

        Returns:
            The absolute path of the existing file (valid for the model's lifetime); ``src`` itself when
            it is ``None`` or empty.

        Raises:
            FileNotFoundError: ``src`` cannot be found and ``verify_src_exists`` is set.
        """
        if src is None or src == "":
            return src
        if Path(src).suffix == ".nemo":
            raise NeMoBaseException(
                f"Cannot register {src!r} under {config_path!r}: a .nemo file is not an artifact. To nest a "
                "model, build or restore it and call self.register_nemo_submodule(name, config_field, model)."
            )
        if getattr(self, "artifacts", None) is None:
            self.artifacts = {}
        if config_path in self.artifacts:
            logging.warning(
                f"An artifact is already registered under config key {config_path!r}; replacing it."
            )
        return self._save_restore_connector.register_artifact(self, config_path, src, verify_src_exists)

    def has_artifacts(self) -> bool:
        """Whether this model (not its NeMo submodules) registered any artifact."""
        return bool(getattr(self, "artifacts", None))

    def has_native_or_submodules_artifacts(self) -> bool:
        """Whether this model or any NeMo model inside it registered an artifact."""
        return any(isinstance(m, ModelPT) and m.has_artifacts() for m in self.modules())

    def has_nemo_submodules(self) -> bool:
        """Whether child NeMo models were registered with :meth:`register_nemo_submodule`."""
        return bool(self._submodule_fields())

    def _submodule_fields(self) -> dict[str, str]:
        fields = self.__dict__.get("_nemo_submodule_name_to_config_field")
        if fields is None:
            raise NeMoBaseException(
                f"{type(self).__name__} is not initialised: call super().__init__(cfg, trainer) in its "
                "constructor before registering or listing NeMo submodules."
            )
        return fields

    def register_nemo_submodule(self, name: str, config_field: str, model: ModelPT) -> None:
        """Nest the NeMo model ``model`` as attribute ``name``, its config kept under ``config_field``.

        Saving the parent writes one ``.nemo``: the child's config is copied into ``cfg.<config_field>``,
        its artifacts are packed beside the parent's (their config keys prefixed with ``config_field``) and
        its weights are part of the parent's state dict. Restoring the parent rebuilds the child from that
        config section, so the parent's constructor must build it from ``cfg.<config_field>`` again.

        Args:
            name: attribute of ``self`` that holds the child.
            config_field: dotted key of ``self.cfg`` for the child's config.
            model: the child, a ``ModelPT``.

        Raises:
            NeMoBaseException: ``model`` is not a ModelPT, or ``self``'s constructor has not run yet.
        """
        fields = self._submodule_fields()
        if not isinstance(model, ModelPT):
            raise NeMoBaseException(
                f"register_nemo_submodule({name!r}) takes a NeMo model (ModelPT); got {type(model).__name__}. "
                "Assign plain torch modules as attributes instead."
            )
        setattr(self, name, model)
        fields[name] = config_field

    def named_nemo_modules(
        self, prefix_name: str = "", prefix_config: str = ""
    ) -> Iterator[tuple[str, str, ModelPT]]:
        """Yield ``(attribute path, config path, model)`` for this model, then its NeMo submodules, depth first."""
        yield prefix_name, prefix_config, self
        for name, field in self._submodule_fields().items():
            attribute = f"{prefix_name}.{name}" if prefix_name else name
            config = f"{prefix_config}.{field}" if prefix_config else field
            yield from getattr(self, name).named_nemo_modules(prefix_name=attribute, prefix_config=config)

    def save_to(self, save_path: str | os.PathLike[str]) -> None:
        """Save config, weights and artifacts to a ``.nemo`` file (uncompressed tar), atomically.

        Args:
            save_path: destination; missing parent folders are created. Only global rank zero writes.
        """
        path = Path(save_path).expanduser().resolve()
        if rank_zero_only.rank == 0:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._save_restore_connector.save_to(self, str(path))

    @classmethod
    def restore_from(
        cls,
        restore_path: str | os.PathLike[str],
        override_config_path: str | os.PathLike[str] | DictConfig | None = None,
        map_location: Any = None,
        strict: bool = True,
        return_config: bool = False,
        save_restore_connector: SaveRestoreConnector | None = None,
        trainer: pl.Trainer | None = None,
    ) -> Any:
        """Restore a model (or only its config) from a ``.nemo`` file.

        Args:
            restore_path: the ``.nemo`` file.
            override_config_path: YAML path or DictConfig used instead of the archive's config.
            map_location: device for the model (default: CUDA if available, else CPU).
            strict: passed to ``load_state_dict``.
            return_config: return only the config, read from the YAML member (the weights are not read).
            save_restore_connector: a custom connector (also kept by the restored model).
            trainer: passed to the model's constructor.

        Returns:
            An instance of the config's ``target`` class when it subclasses ``cls``, else of ``cls``; or the
            config.

        Raises:
            FileNotFoundError: no file at ``restore_path``.
        """
        connector = save_restore_connector or SaveRestoreConnector()
        source = connector.model_extracted_dir if connector.model_extracted_dir is not None else restore_path
        path = os.path.abspath(os.path.expanduser(source))
        if not os.path.exists(path):
            raise FileNotFoundError(
                f"Cannot restore from {str(restore_path)!r}: no such file (absolute: {path!r}). Check the path."
            )
        instance = connector.restore_from(
            cls, path, override_config_path, map_location, strict, return_config, trainer
        )
        if isinstance(instance, ModelPT):
            instance._save_restore_connector = connector
            app_state = AppState()
            app_state.model_restore_path = path
            app_state.register_model_guid(instance.model_guid, restoration_path=path)
        return instance

    @classmethod
    def extract_state_dict_from(
        cls,
        restore_path: str,
        save_dir: str,
        split_by_module: bool = False,
        save_restore_connector: SaveRestoreConnector | None = None,
    ) -> dict[str, torch.Tensor]:
        """Save the state dict of a ``.nemo`` file into ``save_dir`` (see ``SaveRestoreConnector``) and return it.

        Raises:
            FileNotFoundError: no file at ``restore_path``.
        """
        if not os.path.exists(restore_path):
            raise FileNotFoundError(f"Cannot extract a state dict from {restore_path!r}: no such file.")
        connector = save_restore_connector or SaveRestoreConnector()
        return connector.extract_state_dict_from(restore_path, save_dir, split_by_module)

    @classmethod
    def load_from_checkpoint(
        cls,
        checkpoint_path: str | os.PathLike[str],
        map_location: Any = None,
        hparams_file: str | os.PathLike[str] | None = None,
        strict: bool = True,
        weights_only: bool = True,
        **kwargs: Any,
    ) -> ModelPT:
        """Load a model from a Lightning ``.ckpt``; datasets are not set up, as for ``restore_from``.

        The checkpoint is read with ``weights_only=True`` (tensors, containers and OmegaConf configs only).

        Args:
            checkpoint_path: the ``.ckpt`` file.
            map_location: passed to ``torch.load``.
            hparams_file: optional YAML of hyper-parameters (Lightning's argument).
            strict: passed to ``load_state_dict``.
            weights_only: pass False only for checkpoints you fully trust that pickle other objects.
            **kwargs: override constructor arguments saved in the checkpoint.

        Raises:
            UnsafeCheckpointError: the checkpoint pickles other objects and ``weights_only`` is set.
        """
        with restoring(None, str(checkpoint_path)), config_safe_globals():
            try:
                return super().load_from_checkpoint(
                    checkpoint_path,
                    map_location=map_location,
                    hparams_file=hparams_file,
                    strict=strict,
                    weights_only=weights_only,
                    **kwargs,
                )
            except pickle.UnpicklingError as error:
                raise UnsafeCheckpointError(
                    f"Refusing to load {str(checkpoint_path)!r} with weights_only=True: it pickles objects other "
                    f"than tensors, containers and OmegaConf configs ({unpickling_error_reason(error)}). Nothing in "
                    "it was executed. Only if you fully trust the file, pass weights_only=False."
                ) from None

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Lightning hook: store the hyper-parameters (``{"cfg": ...}``) as builtin dicts and lists.

        ``torch.load(weights_only=True)``, torch's default since 2.6 and what Lightning uses to resume
        (``trainer.fit(ckpt_path=...)``), refuses pickled OmegaConf objects; so no checkpoint of a ModelPT
        holds one. Loading turns ``cfg`` back into a DictConfig (``__init__``).

        Args:
            checkpoint: the dict Lightning is about to save; changed in place.
        """
        super().on_save_checkpoint(checkpoint)
        if self.CHECKPOINT_HYPER_PARAMS_KEY in checkpoint:
            checkpoint[self.CHECKPOINT_HYPER_PARAMS_KEY] = plain_containers(
                checkpoint[self.CHECKPOINT_HYPER_PARAMS_KEY]
            )

    @staticmethod
    def _is_model_being_restored() -> bool:
        """Whether a ``restore_from`` / ``load_from_checkpoint`` is building a model in this thread right now."""
        return current_restore_context() is not None

    @staticmethod
    def _set_model_restore_state(is_being_restored: bool, folder: str | None = None) -> None:
        """Mark (or unmark) a restore in progress, with the folder ``nemo:`` artifacts resolve against."""
        set_restore_context(
            RestoreContext(Path(folder) if folder else None, None) if is_being_restored else None
        )

    # ---------------------------------------------------------------- initialise from checkpoints
    def load_part_of_state_dict(
        self,
        state_dict: Mapping[str, torch.Tensor],
        include: list[str],
        exclude: list[str],
        load_from_string: str,
    ) -> None:
        """Load the entries whose name contains one of ``include`` and none of ``exclude`` (``strict=False``).

        Args:
            state_dict: source parameters.
            include: substrings selecting parameters (``[""]`` selects all).
            exclude: substrings rejecting parameters.
            load_from_string: description of the source, for the log.
        """
        excluded = [key for key in state_dict if any(pattern in key for pattern in exclude)]
        selected = {
            key: value
            for key, value in state_dict.items()
            if key not in excluded and any(pattern in key for pattern in include)
        }
        self.load_state_dict(selected, strict=False)
        logging.info(f"Model checkpoint partially restored from {load_from_string}")
        if excluded:
            logging.info(
                f"The following parameters were excluded when loading from {load_from_string}: {excluded}"
            )

    def _state_dict_of_nemo_file(
        self, path: str | os.PathLike[str], map_location: Any
    ) -> dict[str, torch.Tensor]:
        connector = self._save_restore_connector
        with tempfile.TemporaryDirectory(prefix="nemo_init_") as folder:
            connector._unpack_nemo_file(path, folder)
            return connector._load_state_dict_from_disk(
                os.path.join(folder, connector.model_weights_ckpt), map_location=map_location
            )

    def _state_dict_of_pretrained(self, model_name: str, map_location: Any) -> dict[str, torch.Tensor]:
        path, _ = self.resolve_pretrained_file(model_name)
        return self._state_dict_of_nemo_file(path, map_location)

    @staticmethod
    def _state_dict_of_ptl_checkpoint(
        path: str | os.PathLike[str], map_location: Any
    ) -> dict[str, torch.Tensor]:
        return load_checkpoint(path, map_location=map_location)["state_dict"]

    @rank_zero_only
    def maybe_init_from_pretrained_checkpoint(self, cfg: DictConfig, map_location: str = "cpu") -> None:
        """Initialise weights from another checkpoint named in ``cfg`` (``strict=False``).

        One of these keys (NeMo's):

        - ``init_from_nemo_model``: a ``.nemo`` path, or ``{any_name: {path, include, exclude}, ...}``;
        - ``init_from_pretrained_model``: a pretrained model name (local files only), or
          ``{any_name: {name, include, exclude}, ...}``;
        - ``init_from_ptl_ckpt``: a Lightning ``.ckpt`` path, or ``{any_name: {path, include, exclude}, ...}``.

        ``include`` (default ``[""]``: everything) and ``exclude`` (default ``[]``) are substrings of
        parameter names. Weights are read with ``weights_only=True``; nothing else of the source model is built.

        Args:
            cfg: config holding one of the keys above (``init_from_pretrained_model`` and ``init_from_ptl_ckpt``
                are removed from it once applied, as in NeMo).
            map_location: device the source weights are loaded to.

        Raises:
            ValueError: more than one of the keys is set.
            TypeError: a key's value is neither a string nor a mapping.
        """
        present = [key for key in _INIT_KEYS if cfg.get(key) is not None]
        if not present:
            return
        if len(present) > 1:
            raise ValueError(
                f"Only one model initialisation key may be set; found {present}. Keep one of {list(_INIT_KEYS)}."
            )
        key = present[0]
        if key == "init_from_pretrained_model" and self._trainer is not None and self._trainer.ckpt_path:
            logging.info("Training resumes from a checkpoint; skipping init_from_pretrained_model.")
            return
        loaders = {
            "init_from_nemo_model": ("path", "nemo file", self._state_dict_of_nemo_file),
            "init_from_pretrained_model": ("name", "pretrained model", self._state_dict_of_pretrained),
            "init_from_ptl_ckpt": ("path", "Lightning checkpoint", self._state_dict_of_ptl_checkpoint),
        }
        source_key, description, load = loaders[key]
        value = cfg.get(key)
        if isinstance(value, str):
            self.load_state_dict(load(value, map_location), strict=False)
            logging.info(f"Model weights initialised from {description} {value!r}.")
        elif isinstance(value, (DictConfig, dict)):
            for entry in value.values():
                source = entry[source_key]
                self.load_part_of_state_dict(
                    load(source, map_location),
                    list(entry.get("include", [""])),
                    list(entry.get("exclude", [])),
                    f"{description} {source!r}",
                )
        else:
            raise TypeError(
                f"{key} must be a string ({source_key}) or a mapping of {{{source_key}, include, exclude}} entries; "
                f"got {type(value).__name__}."
            )
        if key != "init_from_nemo_model":
            with open_dict(cfg):
                cfg.pop(key)

"""Exponential moving average (EMA) of the trained weights: the ``EMA`` callback and its ``EMAOptimizer``.

After every ``every_n_steps``-th optimizer step the average is moved towards the weights,

    ema = decay * ema + (1 - decay) * weight,

starting from the weights before the first step. :class:`EMAOptimizer` wraps each of the trainer's optimizers and
keeps the averages; :class:`EMA` installs the wrappers when fitting starts and swaps the averages into the model
for validation and testing (unless ``validate_original_weights``). With NeMo's checkpoint callback
(:class:`~nemo.utils.callbacks.nemo_model_checkpoint.NeMoModelCheckpoint`) every checkpoint ``X.ckpt`` holds the
trained weights and the plain optimizer state, and ``X-EMA.ckpt`` beside it holds the averages as the model
weights and, as the optimizer state, the wrapper's state (averages, step count). Resuming from ``X.ckpt`` takes
the wrapper's state from ``X-EMA.ckpt``; resuming from ``X-EMA.ckpt`` trains on from the averages.

The names, arguments and checkpoint formats are NeMo 1.23's (``nemo.collections.common.callbacks.ema``, which
re-exports this module). Averages are updated synchronously, on the device given (the model's, or the CPU with
``cpu_offload``).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

import pytorch_lightning as pl
import torch
from pytorch_lightning import Callback
from pytorch_lightning.utilities.exceptions import MisconfigurationException
from pytorch_lightning.utilities.rank_zero import rank_zero_info

__all__ = ["EMA", "EMAOptimizer"]

EMA_CHECKPOINT_SUFFIX = "-EMA"


class EMA(Callback):
    """Keep an exponential moving average of the trained weights; validate and test with it.

    Args:
        decay: Weight of the old average at each update, in ``[0, 1]``.
        validate_original_weights: Validate and test with the trained weights instead of the averages.
        every_n_steps: Update the averages at every n-th optimizer step only (steps ``0, n, 2n, ...``).
        cpu_offload: Keep the averages in CPU memory instead of on the model's device.

    Raises:
        MisconfigurationException: ``decay`` is outside ``[0, 1]`` or ``every_n_steps`` is below 1.
    """

    def __init__(
        self,
        decay: float,
        validate_original_weights: bool = False,
        every_n_steps: int = 1,
        cpu_offload: bool = False,
    ) -> None:
        if not 0 <= decay <= 1:
            raise MisconfigurationException(f"EMA decay value must be between 0 and 1, got decay={decay}.")
        if every_n_steps < 1:
            raise MisconfigurationException(
                f"EMA every_n_steps must be at least 1, got every_n_steps={every_n_steps}."
            )
        self.decay = decay
        self.validate_original_weights = validate_original_weights
        self.every_n_steps = every_n_steps
        self.cpu_offload = cpu_offload

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        device = torch.device("cpu") if self.cpu_offload else pl_module.device
        trainer.optimizers = [
            optimizer
            if isinstance(optimizer, EMAOptimizer)
            else EMAOptimizer(
                optimizer,
                device=device,
                decay=self.decay,
                every_n_steps=self.every_n_steps,
                current_step=trainer.global_step,
            )
            for optimizer in trainer.optimizers
        ]

    # Validation and testing run on the averages, unless told otherwise.
    def on_validation_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._swap_for_evaluation(trainer)

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._swap_for_evaluation(trainer)

    def on_test_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._swap_for_evaluation(trainer)

    def on_test_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._swap_for_evaluation(trainer)

    def _swap_for_evaluation(self, trainer: pl.Trainer) -> None:
        if self._should_validate_ema_weights(trainer):
            self.swap_model_weights(trainer)

    def _should_validate_ema_weights(self, trainer: pl.Trainer) -> bool:
        return not self.validate_original_weights and self._ema_initialized(trainer)

    def _ema_initialized(self, trainer: pl.Trainer) -> bool:
        """Whether the trainer's optimizers are wrapped (``on_fit_start`` has run)."""
        return any(isinstance(optimizer, EMAOptimizer) for optimizer in trainer.optimizers)

    def swap_model_weights(self, trainer: pl.Trainer, saving_ema_model: bool = False) -> None:
        """Exchange the model's weights and the averages (calling it twice restores the model)."""
        for optimizer in trainer.optimizers:
            if not isinstance(optimizer, EMAOptimizer):
                raise RuntimeError(
                    f"EMA cannot swap weights: optimizer {type(optimizer).__name__} is not wrapped in an EMAOptimizer "
                    "(EMA wraps the optimizers when fitting starts)."
                )
            optimizer.switch_main_parameter_weights(saving_ema_model)

    @contextlib.contextmanager
    def save_ema_model(self, trainer: pl.Trainer) -> Iterator[None]:
        """Within the block the model holds the averages, and optimizer states describe the averaged model."""
        self.swap_model_weights(trainer, saving_ema_model=True)
        try:
            yield
        finally:
            self.swap_model_weights(trainer, saving_ema_model=False)

    @contextlib.contextmanager
    def save_original_optimizer_state(self, trainer: pl.Trainer) -> Iterator[None]:
        """Within the block the optimizers' ``state_dict()`` is the wrapped optimizer's own, without averages."""
        for optimizer in trainer.optimizers:
            optimizer.save_original_optimizer_state = True
        try:
            yield
        finally:
            for optimizer in trainer.optimizers:
                optimizer.save_original_optimizer_state = False

    def on_load_checkpoint(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        """When resuming a NeMo checkpoint ``X.ckpt``, take the optimizer states (with averages) from ``X-EMA.ckpt``.

        Raises:
            MisconfigurationException: ``X-EMA.ckpt`` does not exist.
        """
        checkpoint_callback = trainer.checkpoint_callback
        ckpt_path = trainer.ckpt_path
        if not ckpt_path or checkpoint_callback is None or "NeMo" not in type(checkpoint_callback).__name__:
            return
        extension = checkpoint_callback.FILE_EXTENSION
        if str(ckpt_path).endswith(f"{EMA_CHECKPOINT_SUFFIX}{extension}"):
            rank_zero_info(
                "loading EMA based weights. The callback will treat the loaded EMA weights as the main weights"
                " and create a new EMA copy when training."
            )
            return
        ema_path = ema_checkpoint_path(str(ckpt_path), extension)
        if not os.path.exists(ema_path):
            raise MisconfigurationException(
                "Unable to find the associated EMA weights when re-loading, "
                f"training will start with new EMA weights. Expected them to be at: {ema_path}"
            )
        ema_checkpoint = torch.load(ema_path, map_location="cpu", weights_only=True)
        checkpoint["optimizer_states"] = ema_checkpoint["optimizer_states"]
        rank_zero_info("EMA state has been restored.")


def ema_checkpoint_path(path: str, extension: str = ".ckpt") -> str:
    """``X.ckpt`` -> ``X-EMA.ckpt``: where the averaged copy of a checkpoint is saved."""
    return path.replace(extension, f"{EMA_CHECKPOINT_SUFFIX}{extension}")


class EMAOptimizer(torch.optim.Optimizer):
    """Wrap an optimizer; after its steps, move an exponential moving average of its parameters.

    Everything not defined here (``param_groups``, ``state``, ``defaults``, ...) is the wrapped optimizer's.
    ``state_dict()`` is ``{"opt": <wrapped state>, "ema": <averages>, "current_step", "decay", "every_n_steps"}``
    (the wrapped optimizer's state alone while ``save_original_optimizer_state`` is set); ``load_state_dict``
    takes either form (the plain form restarts the averages from the current weights).

    Args:
        optimizer: The optimizer to wrap.
        device: Where to keep the averages.
        decay: Weight of the old average at each update.
        every_n_steps: Update at the steps ``current_step`` that are multiples of this.
        current_step: Number of steps already taken (when resuming).

    Example:
        >>> optimizer = EMAOptimizer(torch.optim.SGD(model.parameters(), lr=0.1), torch.device("cpu"), decay=0.99)
        >>> with optimizer.swap_ema_weights():
        ...     evaluate(model)  # runs with the averages
    """

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        device: torch.device,
        decay: float = 0.9999,
        every_n_steps: int = 1,
        current_step: int = 0,
    ) -> None:
        # The base class is not initialised: this object has no param_groups of its own.
        self.optimizer = optimizer
        self.device = torch.device(device)
        self.decay = decay
        self.every_n_steps = every_n_steps
        self.current_step = current_step
        self.save_original_optimizer_state = False
        self.in_saving_ema_model_context = False
        self.ema_params: tuple[torch.Tensor, ...] = ()
        self.rebuild_ema_params = True

    def __getattr__(self, name: str) -> Any:
        if name == "optimizer":  # not set yet (e.g. while unpickling): do not recurse
            raise AttributeError(name)
        return getattr(self.optimizer, name)

    def all_parameters(self) -> Iterator[torch.Tensor]:
        """The parameters of all groups of the wrapped optimizer, in order."""
        return (param for group in self.param_groups for param in group["params"])

    @torch.no_grad()
    def _add_missing_averages(self) -> None:
        """Start averages, from the current weights, for parameters that have none yet (new groups)."""
        params = list(self.all_parameters())
        self.ema_params += tuple(
            param.detach().to(self.device, copy=True) for param in params[len(self.ema_params) :]
        )
        self.rebuild_ema_params = False

    def step(self, closure: Any = None, grad_scaler: Any = None, **kwargs: Any) -> Any:
        """Step the wrapped optimizer, then update the averages when ``current_step`` is a multiple of ``every_n_steps``."""
        if self.rebuild_ema_params:
            self._add_missing_averages()
        if grad_scaler is not None and getattr(self.optimizer, "_step_supports_amp_scaling", False):
            loss = self.optimizer.step(closure=closure, grad_scaler=grad_scaler, **kwargs)
        else:
            loss = self.optimizer.step(closure, **kwargs)
        if self.current_step % self.every_n_steps == 0:
            self.update()
        self.current_step += 1
        return loss

    @torch.no_grad()
    def update(self) -> None:
        """``ema <- decay * ema + (1 - decay) * weight`` for every parameter."""
        weights = [param.detach().to(self.device) for param in self.all_parameters()]
        torch._foreach_lerp_(list(self.ema_params), weights, 1.0 - self.decay)

    @torch.no_grad()
    def switch_main_parameter_weights(self, saving_ema_model: bool = False) -> None:
        """Exchange every parameter's values with its average, in place."""
        self.in_saving_ema_model_context = saving_ema_model
        for param, average in zip(self.all_parameters(), self.ema_params):
            weight = param.detach().clone()
            param.copy_(average)
            average.copy_(weight)

    @contextlib.contextmanager
    def swap_ema_weights(self, enabled: bool = True) -> Iterator[None]:
        """Within the block the parameters hold the averages (when ``enabled``)."""
        if enabled:
            self.switch_main_parameter_weights()
        try:
            yield
        finally:
            if enabled:
                self.switch_main_parameter_weights()

    def join(self) -> None:
        """Wait for pending average updates (kept for NeMo's API: updates here are synchronous)."""

    def state_dict(self) -> dict[str, Any]:
        if self.save_original_optimizer_state:
            return self.optimizer.state_dict()
        # While an averaged model is being saved the parameters hold the averages.
        averages = list(self.all_parameters()) if self.in_saving_ema_model_context else self.ema_params
        return {
            "opt": self.optimizer.state_dict(),
            "ema": averages,
            "current_step": self.current_step,
            "decay": self.decay,
            "every_n_steps": self.every_n_steps,
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        if "opt" not in state_dict or "ema" not in state_dict:
            # A plain optimizer state (e.g. a checkpoint written without EMA): the averages restart.
            self.optimizer.load_state_dict(state_dict)
            self.ema_params, self.rebuild_ema_params = (), True
            return
        self.optimizer.load_state_dict(state_dict["opt"])
        self.ema_params = tuple(average.detach().to(self.device, copy=True) for average in state_dict["ema"])
        self.current_step = state_dict["current_step"]
        self.decay = state_dict["decay"]
        self.every_n_steps = state_dict["every_n_steps"]
        self.rebuild_ema_params = False

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        self.optimizer.add_param_group(param_group)
        self.rebuild_ema_params = True

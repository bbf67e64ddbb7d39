"""How an adapter's output is merged back into the module that calls it.

Every adapter module carries an ``adapter_strategy``; ``AdapterModuleMixin.forward_enabled_adapters`` calls
``strategy(input, adapter, module=calling_module)`` for each enabled adapter in turn, feeding each result to
the next adapter.

- :class:`ReturnResultAdapterStrategy`: the adapter's output replaces the input.
- :class:`ResidualAddAdapterStrategy`: ``input + adapter(input)``, with optional stochastic depth on the
  adapter branch and an optional L2 penalty on what the adapter adds (recorded through
  :class:`~nemo.core.classes.mixins.access_mixins.AccessMixin` as ``adapter_loss``).

Each has a config dataclass whose ``_target_`` names it, so an adapter config can pick its strategy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nemo.core.classes.mixins.access_mixins import AccessMixin

if TYPE_CHECKING:
    import torch
    from nemo.core.classes.mixins.adapter_mixins import AdapterModuleMixin

__all__ = [
    "AbstractAdapterStrategy",
    "ResidualAddAdapterStrategy",
    "ResidualAddAdapterStrategyConfig",
    "ReturnResultAdapterStrategy",
    "ReturnResultAdapterStrategyConfig",
]


def _class_path(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _call_adapter(input: Any, adapter: torch.nn.Module) -> Any:
    """Call ``adapter`` with ``input`` spread as positional (list/tuple) or keyword (dict) arguments."""
    if isinstance(input, (list, tuple)):
        return adapter(*input)
    if isinstance(input, dict):
        return adapter(**input)
    return adapter(input)


class AbstractAdapterStrategy:
    """Merges one adapter's output with its input; subclasses implement :meth:`forward`.

    The strategy receives the whole calling module, so a strategy may consult the module's other adapters
    (``module.adapter_layer``), e.g. to fuse several adapters' outputs.
    """

    def forward(self, input: Any, adapter: torch.nn.Module, *, module: AdapterModuleMixin) -> Any:
        """Run ``adapter`` on ``input`` and return the merged result.

        Args:
            input: the calling module's output, or the previous enabled adapter's result; usually (B, T, D).
            adapter: the adapter to run now.
            module: the module that owns the adapter (implements ``AdapterModuleMixin``).

        Returns:
            The tensor handed to the next adapter, or back to the module after the last one.
        """
        raise NotImplementedError(
            f"{type(self).__name__} must implement forward(input, adapter, *, module) to merge the adapter's output."
        )

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)


class ReturnResultAdapterStrategy(AbstractAdapterStrategy):
    """The adapter's output is the result; the input is dropped (no residual)."""

    def forward(self, input: Any, adapter: torch.nn.Module, *, module: AdapterModuleMixin) -> Any:
        """Return ``adapter(input)`` (``input`` spread when it is a list, tuple or dict)."""
        return self.compute_output(input, adapter, module=module)

    def compute_output(self, input: Any, adapter: torch.nn.Module, *, module: AdapterModuleMixin) -> Any:
        """The adapter's output for ``input``: a list/tuple is passed positionally, a dict by keyword."""
        return _call_adapter(input, adapter)


@dataclass
class ReturnResultAdapterStrategyConfig:
    """Config of :class:`ReturnResultAdapterStrategy`."""

    _target_: str = _class_path(ReturnResultAdapterStrategy)


class ResidualAddAdapterStrategy(AbstractAdapterStrategy):
    """``result = input + adapter(input)``.

    Args:
        stochastic_depth: in training, drop the whole adapter branch of a call with this probability
            (one draw per call) and scale the kept branch by ``1 / (1 - p)``; 0 disables it.
        l2_lambda: in training, record ``l2_lambda * mean_over_batch(sum((result - input) ** 2))`` as the
            adapter's ``adapter_loss`` (through its ``AccessMixin`` registry); 0 disables it.
    """

    def __init__(self, stochastic_depth: float = 0.0, l2_lambda: float = 0.0) -> None:
        super().__init__()
        self.stochastic_depth = stochastic_depth
        self.l2_lambda = l2_lambda

    def forward(
        self, input: torch.Tensor, adapter: torch.nn.Module, *, module: AdapterModuleMixin
    ) -> torch.Tensor:
        """Residual add of the adapter branch; input and result are (B, ..., D) of the same shape."""
        branch = self.compute_output(input, adapter, module=module)
        if module.training and self.stochastic_depth != 0.0:
            branch = self.apply_stochastic_depth(branch, input, adapter, module=module)
        result = input + branch
        self.compute_auxiliary_losses(result, input, adapter, module=module)
        return result

    def compute_output(self, input: Any, adapter: torch.nn.Module, *, module: AdapterModuleMixin) -> Any:
        """The adapter branch: ``adapter(input)``."""
        return adapter(input)

    def apply_stochastic_depth(
        self,
        output: torch.Tensor,
        input: torch.Tensor,
        adapter: torch.nn.Module,
        *,
        module: AdapterModuleMixin,
    ) -> torch.Tensor:
        """Keep the adapter branch ``output`` with probability ``1 - p`` (scaled by ``1 / (1 - p)``), else zero it.

        Raises:
            ValueError: ``stochastic_depth`` is outside [0, 1].
        """
        p = self.stochastic_depth
        if not 0.0 <= p <= 1.0:
            raise ValueError(
                f"stochastic_depth must be a probability in [0, 1], got {p}; fix adapter_strategy.stochastic_depth."
            )
        import torch

        keep = 1.0 - p
        gate = torch.empty([1] * output.dim(), dtype=output.dtype, device=output.device).bernoulli_(keep)
        if keep > 0.0:
            gate = gate / keep
        return output * gate

    def compute_auxiliary_losses(
        self,
        output: torch.Tensor,
        input: torch.Tensor,
        adapter: torch.nn.Module,
        *,
        module: AdapterModuleMixin,
    ) -> None:
        """Record the L2 penalty as ``adapter_loss`` in ``adapter``'s registry (training, ``l2_lambda > 0``).

        Nothing is recorded when the adapter's parameters are frozen or when the access config sets
        ``compute_adapter_loss: false``. Recording switches access on.

        Raises:
            ValueError: ``l2_lambda > 0`` but ``adapter`` does not mix in ``AccessMixin``.
        """
        if not module.training or self.l2_lambda <= 0.0:
            return
        if not isinstance(adapter, AccessMixin):
            raise ValueError(
                f"adapter_strategy.l2_lambda={self.l2_lambda} needs an adapter that mixes in AccessMixin to record "
                f"its loss; {type(adapter).__name__} does not. Set l2_lambda to 0 or derive the adapter from "
                "nemo.collections.common.parts.adapter_modules.AdapterModuleUtil."
            )
        first_param = next(adapter.parameters(), None)
        if first_param is None or not first_param.requires_grad:
            return
        if not adapter.access_cfg.get("compute_adapter_loss", True):
            return
        adapter.set_access_enabled(access_enabled=True)
        added = (input - output).square().reshape(input.size(0), -1).sum(dim=-1)
        adapter.register_accessible_tensor(name="adapter_loss", tensor=self.l2_lambda * added.mean())


@dataclass
class ResidualAddAdapterStrategyConfig:
    """Config of :class:`ResidualAddAdapterStrategy`."""

    stochastic_depth: float = 0.0
    l2_lambda: float = 0.0
    _target_: str = _class_path(ResidualAddAdapterStrategy)

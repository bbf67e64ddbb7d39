"""NeMo's structured configs and ``hydra_runner``: ``from nemo.core.config import hydra_runner, AdamParams``.

Every name but ``hydra_runner`` resolves on first use, so importing this package imports neither torch, Lightning
nor Hydra. ``hydra_runner`` is bound eagerly (it imports Hydra only when a script runs) because its module has the
same name: a lazy export would be shadowed by the submodule once ``nemo.core.config.hydra_runner`` is imported.
"""

from nemo.core.config.hydra_runner import hydra_runner as hydra_runner
from nemo.utils.lazy_exports import lazy_exports

_OPTIMIZERS = (
    "OptimizerParams AdamParams AdamWParams SGDParams NovogradParams AdadeltaParams AdamaxParams AdagradParams "
    "RMSpropParams RpropParams get_optimizer_config register_optimizer_params"
).split()
_SCHEDULERS = (
    "SchedulerParams WarmupSchedulerParams WarmupHoldSchedulerParams WarmupAnnealingHoldSchedulerParams "
    "SquareAnnealingParams SquareRootAnnealingParams CosineAnnealingParams NoamAnnealingParams "
    "NoamHoldAnnealingParams WarmupAnnealingParams InverseSquareRootAnnealingParams "
    "PolynomialDecayAnnealingParams PolynomialHoldDecayAnnealingParams ReduceLROnPlateauParams StepLRParams "
    "ExponentialLRParams CyclicLRParams get_scheduler_config register_scheduler_params"
).split()
_MODEL_PT = "SchedConfig OptimConfig ModelConfig HydraConfig NemoConfig ModelPTConfig".split()

_EXPORTS = {
    "TrainerConfig": "nemo.core.config.pytorch_lightning:TrainerConfig",
    **{name: f"nemo.core.config.optimizers:{name}" for name in _OPTIMIZERS},
    **{name: f"nemo.core.config.schedulers:{name}" for name in _SCHEDULERS},
    **{name: f"nemo.core.config.modelPT:{name}" for name in _MODEL_PT},
}

__all__ = sorted([*_EXPORTS, "hydra_runner"])
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

"""NeMo's optimizers and learning-rate schedulers: ``from nemo.core.optim import get_optimizer, CosineAnnealing``.

Names resolve on first use; importing this package does not import torch.
"""

from nemo.utils.lazy_exports import lazy_exports

_SCHEDULERS = (
    "WarmupPolicy WarmupHoldPolicy WarmupAnnealHoldPolicy SquareRootConstantPolicy SquareAnnealing "
    "SquareRootAnnealing CosineAnnealing NoamAnnealing NoamHoldAnnealing WarmupAnnealing InverseSquareRootAnnealing "
    "T5InverseSquareRootAnnealing PolynomialDecayAnnealing PolynomialHoldDecayAnnealing AVAILABLE_SCHEDULERS "
    "register_scheduler get_scheduler compute_max_steps prepare_lr_scheduler"
).split()
_OPTIMIZERS = "AVAILABLE_OPTIMIZERS register_optimizer get_optimizer build_optimizer parse_optimizer_args drop_unset_arguments".split()

_EXPORTS = {
    "Novograd": "nemo.core.optim.novograd:Novograd",
    **{name: f"nemo.core.optim.lr_scheduler:{name}" for name in _SCHEDULERS},
    **{name: f"nemo.core.optim.optimizers:{name}" for name in _OPTIMIZERS},
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

"""Lightning callbacks used by ``exp_manager``: ``from nemo.utils.callbacks import NeMoModelCheckpoint``."""

from nemo.utils.lazy_exports import lazy_exports

_EXPORTS = {
    "EMA": "nemo.utils.callbacks.ema:EMA",
    "EMAOptimizer": "nemo.utils.callbacks.ema:EMAOptimizer",
    "NeMoModelCheckpoint": "nemo.utils.callbacks.nemo_model_checkpoint:NeMoModelCheckpoint",
    "TimingCallback": "nemo.utils.callbacks.step_timing:TimingCallback",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

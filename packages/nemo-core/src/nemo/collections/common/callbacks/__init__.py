"""Lightning callbacks of the collections: ``from nemo.collections.common.callbacks import EMA, LogEpochTimeCallback``.

The EMA callback lives in :mod:`nemo.utils.callbacks.ema` (``exp_manager`` and the checkpoint callback use it);
it is re-exported here under NeMo's import path. Names resolve on first use, so importing this package imports
neither torch nor Lightning.
"""

from nemo.utils.lazy_exports import lazy_exports

_EXPORTS = {
    "EMA": "nemo.utils.callbacks.ema:EMA",
    "EMAOptimizer": "nemo.utils.callbacks.ema:EMAOptimizer",
    "LogEpochTimeCallback": "nemo.collections.common.callbacks.callbacks:LogEpochTimeCallback",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

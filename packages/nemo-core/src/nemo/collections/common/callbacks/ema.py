"""NeMo's import path of the EMA callback (``nemo.collections.common.callbacks.ema``); see :mod:`nemo.utils.callbacks.ema`."""

from nemo.utils.callbacks.ema import EMA, EMAOptimizer

__all__ = ["EMA", "EMAOptimizer"]

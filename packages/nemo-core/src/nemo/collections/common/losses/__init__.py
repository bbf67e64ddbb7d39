"""Typed losses shared by the collections (``CrossEntropyLoss``, ``AggregatorLoss``):
``from nemo.collections.common.losses import CrossEntropyLoss``.

Names resolve on first use, so importing this package does not import torch.
"""

from nemo.utils.lazy_exports import lazy_exports

_EXPORTS = {
    "AggregatorLoss": "nemo.collections.common.losses.aggregator",
    "CrossEntropyLoss": "nemo.collections.common.losses.cross_entropy",
    "SmoothedCrossEntropyLoss": "nemo.collections.common.losses.smoothed_cross_entropy",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

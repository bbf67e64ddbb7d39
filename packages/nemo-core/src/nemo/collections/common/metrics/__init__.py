"""Metrics shared by the collections: ``from nemo.collections.common.metrics import Perplexity``.

Every metric is a ``torchmetrics.Metric``; names resolve on first use, so importing this package imports
neither torch nor torchmetrics.
"""

from nemo.utils.lazy_exports import lazy_exports

_EXPORTS = {
    "GlobalAverageLossMetric": "nemo.collections.common.metrics.global_average_loss_metric",
    "Perplexity": "nemo.collections.common.metrics.perplexity",
    "TopKClassificationAccuracy": "nemo.collections.common.metrics.classification_accuracy",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

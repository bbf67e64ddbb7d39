"""NLP metrics: ``from nemo.collections.nlp.metrics import ClassificationReport``.

Names resolve on first use, so importing this package imports neither torch nor torchmetrics.
"""

from nemo.utils.lazy_exports import lazy_exports

_EXPORTS = {
    "ClassificationReport": "nemo.collections.nlp.metrics.classification_report",
    "QAMetrics": "nemo.collections.nlp.metrics.qa_metrics",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

"""Pieces shared by the domain collections (tokenizers, metrics)."""

from nemo.utils.lazy_exports import lazy_exports

__getattr__, __dir__ = lazy_exports(
    __name__,
    {"tokenizers": "nemo.collections.common.tokenizers", "metrics": "nemo.collections.common.metrics"},
)

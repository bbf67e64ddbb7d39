"""Pieces shared by the domain collections (tokenizers, metrics)."""

from nemo.utils.lazy_exports import lazy_exports

_EXPORTS = {
    "metrics": "nemo.collections.common.metrics",
    "tokenizers": "nemo.collections.common.tokenizers",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

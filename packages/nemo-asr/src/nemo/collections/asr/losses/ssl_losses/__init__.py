"""Losses of self-supervised pre-training: ``ContrastiveLoss`` (wav2vec 2.0 style) and ``MLMLoss``."""

from nemo.utils.lazy_exports import lazy_exports

_EXPORTS = {
    "ContrastiveLoss": "nemo.collections.asr.losses.ssl_losses.contrastive",
    "MLMLoss": "nemo.collections.asr.losses.ssl_losses.mlm",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

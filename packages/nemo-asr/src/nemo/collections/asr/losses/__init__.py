"""ASR losses: ``from nemo.collections.asr.losses import CTCLoss, RNNTLoss``."""

from nemo.utils.lazy_exports import lazy_exports

_EXPORTS = {
    "AngularSoftmaxLoss": "nemo.collections.asr.losses.angularloss",
    "CTCLoss": "nemo.collections.asr.losses.ctc",
    "ContrastiveLoss": "nemo.collections.asr.losses.ssl_losses.contrastive",
    "MLMLoss": "nemo.collections.asr.losses.ssl_losses.mlm",
    "RNNTLoss": "nemo.collections.asr.losses.rnnt",
    "SDRLoss": "nemo.collections.asr.losses.audio_losses",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

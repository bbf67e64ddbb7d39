"""ASR metrics: ``from nemo.collections.asr.metrics import WER, word_error_rate``."""

from nemo.utils.lazy_exports import lazy_exports

_EXPORTS = {
    "AudioMetricWrapper": "nemo.collections.asr.metrics.audio",
    "WER": "nemo.collections.asr.metrics.wer",
    "word_error_rate": "nemo.collections.asr.metrics.wer",
    "word_error_rate_detail": "nemo.collections.asr.metrics.wer",
    "word_error_rate_per_utt": "nemo.collections.asr.metrics.wer",
    "wer": "nemo.collections.asr.metrics.wer",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

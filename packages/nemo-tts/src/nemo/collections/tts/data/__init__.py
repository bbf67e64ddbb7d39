"""TTS data: manifests, ``TTSDataset`` and ``VocoderDataset`` (NeMo 1.23's ``nemo.collections.tts.data``).

Names resolve on first use, so importing the package loads nothing heavy.
"""

from nemo.utils.lazy_exports import lazy_exports

_SUBMODULES = ("dataset", "manifest", "spectral", "sup_data_cache")
_EXPORTS = {
    **{name: f"{__name__}.{name}" for name in _SUBMODULES},
    "TTSDataset": f"{__name__}.dataset",
    "VocoderDataset": f"{__name__}.dataset",
    "read_tts_manifests": f"{__name__}.manifest",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

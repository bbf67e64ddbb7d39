"""Speech synthesis: ``import nemo.collections.tts as nemo_tts`` then ``nemo_tts.models.FastPitchModel``.

Submodules load on first attribute access, so this import costs almost nothing.
"""

from nemo.utils.lazy_exports import lazy_exports

_SUBMODULES = ["data", "g2p", "inference", "losses", "models", "modules", "parts", "torch"]
_EXPORTS = {
    **{name: f"nemo.collections.tts.{name}" for name in _SUBMODULES},
    "synthesize": "nemo.collections.tts.inference",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

"""The TTS collection: import nemo.collections.tts as nemo_tts."""

from nemo.utils.lazy_exports import lazy_exports

__all__ = ["models"]
__getattr__, __dir__ = lazy_exports(__name__, {name: f"{__name__}.{name}" for name in __all__})

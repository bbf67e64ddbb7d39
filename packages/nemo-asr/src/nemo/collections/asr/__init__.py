"""Speech recognition: ``import nemo.collections.asr as nemo_asr`` then ``nemo_asr.models.EncDecCTCModel``.

Submodules load on first attribute access, so this import costs almost nothing.
"""

from nemo.utils.lazy_exports import lazy_exports

__all__ = ["data", "losses", "metrics", "models", "modules", "parts"]
__getattr__, __dir__ = lazy_exports(__name__, {name: f"{__name__}.{name}" for name in __all__})

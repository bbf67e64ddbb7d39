"""Position embeddings and attention biases (NeMo 1.23's names), resolved on first use."""

from nemo.utils.lazy_exports import lazy_exports

_PKG = "nemo.collections.nlp.modules.common.megatron.position_embedding"
_EXPORTS = {
    "ALiBiRelativePositionEmbedding": f"{_PKG}.alibi_relative_position_embedding",
    "KERPLERelativePositionEmbedding": f"{_PKG}.kerple_relative_position_embedding",
    "RotaryEmbedding": f"{_PKG}.rotary_position_embedding",
    "SandwichRelativePositionEmbedding": f"{_PKG}.sandwich_relative_position_embedding",
    "T5RelativePositionEmbedding": f"{_PKG}.t5_relative_position_embedding",
    "XPOSPositionEmbedding": f"{_PKG}.xpos_position_embedding",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

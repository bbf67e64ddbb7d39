"""Dialogue models (NeMo 1.23's names). Only ``DialogueNearestNeighbourModel.mean_pooling`` is built so far."""

from nemo.utils.lazy_exports import lazy_exports

_EXPORTS = {
    "DialogueNearestNeighbourModel": "nemo.collections.nlp.models.dialogue.dialogue_nearest_neighbour_model",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

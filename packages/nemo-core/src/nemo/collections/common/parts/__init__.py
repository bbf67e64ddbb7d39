"""Layers shared by the collections: ``from nemo.collections.common.parts import MultiLayerPerceptron``.

Names resolve on first use, so importing this package does not import torch.
"""

from nemo.utils.lazy_exports import lazy_exports

_EXPORTS = {
    "MultiLayerPerceptron": "nemo.collections.common.parts.multi_layer_perceptron",
    "transformer_weights_init": "nemo.collections.common.parts.transformer_utils",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

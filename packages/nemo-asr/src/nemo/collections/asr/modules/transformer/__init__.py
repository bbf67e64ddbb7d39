"""Transformer pieces of the attention encoder-decoder (AED) models: ``get_nemo_transformer``, the decoder and
encoder stacks, and the sequence generators (greedy, beam search).

NeMo 1.23 keeps these under ``nemo.collections.asr.modules.transformer`` with the same class names, so configs
(``_target_: nemo.collections.asr.modules.transformer.get_nemo_transformer``) and state-dict keys carry over.
Names resolve on first access, so importing this package does not import torch.
"""

from nemo.utils.lazy_exports import lazy_exports

_EXPORTS = {
    "get_nemo_transformer": "nemo.collections.asr.modules.transformer.transformer_utils",
    "TransformerDecoderNM": "nemo.collections.asr.modules.transformer.transformer",
    "TransformerEncoderNM": "nemo.collections.asr.modules.transformer.transformer",
    "TransformerDecoder": "nemo.collections.asr.modules.transformer.transformer_decoders",
    "TransformerEncoder": "nemo.collections.asr.modules.transformer.transformer_encoders",
    "TransformerEmbedding": "nemo.collections.asr.modules.transformer.transformer_modules",
    "GreedySequenceGenerator": "nemo.collections.asr.modules.transformer.transformer_generators",
    "BeamSearchSequenceGenerator": "nemo.collections.asr.modules.transformer.transformer_generators",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

"""Adapters for the Conformer's attention and positional encodings (``add_adapter`` targets for ASR encoders)."""

from nemo.utils.lazy_exports import lazy_exports

_MHA = "nemo.collections.asr.parts.submodules.adapters.multi_head_attention_adapter_module"

_EXPORTS = {
    "multi_head_attention_adapter_module": _MHA,
    **{
        name: _MHA
        for name in (
            "MHAResidualAddAdapterStrategy MHAResidualAddAdapterStrategyConfig "
            "MultiHeadAttentionAdapter MultiHeadAttentionAdapterConfig "
            "PositionalEncodingAdapter PositionalEncodingAdapterConfig "
            "RelPositionalEncodingAdapter RelPositionalEncodingAdapterConfig "
            "RelPositionMultiHeadAttentionAdapter RelPositionMultiHeadAttentionAdapterConfig"
        ).split()
    },
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

"""Where a transformer layer sits (NeMo 1.23's ``LayerType`` enum, same member values)."""

import enum

__all__ = ["LayerType"]


class LayerType(enum.Enum):
    """Kind of transformer layer; the values match NeMo 1.23 so configs and checkpoints agree."""

    encoder = 1
    decoder = 2
    retrieval_encoder = 3  # encoder cross-attending to the decoder's earlier output
    retrieval_decoder = 4  # decoder with chunked cross-attention over retrieved neighbours
    decoder_pre_mlp = 5  # decoder layer stopping after self-attention
    retrieval_decoder_after_self_attn = 6  # retrieval decoder layer without the self-attention block

"""``TransformerDecoderNM`` / ``TransformerEncoderNM``: embedding + transformer stack as NeMo neural modules.

State-dict keys are NeMo 1.23's: ``_embedding.*`` (token embedding, ``position_embedding.pos_enc``, optional
``token_type_embedding``, ``layer_norm``) and ``_decoder.*`` / ``_encoder.*`` (the stack).
"""

from __future__ import annotations

import torch
from nemo.collections.asr.modules.transformer.transformer_decoders import TransformerDecoder
from nemo.collections.asr.modules.transformer.transformer_encoders import TransformerEncoder
from nemo.collections.asr.modules.transformer.transformer_modules import TransformerEmbedding
from nemo.core.classes.module import NeuralModule
from nemo.core.classes.typecheck import typecheck
from nemo.core.neural_types import ChannelType, MaskType, NeuralType

__all__ = ["TransformerDecoderNM", "TransformerEncoderNM"]


class _TransformerNM(NeuralModule):
    """What the encoder and decoder modules share: sizes and the embedding."""

    def __init__(
        self, vocab_size: int, hidden_size: int, max_sequence_length: int, embedding: TransformerEmbedding
    ) -> None:
        super().__init__()
        self._vocab_size = vocab_size
        self._hidden_size = hidden_size
        self._max_sequence_length = max_sequence_length
        self._embedding = embedding

    @property
    def hidden_size(self) -> int:
        return self._hidden_size

    @property
    def vocab_size(self) -> int:
        return self._vocab_size

    @property
    def max_sequence_length(self) -> int:
        return self._max_sequence_length

    @property
    def embedding(self) -> TransformerEmbedding:
        return self._embedding


class TransformerDecoderNM(_TransformerNM):
    """Token ids -> embeddings -> :class:`TransformerDecoder` attending to encoder states.

    Args:
        vocab_size: embedding rows (the AED model rounds the tokenizer size up to a multiple of 8).
        hidden_size, num_layers, inner_size, num_attention_heads: the stack's shape.
        max_sequence_length: positions of the positional table.
        num_token_types: token type embeddings (0: none; NeMo's AED config uses 0).
        embedding_dropout, ffn_dropout, attn_score_dropout, attn_layer_dropout: dropouts.
        learn_positional_encodings: learned instead of sinusoidal positions.
        hidden_act: ``relu`` or ``gelu``.
        pre_ln: pre-LayerNorm blocks. pre_ln_final_layer_norm: final LayerNorm for pre-LN stacks.
    """

    def __init__(
        self,
        vocab_size: int,
        hidden_size: int,
        num_layers: int,
        inner_size: int,
        num_attention_heads: int,
        max_sequence_length: int = 512,
        num_token_types: int = 2,
        embedding_dropout: float = 0.0,
        learn_positional_encodings: bool = False,
        ffn_dropout: float = 0.0,
        attn_score_dropout: float = 0.0,
        attn_layer_dropout: float = 0.0,
        hidden_act: str = "relu",
        pre_ln: bool = False,
        pre_ln_final_layer_norm: bool = True,
    ) -> None:
        embedding = TransformerEmbedding(
            vocab_size=vocab_size,
            hidden_size=hidden_size,
            max_sequence_length=max_sequence_length,
            num_token_types=num_token_types,
            embedding_dropout=embedding_dropout,
            learn_positional_encodings=learn_positional_encodings,
        )
        super().__init__(vocab_size, hidden_size, max_sequence_length, embedding)
        # Memories the generators carry: one per layer input, the output, and the final LayerNorm's output.
        self.num_states = num_layers + 1 + int(pre_ln_final_layer_norm)
        self._decoder = TransformerDecoder(
            hidden_size=hidden_size,
            num_layers=num_layers,
            inner_size=inner_size,
            num_attention_heads=num_attention_heads,
            ffn_dropout=ffn_dropout,
            attn_score_dropout=attn_score_dropout,
            attn_layer_dropout=attn_layer_dropout,
            hidden_act=hidden_act,
            pre_ln=pre_ln,
            pre_ln_final_layer_norm=pre_ln_final_layer_norm,
        )

    @property
    def decoder(self) -> TransformerDecoder:
        return self._decoder

    @property
    def input_types(self) -> dict[str, NeuralType]:
        return {
            "input_ids": NeuralType(("B", "T"), ChannelType()),
            "decoder_mask": NeuralType(("B", "T"), MaskType()),
            "encoder_embeddings": NeuralType(("B", "T", "D"), ChannelType(), optional=True),
            "encoder_mask": NeuralType(("B", "T"), MaskType(), optional=True),
            "decoder_mems": NeuralType(("B", "D", "T", "D"), ChannelType(), optional=True),
        }

    @property
    def output_types(self) -> dict[str, NeuralType]:
        return {"last_hidden_states": NeuralType(("B", "T", "D"), ChannelType())}

    @typecheck()
    def forward(
        self,
        input_ids: torch.Tensor,
        decoder_mask: torch.Tensor,
        encoder_embeddings: torch.Tensor,
        encoder_mask: torch.Tensor,
        decoder_mems: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Decoder states of every position.

        Args:
            input_ids: (B, L) token ids.
            decoder_mask: (B, L) 1 for real tokens.
            encoder_embeddings: (B, Le, H) encoder output.
            encoder_mask: (B, Le) 1 for valid frames.
            decoder_mems: (B, num_states, L - 1, H) memories of all positions but the last; then only the
                last position is computed (NeMo's export path).

        Returns:
            (B, L, H) decoder output states.
        """
        start = 0
        memories = None
        if decoder_mems is not None:
            start = input_ids.shape[1] - 1
            input_ids, decoder_mask = input_ids[:, -1:], decoder_mask[:, -1:]
            memories = list(decoder_mems.transpose(0, 1))
        return self._decoder(
            decoder_states=self._embedding(input_ids=input_ids, start_pos=start),
            decoder_mask=decoder_mask,
            encoder_states=encoder_embeddings,
            encoder_mask=encoder_mask,
            decoder_mems_list=memories,
        )


class TransformerEncoderNM(_TransformerNM):
    """Token ids -> embeddings -> :class:`TransformerEncoder` (a text encoder; NeMo's ``get_nemo_transformer``
    with ``encoder=True``). Arguments as :class:`TransformerDecoderNM`, plus ``mask_future``."""

    def __init__(
        self,
        vocab_size: int,
        hidden_size: int,
        num_layers: int,
        inner_size: int,
        num_attention_heads: int,
        max_sequence_length: int = 512,
        num_token_types: int = 2,
        embedding_dropout: float = 0.0,
        learn_positional_encodings: bool = False,
        ffn_dropout: float = 0.0,
        attn_score_dropout: float = 0.0,
        attn_layer_dropout: float = 0.0,
        hidden_act: str = "relu",
        mask_future: bool = False,
        pre_ln: bool = False,
        pre_ln_final_layer_norm: bool = True,
    ) -> None:
        embedding = TransformerEmbedding(
            vocab_size=vocab_size,
            hidden_size=hidden_size,
            max_sequence_length=max_sequence_length,
            num_token_types=num_token_types,
            embedding_dropout=embedding_dropout,
            learn_positional_encodings=learn_positional_encodings,
        )
        super().__init__(vocab_size, hidden_size, max_sequence_length, embedding)
        self._encoder = TransformerEncoder(
            hidden_size=hidden_size,
            num_layers=num_layers,
            inner_size=inner_size,
            num_attention_heads=num_attention_heads,
            ffn_dropout=ffn_dropout,
            attn_score_dropout=attn_score_dropout,
            attn_layer_dropout=attn_layer_dropout,
            hidden_act=hidden_act,
            mask_future=mask_future,
            pre_ln=pre_ln,
            pre_ln_final_layer_norm=pre_ln_final_layer_norm,
        )

    @property
    def encoder(self) -> TransformerEncoder:
        return self._encoder

    @property
    def input_types(self) -> dict[str, NeuralType]:
        return {
            "input_ids": NeuralType(("B", "T"), ChannelType()),
            "encoder_mask": NeuralType(("B", "T"), MaskType()),
        }

    @property
    def output_types(self) -> dict[str, NeuralType]:
        return {"last_hidden_states": NeuralType(("B", "T", "D"), ChannelType())}

    @typecheck()
    def forward(self, input_ids: torch.Tensor, encoder_mask: torch.Tensor) -> torch.Tensor:
        """(B, L) ids with (B, L) mask -> (B, L, H) encoded states."""
        return self._encoder(encoder_states=self._embedding(input_ids=input_ids), encoder_mask=encoder_mask)

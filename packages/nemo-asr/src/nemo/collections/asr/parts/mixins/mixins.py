"""NeMo 1.23's ``nemo.collections.asr.parts.mixins.mixins``: ``ASRBPEMixin`` and ``ASRModuleMixin``.

``ASRBPEMixin`` is defined in :mod:`~nemo.collections.asr.parts.mixins.asr_bpe` and re-exported here.
``ASRModuleMixin`` adds the model-level switches that act on the encoder: the Squeeze-Excitation context
window of a ``ConvASREncoder``, the attention model and the subsampling chunking of a ``ConformerEncoder``.
Cache-aware streaming (``conformer_stream_step``, ``transcribe_simulate_cache_aware_streaming``) is not
available in this package; those methods raise ``NotImplementedError``.
"""

from __future__ import annotations

from typing import Any

from nemo.collections.asr.parts.mixins.asr_adapter_mixins import ASRAdapterModelMixin
from nemo.collections.asr.parts.mixins.asr_bpe import ASRBPEMixin
from omegaconf import open_dict

__all__ = ["ASRAdapterModelMixin", "ASRBPEMixin", "ASRModuleMixin"]


class ASRModuleMixin(ASRAdapterModelMixin):
    """Switches on an ASR model (``self.encoder``, ``self.cfg``) that change how its encoder runs."""

    def change_conv_asr_se_context_window(self, context_window: int, update_config: bool = True) -> None:
        """Set the Squeeze-Excitation context window (in feature frames; -1: the whole utterance) of every block.

        Blocks after a strided convolution get the window divided by the strides met so far, as NeMo does
        (see :func:`nemo.collections.asr.parts.utils.asr_module_utils.change_conv_asr_se_context_window`).

        Args:
            context_window: frames each SE step averages over.
            update_config: also write each block's window to ``cfg.encoder.jasper[*].se_context_size``.
        """
        from nemo.collections.asr.parts.utils.asr_module_utils import change_conv_asr_se_context_window

        change_conv_asr_se_context_window(self, context_window=context_window, update_config=update_config)

    def change_attention_model(
        self,
        self_attention_model: str | None = None,
        att_context_size: list[int] | None = None,
        update_config: bool = True,
    ) -> None:
        """Switch the encoder's self-attention (``rel_pos``, ``rel_pos_local_attn``, ``abs_pos``) or its context.

        Raises:
            NotImplementedError: if the encoder cannot change its attention model.
        """
        if self_attention_model is None and att_context_size is None:
            return
        encoder = getattr(self, "encoder", None)
        if encoder is None or not hasattr(encoder, "change_attention_model"):
            raise NotImplementedError(
                f"change_attention_model: the encoder ({type(encoder).__name__}) cannot change its attention model "
                f"here; rebuild the model with encoder.self_attention_model={self_attention_model!r} and "
                f"encoder.att_context_size={att_context_size!r} instead."
            )
        encoder.change_attention_model(self_attention_model, att_context_size, update_config, self.device)
        if update_config:
            # The encoder's resulting settings: an argument left as None keeps the current value.
            with open_dict(self.cfg):
                self.cfg.encoder.self_attention_model = encoder.self_attention_model
                self.cfg.encoder.att_context_size = list(encoder.att_context_size)

    def change_subsampling_conv_chunking_factor(
        self, subsampling_conv_chunking_factor: int, update_config: bool = True
    ) -> None:
        """Split the subsampling convolutions' batch in chunks (1: automatic, -1: never, else a power of 2).

        Raises:
            NotImplementedError: if the encoder has no chunked subsampling.
        """
        encoder = getattr(self, "encoder", None)
        if encoder is None or not hasattr(encoder, "change_subsampling_conv_chunking_factor"):
            raise NotImplementedError(
                f"change_subsampling_conv_chunking_factor: the encoder ({type(encoder).__name__}) has no "
                "convolutional subsampling to chunk; it applies to ConformerEncoder only."
            )
        encoder.change_subsampling_conv_chunking_factor(subsampling_conv_chunking_factor)
        if update_config:
            with open_dict(self.cfg):
                self.cfg.encoder.subsampling_conv_chunking_factor = subsampling_conv_chunking_factor

    def conformer_stream_step(self, *args: Any, **kwargs: Any) -> Any:
        """Cache-aware streaming step: not available in this package."""
        raise NotImplementedError(
            "conformer_stream_step (cache-aware streaming) is not supported by this package; transcribe whole "
            "utterances with model.transcribe(...)."
        )

    def transcribe_simulate_cache_aware_streaming(self, *args: Any, **kwargs: Any) -> Any:
        """Simulated cache-aware streaming transcription: not available in this package."""
        raise NotImplementedError(
            "transcribe_simulate_cache_aware_streaming is not supported by this package; use model.transcribe(...)."
        )

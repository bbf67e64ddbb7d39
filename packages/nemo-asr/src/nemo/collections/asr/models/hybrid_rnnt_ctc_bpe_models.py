"""EncDecHybridRNNTCTCBPEModel: the hybrid RNN-T + CTC model over sentencepiece sub-words (NeMo 1.23's keys).

Config as :mod:`~nemo.collections.asr.models.hybrid_rnnt_ctc_models` with ``tokenizer: {dir, type: bpe}`` in
place of ``labels``; both heads output the tokenizer's pieces, whose files travel inside the ``.nemo``.
"""

from __future__ import annotations

from nemo.collections.asr.models.hybrid_rnnt_ctc_models import EncDecHybridRNNTCTCModel
from nemo.collections.asr.parts.mixins.asr_bpe import ASRBPEMixin
from nemo.collections.asr.parts.submodules.ctc_decoding import CTCBPEDecoding
from nemo.collections.asr.parts.submodules.rnnt_decoding import RNNTBPEDecoding
from omegaconf import DictConfig

__all__ = ["EncDecHybridRNNTCTCBPEModel"]


class EncDecHybridRNNTCTCBPEModel(EncDecHybridRNNTCTCModel, ASRBPEMixin):
    """Hybrid transducer + CTC model whose output units are the pieces of a sentencepiece tokenizer."""

    def __init__(self, cfg: DictConfig, trainer=None) -> None:
        cfg = self._setup_tokenizer_from_model_config(cfg)
        super().__init__(cfg=cfg, trainer=trainer)

    def _output_vocabulary(self) -> list[str]:
        return self.tokenizer_vocabulary

    def _make_decoding(self, decoding_cfg: DictConfig) -> RNNTBPEDecoding:
        return RNNTBPEDecoding(decoding_cfg, decoder=self.decoder, joint=self.joint, tokenizer=self.tokenizer)

    def _make_ctc_decoding(self, decoding_cfg: DictConfig) -> CTCBPEDecoding:
        return CTCBPEDecoding(decoding_cfg, tokenizer=self.tokenizer)

    def change_vocabulary(
        self,
        new_tokenizer_dir: str,
        new_tokenizer_type: str = "bpe",
        decoding_cfg: DictConfig | None = None,
        ctc_decoding_cfg: DictConfig | None = None,
    ) -> None:
        """Swap in another sentencepiece tokenizer: new prediction network, joint and CTC decoder (fresh weights).

        Args:
            new_tokenizer_dir: folder holding the new ``tokenizer.model``.
            new_tokenizer_type: ``"bpe"`` (sentencepiece), the only type supported here.
            decoding_cfg: transducer decoding config from now on (default: keep).
            ctc_decoding_cfg: CTC decoding config from now on (default: keep).
        """
        self._change_tokenizer(new_tokenizer_dir, new_tokenizer_type)
        super().change_vocabulary(
            self.tokenizer_vocabulary, decoding_cfg=decoding_cfg, ctc_decoding_cfg=ctc_decoding_cfg
        )

"""EncDecRNNTBPEModel: EncDecRNNTModel over sentencepiece sub-words (NeMo 1.23's config and keys)."""

from __future__ import annotations

from nemo.collections.asr.models.rnnt_models import EncDecRNNTModel
from nemo.collections.asr.parts.mixins.asr_bpe import ASRBPEMixin
from nemo.collections.asr.parts.submodules.rnnt_decoding import RNNTBPEDecoding
from omegaconf import DictConfig

__all__ = ["EncDecRNNTBPEModel"]


class EncDecRNNTBPEModel(EncDecRNNTModel, ASRBPEMixin):
    """Transducer whose output units are the pieces of a sentencepiece tokenizer (``cfg.tokenizer``)."""

    def __init__(self, cfg: DictConfig, trainer=None) -> None:
        cfg = self._setup_tokenizer_from_model_config(cfg)
        super().__init__(cfg=cfg, trainer=trainer)

    def _output_vocabulary(self) -> list[str]:
        return self.tokenizer_vocabulary

    def _make_decoding(self, decoding_cfg: DictConfig) -> RNNTBPEDecoding:
        return RNNTBPEDecoding(decoding_cfg, decoder=self.decoder, joint=self.joint, tokenizer=self.tokenizer)

    def change_vocabulary(
        self, new_tokenizer_dir: str, new_tokenizer_type: str = "bpe", decoding_cfg: DictConfig | None = None
    ) -> None:
        """Swap in another sentencepiece tokenizer: new prediction network and joint (NeMo's signature)."""
        self._change_tokenizer(new_tokenizer_dir, new_tokenizer_type)
        super().change_vocabulary(self.tokenizer_vocabulary, decoding_cfg=decoding_cfg)

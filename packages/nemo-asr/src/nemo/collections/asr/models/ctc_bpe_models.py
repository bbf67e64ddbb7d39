"""EncDecCTCModelBPE: EncDecCTCModel over sentencepiece sub-words instead of characters.

Config as NeMo 1.23's: ``tokenizer: {dir: <folder with tokenizer.model>, type: bpe}`` replaces ``labels``;
the tokenizer files travel inside the ``.nemo``.
"""

from __future__ import annotations

from nemo.collections.asr.models.ctc_models import EncDecCTCModel
from nemo.collections.asr.parts.mixins.asr_bpe import ASRBPEMixin
from nemo.collections.asr.parts.submodules.ctc_decoding import CTCBPEDecoding
from nemo.utils import logging
from omegaconf import DictConfig, ListConfig, open_dict

__all__ = ["EncDecCTCModelBPE"]


class EncDecCTCModelBPE(EncDecCTCModel, ASRBPEMixin):
    """CTC model whose output units are the pieces of a sentencepiece tokenizer."""

    def __init__(self, cfg: DictConfig, trainer=None) -> None:
        cfg = self._setup_tokenizer_from_model_config(cfg)
        with open_dict(cfg):
            cfg.decoder.vocabulary = ListConfig(self.tokenizer_vocabulary)
            if cfg.decoder.get("num_classes", -1) < 1:
                cfg.decoder.num_classes = len(self.tokenizer_vocabulary)
        super().__init__(cfg=cfg, trainer=trainer)

    def _make_decoding(self, decoding_cfg: DictConfig) -> CTCBPEDecoding:
        return CTCBPEDecoding(decoding_cfg, tokenizer=self.tokenizer)

    def change_vocabulary(
        self, new_tokenizer_dir: str, new_tokenizer_type: str = "bpe", decoding_cfg: DictConfig | None = None
    ) -> None:
        """Swap in another sentencepiece tokenizer (new decoder head), NeMo's signature."""
        self._change_tokenizer(new_tokenizer_dir, new_tokenizer_type)
        super().change_vocabulary(self.tokenizer_vocabulary, decoding_cfg=decoding_cfg)
        logging.info(f"Changed tokenizer to {new_tokenizer_dir} ({self.tokenizer.vocab_size} pieces).")

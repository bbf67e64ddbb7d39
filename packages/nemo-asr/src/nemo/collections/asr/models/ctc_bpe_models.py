"""EncDecCTCModelBPE: EncDecCTCModel over sentencepiece sub-words instead of characters.

Config as NeMo 1.23's: ``tokenizer: {dir: <folder with tokenizer.model>, type: bpe}`` replaces ``labels``;
the tokenizer files travel inside the ``.nemo``.
"""

from __future__ import annotations

from nemo.collections.asr.data.audio_to_text_dataset import get_audio_to_text_dataloader
from nemo.collections.asr.models.ctc_models import EncDecCTCModel
from nemo.collections.asr.parts.mixins.asr_bpe import ASRBPEMixin
from nemo.collections.asr.parts.submodules.ctc_decoding import CTCBPEDecoding
from nemo.utils import logging
from omegaconf import DictConfig, ListConfig, OmegaConf, open_dict

__all__ = ["EncDecCTCModelBPE"]


class EncDecCTCModelBPE(EncDecCTCModel, ASRBPEMixin):
    """CTC model whose output units are the pieces of a sentencepiece tokenizer."""

    def __init__(self, cfg: DictConfig, trainer=None) -> None:
        if not isinstance(cfg, DictConfig):
            cfg = OmegaConf.create(cfg)
        if "tokenizer" not in cfg:
            raise ValueError(
                "EncDecCTCModelBPE needs a `tokenizer` section in its config: tokenizer: {dir: <folder with "
                "tokenizer.model>, type: bpe}."
            )
        self._setup_tokenizer(cfg.tokenizer)
        with open_dict(cfg):
            cfg.tokenizer = OmegaConf.create(self.tokenizer_cfg)
            cfg.decoder.vocabulary = ListConfig(self.tokenizer_vocabulary)
            if cfg.decoder.get("num_classes", -1) < 1:
                cfg.decoder.num_classes = len(self.tokenizer_vocabulary)
        super().__init__(cfg=cfg, trainer=trainer)

    def _setup_decoding(self, decoding_cfg: DictConfig | None) -> None:
        super()._setup_decoding(decoding_cfg)
        self.decoding = CTCBPEDecoding(self._cfg.decoding, tokenizer=self.tokenizer)
        self.wer.decoding = self.decoding

    def _setup_dataloader_from_config(self, config: DictConfig | None):
        if config is None or config.get("manifest_filepath") is None and not config.get("is_tarred"):
            return None
        with open_dict(config):
            config.setdefault("sample_rate", self._cfg.get("sample_rate", 16000))
        return get_audio_to_text_dataloader(config, tokenizer=self.tokenizer)

    def change_vocabulary(
        self, new_tokenizer_dir: str, new_tokenizer_type: str = "bpe", decoding_cfg: DictConfig | None = None
    ) -> None:
        """Swap in another sentencepiece tokenizer (new decoder head), NeMo's signature."""
        self._setup_tokenizer(OmegaConf.create({"dir": new_tokenizer_dir, "type": new_tokenizer_type}))
        with open_dict(self._cfg):
            self._cfg.tokenizer = OmegaConf.create(self.tokenizer_cfg)
        super().change_vocabulary(self.tokenizer_vocabulary, decoding_cfg=decoding_cfg)
        logging.info(f"Changed tokenizer to {new_tokenizer_dir} ({self.tokenizer.vocab_size} pieces).")

"""EncDecRNNTBPEModel: EncDecRNNTModel over sentencepiece sub-words (NeMo 1.23's config and keys)."""

from __future__ import annotations

from nemo.collections.asr.data.audio_to_text_dataset import get_audio_to_text_dataloader
from nemo.collections.asr.models.rnnt_models import EncDecRNNTModel
from nemo.collections.asr.parts.mixins.asr_bpe import ASRBPEMixin
from nemo.collections.asr.parts.submodules.rnnt_decoding import RNNTBPEDecoding
from omegaconf import DictConfig, OmegaConf, open_dict

__all__ = ["EncDecRNNTBPEModel"]


class EncDecRNNTBPEModel(EncDecRNNTModel, ASRBPEMixin):
    """Transducer whose output units are the pieces of a sentencepiece tokenizer (``cfg.tokenizer``)."""

    def __init__(self, cfg: DictConfig, trainer=None) -> None:
        if not isinstance(cfg, DictConfig):
            cfg = OmegaConf.create(cfg)
        if "tokenizer" not in cfg:
            raise ValueError(
                "EncDecRNNTBPEModel needs a `tokenizer` section in its config: tokenizer: {dir: <folder with "
                "tokenizer.model>, type: bpe}."
            )
        self._setup_tokenizer(cfg.tokenizer)
        with open_dict(cfg):
            cfg.tokenizer = OmegaConf.create(self.tokenizer_cfg)
        super().__init__(cfg=cfg, trainer=trainer)

    def _output_vocabulary(self) -> list[str]:
        return self.tokenizer_vocabulary

    def _make_decoding(self, decoding_cfg: DictConfig) -> RNNTBPEDecoding:
        return RNNTBPEDecoding(decoding_cfg, decoder=self.decoder, joint=self.joint, tokenizer=self.tokenizer)

    def _setup_dataloader_from_config(self, config: DictConfig | None):
        if config is None or config.get("manifest_filepath") is None and not config.get("is_tarred"):
            return None
        with open_dict(config):
            config.setdefault("sample_rate", self._cfg.get("sample_rate", 16000))
        return get_audio_to_text_dataloader(config, tokenizer=self.tokenizer)

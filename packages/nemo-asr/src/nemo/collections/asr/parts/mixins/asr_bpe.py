"""ASRBPEMixin: the sub-word tokenizer of the BPE models, kept inside the ``.nemo`` as artifacts."""

from __future__ import annotations

import os

from nemo.collections.common.tokenizers.sentencepiece_tokenizer import SentencePieceTokenizer
from omegaconf import DictConfig, OmegaConf, open_dict

# Files of a sentencepiece tokenizer directory (as NeMo's tokenizer scripts write them) and their config keys.
_SENTENCEPIECE_FILES = {
    "model_path": "tokenizer.model",
    "vocab_path": "vocab.txt",
    "spe_tokenizer_vocab": "tokenizer.vocab",
}


class ASRBPEMixin:
    """Builds ``self.tokenizer`` from ``cfg.tokenizer`` (``dir`` and ``type: bpe``), NeMo 1.23's layout.

    Each tokenizer file is registered as an artifact under ``tokenizer.<key>``, so ``save_to`` packs it
    into the archive and ``restore_from`` points the key at the extracted copy.
    """

    def _setup_tokenizer(self, tokenizer_cfg: DictConfig) -> None:
        """Build ``self.tokenizer``; ``self.tokenizer_cfg`` holds the config with artifact paths filled in."""
        tokenizer_type = str(tokenizer_cfg.get("type", "bpe")).lower()
        if tokenizer_type == "agg":
            self._setup_aggregate_tokenizer(tokenizer_cfg)
            return
        if tokenizer_type != "bpe":
            raise ValueError(
                f"tokenizer.type is {tokenizer_type!r}; this package supports 'bpe' (sentencepiece) tokenizers. "
                "Train one with nemo.collections.common.tokenizers.sentencepiece_tokenizer.create_spt_model."
            )
        self.tokenizer_cfg = OmegaConf.to_container(tokenizer_cfg, resolve=True)
        self.tokenizer_dir = self.tokenizer_cfg.get("dir")
        for key, file_name in _SENTENCEPIECE_FILES.items():
            source = self.tokenizer_cfg.get(key) or (
                os.path.join(self.tokenizer_dir, file_name) if self.tokenizer_dir else None
            )
            if source is None:
                raise ValueError(f"tokenizer.dir or tokenizer.{key} must be set to build the tokenizer.")
            required = key == "model_path"
            if not required and not str(source).startswith("nemo:") and not os.path.exists(source):
                continue
            self.tokenizer_cfg[key] = self.register_artifact(
                f"tokenizer.{key}", source, verify_src_exists=required
            )
        self.tokenizer = SentencePieceTokenizer(model_path=self.tokenizer_cfg["model_path"])

    def _setup_aggregate_tokenizer(self, tokenizer_cfg: DictConfig) -> None:
        """``tokenizer.type: agg``: one sentencepiece tokenizer per language, joined (see aggregate_tokenizer)."""
        from nemo.collections.asr.parts.mixins.aggregate_tokenizer import setup_aggregate_tokenizer

        setup_aggregate_tokenizer(self, tokenizer_cfg)

    def _setup_tokenizer_from_model_config(self, cfg: DictConfig | dict) -> DictConfig:
        """Build the tokenizer a model config's ``tokenizer`` section names; return the config with it filled in.

        Called before ``ModelPT.__init__`` (NeMo's order), so the datasets that init builds can tokenize.
        """
        cfg = cfg if isinstance(cfg, DictConfig) else OmegaConf.create(cfg)
        if "tokenizer" not in cfg:
            raise ValueError(
                f"{type(self).__name__} needs a `tokenizer` section in its config: tokenizer: {{dir: <folder with "
                "tokenizer.model>, type: bpe}."
            )
        self._setup_tokenizer(cfg.tokenizer)
        with open_dict(cfg):
            cfg.tokenizer = OmegaConf.create(self.tokenizer_cfg)
        return cfg

    def _change_tokenizer(self, new_tokenizer_dir: str, new_tokenizer_type: str) -> None:
        """Swap in another tokenizer (``change_vocabulary`` of the BPE models) and record it in the config."""
        self._setup_tokenizer(OmegaConf.create({"dir": new_tokenizer_dir, "type": new_tokenizer_type}))
        with open_dict(self._cfg):
            self._cfg.tokenizer = OmegaConf.create(self.tokenizer_cfg)

    @property
    def tokenizer_vocabulary(self) -> list[str]:
        """Sub-word pieces in id order: the decoder's output vocabulary (blank excluded)."""
        return self.tokenizer.ids_to_tokens(list(range(self.tokenizer.vocab_size)))

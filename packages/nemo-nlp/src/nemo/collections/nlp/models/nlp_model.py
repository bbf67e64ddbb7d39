"""``NLPModel``: the base of NeMo's encoder-based NLP models (NeMo 1.23's class), restorable offline.

It builds the tokenizer (``cfg.tokenizer``) before ``ModelPT.__init__`` sets up the datasets, then the
encoder (``cfg.language_model``, as ``self.bert_model``), and registers as ``.nemo`` artifacts everything
that rebuilding them takes, so ``restore_from`` needs neither the network nor a Hugging Face cache:

- ``language_model.config_file``: the encoder's ``config.json`` (written from ``bert_model.config`` when the
  config only gave ``config`` or a pretrained name); restoring builds the architecture from it and loads
  the weights from the archive, never from the hub;
- ``tokenizer.vocab_file``: the vocabulary (written by the tokenizer when the config gave none), which NeMo
  reads;
- ``tokenizer.tokenizer_file`` and ``tokenizer.tokenizer_config_file`` (keys NeMo ignores): the fast
  tokenizer's ``tokenizer.json`` and ``tokenizer_config.json``, which rebuild it exactly.

Archives made by NeMo hold only the first two; their tokenizer is rebuilt from the vocabulary file
(see ``nemo.collections.common.tokenizers.huggingface.offline_loading``).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping
from typing import Any

import pytorch_lightning as pl
import torch
from nemo.collections.common.tokenizers.huggingface.auto_tokenizer import AutoTokenizer
from nemo.collections.nlp.modules.common.lm_utils import get_lm_model
from nemo.collections.nlp.modules.common.tokenizer_utils import get_tokenizer
from nemo.core.classes.exportable import Exportable
from nemo.core.classes.modelPT import ModelPT
from nemo.core.connectors.save_restore_connector import SaveRestoreConnector
from omegaconf import DictConfig, OmegaConf, open_dict

__all__ = ["NLPModel"]

_FAST_TOKENIZER_FILES = {
    "tokenizer.tokenizer_file": "tokenizer.json",
    "tokenizer.tokenizer_config_file": "tokenizer_config.json",
}


class _GeneratedFiles:
    """A temporary folder for the artifacts a model writes itself, removed with the model.

    Copies of the model (``copy.deepcopy``) share it.
    """

    def __init__(self) -> None:
        self._directory = tempfile.TemporaryDirectory(prefix="nemo_nlp_")
        self.path = self._directory.name

    def __deepcopy__(self, memo: dict) -> _GeneratedFiles:
        return self


class NLPModel(ModelPT, Exportable):
    """Base class of the NLP models: tokenizer, ``bert_model`` encoder and their artifacts.

    Args:
        cfg: the model config, with NeMo's ``tokenizer`` (``tokenizer_name``, ``vocab_file``,
            ``tokenizer_model``, ``special_tokens``) and ``language_model`` (``pretrained_model_name``,
            ``lm_checkpoint``, ``config_file``, ``config``) sections.
        trainer: the Lightning trainer.
        no_lm_init: build no encoder (the subclass makes its own).
    """

    def __init__(self, cfg: DictConfig, trainer: pl.Trainer | None = None, no_lm_init: bool = False) -> None:
        self.hidden_size = None
        self.bert_model = None
        self._generated_files: _GeneratedFiles | None = None
        if isinstance(cfg, Mapping) and not isinstance(cfg, DictConfig):
            cfg = OmegaConf.create(dict(cfg))
        tokenizer_cfg = cfg.get("tokenizer")
        if tokenizer_cfg and getattr(self, "tokenizer", None) is None:
            self.setup_tokenizer(tokenizer_cfg)
        super().__init__(cfg, trainer)
        with open_dict(self._cfg):
            for key, item in (getattr(self, "artifacts", None) or {}).items():
                OmegaConf.update(self._cfg, key, item.path)
        if cfg.get("language_model") and not no_lm_init:
            language_model = cfg.language_model
            config_dict = (
                OmegaConf.to_container(language_model.config) if language_model.get("config") else None
            )
            config_file = None
            if language_model.get("config_file"):
                config_file = self.register_artifact("language_model.config_file", language_model.config_file)
            vocab_file = self.cfg.get("tokenizer", {}).get("vocab_file")
            self.bert_model = get_lm_model(
                config_dict=config_dict,
                config_file=config_file,
                vocab_file=vocab_file,
                trainer=trainer,
                cfg=cfg,
            )
            self.pretrained_model_name = language_model.get("pretrained_model_name")
            self.hidden_size = self.bert_model.config.hidden_size
            self.register_bert_model()

    def register_artifact(self, config_path: str, src: str, verify_src_exists: bool = False) -> str | None:
        """``ModelPT.register_artifact``, but a missing file gives ``None`` (NLP artifacts are optional)."""
        return super().register_artifact(config_path, src, verify_src_exists=verify_src_exists)

    def _generated_folder(self) -> str:
        """The model's own temporary folder for the artifact files it writes."""
        if self._generated_files is None:
            self._generated_files = _GeneratedFiles()
        return self._generated_files.path

    def register_bert_model(self) -> None:
        """Register the encoder's ``config.json`` as ``language_model.config_file`` unless already registered."""
        if self.bert_model is None or "language_model.config_file" in (
            getattr(self, "artifacts", None) or {}
        ):
            return
        name = (getattr(self.bert_model, "name_or_path", "") or "").replace("/", "_").replace(os.sep, "_")
        path = os.path.join(self._generated_folder(), f"{name}_encoder_config.json")
        self.bert_model.config.to_json_file(path)
        self.register_artifact("language_model.config_file", path)

    def setup_tokenizer(self, cfg: DictConfig) -> None:
        """Build ``self.tokenizer`` from the ``tokenizer`` config and register its files as artifacts.

        The fast tokenizer's own files (``tokenizer_file``, ``tokenizer_config_file``) win when present (archives
        we saved); else ``get_tokenizer(tokenizer_name, vocab_file, ...)``. Files the config lacks are written
        from the tokenizer and registered.

        Args:
            cfg: the ``tokenizer`` section.
        """
        vocab_file = (
            self.register_artifact("tokenizer.vocab_file", cfg.vocab_file) if cfg.get("vocab_file") else None
        )
        fast_files = {
            key: self.register_artifact(key, cfg.get(key.split(".", 1)[1]))
            for key in _FAST_TOKENIZER_FILES
            if cfg.get(key.split(".", 1)[1])
        }
        special_tokens = OmegaConf.to_container(cfg.special_tokens) if cfg.get("special_tokens") else None
        if all(fast_files.get(key) for key in _FAST_TOKENIZER_FILES):
            with tempfile.TemporaryDirectory(prefix="nemo_nlp_tokenizer_") as folder:
                for key, name in _FAST_TOKENIZER_FILES.items():
                    shutil.copyfile(fast_files[key], os.path.join(folder, name))
                self.tokenizer = get_tokenizer(tokenizer_name=folder, special_tokens=special_tokens)
        elif cfg.get("tokenizer_name") or vocab_file or cfg.get("tokenizer_model"):
            tokenizer_model = cfg.get("tokenizer_model")
            if tokenizer_model:
                tokenizer_model = self.register_artifact("tokenizer.tokenizer_model", tokenizer_model)
            self.tokenizer = get_tokenizer(
                tokenizer_name=cfg.get("tokenizer_name"),
                vocab_file=vocab_file,
                special_tokens=special_tokens,
                tokenizer_model=tokenizer_model,
            )
        else:
            self.tokenizer = None
            return
        if isinstance(self.tokenizer, AutoTokenizer):
            if vocab_file is None:
                self._register_vocab_from_tokenizer()
            if not all(fast_files.get(key) for key in _FAST_TOKENIZER_FILES):
                self._register_fast_tokenizer_files()

    def _register_vocab_from_tokenizer(self, vocab_file_config_path: str = "tokenizer.vocab_file") -> None:
        """Write the tokenizer's vocabulary file(s) and register the first as ``tokenizer.vocab_file``."""
        folder = tempfile.mkdtemp(prefix="vocab_", dir=self._generated_folder())
        written = self.tokenizer.save_vocabulary(folder)
        if written:
            self.register_artifact(vocab_file_config_path, written[0])

    def _register_fast_tokenizer_files(self) -> None:
        """Write ``tokenizer.json`` and ``tokenizer_config.json`` and register them (keys NeMo ignores)."""
        folder = tempfile.mkdtemp(prefix="tokenizer_", dir=self._generated_folder())
        self.tokenizer.tokenizer.save_pretrained(folder)
        for key, name in _FAST_TOKENIZER_FILES.items():
            path = os.path.join(folder, name)
            if os.path.isfile(path):
                self.register_artifact(key, path)

    @property
    def input_module(self) -> torch.nn.Module:
        return self.bert_model

    @property
    def output_module(self) -> torch.nn.Module:
        return self.classifier

    def load_state_dict(
        self, state_dict: Mapping[str, Any], strict: bool = True, assign: bool = False
    ) -> Any:
        """``load_state_dict`` that drops ``position_ids`` buffers this encoder does not save.

        Older transformers versions saved ``embeddings.position_ids``; newer ones keep it out of the state dict.
        """
        own = self.state_dict(keep_vars=True)
        state_dict = {
            key: value
            for key, value in state_dict.items()
            if not (key.endswith("position_ids") and key not in own)
        }
        return super().load_state_dict(state_dict, strict=strict, assign=assign)

    @classmethod
    def restore_from(
        cls,
        restore_path: str,
        override_config_path: str | DictConfig | None = None,
        map_location: torch.device | str | None = None,
        strict: bool = True,
        return_config: bool = False,
        save_restore_connector: SaveRestoreConnector | None = None,
        trainer: pl.Trainer | None = None,
    ) -> Any:
        """``ModelPT.restore_from``; a folder holding an extracted archive works too, as in NeMo."""
        if save_restore_connector is None:
            save_restore_connector = SaveRestoreConnector()
        if os.path.isdir(restore_path):
            save_restore_connector.model_extracted_dir = restore_path
        return super().restore_from(
            restore_path,
            override_config_path,
            map_location,
            strict,
            return_config,
            save_restore_connector,
            trainer,
        )

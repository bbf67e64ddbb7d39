"""ASRModel: what every speech recognition model shares, so each model file holds only its own logic.

Shared here (NeMo 1.23 has the same base class name): data loaders built from NeMo's
``train_ds``/``validation_ds``/``test_ds`` configs (character labels, or the model's tokenizer when it has
one), validation/test step bookkeeping, epoch-level loss and WER, and the offline pretrained lookup.
"""

from __future__ import annotations

import torch
from nemo.collections.asr.data.audio_to_text_dataset import get_audio_to_text_dataloader
from nemo.core.classes.model import PretrainedModelInfo
from nemo.core.classes.modelPT import ModelPT
from omegaconf import DictConfig, OmegaConf, open_dict

__all__ = ["ASRModel"]


def _as_dict_config(config: DictConfig | dict | None) -> DictConfig | None:
    """A dataset config as a DictConfig; a DictConfig is kept as is, so its interpolations still resolve."""
    return OmegaConf.create(config) if isinstance(config, dict) else config


class ASRModel(ModelPT):
    """Base of the ASR models: data set-up, step bookkeeping and epoch metrics (``val_loss``, ``val_wer``)."""

    # --------------------------------------------------------------------------------------------- data
    def _setup_dataloader_from_config(self, config: DictConfig | None):
        if config is None or config.get("manifest_filepath") is None and not config.get("is_tarred"):
            return None
        with open_dict(config):
            config.setdefault("sample_rate", self._cfg.get("sample_rate", 16000))
        tokenizer = getattr(self, "tokenizer", None)
        if tokenizer is not None:
            return get_audio_to_text_dataloader(config, tokenizer=tokenizer)
        with open_dict(config):
            config.setdefault("labels", self._cfg.get("labels"))
        return get_audio_to_text_dataloader(config, labels=list(config.labels))

    def setup_training_data(self, train_data_config: DictConfig | dict | None) -> None:
        self._update_dataset_config("train", train_data_config)
        self._train_dl = self._setup_dataloader_from_config(_as_dict_config(train_data_config))

    def setup_validation_data(self, val_data_config: DictConfig | dict | None) -> None:
        self._update_dataset_config("validation", val_data_config)
        self._validation_dl = self._setup_dataloader_from_config(_as_dict_config(val_data_config))

    def setup_test_data(self, test_data_config: DictConfig | dict | None) -> None:
        self._update_dataset_config("test", test_data_config)
        self._test_dl = self._setup_dataloader_from_config(_as_dict_config(test_data_config))

    # ------------------------------------------------------------------------------------------ model
    def _encode(
        self,
        input_signal: torch.Tensor | None,
        input_signal_length: torch.Tensor | None,
        processed_signal: torch.Tensor | None,
        processed_signal_length: torch.Tensor | None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Audio (B, T) or features (B, D, T') -> SpecAugment in training -> encoder: (B, D', T''), (B,)."""
        has_audio = input_signal is not None and input_signal_length is not None
        has_features = processed_signal is not None and processed_signal_length is not None
        if has_audio == has_features:
            raise ValueError(
                f"{type(self).__name__}.forward takes either input_signal and input_signal_length, or "
                f"processed_signal and processed_signal_length; got {'both' if has_audio else 'neither'}."
            )
        if has_audio:
            processed_signal, processed_signal_length = self.preprocessor(
                input_signal=input_signal, length=input_signal_length
            )
        if self.spec_augmentation is not None and self.training:
            processed_signal = self.spec_augmentation(
                input_spec=processed_signal, length=processed_signal_length
            )
        return self.encoder(audio_signal=processed_signal, length=processed_signal_length)

    # ------------------------------------------------------------------------------------- evaluation
    def _eval_step(self, batch, prefix: str) -> dict[str, torch.Tensor]:
        """``{prefix}_loss``, ``{prefix}_wer_num``, ``{prefix}_wer_denom``, ``{prefix}_wer`` of one batch."""
        raise NotImplementedError(f"{type(self).__name__} must implement _eval_step(batch, prefix).")

    def validation_step(self, batch, batch_idx, dataloader_idx: int = 0):
        metrics = self._eval_step(batch, "val")
        self._record_step_outputs(self.validation_step_outputs, metrics, dataloader_idx)
        return metrics

    def test_step(self, batch, batch_idx, dataloader_idx: int = 0):
        metrics = self._eval_step(batch, "test")
        self._record_step_outputs(self.test_step_outputs, metrics, dataloader_idx)
        return metrics

    @staticmethod
    def _record_step_outputs(store: list, metrics: dict, dataloader_idx: int) -> None:
        """Append to the outputs of this dataloader (a list per dataloader when there are several)."""
        (store[dataloader_idx] if store and isinstance(store[0], list) else store).append(metrics)

    @staticmethod
    def _epoch_metrics(outputs: list[dict], prefix: str) -> dict:
        """Mean loss and corpus-level WER (total errors / total reference words) over an epoch."""
        loss = torch.stack([output[f"{prefix}_loss"] for output in outputs]).mean()
        errors = torch.stack([output[f"{prefix}_wer_num"] for output in outputs]).sum()
        words = torch.stack([output[f"{prefix}_wer_denom"] for output in outputs]).sum()
        return {"log": {f"{prefix}_loss": loss, f"{prefix}_wer": errors.float() / words.clamp(min=1)}}

    def multi_validation_epoch_end(self, outputs: list[dict], dataloader_idx: int = 0) -> dict:
        return self._epoch_metrics(outputs, "val")

    def multi_test_epoch_end(self, outputs: list[dict], dataloader_idx: int = 0) -> dict:
        return self._epoch_metrics(outputs, "test")

    # ------------------------------------------------------------------------------------- pretrained
    @classmethod
    def list_available_models(cls) -> list[PretrainedModelInfo]:
        """Pretrained models of this class known locally (plugin-registered); nothing is downloaded."""
        from nemo.core.registry import list_pretrained

        return [info for info in list_pretrained("asr") if info.class_ in (None, cls)]

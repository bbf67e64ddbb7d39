"""ASRModel: what every speech recognition model shares, so each model file holds only its own logic.

Shared here (NeMo 1.23 has the same base class name): data loaders built from NeMo's
``train_ds``/``validation_ds``/``test_ds`` configs (character labels, or the model's tokenizer when it has
one), the audio input ports, training/validation/test steps around each model's ``_loss_and_wer``,
epoch-level loss and WER, and the offline pretrained lookup.
"""

from __future__ import annotations

import torch
from nemo.collections.asr.data.audio_to_text_dataset import get_audio_to_text_dataloader
from nemo.collections.asr.metrics.wer import WER
from nemo.core.classes.model import PretrainedModelInfo
from nemo.core.classes.modelPT import ModelPT
from nemo.core.neural_types import AudioSignal, LengthsType, NeuralType, SpectrogramType
from omegaconf import DictConfig, ListConfig, OmegaConf, open_dict

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

    def _set_dataset_labels(self, vocabulary: list[str]) -> None:
        """Set ``labels`` in those of ``train_ds``/``validation_ds``/``test_ds`` that have the key."""
        with open_dict(self._cfg):
            for split in ("train_ds", "validation_ds", "test_ds"):
                if self._cfg.get(split) is not None and "labels" in self._cfg[split]:
                    self._cfg[split].labels = ListConfig(list(vocabulary))

    # ------------------------------------------------------------------------------------------ model
    @property
    def input_types(self) -> dict[str, NeuralType]:
        """Audio ``input_signal`` (B, T) or features ``processed_signal`` (B, D, T), each with (B,) lengths."""
        sample_rate = getattr(self.preprocessor, "_sample_rate", None)
        return {
            "input_signal": NeuralType(("B", "T"), AudioSignal(freq=sample_rate), optional=True),
            "input_signal_length": NeuralType(("B",), LengthsType(), optional=True),
            "processed_signal": NeuralType(("B", "D", "T"), SpectrogramType(), optional=True),
            "processed_signal_length": NeuralType(("B",), LengthsType(), optional=True),
        }

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
        processed_signal, processed_signal_length = self._shape_features(
            processed_signal, processed_signal_length
        )
        if self.spec_augmentation is not None and self.training:
            processed_signal = self.spec_augmentation(
                input_spec=processed_signal, length=processed_signal_length
            )
        return self.encoder(audio_signal=processed_signal, length=processed_signal_length)

    def _shape_features(
        self, features: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Hook between the preprocessor and SpecAugment in :meth:`_encode`: features (B, D, T) unchanged here."""
        return features, lengths

    def _make_wer(self) -> WER:
        """The WER metric over ``self.decoding`` (config keys ``use_cer``, ``log_prediction``)."""
        return WER(
            decoding=self.decoding,
            use_cer=self._cfg.get("use_cer", False),
            log_prediction=self._cfg.get("log_prediction", False),
            dist_sync_on_step=True,
        )

    def _batch_wer(
        self,
        predictions: torch.Tensor,
        predictions_lengths: torch.Tensor,
        targets: torch.Tensor,
        targets_lengths: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(wer, errors, reference words)`` of one batch; ``self.wer`` is left reset.

        Args:
            predictions: what ``self.decoding`` decodes: log-probs (B, T, V+1) or encoder outputs (B, D, T).
            predictions_lengths: (B,) valid frames.
            targets: (B, U) padded reference ids.
            targets_lengths: (B,) valid reference ids.
        """
        self.wer.update(
            predictions=predictions,
            predictions_lengths=predictions_lengths,
            targets=targets,
            targets_lengths=targets_lengths,
        )
        wer, wer_num, wer_denom = self.wer.compute()
        self.wer.reset()
        return wer, wer_num, wer_denom

    # --------------------------------------------------------------------------------------- training
    def _loss_and_wer(
        self, batch, compute_wer: bool
    ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None, torch.Tensor | None]:
        """Loss of a batch ``(audio, audio_len, transcripts, transcripts_len, ...)`` and, when ``compute_wer``,
        its WER.

        Returns:
            (loss, wer, wer_num, wer_denom); the last three are None when ``compute_wer`` is False.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement _loss_and_wer(batch, compute_wer).")

    def training_step(self, batch, batch_nb):
        log_every_n_steps = max(self._trainer.log_every_n_steps if self._trainer else 1, 1)
        loss, wer, _, _ = self._loss_and_wer(batch, compute_wer=(batch_nb + 1) % log_every_n_steps == 0)
        self.log_dict(
            {
                "train_loss": loss,
                "learning_rate": self._optimizer.param_groups[0]["lr"] if self._optimizer else 0.0,
                "global_step": float(self.trainer.global_step),
            },
            on_step=True,
        )
        if wer is not None:
            self.log("training_batch_wer", wer, prog_bar=True, on_step=True)
        return {"loss": loss}

    # ------------------------------------------------------------------------------------- evaluation
    def _eval_step(self, batch, prefix: str) -> dict[str, torch.Tensor]:
        """``{prefix}_loss``, ``{prefix}_wer_num``, ``{prefix}_wer_denom``, ``{prefix}_wer`` of one batch."""
        loss, wer, wer_num, wer_denom = self._loss_and_wer(batch, compute_wer=True)
        return {
            f"{prefix}_loss": loss,
            f"{prefix}_wer_num": wer_num,
            f"{prefix}_wer_denom": wer_denom,
            f"{prefix}_wer": wer,
        }

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

"""SpeechEncDecSelfSupervisedModel: self-supervised pre-training of an ASR encoder (NeMo 1.23's model).

audio -> ``preprocessor`` -> spectrogram; ``spec_augment`` (e.g. ``MaskedPatchAugmentation``) masks patches of
it; the ``encoder`` encodes the masked spectrogram; decoders and losses then compare the encoding with the
unmasked spectrogram at the masked steps. Config keys, as in NeMo:

* ``loss_list``: named ``{decoder, loss}`` pairs, each with optional ``loss_alpha`` (weight, 1.0),
  ``output_from_layer`` (feed the decoder the output of that encoder submodule, e.g. ``encoder.0``, recorded
  through ``AccessMixin``), ``targets_from_loss`` (use another loss's quantizer ids as targets, for
  ``MLMLoss``), ``start_step`` (first global step the pair is active), ``transpose_encoded`` and
  ``is_active`` (false leaves the pair out);
* or a single ``decoder`` and ``loss`` (state-dict keys ``decoder_ssl.*`` and ``loss.*``);
* ``dropout_features`` / ``dropout_features_q`` (dropout on the encoder input / on the targets),
  ``feature_penalty`` (weight of the mean squared spectrogram added to the loss), ``access`` (the shared
  access config).

State-dict keys are NeMo's (``preprocessor.*``, ``encoder.*``, ``decoder_losses.<name>.decoder.*``,
``decoder_losses.<name>.loss.*``, ``spec_augmentation.*``).
"""

from __future__ import annotations

from typing import Any

import torch
from nemo.collections.asr.data.audio_to_text_dataset import (
    get_audio_to_text_dataloader,
    inject_dataloader_value_from_model_config,
)
from nemo.collections.asr.parts.mixins.mixins import ASRModuleMixin
from nemo.collections.asr.parts.preprocessing.perturb import process_augmentations
from nemo.core.classes.mixins.access_mixins import AccessMixin, set_access_cfg
from nemo.core.classes.model import PretrainedModelInfo
from nemo.core.classes.modelPT import ModelPT
from nemo.core.classes.typecheck import typecheck
from nemo.core.neural_types import (
    AcousticEncodedRepresentation,
    AudioSignal,
    LabelsType,
    LengthsType,
    NeuralType,
    SpectrogramType,
)
from omegaconf import DictConfig, OmegaConf, open_dict
from torch import nn

__all__ = ["SpeechEncDecSelfSupervisedModel"]

# A spectrogram value this close to 0 after augmentation counts as masked, as in NeMo 1.23.
_MASKED_VALUE_TOLERANCE = 1e-5


class SpeechEncDecSelfSupervisedModel(ModelPT, ASRModuleMixin, AccessMixin):
    """Encoder pre-training with contrastive / masked-prediction losses (see the module docstring).

    Args:
        cfg: the model config.
        trainer: the Lightning trainer, or None.
    """

    def __init__(self, cfg: DictConfig, trainer: Any = None) -> None:
        self.world_size = trainer.world_size if trainer is not None else 1
        super().__init__(cfg=cfg, trainer=trainer)
        self.preprocessor = self.from_config_dict(self._cfg.preprocessor)
        self.encoder = self.from_config_dict(self._cfg.encoder)
        self.decoder_losses: nn.ModuleDict | None = None
        if "loss_list" in self._cfg:
            self._build_loss_list(self._cfg.loss_list)
        else:
            self.decoder_ssl = self.from_config_dict(self._cfg.decoder)
            self.loss = self.from_config_dict(self._cfg.loss)
        self.spec_augmentation = self.from_config_dict(self._cfg.spec_augment)
        self.dropout_features = (
            nn.Dropout(self._cfg.dropout_features) if "dropout_features" in self._cfg else None
        )
        self.dropout_features_q = (
            nn.Dropout(self._cfg.dropout_features_q) if "dropout_features_q" in self._cfg else None
        )
        self.pen_factor = self._cfg.get("feature_penalty")
        self.feat_pen: torch.Tensor | float | None = 0.0 if self.pen_factor is not None else None
        if "access" in self._cfg:
            set_access_cfg(self._cfg.access)
        self.apply_masking = True

    def _build_loss_list(self, loss_list: DictConfig) -> None:
        """Build the active ``{decoder, loss}`` pairs and their settings."""
        pairs: dict[str, nn.ModuleDict] = {}
        self.loss_alphas: dict[str, float] = {}
        self.start_step: dict[str, int] = {}
        self.output_from_layer: dict[str, str | None] = {}
        self.transpose_encoded: dict[str, bool] = {}
        self.targets_from_loss: dict[str, str | None] = {}
        self.decoder_losses_active: dict[str, bool] = {}
        for name, pair_cfg in loss_list.items():
            if not pair_cfg.get("is_active", True):
                continue
            pairs[name] = nn.ModuleDict(
                {
                    "decoder": self.from_config_dict(pair_cfg.decoder),
                    "loss": self.from_config_dict(pair_cfg.loss),
                }
            )
            self.loss_alphas[name] = pair_cfg.get("loss_alpha", 1.0)
            self.output_from_layer[name] = pair_cfg.get("output_from_layer", None)
            self.targets_from_loss[name] = pair_cfg.get("targets_from_loss", None)
            self.start_step[name] = pair_cfg.get("start_step", 0)
            self.transpose_encoded[name] = pair_cfg.get("transpose_encoded", False)
            self.decoder_losses_active[name] = True
        for name, source in self.targets_from_loss.items():
            if source is not None and source not in pairs:
                raise ValueError(
                    f"loss_list.{name}.targets_from_loss={source!r} names no active entry of loss_list "
                    f"(active: {sorted(pairs)})."
                )
        self.decoder_losses = nn.ModuleDict(pairs)

    # ---------------------------------------------------------------------------------------- data
    def _setup_dataloader_from_config(self, config: DictConfig | dict) -> torch.utils.data.DataLoader | None:
        """An audio-text DataLoader (``get_audio_to_text_dataloader``); transcripts are read but unused."""
        config = config if isinstance(config, DictConfig) else OmegaConf.create(config)
        if config.get("use_dali", False):
            raise ValueError("use_dali: true is not supported (no DALI pipelines here); set use_dali: false.")
        if config.get("use_lhotse", False):
            raise ValueError("use_lhotse: true is not supported; set use_lhotse: false and give a manifest.")
        inject_dataloader_value_from_model_config(self.cfg, config, key="sample_rate")
        augmentor = None
        if config.get("augmentor") is not None:
            augmentor = process_augmentations(config.augmentor, self.global_rank, self.world_size)
        return get_audio_to_text_dataloader(
            config,
            labels=config.get("labels"),
            global_rank=self.global_rank,
            world_size=self.world_size,
            augmentor=augmentor,
        )

    def setup_training_data(self, train_data_config: DictConfig | dict | None) -> None:
        """Training data (``shuffle`` defaults to true); ``None`` leaves the current loader."""
        if train_data_config is not None:
            self._train_dl = self._setup_split("train", train_data_config, shuffle=True)

    def setup_validation_data(self, val_data_config: DictConfig | dict | None) -> None:
        """Validation data (``shuffle`` defaults to false); ``None`` leaves the current loader."""
        if val_data_config is not None:
            self._validation_dl = self._setup_split("validation", val_data_config, shuffle=False)

    def _setup_split(self, name: str, config: DictConfig | dict, shuffle: bool) -> Any:
        """The loader of one split: ``config`` with its ``shuffle`` default, recorded in the model's config."""
        config = OmegaConf.create(config) if isinstance(config, dict) else config
        with open_dict(config):
            config.setdefault("shuffle", shuffle)
        self._update_dataset_config(dataset_name=name, config=config)
        return self._setup_dataloader_from_config(config)

    def setup_test_data(self, test_data_config: DictConfig | dict | None) -> None:
        """Not used by pre-training; accepted so that configs with ``test_ds`` build."""

    # ---------------------------------------------------------------------------------------- ports
    @property
    def input_types(self) -> dict[str, NeuralType]:
        """Audio (B, T) with lengths, or a processed spectrogram (B, D, T) with lengths."""
        rate = getattr(self.preprocessor, "_sample_rate", None)
        return {
            "input_signal": NeuralType(("B", "T"), AudioSignal(freq=rate), optional=True),
            "input_signal_length": NeuralType(tuple("B"), LengthsType(), optional=True),
            "processed_signal": NeuralType(("B", "D", "T"), SpectrogramType(), optional=True),
            "processed_signal_length": NeuralType(tuple("B"), LengthsType(), optional=True),
            "targets": NeuralType(("B", "T"), LabelsType(), optional=True),
            "target_lengths": NeuralType(tuple("B"), LengthsType(), optional=True),
        }

    @property
    def output_types(self) -> dict[str, NeuralType]:
        """Spectrograms, their masks, the encoding and its lengths."""
        return {
            "spectrograms": NeuralType(("B", "D", "T"), SpectrogramType()),
            "spec_masks": NeuralType(("B", "D", "T"), SpectrogramType()),
            "encoded": NeuralType(("B", "D", "T"), AcousticEncodedRepresentation()),
            "encoded_len": NeuralType(tuple("B"), LengthsType()),
        }

    # ---------------------------------------------------------------------------------------- forward
    def _records_layer_outputs(self) -> bool:
        if self.decoder_losses is None:
            return False
        in_step = self.training or getattr(self, "_in_validation_step", False)
        return in_step and any(layer is not None for layer in self.output_from_layer.values())

    @typecheck()
    def forward(
        self,
        input_signal: torch.Tensor | None = None,
        input_signal_length: torch.Tensor | None = None,
        processed_signal: torch.Tensor | None = None,
        processed_signal_length: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Spectrogram, mask, encode.

        Args:
            input_signal: (B, T) audio, with ``input_signal_length`` (B,); or
            processed_signal: (B, D, T) features, with ``processed_signal_length`` (B,).

        Returns:
            ``(spectrograms, spec_masks, encoded, encoded_len)``: the unmasked spectrogram (B, D, T), 1.0 where
            augmentation zeroed it within each item's length (B, D, T), the encoding (B, D', T') and (B,).
        """
        if self.is_access_enabled():
            self.reset_registry()
        if self._records_layer_outputs():
            self.update_access_cfg({"save_encoder_tensors": True})
            self.set_access_enabled(access_enabled=True)
        has_audio = input_signal is not None and input_signal_length is not None
        has_features = processed_signal is not None and processed_signal_length is not None
        if has_audio == has_features:
            raise ValueError(
                "forward takes either input_signal with input_signal_length or processed_signal with "
                "processed_signal_length (exactly one pair)."
            )
        if has_audio:
            processed_signal, processed_signal_length = self.preprocessor(
                input_signal=input_signal, length=input_signal_length
            )
        if self.pen_factor:
            self.feat_pen = processed_signal.float().pow(2).mean() * self.pen_factor
        spectrograms = processed_signal.detach().clone()
        if self.dropout_features is not None:
            processed_signal = self.dropout_features(processed_signal)
        if self.dropout_features_q is not None:
            spectrograms = self.dropout_features_q(spectrograms)
        if self.apply_masking:
            processed_signal = self._mask(processed_signal, processed_signal_length)
        masked = processed_signal.detach()
        spec_masks = (masked.abs() < _MASKED_VALUE_TOLERANCE).float()
        frames = torch.arange(spec_masks.shape[-1], device=spec_masks.device)
        spec_masks = spec_masks * (frames < processed_signal_length.unsqueeze(1)).unsqueeze(1)
        encoded, encoded_len = self.encoder(audio_signal=processed_signal, length=processed_signal_length)
        return spectrograms, spec_masks, encoded, encoded_len

    def _mask(self, features: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Apply ``spec_augmentation`` also in eval mode: pre-training scores the masked steps, so validation
        needs masks too (NeMo 1.23's ``MaskedPatchAugmentation`` masks in both modes; ours only in training)."""
        was_training = self.spec_augmentation.training
        self.spec_augmentation.train(True)
        try:
            return self.spec_augmentation(input_spec=features, length=lengths)
        finally:
            self.spec_augmentation.train(was_training)

    def decoder_loss_step(
        self,
        spectrograms: torch.Tensor,
        spec_masks: torch.Tensor,
        encoded: torch.Tensor,
        encoded_len: torch.Tensor,
        targets: torch.Tensor | None = None,
        target_lengths: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Run every active decoder and loss.

        Returns:
            ``(total, losses)``: the ``loss_alpha``-weighted sum and each active loss unweighted, by name.
        """
        if self.decoder_losses is None:
            decoder_input = {"encoder_output": encoded}
            if getattr(self.decoder_ssl, "needs_labels", False):
                decoder_input.update(targets=targets, target_lengths=target_lengths)
            outputs = self.decoder_ssl(**decoder_input)
            if self.loss.needs_labels:
                loss = self.loss(
                    spec_masks=spec_masks,
                    decoder_outputs=outputs,
                    targets=targets,
                    decoder_lengths=encoded_len,
                    target_lengths=target_lengths,
                )
            else:
                loss = self.loss(spectrograms=spectrograms, spec_masks=spec_masks, decoder_outputs=outputs)
            return loss, {}

        total = encoded.new_zeros(1)
        losses: dict[str, torch.Tensor] = {}
        registry = self.get_module_registry(self.encoder)
        for name, pair in self.decoder_losses.items():
            if not self.decoder_losses_active[name]:
                continue
            layer = self.output_from_layer[name]
            if layer is None:
                decoder_input = encoded
            elif layer in registry and "encoder" in registry[layer]:
                decoder_input = registry[layer]["encoder"][-1]
            else:
                raise RuntimeError(
                    f"loss_list.{name}.output_from_layer={layer!r}: no output was recorded for that encoder "
                    f"submodule (recorded: {sorted(registry)}); it must name a layer that records 'encoder' "
                    "tensors (e.g. encoder.0 of a ConvASREncoder), in a training or validation step."
                )
            if self.transpose_encoded[name]:
                decoder_input = decoder_input.transpose(-2, -1)
            source = self.targets_from_loss[name]
            if source is not None:
                source_loss = self.decoder_losses[source]["loss"]
                targets, target_lengths = source_loss.target_ids, source_loss.target_lengths
                if target_lengths is None:
                    target_lengths = encoded_len
            decoder, loss_module = pair["decoder"], pair["loss"]
            if getattr(decoder, "needs_labels", False):
                outputs = decoder(
                    encoder_output=decoder_input, targets=targets, target_lengths=target_lengths
                )
            else:
                outputs = decoder(encoder_output=decoder_input)
            if loss_module.needs_labels:
                value = loss_module(
                    spec_masks=spec_masks,
                    decoder_outputs=outputs,
                    targets=targets,
                    decoder_lengths=encoded_len,
                    target_lengths=target_lengths,
                )
            else:
                value = loss_module(
                    spectrograms=spectrograms,
                    spec_masks=spec_masks,
                    decoder_outputs=outputs,
                    decoder_lengths=encoded_len,
                )
            total = total + value * self.loss_alphas[name]
            losses[name] = value
        return total, losses

    # ---------------------------------------------------------------------------------------- steps
    def _update_loss_schedules(self, step: int, anneal: bool) -> None:
        """Switch pairs on at their ``start_step``; with ``anneal``, pass the step to the losses' quantizers."""
        if self.decoder_losses is None:
            if anneal and hasattr(self.loss, "set_num_updates"):
                self.loss.set_num_updates(step)
            return
        for name, pair in self.decoder_losses.items():
            self.decoder_losses_active[name] = step >= self.start_step[name]
            if anneal and hasattr(pair["loss"], "set_num_updates"):
                pair["loss"].set_num_updates(step)

    def training_step(self, batch: Any, batch_idx: int) -> dict[str, torch.Tensor]:
        signal, signal_len, targets, target_lengths = batch
        spectrograms, spec_masks, encoded, encoded_len = self.forward(
            input_signal=signal, input_signal_length=signal_len
        )
        self._update_loss_schedules(self.trainer.global_step, anneal=True)
        loss, losses = self.decoder_loss_step(
            spectrograms, spec_masks, encoded, encoded_len, targets, target_lengths
        )
        if self.feat_pen:
            loss = loss + self.feat_pen
        logged = {
            "learning_rate": self._optimizer.param_groups[0]["lr"] if self._optimizer else 0.0,
            "global_step": float(self.trainer.global_step),
        }
        logged.update({f"train_{name}": value for name, value in losses.items()})
        self.log_dict(logged, on_step=True)
        self.reset_registry()
        return {"loss": loss}

    def validation_pass(self, batch: Any, batch_idx: int, dataloader_idx: int = 0) -> dict[str, torch.Tensor]:
        """``{"val_loss": ...}`` of one batch (layer outputs are recorded as in training)."""
        self._in_validation_step = True
        try:
            signal, signal_len, targets, target_lengths = batch
            spectrograms, spec_masks, encoded, encoded_len = self.forward(
                input_signal=signal, input_signal_length=signal_len
            )
            self._update_loss_schedules(self.trainer.global_step, anneal=False)
            loss, _ = self.decoder_loss_step(
                spectrograms, spec_masks, encoded, encoded_len, targets, target_lengths
            )
            if self.feat_pen:
                loss = loss + self.feat_pen
        finally:
            self.reset_registry()
            del self._in_validation_step
        return {"val_loss": loss}

    def validation_step(self, batch: Any, batch_idx: int, dataloader_idx: int = 0) -> dict[str, torch.Tensor]:
        metrics = self.validation_pass(batch, batch_idx, dataloader_idx)
        if isinstance(self.trainer.val_dataloaders, list) and len(self.trainer.val_dataloaders) > 1:
            self.validation_step_outputs[dataloader_idx].append(metrics)
        else:
            self.validation_step_outputs.append(metrics)
        return metrics

    def multi_validation_epoch_end(self, outputs: list[dict], dataloader_idx: int = 0) -> dict:
        """Mean ``val_loss`` over the epoch."""
        val_loss = torch.stack([output["val_loss"] for output in outputs]).mean()
        return {"val_loss": val_loss, "log": {"val_loss": val_loss}}

    @classmethod
    def list_available_models(cls) -> list[PretrainedModelInfo]:
        """NeMo's published SSL checkpoints (downloading is up to the hub plugin)."""
        base = "https://api.ngc.nvidia.com/v2/models/nvidia/nemo"
        return [
            PretrainedModelInfo(
                pretrained_model_name="ssl_en_conformer_large",
                description="https://ngc.nvidia.com/catalog/models/nvidia:nemo:ssl_en_conformer_large",
                location=f"{base}/ssl_en_conformer_large/versions/1.10.1/files/ssl_en_conformer_large.nemo",
            ),
            PretrainedModelInfo(
                pretrained_model_name="ssl_en_conformer_xlarge",
                description="https://ngc.nvidia.com/catalog/models/nvidia:nemo:ssl_en_conformer_xlarge",
                location=f"{base}/ssl_en_conformer_xlarge/versions/1.10.0/files/ssl_en_conformer_xlarge.nemo",
            ),
        ]

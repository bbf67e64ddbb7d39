"""EncDecRNNTModel: audio -> encoder -> transducer (prediction network + joint) over characters.

NeMo 1.23's model of the same name: config keys ``preprocessor``, ``spec_augment``, ``encoder``, ``decoder``
(``RNNTDecoder``), ``joint`` (``RNNTJoint`` with ``jointnet``), ``model_defaults``, ``loss``, ``decoding``,
``labels``; the same state-dict keys; greedy batch decoding.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from nemo.collections.asr.data.audio_to_text_dataset import get_audio_to_text_dataloader
from nemo.collections.asr.losses.rnnt import RNNTLoss
from nemo.collections.asr.metrics.wer import WER
from nemo.collections.asr.parts.mixins.transcription import AudioInput, run_transcription
from nemo.collections.asr.parts.submodules.rnnt_decoding import RNNTDecoding
from nemo.core.classes.model import PretrainedModelInfo
from nemo.core.classes.modelPT import ModelPT
from nemo.core.classes.typecheck import typecheck
from nemo.core.neural_types import (
    AcousticEncodedRepresentation,
    AudioSignal,
    LengthsType,
    NeuralType,
    SpectrogramType,
)
from omegaconf import DictConfig, ListConfig, OmegaConf, open_dict

__all__ = ["EncDecRNNTModel"]


def _as_dict_config(config: DictConfig | dict | None) -> DictConfig | None:
    """A dataset config as a DictConfig; a DictConfig is kept as is, so its interpolations still resolve."""
    return OmegaConf.create(config) if isinstance(config, dict) else config


class EncDecRNNTModel(ModelPT):
    """Encoder + RNN-T decoder/joint model over characters (``cfg.labels``)."""

    def __init__(self, cfg: DictConfig, trainer=None) -> None:
        super().__init__(cfg=cfg, trainer=trainer)
        self.preprocessor = self.from_config_dict(self._cfg.preprocessor)
        self.encoder = self.from_config_dict(self._cfg.encoder)
        vocabulary = self._output_vocabulary()
        with open_dict(self._cfg):
            self._cfg.decoder.vocab_size = len(vocabulary)
            self._cfg.joint.num_classes = len(vocabulary)
            self._cfg.joint.vocabulary = ListConfig(vocabulary)
            defaults = self._cfg.get("model_defaults") or {}
            jointnet = self._cfg.joint.jointnet
            jointnet.encoder_hidden = defaults.get("enc_hidden", getattr(self.encoder, "_feat_out", None))
            jointnet.pred_hidden = defaults.get("pred_hidden", self._cfg.decoder.prednet.pred_hidden)
        self.decoder = self.from_config_dict(self._cfg.decoder)
        self.joint = self.from_config_dict(self._cfg.joint)
        self.loss = self._build_loss()
        spec_augment = self._cfg.get("spec_augment")
        self.spec_augmentation = self.from_config_dict(spec_augment) if spec_augment else None
        self._setup_decoding(self._cfg.get("decoding"))

    def _output_vocabulary(self) -> list[str]:
        return list(self._cfg.labels)

    def _build_loss(self) -> RNNTLoss:
        loss_cfg = self._cfg.get("loss") or {}
        loss_name = loss_cfg.get("loss_name", "default")
        kwargs_key = "warprnnt_numba_kwargs" if loss_name == "default" else f"{loss_name}_kwargs"
        loss_kwargs = loss_cfg.get(kwargs_key)
        return RNNTLoss(
            num_classes=self.joint.num_classes_with_blank - 1,
            loss_name=loss_name,
            loss_kwargs=OmegaConf.to_container(loss_kwargs) if loss_kwargs is not None else None,
            reduction=self._cfg.get("rnnt_reduction", "mean_batch"),
        )

    # ----------------------------------------------------------------------------------------- decoding
    def _make_decoding(self, decoding_cfg: DictConfig) -> RNNTDecoding:
        return RNNTDecoding(
            decoding_cfg, decoder=self.decoder, joint=self.joint, vocabulary=self._output_vocabulary()
        )

    def _setup_decoding(self, decoding_cfg: DictConfig | None) -> None:
        if decoding_cfg is None:
            decoding_cfg = OmegaConf.create({"strategy": "greedy_batch", "greedy": {"max_symbols": 10}})
        with open_dict(self._cfg):
            self._cfg.decoding = decoding_cfg
        self.decoding = self._make_decoding(self._cfg.decoding)
        self.wer = WER(
            decoding=self.decoding,
            batch_dim_index=0,
            use_cer=self._cfg.get("use_cer", False),
            log_prediction=self._cfg.get("log_prediction", False),
            dist_sync_on_step=True,
        )
        if self.joint.fuse_loss_wer:
            self.joint.set_loss(self.loss)
            self.joint.set_wer(self.wer)

    def change_decoding_strategy(self, decoding_cfg: DictConfig) -> None:
        """Switch decoding settings (e.g. ``greedy.max_symbols``) without retraining."""
        self._setup_decoding(decoding_cfg)

    # --------------------------------------------------------------------------------------------- data
    def _setup_dataloader_from_config(self, config: DictConfig | None):
        if config is None or config.get("manifest_filepath") is None and not config.get("is_tarred"):
            return None
        with open_dict(config):
            config.setdefault("labels", self._cfg.get("labels"))
            config.setdefault("sample_rate", self._cfg.get("sample_rate", 16000))
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

    # -------------------------------------------------------------------------------------------- model
    @property
    def input_types(self) -> dict[str, NeuralType]:
        sample_rate = getattr(self.preprocessor, "_sample_rate", None)
        return {
            "input_signal": NeuralType(("B", "T"), AudioSignal(freq=sample_rate), optional=True),
            "input_signal_length": NeuralType(("B",), LengthsType(), optional=True),
            "processed_signal": NeuralType(("B", "D", "T"), SpectrogramType(), optional=True),
            "processed_signal_length": NeuralType(("B",), LengthsType(), optional=True),
        }

    @property
    def output_types(self) -> dict[str, NeuralType]:
        return {
            "outputs": NeuralType(("B", "D", "T"), AcousticEncodedRepresentation()),
            "encoded_lengths": NeuralType(("B",), LengthsType()),
        }

    @typecheck()
    def forward(
        self,
        input_signal: torch.Tensor | None = None,
        input_signal_length: torch.Tensor | None = None,
        processed_signal: torch.Tensor | None = None,
        processed_signal_length: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Audio (or features) to encoder outputs; the transducer runs in the training step or decoding.

        Returns:
            encoded: (B, D, T') encoder features.
            encoded_len: (B,) valid frames.
        """
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

    def _loss_and_wer(
        self, batch, compute_wer: bool
    ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None, torch.Tensor | None]:
        """Transducer loss of a batch and, when ``compute_wer``, its WER.

        With ``joint.fuse_loss_wer`` the joint computes both over sub-batches of ``joint.fused_batch_size``
        (NeMo's memory-saving path); otherwise over the whole batch.

        Returns:
            (loss, wer, wer_num, wer_denom); the last three are None when ``compute_wer`` is False.
        """
        signal, signal_len, transcript, transcript_len = batch[:4]
        encoded, encoded_len = self.forward(input_signal=signal, input_signal_length=signal_len)
        decoder_outputs, target_length, _ = self.decoder(targets=transcript, target_length=transcript_len)
        if self.joint.fuse_loss_wer:
            return self.joint(
                encoder_outputs=encoded,
                decoder_outputs=decoder_outputs,
                encoder_lengths=encoded_len,
                transcripts=transcript,
                transcript_lengths=transcript_len,
                compute_wer=compute_wer,
            )
        joint = self.joint(encoder_outputs=encoded, decoder_outputs=decoder_outputs)
        loss = self.loss(
            log_probs=joint, targets=transcript, input_lengths=encoded_len, target_lengths=target_length
        )
        if not compute_wer:
            return loss, None, None, None
        self.wer.update(
            predictions=encoded,
            predictions_lengths=encoded_len,
            targets=transcript,
            targets_lengths=transcript_len,
        )
        wer, wer_num, wer_denom = self.wer.compute()
        self.wer.reset()
        return loss, wer, wer_num, wer_denom

    # ----------------------------------------------------------------------------------------- training
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

    def _eval_step(self, batch, prefix: str) -> dict[str, torch.Tensor]:
        loss, wer, wer_num, wer_denom = self._loss_and_wer(batch, compute_wer=True)
        return {
            f"{prefix}_loss": loss,
            f"{prefix}_wer_num": wer_num,
            f"{prefix}_wer_denom": wer_denom,
            f"{prefix}_wer": wer,
        }

    def validation_step(self, batch, batch_idx, dataloader_idx: int = 0):
        metrics = self._eval_step(batch, "val")
        store = self.validation_step_outputs
        (store[dataloader_idx] if store and isinstance(store[0], list) else store).append(metrics)
        return metrics

    def test_step(self, batch, batch_idx, dataloader_idx: int = 0):
        metrics = self._eval_step(batch, "test")
        store = self.test_step_outputs
        (store[dataloader_idx] if store and isinstance(store[0], list) else store).append(metrics)
        return metrics

    def _epoch_metrics(self, outputs: list[dict], prefix: str) -> dict:
        loss = torch.stack([output[f"{prefix}_loss"] for output in outputs]).mean()
        errors = torch.stack([output[f"{prefix}_wer_num"] for output in outputs]).sum()
        words = torch.stack([output[f"{prefix}_wer_denom"] for output in outputs]).sum()
        return {"log": {f"{prefix}_loss": loss, f"{prefix}_wer": errors.float() / words.clamp(min=1)}}

    def multi_validation_epoch_end(self, outputs: list[dict], dataloader_idx: int = 0) -> dict:
        return self._epoch_metrics(outputs, "val")

    def multi_test_epoch_end(self, outputs: list[dict], dataloader_idx: int = 0) -> dict:
        return self._epoch_metrics(outputs, "test")

    # ------------------------------------------------------------------------------------------ inference
    def transcribe(
        self,
        paths2audio_files: Sequence[AudioInput] | AudioInput,
        batch_size: int = 4,
        return_hypotheses: bool = False,
        partial_hypothesis: list | None = None,
        num_workers: int = 0,
        channel_selector=None,
        augmentor=None,
        verbose: bool = True,
    ) -> tuple[list, list | None]:
        """Transcribe audio files or in-memory waveforms with greedy batch decoding.

        Returns:
            (best hypotheses, all hypotheses) as NeMo 1.23's RNN-T models do; greedy decoding has one
            hypothesis per input, so the second list repeats the first.
        """
        if augmentor is not None or partial_hypothesis is not None:
            raise ValueError("transcribe() here takes neither augmentor nor partial_hypothesis; pass None.")

        def decode_batch(batch) -> list:
            encoded, encoded_len = self.forward(
                input_signal=batch.audio, input_signal_length=batch.audio_lengths
            )
            hypotheses, _ = self.decoding.rnnt_decoder_predictions_tensor(
                encoded, encoded_len, return_hypotheses=return_hypotheses
            )
            return hypotheses

        best = run_transcription(
            self,
            paths2audio_files,
            decode_batch,
            sample_rate=self._cfg.get("sample_rate", 16000),
            batch_size=batch_size,
            num_workers=num_workers,
            channel_selector=channel_selector,
            verbose=verbose,
        )
        return best, list(best)

    @classmethod
    def list_available_models(cls) -> list[PretrainedModelInfo]:
        """Pretrained transducer models known locally (plugin-registered); nothing is downloaded."""
        from nemo.core.registry import list_pretrained

        return [info for info in list_pretrained("asr") if info.class_ in (None, cls)]

"""ASRModel: what every speech recognition model shares, so each model file holds only its own logic.

Shared here (NeMo 1.23 has the same base class name): data loaders built from NeMo's
``train_ds``/``validation_ds``/``test_ds`` configs (character labels, or the model's tokenizer when it has
one), the audio input ports, training/validation/test steps around each model's ``_loss_and_wer``,
epoch-level loss and WER, and the offline pretrained lookup.

``ExportableEncDecModel`` (NeMo 1.23's mixin of the same name) exports such a model without its
preprocessor: the graph takes features ``(B, F, T)`` and lengths, as the encoder does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from nemo.collections.asr.data.audio_to_text_dataset import get_audio_to_text_dataloader
from nemo.collections.asr.metrics.wer import WER
from nemo.core.classes.exportable import Exportable
from nemo.core.classes.model import PretrainedModelInfo
from nemo.core.classes.modelPT import ModelPT
from nemo.core.neural_types import AudioSignal, LengthsType, NeuralType, SpectrogramType
from nemo.utils.distributed import ratio_over_processes, weighted_mean_over_processes
from omegaconf import DictConfig, ListConfig, OmegaConf, open_dict

__all__ = ["ASRModel", "ExportableEncDecModel"]


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
        # Tarred shards are split between processes when the dataset is built, which is before the trainer
        # starts torch.distributed: the trainer's rank and process count say which shards are this process's.
        shard = {}
        if config.get("is_tarred") and self._trainer is not None:
            shard = {"global_rank": self._trainer.global_rank, "world_size": self.world_size}
        tokenizer = getattr(self, "tokenizer", None)
        if tokenizer is not None:
            return get_audio_to_text_dataloader(config, tokenizer=tokenizer, **shard)
        with open_dict(config):
            config.setdefault("labels", self._cfg.get("labels"))
        return get_audio_to_text_dataloader(config, labels=list(config.labels), **shard)

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
            # One batch's own counts: the epoch metrics sum them over processes once, at the end (a sync
            # per step would count every step twice then, and hang when processes run unequal step counts).
            sync_on_compute=False,
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
        """``{prefix}_loss``, ``{prefix}_wer_num``, ``{prefix}_wer_denom``, ``{prefix}_wer`` and
        ``{prefix}_batch_size`` (utterances, the loss's weight in the epoch mean) of one batch."""
        loss, wer, wer_num, wer_denom = self._loss_and_wer(batch, compute_wer=True)
        return {
            f"{prefix}_loss": loss,
            f"{prefix}_wer_num": wer_num,
            f"{prefix}_wer_denom": wer_denom,
            f"{prefix}_wer": wer,
            f"{prefix}_batch_size": batch[0].shape[0],
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
        """Per-utterance mean loss and corpus-level WER (total errors / total reference words) over the epoch's
        whole evaluation set: in a distributed run the totals of every process are summed first, so both equal
        the one-process result on the same data."""
        loss = weighted_mean_over_processes(
            [output[f"{prefix}_loss"] for output in outputs],
            [output.get(f"{prefix}_batch_size", 1) for output in outputs],
        )
        wer = ratio_over_processes(
            [output[f"{prefix}_wer_num"] for output in outputs],
            [output[f"{prefix}_wer_denom"] for output in outputs],
        )
        return {"log": {f"{prefix}_loss": loss, f"{prefix}_wer": wer}}

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


# ------------------------------------------------------------------------------------------------ export
_TRANSDUCER_SUBNETS = ["encoder", "decoder_joint"]
_CACHE_ARGUMENTS = ("cache_last_channel", "cache_last_time", "cache_last_channel_len")


def _refuse_cache_aware_export(what: str) -> NotImplementedError:
    return NotImplementedError(
        f"{what}: cache-aware streaming export (NeMo's export config `cache_support`, inputs "
        f"{list(_CACHE_ARGUMENTS)}) is not available in this package, whose ConformerEncoder has no streaming "
        "caches. Export the offline model (cache_support=False): it takes whole utterances."
    )


def _as_float32(outputs: torch.Tensor | tuple[torch.Tensor, ...]) -> torch.Tensor | tuple[torch.Tensor, ...]:
    """Half-precision (float16/bfloat16) tensors as float32, others unchanged (exported graphs output float32)."""

    def cast(tensor: torch.Tensor) -> torch.Tensor:
        return tensor.float() if tensor.dtype in (torch.float16, torch.bfloat16) else tensor

    return tuple(cast(t) for t in outputs) if isinstance(outputs, tuple) else cast(outputs)


class ExportableEncDecModel(Exportable):
    """Export an encoder-decoder ASR model as ``features -> encoder -> decoder``, without the preprocessor.

    The exported graph's inputs are the encoder's (``audio_signal`` (B, F, T) features and ``length`` (B,)),
    its outputs the decoder's: ``logprobs`` (B, T', V+1) for a CTC model. A transducer (a model with a
    ``joint``, a hybrid model while ``cur_decoder`` is ``"rnnt"``) is written as two files,
    ``encoder-<name>`` and ``decoder_joint-<name>`` (:class:`~nemo.collections.asr.modules.rnnt_export.RNNTDecoderJoint`),
    which a greedy decoding loop runs frame by frame.

    Export switches child modules into export mode (e.g. ``ConvASREncoder`` stops masking by length, so its
    graph expects unpadded inputs, as in NeMo) and switches them back afterwards.
    """

    @property
    def input_module(self) -> Any:
        """The encoder: its ``input_example`` and input types define the exported inputs."""
        return self.encoder

    @property
    def output_module(self) -> Any:
        """The head whose outputs are exported: the CTC decoder of a hybrid model in CTC mode, else ``decoder``."""
        if getattr(self, "cur_decoder", None) == "ctc":
            return self.ctc_decoder
        return self.decoder

    @property
    def disabled_deployment_input_names(self) -> set[str]:
        """The encoder's inputs left out of the graph."""
        return set(getattr(self.encoder, "disabled_deployment_input_names", set()))

    @property
    def disabled_deployment_output_names(self) -> set[str]:
        """The encoder's outputs left out of the graph."""
        return set(getattr(self.encoder, "disabled_deployment_output_names", set()))

    def _exports_transducer(self) -> bool:
        return getattr(self, "joint", None) is not None and getattr(self, "cur_decoder", "rnnt") == "rnnt"

    def list_export_subnets(self) -> list[str]:
        """``["encoder", "decoder_joint"]`` for a transducer, ``["self"]`` (one graph) otherwise."""
        return list(_TRANSDUCER_SUBNETS) if self._exports_transducer() else ["self"]

    def get_export_subnet(self, subnet: str | None = None) -> Any:
        """The module exported as ``subnet`` (see :meth:`list_export_subnets`)."""
        if subnet == "decoder_joint":
            return self.decoder_joint
        return super().get_export_subnet(subnet)

    @property
    def decoder_joint(self) -> Any:
        """A fresh :class:`RNNTDecoderJoint` over this transducer's ``decoder`` and ``joint`` (shares their weights)."""
        if getattr(self, "joint", None) is None:
            raise AttributeError(
                f"{type(self).__name__} has no `joint`, so there is no decoder_joint subnet to export; "
                "only transducer models have one."
            )
        from nemo.collections.asr.modules.rnnt_export import RNNTDecoderJoint

        return RNNTDecoderJoint(self.decoder, self.joint)

    def set_export_config(self, args: Mapping[str, Any]) -> None:
        """Export settings; NeMo's keys ``cache_support`` (only false) and ``decoder_type`` (hybrid models).

        Raises:
            NotImplementedError: ``cache_support`` is true.
            ValueError: ``decoder_type`` given to a model with a single head.
        """
        if args.get("cache_support"):
            raise _refuse_cache_aware_export(f"{type(self).__name__}.set_export_config(cache_support=True)")
        if "decoder_type" in args:
            if hasattr(self, "cur_decoder"):
                self.change_decoding_strategy(decoder_type=args["decoder_type"])
            else:
                raise ValueError(
                    f"{type(self).__name__}.set_export_config got decoder_type={args['decoder_type']!r}, but the "
                    "model has a single decoder; only hybrid RNN-T/CTC models take decoder_type."
                )
        super().set_export_config(args)

    def forward_for_export(
        self,
        input: torch.Tensor,
        length: torch.Tensor | None = None,
        cache_last_channel: torch.Tensor | None = None,
        cache_last_time: torch.Tensor | None = None,
        cache_last_channel_len: torch.Tensor | None = None,
    ) -> torch.Tensor | tuple[torch.Tensor, ...]:
        """The exported computation: encoder then output head, on features.

        Args:
            input: features (B, F, T), what the preprocessor would give.
            length: (B,) valid frames.
            cache_last_channel, cache_last_time, cache_last_channel_len: streaming caches; must be None.

        Returns:
            The head's first output, float32: log-probs (B, T', V+1) for a CTC head.
        """
        if any(cache is not None for cache in (cache_last_channel, cache_last_time, cache_last_channel_len)):
            raise _refuse_cache_aware_export(f"{type(self).__name__}.forward_for_export")
        encoder = self.input_module
        encode = getattr(encoder, "forward_for_export", encoder.forward)
        encoded = encode(audio_signal=input, length=length)
        if isinstance(encoded, tuple):
            encoded = encoded[0]
        head = self.output_module
        decode = getattr(head, "forward_for_export", head.forward)
        outputs = decode(encoder_output=encoded)
        if isinstance(outputs, tuple):
            outputs = outputs[0]
        return _as_float32(outputs)

    def _export_torchscript(
        self, output: str, args: list[Any], kwargs: dict[str, Any], settings: Mapping[str, Any]
    ) -> None:
        """Trace as :class:`Exportable` does. The tracer reads every attribute of the model, and Lightning's
        ``trainer`` property raises on a model without a Trainer unless Lightning's scripting flag is set (as
        ``LightningModule.to_torchscript`` sets it): set it on this instance while tracing."""
        lightning = hasattr(type(self), "_jit_is_scripting")
        if lightning:
            self._jit_is_scripting = True
        try:
            super()._export_torchscript(output, args, kwargs, settings)
        finally:
            if lightning:
                del self._jit_is_scripting

    def _export_teardown(self) -> None:
        """Switch every exportable submodule back from export mode (export prepared them all)."""
        for module in reversed(list(self.modules())):
            if module is not self and isinstance(module, Exportable):
                module._export_teardown()
        super()._export_teardown()

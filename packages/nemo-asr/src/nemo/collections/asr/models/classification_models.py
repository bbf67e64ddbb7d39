"""EncDecClassificationModel: audio -> features -> fixed-size crop/pad -> encoder -> one label per utterance.

NeMo 1.23's speech-command (MatchboxNet) and VAD (MarbleNet) model, with its config keys (``labels``,
``preprocessor``, ``spec_augment``, ``crop_or_pad_augment``, ``encoder``, ``decoder``,
``train_ds``/``validation_ds``/``test_ds`` with ``augmentor``, ``optim``), state-dict keys, logged names
(``train_loss``, ``learning_rate``, ``global_step``, ``training_batch_accuracy_top_1``; ``val_loss``,
``val_epoch_top@1``; ``test_loss``, ``test_epoch_top@1``) and methods (``transcribe``, ``change_labels``).

Differences from NeMo 1.23: ``transcribe`` returns label strings (NeMo returns class-id tensors) and reads
files directly, without a temporary manifest; ``label_smoothing`` (ours, default 0) smooths the cross
entropy; a manifest label the config does not know fails when the dataset is built, naming the line.
``EncDecFrameClassificationModel`` lives in ``frame_classification_models.py`` and is importable from here.
"""

from __future__ import annotations

import contextlib
import copy
import os
from collections.abc import Iterator, Sequence
from math import ceil
from typing import Any

import numpy as np
import torch
from nemo.collections.asr.data import audio_to_label_dataset
from nemo.collections.asr.models.asr_model import ASRModel, ExportableEncDecModel
from nemo.collections.asr.parts.preprocessing.perturb import process_augmentations
from nemo.collections.asr.parts.preprocessing.waveform_featurizer import WaveformFeaturizer
from nemo.collections.common.losses import CrossEntropyLoss
from nemo.collections.common.metrics import TopKClassificationAccuracy
from nemo.collections.common.metrics.classification_accuracy import compute_topk_accuracy
from nemo.core.classes.typecheck import typecheck
from nemo.core.neural_types import LogitsType, NeuralType, RegressionValuesType
from nemo.utils import logging, model_utils
from nemo.utils.distributed import sum_steps_over_processes, weighted_mean_over_processes
from omegaconf import DictConfig, ListConfig, OmegaConf, open_dict
from torch.utils.data import DataLoader

__all__ = ["EncDecClassificationModel", "EncDecRegressionModel"]

AudioInput = str | os.PathLike | np.ndarray | torch.Tensor

_LAZY = {"EncDecFrameClassificationModel": "nemo.collections.asr.models.frame_classification_models"}


def __getattr__(name: str) -> Any:
    """NeMo's ``EncDecFrameClassificationModel``, which lives in ``frame_classification_models.py``."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def topk_log(
    outputs: Sequence[dict], prefix: str, top_k: Sequence[int], name: str, device: torch.device
) -> dict[str, torch.Tensor]:
    """Top-k accuracies of the whole evaluation set, from ``{prefix}_correct_counts``/``{prefix}_total_counts``
    summed over every step of every process; logged as ``name.format(k)`` (NaN when nothing was counted)."""
    correct = sum_steps_over_processes(
        [x[f"{prefix}_correct_counts"] for x in outputs], (len(top_k),), device
    )
    total = sum_steps_over_processes([x[f"{prefix}_total_counts"] for x in outputs], (len(top_k),), device)
    scores = compute_topk_accuracy(correct, total)
    return {name.format(k): torch.tensor(score, dtype=torch.float32) for k, score in zip(top_k, scores)}


def _collate_fn_of(dataset: torch.utils.data.Dataset):
    """The ``collate_fn`` of a dataset, or of the first dataset of a chain of bucket datasets."""
    while not hasattr(dataset, "collate_fn"):
        dataset = dataset.datasets[0]
    return dataset.collate_fn


@contextlib.contextmanager
def _inference_mode(model: torch.nn.Module) -> Iterator[None]:
    """Eval mode, no autograd, and (for mel preprocessors) dither and ``pad_to`` off; all restored after."""
    featurizer = getattr(getattr(model, "preprocessor", None), "featurizer", None)
    saved = {name: getattr(featurizer, name) for name in ("dither", "pad_to") if hasattr(featurizer, name)}
    was_training = model.training
    model.eval()
    for name in saved:
        setattr(featurizer, name, 0)
    try:
        with torch.inference_mode():
            yield
    finally:
        for name, value in saved.items():
            setattr(featurizer, name, value)
        model.train(was_training)


class _EncDecBaseModel(ASRModel, ExportableEncDecModel):
    """What NeMo's utterance-level audio models share: modules, data loaders, forward and ``transcribe``.

    Subclasses give ``_setup_loss``, ``_setup_metrics``, ``_update_decoder_config``, ``output_types``.
    """

    def __init__(self, cfg: DictConfig | dict, trainer=None) -> None:
        cfg = model_utils.convert_model_config_to_dict_config(cfg)
        self.is_regression_task = bool(cfg.get("is_regression_task", False))
        self._update_decoder_config(cfg.get("labels"), cfg.decoder)
        super().__init__(cfg=cfg, trainer=trainer)
        spec_augment = self._cfg.get("spec_augment")
        self.spec_augmentation = self.from_config_dict(spec_augment) if spec_augment is not None else None
        crop_or_pad = self._cfg.get("crop_or_pad_augment")
        self.crop_or_pad = self.from_config_dict(crop_or_pad) if crop_or_pad is not None else None
        self.preprocessor = self.from_config_dict(self._cfg.preprocessor)
        self.encoder = self.from_config_dict(self._cfg.encoder)
        self.decoder = self.from_config_dict(self._cfg.decoder)
        self.loss = self._setup_loss()
        self._setup_metrics()

    def _setup_loss(self) -> torch.nn.Module:
        raise NotImplementedError(f"{type(self).__name__} must implement _setup_loss().")

    def _setup_metrics(self) -> None:
        raise NotImplementedError(f"{type(self).__name__} must implement _setup_metrics().")

    def _update_decoder_config(self, labels: Sequence[Any] | None, cfg: DictConfig) -> None:
        raise NotImplementedError(f"{type(self).__name__} must implement _update_decoder_config().")

    # -------------------------------------------------------------------------------------------- model
    def forward(
        self,
        input_signal: torch.Tensor | None = None,
        input_signal_length: torch.Tensor | None = None,
        processed_signal: torch.Tensor | None = None,
        processed_signal_length: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Audio (or features) to one row of decoder outputs per utterance.

        Args:
            input_signal: (B, T) waveforms at ``cfg.sample_rate``.
            input_signal_length: (B,) valid samples per waveform.
            processed_signal: (B, D, T') features, instead of ``input_signal``.
            processed_signal_length: (B,) valid frames.

        Returns:
            (B, C) logits (a classifier) or the decoder's outputs.
        """
        encoded, _ = self._encode(
            input_signal, input_signal_length, processed_signal, processed_signal_length
        )
        return self.decoder(encoder_output=encoded)

    def _shape_features(
        self, features: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``crop_or_pad_augment`` (when configured) between the preprocessor and SpecAugment."""
        if self.crop_or_pad is None:
            return features, lengths
        return self.crop_or_pad(input_signal=features, length=lengths)

    # --------------------------------------------------------------------------------------------- data
    def setup_training_data(self, train_data_config: DictConfig | dict | None) -> None:
        """Set up the training loader (``shuffle`` defaults to true); tarred data also sets the epoch's steps."""
        if train_data_config is None:
            return
        train_data_config = (
            OmegaConf.create(train_data_config) if isinstance(train_data_config, dict) else train_data_config
        )
        with open_dict(train_data_config):
            train_data_config.setdefault("shuffle", True)
        self._update_dataset_config("train", train_data_config)
        self._train_dl = self._setup_dataloader_from_config(train_data_config)
        if (
            self._train_dl is not None
            and isinstance(self._train_dl.dataset, torch.utils.data.IterableDataset)
            and self._trainer is not None
            and isinstance(self._trainer.limit_train_batches, float)
        ):
            # An IterableDataset's length counts samples, not batches: tell Lightning the epoch's steps.
            self._trainer.limit_train_batches = int(
                self._trainer.limit_train_batches
                * ceil((len(self._train_dl.dataset) / self.world_size) / train_data_config["batch_size"])
            )

    def setup_validation_data(self, val_data_config: DictConfig | dict | None) -> None:
        """Set up the validation loader (``shuffle`` defaults to false)."""
        self._validation_dl = self._setup_eval_data("validation", val_data_config)

    def setup_test_data(self, test_data_config: DictConfig | dict | None) -> None:
        """Set up the test loader (``shuffle`` defaults to false)."""
        self._test_dl = self._setup_eval_data("test", test_data_config)

    def _setup_eval_data(self, name: str, config: DictConfig | dict | None) -> DataLoader | None:
        if config is None:
            return None
        config = OmegaConf.create(config) if isinstance(config, dict) else config
        with open_dict(config):
            config.setdefault("shuffle", False)
        self._update_dataset_config(name, config)
        return self._setup_dataloader_from_config(config)

    def _setup_dataloader_from_config(self, config: DictConfig | dict | None) -> DataLoader | None:
        """The DataLoader a dataset config describes (NeMo's keys; see ``audio_to_label_dataset``).

        ``augmentor`` builds the time-shift / noise perturbations; ``is_tarred`` reads tar shards;
        ``vad_stream`` gives NeMo's one-file-per-batch VAD windows (``window_length_in_sec``,
        ``shift_length_in_sec``). Returns ``None`` when ``manifest_filepath`` (or the shards) is null.
        """
        if config is None:
            return None
        if isinstance(config, DictConfig):
            config = OmegaConf.to_container(config, resolve=True)
        config = {**config, "is_regression_task": self.is_regression_task}
        config.setdefault("sample_rate", self._cfg.get("sample_rate", 16000))
        config.setdefault(
            "labels", OmegaConf.to_container(self._cfg.labels) if self._cfg.get("labels") else None
        )
        augmentor = (
            process_augmentations(
                config["augmentor"], global_rank=self.global_rank, world_size=self.world_size
            )
            if config.get("augmentor")
            else None
        )
        featurizer = WaveformFeaturizer(
            sample_rate=config["sample_rate"], int_values=config.get("int_values", False), augmentor=augmentor
        )
        shuffle = bool(config.get("shuffle", False))
        batch_size = config["batch_size"]
        if config.get("is_tarred", False):
            if config.get("tarred_audio_filepaths") is None or config.get("manifest_filepath") is None:
                logging.warning(
                    "Could not load dataset as `manifest_filepath` is None or `tarred_audio_filepaths` is None. "
                    f"Provided config : {config}"
                )
                return None
            if config.get("vad_stream"):
                logging.warning("VAD inference does not support tarred dataset now")
                return None
            dataset = audio_to_label_dataset.get_tarred_classification_label_dataset(
                featurizer=featurizer,
                config=config,
                shuffle_n=config.get("shuffle_n", 4 * batch_size) if shuffle else 0,
                global_rank=self.global_rank,
                world_size=self.world_size,
            )
            shuffle = False
            collate_fn = _collate_fn_of(dataset)
        elif config.get("manifest_filepath") is None:
            logging.warning(
                f"Could not load dataset as `manifest_filepath` is None. Provided config : {config}"
            )
            return None
        elif config.get("vad_stream"):
            logging.info("Perform streaming frame-level VAD")
            dataset = audio_to_label_dataset.get_speech_label_dataset(featurizer=featurizer, config=config)
            batch_size = 1
            collate_fn = dataset.vad_frame_seq_collate_fn
        else:
            dataset = audio_to_label_dataset.get_classification_label_dataset(
                featurizer=featurizer, config=config
            )
            collate_fn = dataset.collate_fn
        return DataLoader(
            dataset=dataset,
            batch_size=batch_size,
            collate_fn=collate_fn,
            drop_last=config.get("drop_last", False),
            shuffle=shuffle,
            num_workers=config.get("num_workers", 0) or 0,
            pin_memory=config.get("pin_memory", False),
        )

    # ---------------------------------------------------------------------------------------- inference
    def _transcribe_batches(
        self, paths2audio_files: Sequence[AudioInput], batch_size: int
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """(B, T) zero-padded waveforms and (B,) lengths, ``batch_size`` inputs at a time in input order.

        Files are read whole and resampled to the preprocessor's rate; arrays must be 1-D at that rate.
        """
        sample_rate = getattr(self.preprocessor, "_sample_rate", self._cfg.get("sample_rate", 16000))
        featurizer = WaveformFeaturizer(sample_rate=sample_rate)
        for start in range(0, len(paths2audio_files), batch_size):
            waveforms = []
            for position, item in enumerate(paths2audio_files[start : start + batch_size], start=start):
                if isinstance(item, (str, os.PathLike)):
                    waveforms.append(featurizer.process(item))
                    continue
                waveform = torch.as_tensor(item, dtype=torch.float32)
                if waveform.dim() != 1:
                    raise ValueError(
                        f"transcribe() got an in-memory waveform of shape {tuple(waveform.shape)} at position "
                        f"{position}; expected a 1-D (T,) mono signal at {sample_rate} Hz."
                    )
                waveforms.append(waveform)
            lengths = torch.tensor([waveform.shape[0] for waveform in waveforms], dtype=torch.long)
            yield torch.nn.utils.rnn.pad_sequence(waveforms, batch_first=True), lengths

    def _transcribe_logits(
        self, paths2audio_files: Sequence[AudioInput], batch_size: int
    ) -> Iterator[torch.Tensor]:
        """(B, C) decoder outputs per batch of inputs, in eval mode."""
        with _inference_mode(self):
            for audio, lengths in self._transcribe_batches(paths2audio_files, batch_size):
                yield self.forward(
                    input_signal=audio.to(self.device), input_signal_length=lengths.to(self.device)
                )


class EncDecClassificationModel(_EncDecBaseModel):
    """Utterance classifier over ``cfg.labels`` (speech commands, VAD segments), trained with cross entropy.

    Example:
        >>> model = EncDecClassificationModel.restore_from("matchboxnet_3x1x64_v1.nemo")
        >>> model.transcribe(["yes.wav", "stop.wav"])
        ['yes', 'stop']
    """

    def __init__(self, cfg: DictConfig | dict, trainer=None) -> None:
        if cfg is not None and cfg.get("is_regression_task", False):
            raise ValueError(
                "EncDecClassificationModel needs is_regression_task: false (got true). Set it to false in the "
                "model config; regression targets are not classes."
            )
        super().__init__(cfg=cfg, trainer=trainer)

    def _setup_loss(self) -> CrossEntropyLoss:
        loss = CrossEntropyLoss()
        loss.label_smoothing = float(self._cfg.get("label_smoothing", 0.0))
        return loss

    def _setup_metrics(self) -> None:
        # No collective per step: processes may run different numbers of evaluation steps, so a step's
        # accuracy is its own batch's, and the epoch's is computed from counts summed over processes.
        self._accuracy = TopKClassificationAccuracy(dist_sync_on_step=False)

    def _update_decoder_config(self, labels: Sequence[Any] | None, cfg: DictConfig) -> None:
        """Set the decoder's ``num_classes`` (``params.num_classes`` in legacy configs) to ``len(labels)``."""
        if not labels:
            raise ValueError(
                f"EncDecClassificationModel needs a non-empty `labels` list in the model config, got {labels!r}. "
                "Set model.labels to the class names in id order."
            )
        with open_dict(cfg):
            (cfg.params if "params" in cfg else cfg).num_classes = len(labels)

    @property
    def output_types(self) -> dict[str, NeuralType]:
        """``outputs`` (B, C) logits."""
        return {"outputs": NeuralType(("B", "D"), LogitsType())}

    @typecheck()
    def forward(
        self,
        input_signal: torch.Tensor | None = None,
        input_signal_length: torch.Tensor | None = None,
        processed_signal: torch.Tensor | None = None,
        processed_signal_length: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """(B, C) logits of audio (B, T) with lengths (B,), or of features (B, D, T') with lengths (B,)."""
        return super().forward(
            input_signal=input_signal,
            input_signal_length=input_signal_length,
            processed_signal=processed_signal,
            processed_signal_length=processed_signal_length,
        )

    # ----------------------------------------------------------------------------------------- training
    def _loss_and_logits(self, batch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        audio_signal, audio_signal_len, labels, _ = batch
        logits = self.forward(input_signal=audio_signal, input_signal_length=audio_signal_len)
        return self.loss(logits=logits, labels=labels), logits, labels

    # NeMo 1.23 logs the utterance model's batch accuracy as ..._top_1 and the frame model's as ..._top@1.
    _train_accuracy_name = "training_batch_accuracy_top_{}"

    def training_step(self, batch, batch_nb):
        loss_value, logits, labels = self._loss_and_logits(batch)
        self.log("train_loss", loss_value)
        self.log("learning_rate", self._optimizer.param_groups[0]["lr"] if self._optimizer else 0.0)
        self.log("global_step", float(self.trainer.global_step))
        # The forward's value is this batch's accuracy; compute() would gather the other processes' counts.
        topk_scores = self._accuracy(logits=logits, labels=labels)
        self._accuracy.reset()
        for top_k, score in zip(self._accuracy.top_k, topk_scores):
            self.log(self._train_accuracy_name.format(top_k), score)
        return {"loss": loss_value}

    def _eval_step(self, batch, prefix: str) -> dict[str, torch.Tensor]:
        """``{prefix}_loss``, ``{prefix}_correct_counts``, ``{prefix}_total_counts``, ``{prefix}_acc`` of one batch
        (the loss is a mean over the batch's ``total_counts[0]`` utterances)."""
        loss_value, logits, labels = self._loss_and_logits(batch)
        acc = self._accuracy(logits=logits, labels=labels)
        return {
            f"{prefix}_loss": loss_value,
            f"{prefix}_correct_counts": self._accuracy.correct_counts_k,
            f"{prefix}_total_counts": self._accuracy.total_counts_k,
            f"{prefix}_acc": acc,
        }

    def _epoch_end(self, outputs: list[dict], prefix: str) -> dict:
        """Per-utterance mean loss and top-k accuracy over the whole evaluation set (``{prefix}_loss``,
        ``{prefix}_epoch_top@k``): in a distributed run each step's loss is weighted by its utterances and the
        counts of every process are summed first, so both equal the one-process result on the same data."""
        loss = weighted_mean_over_processes(
            [output[f"{prefix}_loss"] for output in outputs],
            [output[f"{prefix}_total_counts"][0] for output in outputs],
        )
        log = {f"{prefix}_loss": loss}
        log.update(topk_log(outputs, prefix, self._accuracy.top_k, f"{prefix}_epoch_top@{{}}", self.device))
        return {"log": log}

    def multi_validation_epoch_end(self, outputs: list[dict], dataloader_idx: int = 0) -> dict:
        return self._epoch_end(outputs, "val")

    def multi_test_epoch_end(self, outputs: list[dict], dataloader_idx: int = 0) -> dict:
        return self._epoch_end(outputs, "test")

    # ---------------------------------------------------------------------------------------- inference
    def transcribe(
        self, paths2audio_files: Sequence[AudioInput], batch_size: int = 4, logprobs: bool = False
    ) -> list:
        """Classify audio files (or 1-D waveforms at the model's rate), ``batch_size`` at a time in input order.

        Args:
            paths2audio_files: audio paths (read whole, resampled to the model's rate) or waveforms.
            batch_size: inputs per forward pass; a batch is zero-padded to its longest input, as in NeMo.
            logprobs: return each input's (C,) logits as a numpy array instead of its label.

        Returns:
            One label string per input (``cfg.labels[argmax]``), or (C,) arrays with ``logprobs``.
        """
        if paths2audio_files is None or len(paths2audio_files) == 0:
            return []
        labels = list(self._cfg.labels)
        results: list = []
        for logits in self._transcribe_logits(list(paths2audio_files), batch_size):
            if logprobs:
                results.extend(row.float().cpu().numpy() for row in logits)
            else:
                results.extend(labels[index] for index in logits.argmax(dim=-1).tolist())
        return results

    def change_labels(self, new_labels: Sequence[str]) -> None:
        """Replace the classes: a new decoder (fresh weights) for ``new_labels``; encoder and features stay.

        Nothing changes when ``new_labels`` equals the current labels.

        Raises:
            ValueError: ``new_labels`` is empty.
        """
        if new_labels is not None and list(self._cfg.labels) == list(new_labels):
            logging.warning(
                f"Old labels ({list(self._cfg.labels)}) and new labels ({list(new_labels)}) match. "
                "Not changing anything"
            )
            return
        if not new_labels:
            raise ValueError(
                f"change_labels() needs a non-empty list of labels, got {new_labels!r}. Pass the new class names."
            )
        new_labels = ListConfig(list(new_labels))
        decoder_config = copy.deepcopy(self._cfg.decoder)
        self._update_decoder_config(new_labels, decoder_config)
        self.decoder = self.from_config_dict(decoder_config).to(self.device)
        with open_dict(self._cfg):
            self._cfg.labels = new_labels
            self._cfg.decoder = decoder_config
            for split in ("train_ds", "validation_ds", "test_ds"):
                if self._cfg.get(split) is not None:
                    self._cfg[split].labels = new_labels
        logging.info(f"Changed decoder output to {self.decoder.num_classes} labels.")


class EncDecRegressionModel(_EncDecBaseModel):
    """Utterance regressor: audio -> encoder -> one float per utterance, trained with mean squared error.

    NeMo 1.23's model of the same name: the config must set ``is_regression_task: true`` (datasets then read
    float labels), the decoder gets ``num_classes: 1``; logged names are ``train_loss``, ``train_mse``,
    ``train_mae``, ``learning_rate``; ``val_loss``/``val_mse``/``val_mae``; ``test_loss``/``test_mse``/``test_mae``.

    Example:
        >>> model = EncDecRegressionModel(cfg)  # cfg.is_regression_task == True
        >>> model.transcribe(["a.wav", "b.wav"])
        [0.73, 0.12]
    """

    def __init__(self, cfg: DictConfig | dict, trainer=None) -> None:
        if cfg is None or not cfg.get("is_regression_task", False):
            raise ValueError(
                "EncDecRegressionModel needs is_regression_task: true in the model config (got "
                f"{None if cfg is None else cfg.get('is_regression_task')!r}). Set model.is_regression_task: true."
            )
        super().__init__(cfg=cfg, trainer=trainer)

    @classmethod
    def list_available_models(cls) -> list:
        """No pretrained regression models are published."""
        return []

    def _setup_loss(self) -> torch.nn.Module:
        return torch.nn.MSELoss()

    def _setup_metrics(self) -> None:
        """Nothing to set up: errors are summed per step and divided at epoch end."""

    def _update_decoder_config(self, labels: Sequence[Any] | None, cfg: DictConfig) -> None:
        """One output (``num_classes: 1``; ``params.num_classes`` in legacy configs), whatever the labels."""
        with open_dict(cfg):
            (cfg.params if "params" in cfg else cfg).num_classes = 1

    @property
    def output_types(self) -> dict[str, NeuralType]:
        """``preds`` (B,) predicted values."""
        return {"preds": NeuralType(("B",), RegressionValuesType())}

    @typecheck()
    def forward(
        self, input_signal: torch.Tensor | None = None, input_signal_length: torch.Tensor | None = None
    ) -> torch.Tensor:
        """(B,) predictions for waveforms (B, T) with lengths (B,)."""
        outputs = super().forward(input_signal=input_signal, input_signal_length=input_signal_length)
        return outputs.reshape(-1)

    # ----------------------------------------------------------------------------------------- training
    def _predict_batch(self, batch) -> tuple[torch.Tensor, torch.Tensor]:
        """(B,) predictions and (B,) float targets of a batch ``(audio, audio_len, targets, targets_len)``."""
        audio_signal, audio_signal_len, targets, _ = batch
        preds = self.forward(input_signal=audio_signal, input_signal_length=audio_signal_len)
        return preds, targets.to(preds.dtype)

    def training_step(self, batch, batch_idx):
        preds, targets = self._predict_batch(batch)
        loss_value = self.loss(preds, targets)
        self.log_dict(
            {
                "train_loss": loss_value,
                "train_mse": torch.nn.functional.mse_loss(preds.detach(), targets),
                "train_mae": torch.nn.functional.l1_loss(preds.detach(), targets),
                "learning_rate": self._optimizer.param_groups[0]["lr"] if self._optimizer else 0.0,
            }
        )
        return {"loss": loss_value}

    def _eval_step(self, batch, prefix: str) -> dict[str, torch.Tensor]:
        """``{prefix}_loss``, ``{prefix}_mse``, ``{prefix}_mae`` of the batch, plus the error sums and count."""
        preds, targets = self._predict_batch(batch)
        errors = (preds - targets).detach()
        return {
            f"{prefix}_loss": self.loss(preds, targets),
            f"{prefix}_mse": errors.square().mean(),
            f"{prefix}_mae": errors.abs().mean(),
            f"{prefix}_squared_error_sum": errors.square().sum(),
            f"{prefix}_abs_error_sum": errors.abs().sum(),
            f"{prefix}_count": torch.tensor(errors.numel(), device=errors.device),
        }

    def _epoch_end(self, outputs: list[dict], prefix: str) -> dict:
        """Per-utterance mean loss, MSE and MAE over the whole evaluation set: each step's loss is weighted by
        its ``{prefix}_count``, and the error sums and counts of every process are summed first."""
        loss = weighted_mean_over_processes(
            [output[f"{prefix}_loss"] for output in outputs],
            [output[f"{prefix}_count"] for output in outputs],
        )
        squared = sum_steps_over_processes(
            [x[f"{prefix}_squared_error_sum"] for x in outputs], (), self.device
        )
        absolute = sum_steps_over_processes([x[f"{prefix}_abs_error_sum"] for x in outputs], (), self.device)
        count = sum_steps_over_processes([x[f"{prefix}_count"] for x in outputs], (), self.device).clamp(
            min=1
        )
        log = {
            f"{prefix}_loss": loss,
            f"{prefix}_mse": (squared / count).float(),
            f"{prefix}_mae": (absolute / count).float(),
        }
        return {**log, "log": log}

    def multi_validation_epoch_end(self, outputs: list[dict], dataloader_idx: int = 0) -> dict:
        return self._epoch_end(outputs, "val")

    def multi_test_epoch_end(self, outputs: list[dict], dataloader_idx: int = 0) -> dict:
        return self._epoch_end(outputs, "test")

    # ---------------------------------------------------------------------------------------- inference
    def transcribe(self, paths2audio_files: Sequence[AudioInput], batch_size: int = 4) -> list[float]:
        """Predicted value of each audio file (or 1-D waveform at the model's rate), in input order."""
        if paths2audio_files is None or len(paths2audio_files) == 0:
            return []
        results: list[float] = []
        for preds in self._transcribe_logits(list(paths2audio_files), batch_size):
            results.extend(float(value) for value in preds.float().cpu())
        return results

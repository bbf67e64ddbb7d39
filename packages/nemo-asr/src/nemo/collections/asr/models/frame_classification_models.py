"""EncDecFrameClassificationModel: audio -> features -> encoder -> one class per encoder frame (frame VAD).

NeMo 1.23's frame-level MarbleNet model (``marblenet_3x2x64_20ms.yaml``), with its config keys (``labels``,
``preprocessor``, ``spec_augment``, ``encoder``, ``decoder`` = ``MultiLayerPerceptron``, ``loss.weight``,
``ratio_threshold``, ``train_ds``/``validation_ds``/``test_ds``), state-dict keys and logged names
(``train_loss``, ``learning_rate``, ``global_step``, ``training_batch_accuracy_top@1``; ``val_loss``,
``val_acc_macro``, ``val_acc_micro_top@1``; the same with ``test_``). Manifests give one label per frame
(``AudioToMultiLabelDataset``); the labels' frame rate is matched to the encoder's by :meth:`reshape_labels`.

Differences from NeMo 1.23 (the first two where NeMo's code does not do what its docstring says):

- :meth:`reshape_labels` folds labels finer than the model's frames in consecutive groups (NeMo's code
  cannot run that branch), and caps label lengths with the encoder's frame counts (NeMo passes sample counts).
- Frame metrics keep every class column (NeMo's gather keeps two).
- Training metrics are logged with ``self.log`` (NeMo returns them under ``log``, which Lightning 2 ignores).
- ``transcribe`` returns each file's frame labels as a manifest-style string (``"0 0 1 1"``), or with
  ``logprobs=True`` its (T, C) logits over the valid frames (NeMo's labels path fails on frame logits).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from math import ceil, floor
from typing import Any

import numpy as np
import torch
from nemo.collections.asr.data.audio_to_frame_label import (
    get_audio_multi_label_dataset,
    get_tarred_audio_multi_label_dataset,
)
from nemo.collections.asr.models.classification_models import (
    EncDecClassificationModel,
    topk_log,
)
from nemo.collections.common.losses import CrossEntropyLoss
from nemo.collections.common.metrics import TopKClassificationAccuracy
from nemo.core.classes.typecheck import typecheck
from nemo.core.neural_types import LogitsType, NeuralType
from nemo.utils import logging
from nemo.utils.distributed import sum_steps_over_processes, weighted_mean_over_processes
from omegaconf import DictConfig, OmegaConf
from torch.utils.data import DataLoader

__all__ = ["EncDecFrameClassificationModel"]

AudioInput = str | os.PathLike | np.ndarray | torch.Tensor


def class_statistics(predictions: torch.Tensor, labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Per-class true positives, false positives, true negatives and false negatives.

    Args:
        predictions: (N,) predicted class ids.
        labels: (N,) true class ids.
        num_classes: C.

    Returns:
        (4, C) int64 counts: rows tp, fp, tn, fn.
    """
    classes = torch.arange(num_classes, device=labels.device)
    predicted = predictions[:, None] == classes[None, :]
    actual = labels[:, None] == classes[None, :]
    tp = (predicted & actual).sum(0)
    fp = (predicted & ~actual).sum(0)
    fn = (~predicted & actual).sum(0)
    tn = labels.numel() - tp - fp - fn
    return torch.stack((tp, fp, tn, fn))


def macro_accuracy(statistics: torch.Tensor) -> torch.Tensor:
    """Macro-averaged multiclass accuracy (torchmetrics' ``average='macro'``): the mean per-class recall over
    the classes that were predicted or present.

    Args:
        statistics: (4, C) counts from :func:`class_statistics` (summed over batches).

    Returns:
        0-d float tensor.
    """
    tp, fp, _, fn = statistics.double()
    recall = torch.where(tp + fn > 0, tp / (tp + fn).clamp(min=1), torch.zeros_like(tp))
    seen = (tp + fp + fn) > 0
    if not bool(seen.any()):
        return torch.tensor(0.0)
    return (recall[seen].sum() / seen.sum()).float()


class EncDecFrameClassificationModel(EncDecClassificationModel):
    """Frame classifier over ``cfg.labels`` (``['0', '1']`` for voice activity), trained with masked cross entropy.

    Example:
        >>> model = EncDecFrameClassificationModel.restore_from("frame_vad.nemo")
        >>> logits = model(input_signal=audio, input_signal_length=lengths)  # (B, T, C)
        >>> speech_probs = logits.softmax(-1)[..., 1]  # (B, T), one per 20 ms
    """

    def __init__(self, cfg: DictConfig | dict, trainer=None) -> None:
        self.num_classes = len(cfg["labels"])
        self.eval_loop_cnt = 0
        self.ratio_threshold = cfg.get("ratio_threshold", 0.2)
        super().__init__(cfg=cfg, trainer=trainer)

    @property
    def output_types(self) -> dict[str, NeuralType]:
        """``outputs`` (B, T, C) logits."""
        return {"outputs": NeuralType(("B", "T", "C"), LogitsType())}

    def _setup_loss(self) -> CrossEntropyLoss:
        weight = self._cfg.loss.get("weight") if self._cfg.get("loss") is not None else None
        if weight in (None, "none", "None"):
            weight = [1.0] * self.num_classes
        elif len(weight) != self.num_classes:
            raise ValueError(
                f"config key loss.weight has {len(weight)} values {list(weight)}; expected one per label "
                f"({self.num_classes}: {list(self._cfg.labels)}). Fix loss.weight or set it to null."
            )
        logging.info(f"Using cross-entropy with weights: {list(weight)}")
        return CrossEntropyLoss(logits_ndim=3, weight=list(weight))

    def _setup_metrics(self) -> None:
        # No collective per step (processes may run different numbers of evaluation steps): the epoch's
        # accuracy comes from counts summed over processes in ``_epoch_end``.
        self._accuracy = TopKClassificationAccuracy(dist_sync_on_step=False)

    # -------------------------------------------------------------------------------------------- model
    def _logits_and_lengths(
        self,
        input_signal: torch.Tensor | None,
        input_signal_length: torch.Tensor | None,
        processed_signal: torch.Tensor | None,
        processed_signal_length: torch.Tensor | None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, T, C) logits and (B,) valid encoder frames."""
        encoded, encoded_len = self._encode(
            input_signal, input_signal_length, processed_signal, processed_signal_length
        )
        return self.decoder(hidden_states=encoded.transpose(1, 2)), encoded_len

    @property
    def output_module(self) -> Any:
        """The exported graph's outputs are described here (the MLP decoder has no export types)."""
        return self

    @property
    def output_types_for_export(self) -> dict[str, NeuralType]:
        """``logits``: (B, T', C) per-frame class scores."""
        return {"logits": NeuralType(("B", "T", "C"), LogitsType())}

    def forward_for_export(
        self,
        input: torch.Tensor,
        length: torch.Tensor | None = None,
        cache_last_channel: torch.Tensor | None = None,
        cache_last_time: torch.Tensor | None = None,
        cache_last_channel_len: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """The exported computation: features (B, F, T) -> encoder -> per-frame logits (B, T', C).

        The decoder is a frame-level MLP over (B, T', D) hidden states, unlike the utterance decoders of the
        base class. Streaming caches are refused by the base class's rule.
        """
        if any(cache is not None for cache in (cache_last_channel, cache_last_time, cache_last_channel_len)):
            return super().forward_for_export(
                input, length, cache_last_channel, cache_last_time, cache_last_channel_len
            )
        encoder = self.input_module
        encode = getattr(encoder, "forward_for_export", encoder.forward)
        encoded = encode(audio_signal=input, length=length)
        if isinstance(encoded, tuple):
            encoded = encoded[0]
        return self.decoder(hidden_states=encoded.transpose(1, 2)).float()

    @typecheck()
    def forward(
        self,
        input_signal: torch.Tensor | None = None,
        input_signal_length: torch.Tensor | None = None,
        processed_signal: torch.Tensor | None = None,
        processed_signal_length: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Per-frame logits.

        Args:
            input_signal: (B, T) waveforms at ``cfg.sample_rate``.
            input_signal_length: (B,) valid samples.
            processed_signal: (B, D, T') features, instead of ``input_signal``.
            processed_signal_length: (B,) valid feature frames.

        Returns:
            (B, T'', C) logits, one row per encoder frame (20 ms for ``marblenet_3x2x64_20ms``).
        """
        logits, _ = self._logits_and_lengths(
            input_signal, input_signal_length, processed_signal, processed_signal_length
        )
        return logits

    # ---------------------------------------------------------------------------------------- labels
    def reshape_labels(
        self, logits: torch.Tensor, labels: torch.Tensor, logits_len: torch.Tensor, labels_len: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Bring frame labels to the logits' frame count.

        Labels coarser than the frames are repeated: ``ceil(ratio)`` times and cut to the frame count when the
        ratio is within ``ratio_threshold`` below an integer (1.9 -> 2), else ``floor(ratio)`` times with the
        last ``frames % labels`` labels repeated once more. Finer labels are folded in consecutive groups
        with ``max`` (speech wins): groups of ``ceil(ratio)`` (zero-padded) when the ratio is just below an
        integer, else of ``floor(ratio)`` with the extra labels at the end dropped.

        Args:
            logits: (B, T1, C).
            labels: (B, T2) class ids.
            logits_len: (B,) valid frames.
            labels_len: (B,) valid labels.

        Returns:
            labels (B, T1) and their valid lengths (B,), at most ``logits_len``.
        """
        frames, steps = logits.size(1), labels.size(1)
        if frames > steps:
            ratio = frames / steps
            if ceil(ratio) - ratio < self.ratio_threshold:
                labels = labels.repeat_interleave(ceil(ratio), dim=1)[:, :frames]
                labels_len = torch.clamp(labels_len * ceil(ratio), max=frames)
            else:
                labels = labels.repeat_interleave(floor(ratio), dim=1)
                labels_len = labels_len * floor(ratio)
                extra = frames % steps
                if extra > 0:
                    labels = torch.cat([labels, labels[:, -extra:]], dim=1)
        elif frames < steps:
            ratio = steps / frames
            if ceil(ratio) - ratio < self.ratio_threshold:
                group = ceil(ratio)
                padding = (-steps) % group
                labels = torch.nn.functional.pad(labels, (0, padding), value=0)
                labels = labels.view(labels.size(0), -1, group).amax(dim=2)
                labels_len = torch.div(labels_len + group - 1, group, rounding_mode="floor")
                return self.reshape_labels(logits, labels, logits_len, labels_len)
            group = floor(ratio)
            labels = labels[:, : frames * group].reshape(labels.size(0), frames, group).amax(dim=2)
            labels_len = torch.div(torch.clamp(labels_len, max=frames * group), group, rounding_mode="floor")
        labels_len = torch.minimum(labels_len, logits_len.to(labels_len.device))
        return labels.contiguous(), labels_len.contiguous()

    @staticmethod
    def get_label_masks(labels: torch.Tensor, labels_len: torch.Tensor) -> torch.Tensor:
        """(B, T) bool mask of the valid labels of (B, T) ``labels``."""
        return torch.arange(labels.size(1), device=labels.device)[None, :] < labels_len[:, None]

    @staticmethod
    def get_metric_logits_labels(
        logits: torch.Tensor, labels: torch.Tensor, masks: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The valid frames only: (B, T, C) logits, (B, T) labels and masks -> (N, C) logits, (N,) labels."""
        keep = masks.reshape(-1)
        return logits.reshape(-1, logits.size(-1))[keep], labels.reshape(-1)[keep]

    # ----------------------------------------------------------------------------------------- training
    _train_accuracy_name = "training_batch_accuracy_top@{}"

    def _loss_and_logits(self, batch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Masked loss of a batch ``(audio, audio_len, labels, labels_len)``, and the valid (N, C) logits, (N,)
        labels."""
        audio_signal, audio_signal_len, labels, labels_len = batch
        logits, logits_len = self._logits_and_lengths(audio_signal, audio_signal_len, None, None)
        labels, labels_len = self.reshape_labels(logits, labels, logits_len, labels_len)
        masks = self.get_label_masks(labels, labels_len)
        loss_value = self.loss(logits=logits, labels=labels, loss_mask=masks)
        metric_logits, metric_labels = self.get_metric_logits_labels(logits, labels, masks)
        return loss_value, metric_logits, metric_labels

    def _eval_step(self, batch, prefix: str) -> dict[str, torch.Tensor]:
        """``{prefix}_loss``, top-k counts, ``{prefix}_acc_micro``, (4, C) ``{prefix}_acc_stats`` and
        ``{prefix}_loss_weight`` (the loss's weight in the epoch mean: ``CrossEntropyLoss.mean_denominator``) of one batch."""
        loss_value, metric_logits, metric_labels = self._loss_and_logits(batch)
        acc = self._accuracy(logits=metric_logits, labels=metric_labels)
        return {
            f"{prefix}_loss": loss_value,
            f"{prefix}_loss_weight": self.loss.mean_denominator(metric_labels),
            f"{prefix}_correct_counts": self._accuracy.correct_counts_k,
            f"{prefix}_total_counts": self._accuracy.total_counts_k,
            f"{prefix}_acc_micro": acc,
            f"{prefix}_acc_stats": class_statistics(
                metric_logits.argmax(dim=-1), metric_labels, metric_logits.size(-1)
            ),
        }

    def _epoch_end(self, outputs: list[dict], prefix: str) -> dict:
        """``{prefix}_loss``, ``{prefix}_acc_macro`` and ``{prefix}_acc_micro_top@k`` over the whole evaluation
        set: the loss is the frame-weighted mean of the step losses (``{prefix}_loss_weight``; the valid frames
        ``total_counts[0]`` when a step lacks it), and counts and class statistics of every process are summed
        first, so all three equal the one-process result on the same data."""
        loss = weighted_mean_over_processes(
            [output[f"{prefix}_loss"] for output in outputs],
            [output.get(f"{prefix}_loss_weight", output[f"{prefix}_total_counts"][0]) for output in outputs],
        )
        statistics = sum_steps_over_processes(
            [x[f"{prefix}_acc_stats"] for x in outputs], (4, len(self._cfg.labels)), self.device
        )
        log = {f"{prefix}_loss": loss, f"{prefix}_acc_macro": macro_accuracy(statistics)}
        log.update(
            topk_log(outputs, prefix, self._accuracy.top_k, f"{prefix}_acc_micro_top@{{}}", self.device)
        )
        return {"log": log}

    # --------------------------------------------------------------------------------------------- data
    def _setup_dataloader_from_config(self, config: DictConfig | dict | None) -> DataLoader | None:
        """The DataLoader of a frame-label dataset config (``AudioToMultiLabelDataset``; NeMo's keys).

        ``is_tarred: true`` streams ``TarredAudioToMultiLabelDataset`` shards (``tarred_audio_filepaths``,
        ``shuffle_n``). Returns ``None`` when ``manifest_filepath`` is null.
        """
        if config is None:
            return None
        if isinstance(config, DictConfig):
            config = OmegaConf.to_container(config, resolve=True)
        config = {**config, "is_regression_task": self.is_regression_task}
        config.setdefault("sample_rate", self._cfg.get("sample_rate", 16000))
        config.setdefault("labels", list(self._cfg.labels))
        shuffle = bool(config.get("shuffle", False))
        if config.get("is_tarred", False):
            if config.get("tarred_audio_filepaths") is None or config.get("manifest_filepath") is None:
                raise ValueError(
                    "Could not load dataset as `manifest_filepath` is None or `tarred_audio_filepaths` is None "
                    f"(is_tarred: true). Set both in the dataset config. Provided config: {config}"
                )
            dataset = get_tarred_audio_multi_label_dataset(
                config,
                shuffle_n=config.get("shuffle_n", 4 * config["batch_size"]) if shuffle else 0,
                global_rank=self.global_rank,
                world_size=self.world_size,
            )
            shuffle = False
        elif config.get("manifest_filepath") is None:
            logging.warning(
                f"Could not load dataset as `manifest_filepath` is None. Provided config : {config}"
            )
            return None
        else:
            dataset = get_audio_multi_label_dataset(config)
        return DataLoader(
            dataset=dataset,
            batch_size=config.get("batch_size", 1),
            collate_fn=dataset.collate_fn,
            drop_last=config.get("drop_last", False),
            shuffle=shuffle,
            num_workers=config.get("num_workers", 0) or 0,
            pin_memory=config.get("pin_memory", False),
        )

    # ---------------------------------------------------------------------------------------- inference
    def transcribe(
        self, paths2audio_files: Sequence[AudioInput], batch_size: int = 4, logprobs: bool = False
    ) -> list:
        """Label every frame of audio files (or 1-D waveforms at the model's rate).

        Args:
            paths2audio_files: audio paths (read whole, resampled to the model's rate) or waveforms.
            batch_size: inputs per forward pass (zero-padded to the longest).
            logprobs: return each input's (T, C) logits over its valid frames instead of labels.

        Returns:
            Per input, its frame labels as one space-separated string of ``cfg.labels``, or a (T, C) numpy
            array with ``logprobs``.
        """
        if paths2audio_files is None or len(paths2audio_files) == 0:
            return []
        labels = list(self._cfg.labels)
        results: list[Any] = []
        was_training = self.training
        self.eval()
        try:
            with torch.inference_mode():
                for audio, lengths in self._transcribe_batches(list(paths2audio_files), batch_size):
                    logits, logits_len = self._logits_and_lengths(
                        audio.to(self.device), lengths.to(self.device), None, None
                    )
                    for row, length in zip(logits, logits_len.tolist()):
                        valid = row[:length]
                        if logprobs:
                            results.append(valid.float().cpu().numpy())
                        else:
                            results.append(" ".join(labels[index] for index in valid.argmax(dim=-1).tolist()))
        finally:
            self.train(was_training)
        return results

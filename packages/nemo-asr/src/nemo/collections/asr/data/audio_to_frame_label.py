"""``AudioToMultiLabelDataset``: audio clips with one label per frame, for frame-level voice activity.

NeMo 1.23's dataset of that name and its tarred version ``TarredAudioToMultiLabelDataset`` (NeMo users import
both from ``nemo.collections.asr.data.audio_to_label``, which resolves them here). A manifest line holds a
clip and its frame labels as one space-separated string::

    {"audio_filepath": "clip.wav", "duration": 1.2, "offset": 0.0, "label": "0 0 1 1 1 0"}

NeMo also accepts the label under ``command`` or ``target``. Each label is a class of the config's
``labels`` list (for VAD ``['0', '1']``); a label the list does not hold is an error naming the manifest file
and line. Samples are ``(audio (T,), audio_len, labels (L,), labels_len)``; batches pad audio with 0 and
labels with 0 (NeMo's collate). How the labels' frame rate is matched to the model's frames is the model's
job (``EncDecFrameClassificationModel.reshape_labels``).
"""

from __future__ import annotations

import os
import random
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from nemo.collections.asr.data.collate import _speech_collate_fn
from nemo.collections.asr.data.manifest import ManifestError, load_audio_text_manifests
from nemo.collections.asr.data.tarred_audio import (
    expand_sharded_filepaths,
    iter_tar_members,
    open_member,
    shuffle_buffer,
    worker_shards_and_seed,
)
from nemo.collections.asr.parts.preprocessing.perturb import AudioAugmentor, process_augmentations
from nemo.collections.asr.parts.preprocessing.waveform_featurizer import WaveformFeaturizer
from nemo.core.classes.dataset import Dataset, IterableDataset
from nemo.core.neural_types import AudioSignal, LabelsType, LengthsType, NeuralType, RegressionValuesType

__all__ = [
    "AudioToMultiLabelDataset",
    "FrameLabelSample",
    "TarredAudioToMultiLabelDataset",
    "get_audio_multi_label_dataset",
    "get_tarred_audio_multi_label_dataset",
    "read_frame_label_manifests",
]

FrameSample = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]
# Where NeMo looks for a line's labels, in this order.
_LABEL_KEYS = ("command", "target", "label")


@dataclass(frozen=True, slots=True)
class FrameLabelSample:
    """One manifest line: the clip and its label tokens.

    Attributes:
        audio_file: resolved audio path.
        duration: seconds to read (from the manifest).
        offset: seconds into the file (``None``: from the start).
        labels: the line's label tokens, in frame order.
        where: ``"<manifest>:<line>"``, for error messages.
    """

    audio_file: str
    duration: float
    offset: float | None
    labels: tuple[str, ...]
    where: str


def _label_tokens(value: object, delimiter: str | None, where: str) -> tuple[str, ...]:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise ManifestError(
            f"{where}: 'label' must be a string of frame labels such as \"0 0 1 1\", got "
            f"{type(value).__name__} {value!r}. Write the labels as one space-separated string."
        )
    return tuple(value.split(delimiter) if delimiter else value.split())


def read_frame_label_manifests(
    manifest_filepath: str | Sequence[str],
    min_duration: float | None = None,
    max_duration: float | None = None,
    delimiter: str | None = None,
    check_audio_files: bool = True,
) -> list[FrameLabelSample]:
    """Read the lines of one or more frame-label manifests, dropping clips outside the duration range.

    Args:
        manifest_filepath: a path, comma-separated paths, or a list of paths.
        min_duration: drop clips shorter than this (seconds).
        max_duration: drop clips longer than this (seconds).
        delimiter: what separates labels (``None``: whitespace).
        check_audio_files: check that the audio files exist (off for tarred manifests, whose
            ``audio_filepath`` names a tar member).

    Returns:
        The kept samples, in manifest order.

    Raises:
        FileNotFoundError: a manifest or an audio file is missing.
        ManifestError: a line is malformed or has no label key (the message names the file and line).
    """
    samples = []
    for entry in load_audio_text_manifests(
        manifest_filepath, min_duration, max_duration, check_audio_files=check_audio_files
    ):
        key = next((key for key in _LABEL_KEYS if key in entry.extra), None)
        if key is None:
            raise ManifestError(
                f"{entry.where}: no frame labels; expected a 'label' key (or NeMo's 'command'/'target') "
                f'holding labels such as "0 0 1 1", found keys {sorted(entry.extra)}.'
            )
        labels = _label_tokens(entry.extra[key], delimiter, entry.where)
        samples.append(
            FrameLabelSample(entry.audio_filepath, entry.duration, entry.offset, labels, entry.where)
        )
    return samples


class _FrameTargets:
    """The label set of frame-label samples and each sample's target tensor.

    Args:
        samples: the manifest lines.
        labels: the classes in id order; ``None`` or empty takes the sorted labels of the samples.
        is_regression_task: targets are numbers, not classes.
        cal_labels_occurrence: count each class over the samples.

    Raises:
        ManifestError: a label outside ``labels``, or a non-numeric regression target (naming the line).
    """

    def __init__(
        self,
        samples: Sequence[FrameLabelSample],
        labels: Sequence[str] | None,
        is_regression_task: bool,
        cal_labels_occurrence: bool,
    ) -> None:
        self.is_regression_task = is_regression_task
        self.id2occurrence: dict[int, int] = {}
        self.labels_occurrence: list[int] | None = None
        if is_regression_task:
            self.labels: list[str] = []
            self.num_classes = 1
            self.label2id: dict[str, int] = {}
            self.id2label: dict[int, str] = {}
            for sample in samples:
                self.target(sample)
            return
        self.labels = list(labels) if labels else sorted({label for s in samples for label in s.labels})
        self.num_classes = len(self.labels)
        self.label2id = {label: index for index, label in enumerate(self.labels)}
        self.id2label = dict(enumerate(self.labels))
        for sample in samples:
            unknown = sorted(set(sample.labels) - self.label2id.keys())
            if unknown:
                raise ManifestError(
                    f"{sample.where}: frame labels {unknown} are not among the config's labels {self.labels}. "
                    "Fix the manifest line, or add them to the config key 'labels'."
                )
        if cal_labels_occurrence:
            counts = Counter(label for sample in samples for label in sample.labels)
            self.id2occurrence = {index: counts[label] for index, label in self.id2label.items()}
            self.labels_occurrence = [self.id2occurrence[index] for index in range(self.num_classes)]

    def target(self, sample: FrameLabelSample) -> torch.Tensor:
        """(L,) int64 class ids, or (L,) float32 values for regression."""
        if not self.is_regression_task:
            return torch.tensor([self.label2id[label] for label in sample.labels], dtype=torch.long)
        try:
            return torch.tensor([float(value) for value in sample.labels], dtype=torch.float32)
        except ValueError as err:
            raise ManifestError(
                f"{sample.where}: is_regression_task needs numeric targets, got {' '.join(sample.labels)!r}. "
                "Fix the manifest line, or set is_regression_task: false."
            ) from err


def _frame_label_output_types(sample_rate: int, is_regression_task: bool) -> dict[str, NeuralType]:
    types = {
        "audio_signal": NeuralType(("B", "T"), AudioSignal(freq=sample_rate)),
        "a_sig_length": NeuralType(("B",), LengthsType()),
    }
    if is_regression_task:
        types["targets"] = NeuralType(("B", "T"), RegressionValuesType())
        types["targets_length"] = NeuralType(("B",), LengthsType())
    else:
        types["label"] = NeuralType(("B", "T"), LabelsType())
        types["label_length"] = NeuralType(("B",), LengthsType())
    return types


class _FrameLabelData:
    """What the map-style and tarred frame-label datasets share: reading, targets, samples, batching."""

    featurizer: WaveformFeaturizer
    targets: _FrameTargets
    trim: bool
    normalize_audio_db: float | None
    delimiter: str | None
    _sample_rate: int

    def _set_targets(self, targets: _FrameTargets) -> None:
        self.targets = targets
        self.is_regression_task = targets.is_regression_task
        self.labels = targets.labels
        self.num_classes = targets.num_classes
        self.label2id, self.id2label = targets.label2id, targets.id2label
        self.id2occurrence, self.labels_occurrence = targets.id2occurrence, targets.labels_occurrence

    @property
    def output_types(self) -> dict[str, NeuralType]:
        """``audio_signal`` (B, T), ``a_sig_length`` (B,), ``label`` (B, L), ``label_length`` (B,) (regression:
        ``targets``, ``targets_length``)."""
        return _frame_label_output_types(self._sample_rate, self.is_regression_task)

    def _label_str_to_tensor(self, label_str: str) -> torch.Tensor:
        """Label ids (L,) int64 of a label string (regression: (L,) float32 targets)."""
        tokens = label_str.split(self.delimiter) if self.delimiter else label_str.split()
        if self.is_regression_task:
            return torch.tensor([float(token) for token in tokens], dtype=torch.float32)
        return torch.tensor([self.label2id[token] for token in tokens], dtype=torch.long)

    def _sample(self, source: Any, sample: FrameLabelSample, where: str) -> FrameSample:
        try:
            audio = self.featurizer.process(
                source,
                offset=sample.offset or 0,
                duration=sample.duration,
                trim=self.trim,
                normalize_db=self.normalize_audio_db,
            )
        except FileNotFoundError as err:
            raise FileNotFoundError(f"{where}: {err}") from err
        except (OSError, RuntimeError, ValueError) as err:
            raise RuntimeError(f"{where}: cannot read {sample.audio_file!r}: {err}") from err
        targets = self.targets.target(sample)
        return audio, torch.tensor(audio.shape[0]).long(), targets, torch.tensor(targets.shape[0]).long()

    def _collate_fn(self, batch: Sequence[FrameSample]) -> FrameSample:
        """Pad to ``(audio (B, T), audio_len (B,), labels (B, L), labels_len (B,))`` (labels padded with 0)."""
        return _speech_collate_fn(batch, pad_id=0)


class AudioToMultiLabelDataset(_FrameLabelData, Dataset):
    """Audio clips and their per-frame labels, from NeMo manifests.

    Args:
        manifest_filepath: manifest path(s), comma-separated or a list.
        sample_rate: rate the audio is returned at (files at other rates are resampled).
        labels: the classes, in id order; ``None`` takes the sorted set of labels found in the manifests.
        int_values: read integer PCM.
        augmentor: perturbations applied to every clip (NeMo's ``AudioAugmentor``).
        min_duration: drop clips shorter than this (seconds).
        max_duration: drop clips longer than this (seconds).
        trim_silence: cut leading and trailing silence of the audio (the labels are kept as they are).
        is_regression_task: labels are numbers (float targets) instead of classes.
        cal_labels_occurrence: count each class over the manifests (``labels_occurrence``, ``id2occurrence``).
        delimiter: what separates labels in a line (``None``: whitespace).
        normalize_audio_db: scale each clip to this RMS level (dBFS) before augmentation.
    """

    def __init__(
        self,
        *,
        manifest_filepath: str | Sequence[str],
        sample_rate: int,
        labels: Sequence[str] | None = None,
        int_values: bool = False,
        augmentor: AudioAugmentor | None = None,
        min_duration: float | None = 0.1,
        max_duration: float | None = None,
        trim_silence: bool = False,
        is_regression_task: bool = False,
        cal_labels_occurrence: bool | None = False,
        delimiter: str | None = None,
        normalize_audio_db: float | None = None,
    ) -> None:
        super().__init__()
        self._sample_rate = sample_rate
        self.delimiter = delimiter
        self.normalize_audio_db = normalize_audio_db
        self.trim = trim_silence
        self.featurizer = WaveformFeaturizer(
            sample_rate=sample_rate, int_values=int_values, augmentor=augmentor
        )
        self.collection = read_frame_label_manifests(manifest_filepath, min_duration, max_duration, delimiter)
        self._set_targets(
            _FrameTargets(self.collection, labels, is_regression_task, bool(cal_labels_occurrence))
        )

    def __len__(self) -> int:
        return len(self.collection)

    def __getitem__(self, index: int) -> FrameSample:
        """``(audio (T,) float32, T, labels (L,), L)``; lengths are 0-d int64 tensors."""
        sample = self.collection[index]
        return self._sample(sample.audio_file, sample, sample.where)


class TarredAudioToMultiLabelDataset(_FrameLabelData, IterableDataset):
    """Frame-labelled clips streamed from tar shards (the tarred :class:`AudioToMultiLabelDataset`).

    A member matches the manifest lines whose ``audio_filepath`` has the same name without extension
    (several lines may share a member, e.g. with different offsets). Shards are split across processes
    (``shard_strategy``) and DataLoader workers; ``shuffle_n > 0`` shuffles the shards each epoch and the
    samples through a buffer of that size.

    Args:
        audio_tar_filepaths: shard brace pattern (``audio_{0..7}.tar``; ``_OP_``/``_CL_`` too) or list.
        manifest_filepath: the tarred manifest: ``audio_filepath`` names the member.
        sample_rate, labels, int_values, augmentor, min_duration, max_duration, trim_silence,
            is_regression_task, delimiter, normalize_audio_db: as :class:`AudioToMultiLabelDataset`.
        shuffle_n: shuffle buffer size (0: read in order).
        shard_strategy: ``"scatter"`` (each process its own shards) or ``"replicate"`` (all everywhere).
        global_rank: this process's rank.
        world_size: number of processes (0 or 1: not distributed).
    """

    def __init__(
        self,
        *,
        audio_tar_filepaths: str | Sequence[str],
        manifest_filepath: str | Sequence[str],
        sample_rate: int,
        labels: Sequence[str] | None = None,
        shuffle_n: int = 0,
        int_values: bool = False,
        augmentor: AudioAugmentor | None = None,
        min_duration: float | None = 0.1,
        max_duration: float | None = None,
        trim_silence: bool = False,
        is_regression_task: bool = False,
        shard_strategy: str = "scatter",
        global_rank: int = 0,
        world_size: int = 0,
        delimiter: str | None = None,
        normalize_audio_db: float | None = None,
    ) -> None:
        super().__init__()
        self._sample_rate = sample_rate
        self.delimiter = delimiter
        self.normalize_audio_db = normalize_audio_db
        self.trim = trim_silence
        self.shuffle_n = shuffle_n
        self.featurizer = WaveformFeaturizer(
            sample_rate=sample_rate, int_values=int_values, augmentor=augmentor
        )
        self.collection = read_frame_label_manifests(
            manifest_filepath, min_duration, max_duration, delimiter, check_audio_files=False
        )
        self._set_targets(_FrameTargets(self.collection, labels, is_regression_task, False))
        self.shards = expand_sharded_filepaths(audio_tar_filepaths, shard_strategy, world_size, global_rank)
        self.member_to_indices: dict[str, list[int]] = {}
        for index, sample in enumerate(self.collection):
            key = os.path.splitext(os.path.basename(sample.audio_file))[0]
            self.member_to_indices.setdefault(key, []).append(index)

    def __len__(self) -> int:
        return len(self.collection)

    def _matches(self, shards: list[str]) -> Iterator[tuple[bytes, str, str, int]]:
        for shard in shards:
            for member, data in iter_tar_members(shard):
                for index in self.member_to_indices.get(os.path.splitext(member)[0], ()):
                    yield data, member, shard, index

    def __iter__(self) -> Iterator[FrameSample]:
        shards, seed = worker_shards_and_seed(self.shards, self.shuffle_n)
        for data, member, shard, index in shuffle_buffer(
            self._matches(shards), self.shuffle_n, random.Random(seed)
        ):
            sample = self.collection[index]
            yield self._sample(open_member(data, member), sample, f"{shard}:{member} ({sample.where})")


def get_audio_multi_label_dataset(cfg: Mapping[str, Any]) -> AudioToMultiLabelDataset:
    """An ``AudioToMultiLabelDataset`` from a dataset config (NeMo's keys: ``manifest_filepath``,
    ``sample_rate``, ``labels``, ``int_values``, ``augmentor``, ``min_duration``, ``max_duration``,
    ``trim_silence``, ``is_regression_task``, ``cal_labels_occurrence``, ``delimiter``, ``normalize_audio_db``)."""
    augmentor = process_augmentations(cfg["augmentor"]) if cfg.get("augmentor") else None
    return AudioToMultiLabelDataset(
        manifest_filepath=cfg.get("manifest_filepath"),
        sample_rate=cfg.get("sample_rate"),
        labels=cfg.get("labels", None),
        int_values=cfg.get("int_values", False),
        augmentor=augmentor,
        min_duration=cfg.get("min_duration", None),
        max_duration=cfg.get("max_duration", None),
        trim_silence=cfg.get("trim_silence", False),
        is_regression_task=cfg.get("is_regression_task", False),
        cal_labels_occurrence=cfg.get("cal_labels_occurrence", False),
        delimiter=cfg.get("delimiter", None),
        normalize_audio_db=cfg.get("normalize_audio_db", None),
    )


def get_tarred_audio_multi_label_dataset(
    cfg: Mapping[str, Any], shuffle_n: int, global_rank: int, world_size: int
) -> TarredAudioToMultiLabelDataset:
    """A ``TarredAudioToMultiLabelDataset`` from a dataset config: the keys of
    :func:`get_audio_multi_label_dataset` plus ``tarred_audio_filepaths`` and ``tarred_shard_strategy``.

    Args:
        cfg: the dataset config.
        shuffle_n: shuffle buffer size.
        global_rank: this process's rank.
        world_size: number of processes.
    """
    augmentor = process_augmentations(cfg["augmentor"]) if cfg.get("augmentor") else None
    return TarredAudioToMultiLabelDataset(
        audio_tar_filepaths=cfg["tarred_audio_filepaths"],
        manifest_filepath=cfg["manifest_filepath"],
        sample_rate=cfg.get("sample_rate"),
        labels=cfg.get("labels", None),
        shuffle_n=shuffle_n,
        int_values=cfg.get("int_values", False),
        augmentor=augmentor,
        min_duration=cfg.get("min_duration", None),
        max_duration=cfg.get("max_duration", None),
        trim_silence=cfg.get("trim_silence", False),
        is_regression_task=cfg.get("is_regression_task", False),
        shard_strategy=cfg.get("tarred_shard_strategy", "scatter"),
        global_rank=global_rank,
        world_size=world_size,
        delimiter=cfg.get("delimiter", None),
        normalize_audio_db=cfg.get("normalize_audio_db", None),
    )

"""Datasets of precomputed features with labels (NeMo 1.23's ``feature_to_label`` classes and arguments).

Manifests are JSON lines naming a feature file (``feature_file``, or NeMo's ``feature_filepath`` /
``feature_filename``; relative paths are resolved against the manifest's folder) read by
``ExternalFeatureLoader``:

* :class:`FeatureToLabelDataset`: one label per file (``"label": "speech"``, or a number for regression);
  samples ``(features (D, T), T, label, 1)``.
* :class:`FeatureToSeqSpeakerLabelDataset`: a sequence of speakers per file (``"seq_label": "A B A"``), turned
  into relative ids by order of first appearance (``[0, 1, 0]``); samples ``(features, len(features),
  ids (float), len(ids))``.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from nemo.collections.asr.data.manifest import ManifestError, parse_json_object, split_manifest_paths
from nemo.collections.asr.parts.preprocessing.feature_loader import ExternalFeatureLoader
from nemo.collections.common.parts.preprocessing.manifest import iter_text_lines
from nemo.core.classes import Dataset
from nemo.core.neural_types import (
    AcousticEncodedRepresentation,
    LabelsType,
    LengthsType,
    NeuralType,
    RegressionValuesType,
)

__all__ = ["FeatureToLabelDataset", "FeatureToSeqSpeakerLabelDataset"]

_FEATURE_KEYS = ("feature_file", "feature_filepath", "feature_filename")
Sample = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]


@dataclass(frozen=True)
class FeatureEntry:
    """One feature-manifest line: resolved ``feature_file``, the label key's value, ``duration``, ``offset``,
    ``"<manifest>:<line>"`` and the line's JSON object."""

    feature_file: str
    label: Any
    duration: float | None
    offset: float
    where: str
    item: dict[str, Any]


def read_feature_manifests(
    manifest_filepath: str | Sequence[str],
    label_key: str | None,
    min_duration: float | None = None,
    max_duration: float | None = None,
    max_number: int | None = None,
) -> list[FeatureEntry]:
    """Entries of one or more feature manifests, filtered by ``duration`` when bounds are given.

    Args:
        manifest_filepath: path(s), comma-separated or a list.
        label_key: a key every line must have (its value becomes ``FeatureEntry.label``), or None.
        min_duration: drop lines shorter than this (seconds; lines without ``duration`` are kept).
        max_duration: drop lines longer than this.
        max_number: keep at most this many lines (None or 0: all).

    Raises:
        FileNotFoundError: a manifest does not exist.
        ManifestError: a line is not UTF-8, not one JSON object, or lacks a key (naming ``<manifest>:<line>``).
    """
    entries = []
    for path in split_manifest_paths(manifest_filepath):
        if not os.path.isfile(path):
            raise FileNotFoundError(
                f"Manifest {path!r} does not exist. Check the config key 'manifest_filepath'."
            )
        folder = os.path.dirname(os.path.abspath(path))
        for line_number, line in iter_text_lines(path, ManifestError, "manifest"):
            if not line.strip():
                continue
            where = f"{path}:{line_number}"
            item = parse_json_object(line, where)
            feature_key = next((key for key in _FEATURE_KEYS if key in item), None)
            if feature_key is None:
                raise ManifestError(
                    f"{where}: missing key 'feature_file' (the feature file path). Line: {line.strip()}"
                )
            if label_key is not None and label_key not in item:
                raise ManifestError(f"{where}: missing key {label_key!r}. Line: {line.strip()}")
            duration = item.get("duration")
            if duration is not None and (
                (min_duration is not None and duration < min_duration)
                or (max_duration is not None and duration > max_duration)
            ):
                continue
            feature_file = item[feature_key]
            if not os.path.isabs(feature_file):
                feature_file = os.path.join(folder, feature_file)
            label = item[label_key] if label_key is not None else None
            entries.append(
                FeatureEntry(feature_file, label, duration, item.get("offset") or 0.0, where, item)
            )
            if max_number and len(entries) == max_number:
                return entries
    return entries


def pad_feature_collate(batch: Sequence[tuple], feature_pad_value: float, label_pad_id: int) -> tuple:
    """Pad and stack ``(features (D, T), T, labels (U,) or scalar, U[, sample_id])`` samples.

    Features are padded on the time axis with ``feature_pad_value``, label sequences with ``label_pad_id``.

    Returns:
        ``(features (B, D, T_max), lengths (B,), labels (B[, U_max]), label_lengths (B,)[, sample_ids (B,) int32])``.
    """
    feature_lengths = torch.stack([sample[1] for sample in batch])
    label_lengths = torch.stack([sample[3] for sample in batch])
    max_frames = int(feature_lengths.max())
    max_labels = int(label_lengths.max())
    features = torch.stack(
        [
            torch.nn.functional.pad(sample[0], (0, max_frames - sample[0].size(-1)), value=feature_pad_value)
            for sample in batch
        ]
    )
    labels = torch.stack(
        [
            torch.nn.functional.pad(sample[2], (0, max_labels - sample[2].numel()), value=label_pad_id)
            if sample[2].dim()
            else sample[2]
            for sample in batch
        ]
    )
    if len(batch[0]) == 5:
        sample_ids = torch.tensor([sample[4] for sample in batch], dtype=torch.int32)
        return features, feature_lengths, labels, label_lengths, sample_ids
    return features, feature_lengths, labels, label_lengths


class FeatureToLabelDataset(Dataset):
    """Feature files with one label each.

    Args:
        manifest_filepath: manifest path(s), comma-separated or a list.
        labels: the classes, in id order; None collects them from the manifest (sorted).
        augmentor: passed to ``ExternalFeatureLoader``.
        window_length_in_sec: window of ``_vad_segment_collate_fn`` (not supported here; kept for configs).
        shift_length_in_sec: shift of ``_vad_segment_collate_fn``.
        is_regression_task: labels are numbers (float targets), not classes.
        cal_labels_occurrence: count how often each label occurs (``labels_occurrence``, in id order).
        zero_spec_db_val: padding value of the log-mel features in ``_collate_fn``.
        min_duration: drop entries whose ``duration`` is shorter.
        max_duration: drop entries whose ``duration`` is longer.

    Sample: ``(features (D, T) float32, T, label (class id int64 or float), 1)``.
    """

    ZERO_LEVEL_SPEC_DB_VAL = -16.635
    FRAME_UNIT_TIME_SECS = 0.01

    @property
    def output_types(self) -> dict[str, NeuralType]:
        """``audio_feat`` (B, D, T), ``feat_length`` (B,), ``labels`` (B,), ``labels_length`` (B,)."""
        return {
            "audio_feat": NeuralType(("B", "D", "T"), AcousticEncodedRepresentation()),
            "feat_length": NeuralType(tuple("B"), LengthsType()),
            "labels": NeuralType(
                tuple("B"), RegressionValuesType() if self.is_regression_task else LabelsType()
            ),
            "labels_length": NeuralType(tuple("B"), LengthsType()),
        }

    def __init__(
        self,
        *,
        manifest_filepath: str | Sequence[str],
        labels: Sequence[str] | None = None,
        augmentor: Any | None = None,
        window_length_in_sec: float = 0.63,
        shift_length_in_sec: float = 0.01,
        is_regression_task: bool = False,
        cal_labels_occurrence: bool = False,
        zero_spec_db_val: float = -16.635,
        min_duration: float | None = None,
        max_duration: float | None = None,
    ) -> None:
        super().__init__()
        self.window_length_in_sec = window_length_in_sec
        self.shift_length_in_sec = shift_length_in_sec
        self.zero_spec_db_val = zero_spec_db_val
        self.is_regression_task = is_regression_task
        self.entries = read_feature_manifests(manifest_filepath, "label", min_duration, max_duration)
        self.feature_loader = ExternalFeatureLoader(augmentor=augmentor)
        self.label2id: dict[str, int] = {}
        self.id2label: dict[int, str] = {}
        self.labels_occurrence: list[int] = []
        if is_regression_task:
            self.labels: list[str] = []
            self.num_classes = 1
            for entry in self.entries:
                self._regression_value(entry)
            return
        self.labels = list(labels) if labels else sorted({str(entry.label) for entry in self.entries})
        self.num_classes = len(self.labels)
        self.label2id = {label: index for index, label in enumerate(self.labels)}
        self.id2label = dict(enumerate(self.labels))
        for entry in self.entries:
            if str(entry.label) not in self.label2id:
                raise ManifestError(
                    f"{entry.where}: label {entry.label!r} is not one of the dataset's labels {self.labels}. "
                    "Add it to `labels` or fix the manifest."
                )
        if cal_labels_occurrence:
            counts = Counter(str(entry.label) for entry in self.entries)
            self.labels_occurrence = [counts[label] for label in self.labels]

    @staticmethod
    def _regression_value(entry: FeatureEntry) -> float:
        try:
            return float(entry.label)
        except (TypeError, ValueError) as err:
            raise ManifestError(
                f"{entry.where}: is_regression_task needs a numeric 'label', got {entry.label!r}."
            ) from err

    def __len__(self) -> int:
        return len(self.entries)

    def __getitem__(self, index: int) -> Sample:
        entry = self.entries[index]
        features = self.feature_loader.process(entry.feature_file)
        if self.is_regression_task:
            label = torch.tensor(self._regression_value(entry))
        else:
            label = torch.tensor(self.label2id[str(entry.label)])
        return features, torch.tensor(features.shape[1]).long(), label, torch.tensor(1).long()

    def _collate_fn(self, batch: Sequence[Sample]) -> Sample:
        """Pad features to the longest with ``zero_spec_db_val``: ``(B, D, T), (B,), (B,), (B,)``."""
        return pad_feature_collate(batch, self.zero_spec_db_val, 0)

    def _vad_segment_collate_fn(self, batch: Sequence[Sample]) -> Sample:
        raise NotImplementedError(
            "FeatureToLabelDataset._vad_segment_collate_fn (frame-level VAD windows over features) is not "
            "supported; use _collate_fn, or AudioToSpeechLabelDataset.vad_frame_seq_collate_fn on audio."
        )


class FeatureToSeqSpeakerLabelDataset(Dataset):
    """Feature files (e.g. speaker embeddings) with a sequence of speakers each.

    Args:
        manifest_filepath: manifest path(s); lines carry ``seq_label``, space-separated speakers.
        labels: the labels (kept as ``labels``; the targets are relative ids, see the module docstring);
            None collects them from the manifest.
        feature_loader: reads each file (e.g. ``ExternalFeatureLoader()``).
        is_speaker_emb: the features are speaker embeddings (output types gain ``embs``).

    Sample: ``(features (T, D) as stored, T (first axis), relative ids (N,) float32, N)``.
    """

    def __init__(
        self,
        *,
        manifest_filepath: str | Sequence[str],
        labels: Sequence[str] | None,
        feature_loader: ExternalFeatureLoader,
        is_speaker_emb: bool = False,
    ) -> None:
        super().__init__()
        self.entries = read_feature_manifests(manifest_filepath, "seq_label")
        self.sequences = [self._relative_ids(entry) for entry in self.entries]
        self.feature_loader = feature_loader
        self.is_speaker_emb = is_speaker_emb
        found = sorted({speaker for entry in self.entries for speaker in str(entry.label).split()})
        self.labels = list(labels) if labels else found
        self.label2id = {label: index for index, label in enumerate(self.labels)}
        self.id2label = dict(enumerate(self.labels))

    @staticmethod
    def _relative_ids(entry: FeatureEntry) -> list[int]:
        ids: dict[str, int] = {}
        return [ids.setdefault(speaker, len(ids)) for speaker in str(entry.label).split()]

    @property
    def output_types(self) -> dict[str, NeuralType]:
        """``external_feat`` (B, D, T), ``feat_length``, (``embs``, ``embs_length``,) ``label`` (B, T), ``label_length``."""
        types = {
            "external_feat": NeuralType(("B", "D", "T"), AcousticEncodedRepresentation()),
            "feat_length": NeuralType(tuple("B"), LengthsType()),
        }
        if self.is_speaker_emb:
            types["embs"] = NeuralType(("B", "D", "T"), AcousticEncodedRepresentation())
            types["embs_length"] = NeuralType(tuple("B"), LengthsType())
        types["label"] = NeuralType(("B", "T"), LabelsType())
        types["label_length"] = NeuralType(tuple("B"), LengthsType())
        return types

    def __len__(self) -> int:
        return len(self.entries)

    def __getitem__(self, index: int) -> Sample:
        features = self.feature_loader.process(self.entries[index].feature_file)
        ids = self.sequences[index]
        return (
            features,
            torch.tensor(features.shape[0]).long(),
            torch.tensor(ids).float(),
            torch.tensor(len(ids)).long(),
        )

    def _collate_fn(self, batch: Sequence[Sample]) -> Sample:
        """Stack samples of equal shapes: ``(B, T, D), (B,), (B, N), (B,)``."""
        return tuple(torch.stack([sample[i] for sample in batch]) for i in range(4))  # type: ignore[return-value]

"""Audio-label datasets for sound classification and speaker models (NeMo 1.23's classes and arguments).

Manifests are JSON lines with one label per utterance::

    {"audio_filepath": "yes/0a7c2a8d.wav", "duration": 1.0, "label": "yes", "offset": 0.0}

(NeMo also reads the label from ``command`` or ``target``.) Every sample is ``(audio (T,), audio_len,
label, label_len=1)``; batches are ``(audio (B, T), audio_len (B,), label (B,), label_len (B,))``.

- :class:`AudioToClassificationLabelDataset`: commands, sounds, VAD segments.
- :class:`AudioToSpeechLabelDataset`: speaker (and VAD inference) data; its ``fixed_seq_collate_fn``
  repeats short clips to the longest one and ``vad_frame_seq_collate_fn`` slices a file into windows.
- :class:`TarredAudioToClassificationLabelDataset`, :class:`TarredAudioToSpeechLabelDataset`: the same from
  tar shards (``tarred_audio.py``), streamed and split across processes and DataLoader workers.

A label the dataset's ``labels`` do not contain is an error at construction, naming the manifest line.
``AudioToMultiLabelDataset`` (frame labels) lives in ``audio_to_frame_label.py`` and is importable from here,
as in NeMo.
"""

from __future__ import annotations

import os
import random
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Any

import torch
from nemo.collections.asr.data.manifest import ManifestEntry, ManifestError, load_audio_text_manifests
from nemo.collections.asr.data.tarred_audio import (
    expand_sharded_filepaths,
    iter_tar_members,
    open_member,
    shuffle_buffer,
    worker_shards_and_seed,
)
from nemo.collections.asr.parts.preprocessing.waveform_featurizer import WaveformFeaturizer
from nemo.core.classes import Dataset, IterableDataset
from nemo.core.neural_types import AudioSignal, LabelsType, LengthsType, NeuralType, RegressionValuesType

__all__ = [
    "AudioToClassificationLabelDataset",
    "AudioToSpeechLabelDataset",
    "TarredAudioToClassificationLabelDataset",
    "TarredAudioToSpeechLabelDataset",
    "repeat_signal",
    "normalize",
]

# NeMo's manifest keys for the label, in the order it looks for them.
LABEL_KEYS = ("command", "target", "label")
Sample = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]

_LAZY = {
    "AudioToMultiLabelDataset": "nemo.collections.asr.data.audio_to_frame_label",
    "TarredAudioToMultiLabelDataset": "nemo.collections.asr.data.audio_to_frame_label",
}


def __getattr__(name: str) -> Any:
    """NeMo's frame-label dataset, which lives in ``audio_to_frame_label.py``, resolved on first use."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def repeat_signal(signal: torch.Tensor, sig_len: int, required_length: int) -> torch.Tensor:
    """Repeat a (T,) signal whole, then append its last ``required_length % sig_len`` samples (NeMo's rule).

    Returns:
        (required_length,) samples.
    """
    repeated = torch.cat(int(required_length // sig_len) * [signal[:sig_len]])
    remainder = int(required_length % sig_len)
    return torch.cat((repeated, signal[sig_len - remainder : sig_len])) if remainder else repeated


def normalize(signal: torch.Tensor) -> torch.Tensor:
    """Remove the mean of a (T,) signal and scale its peak to 1."""
    centred = signal - signal.mean()
    return centred / centred.abs().max()


def _entry_label(entry: ManifestEntry) -> Any:
    for key in LABEL_KEYS:
        if key in entry.extra:
            return entry.extra[key]
    raise ManifestError(
        f"{entry.where}: no label. Every line needs the key 'label' (NeMo also reads 'command' or 'target')."
    )


class _LabelledEntries:
    """Manifest entries with their targets: class ids (classification) or floats (regression).

    Args:
        entries: the kept manifest entries.
        labels: the classes in id order; empty or ``None`` takes the sorted labels of the manifest.
        is_regression_task: targets are float values, not classes.
        cal_labels_occurrence: count how often each label occurs (``labels_occurrence``, in id order).

    Raises:
        ValueError: a manifest label is not in ``labels``, or a regression target is not a number.
    """

    def __init__(
        self,
        entries: list[ManifestEntry],
        labels: Sequence[Any] | None,
        is_regression_task: bool,
        cal_labels_occurrence: bool,
    ) -> None:
        self.entries = entries
        raw = [_entry_label(entry) for entry in entries]
        self.is_regression_task = is_regression_task
        if is_regression_task:
            self.labels: list[Any] = []
            self.num_classes = 1
            self.targets = [self._regression_value(value, entry) for value, entry in zip(raw, entries)]
            return
        self.labels = list(labels) if labels else sorted(set(raw))
        self.num_classes = len(self.labels)
        self.label2id = {label: index for index, label in enumerate(self.labels)}
        self.id2label = dict(enumerate(self.labels))
        self.targets = [self._class_id(value, entry) for value, entry in zip(raw, entries)]
        counts = Counter(self.targets) if cal_labels_occurrence else None
        self.labels_occurrence = [counts[index] for index in range(self.num_classes)] if counts else []

    def _class_id(self, label: Any, entry: ManifestEntry) -> int:
        if label not in self.label2id:
            raise ValueError(
                f"{entry.where}: label {label!r} is not one of the {len(self.labels)} known labels "
                f"{self.labels}. Add it to the config's `labels` (model.labels and the dataset's labels), "
                "or fix the manifest line."
            )
        return self.label2id[label]

    @staticmethod
    def _regression_value(value: Any, entry: ManifestEntry) -> float:
        try:
            return float(value)
        except (TypeError, ValueError) as err:
            raise ValueError(
                f"{entry.where}: regression target {value!r} is not a number. Fix the manifest line."
            ) from err

    def target(self, index: int) -> torch.Tensor:
        """The 0-d target of entry ``index``: int64 class id, or float32 value for regression."""
        if self.is_regression_task:
            return torch.tensor(self.targets[index], dtype=torch.float32)
        return torch.tensor(self.targets[index], dtype=torch.long)


def _label_output_types(sample_rate: int | None, is_regression_task: bool) -> dict[str, NeuralType]:
    types = {
        "audio_signal": NeuralType(("B", "T"), AudioSignal(freq=sample_rate)),
        "a_sig_length": NeuralType(tuple("B"), LengthsType()),
    }
    if is_regression_task:
        types["targets"] = NeuralType(tuple("B"), RegressionValuesType())
        types["targets_length"] = NeuralType(tuple("B"), LengthsType())
    else:
        types["label"] = NeuralType(tuple("B"), LabelsType())
        types["label_length"] = NeuralType(tuple("B"), LengthsType())
    return types


def _label_collate_fn(batch: Sequence[Sample]) -> Sample:
    """Zero-pad ``(audio (T_i,), audio_len, label, label_len)`` samples into ``(B, T)``, ``(B,)`` x3."""
    audio, audio_len, labels, labels_len = zip(*batch)
    return (
        torch.nn.utils.rnn.pad_sequence(audio, batch_first=True, padding_value=0.0),
        torch.stack(audio_len),
        torch.stack(labels),
        torch.stack(labels_len),
    )


def _fixed_seq_collate(batch: Sequence[Sample]) -> Sample:
    """Repeat every clip (``repeat_signal``) to the longest clip's length; all lengths become that length."""
    _, audio_lengths, labels, labels_len = zip(*batch)
    fixed_length = int(max(audio_lengths))
    audio = [repeat_signal(sig, int(length), fixed_length) for sig, length, _, _ in batch]
    return (
        torch.stack(audio),
        torch.full((len(batch),), fixed_length, dtype=torch.long),
        torch.stack(labels),
        torch.stack(labels_len),
    )


def _vad_frame_seq_collate(
    batch: Sequence[Sample],
    sample_rate: int,
    window_length_in_sec: float,
    shift_length_in_sec: float,
    norm: bool,
) -> Sample:
    """Cut each signal into windows every ``shift_length_in_sec`` (NeMo's frame VAD inference batching).

    The signal is zero-padded by half a window at each end; a file of ``len`` samples gives ``len // shift``
    windows, all carrying the file's label.

    Returns:
        ``(windows (N, W), window lengths (N,), labels (N,), windows per file (B,))``.
    """
    _, audio_lengths, _, _ = zip(*batch)
    window = int(min(int(sample_rate * window_length_in_sec), max(audio_lengths)))
    shift = int(sample_rate * shift_length_in_sec)
    windows, labels, counts = [], [], []
    for sig, sig_len, label, _ in batch:
        if norm:
            sig = normalize(sig)
        padded = torch.cat((torch.zeros(window // 2), sig, torch.zeros(window - window // 2)))
        count = int(sig_len) // shift
        windows.extend(padded[start * shift : start * shift + window] for start in range(count))
        labels.extend([label] * count)
        counts.append(count)
    return (
        torch.stack(windows),
        torch.full((len(windows),), window, dtype=torch.long),
        torch.stack(labels),
        torch.tensor(counts),
    )


def _labelled_sample(audio: torch.Tensor, label: torch.Tensor) -> Sample:
    """``(audio (T,), audio_len, label, label_len=1)``: one utterance with its label."""
    return audio, torch.tensor(audio.shape[0], dtype=torch.long), label, torch.tensor(1, dtype=torch.long)


def _read_audio(featurizer: WaveformFeaturizer, source: Any, entry: ManifestEntry, trim: bool, where: str):
    """``featurizer.process`` of one entry; errors name ``where`` (manifest line, or shard and member)."""
    try:
        return featurizer.process(source, offset=entry.offset or 0, duration=entry.duration, trim=trim)
    except FileNotFoundError as err:
        raise FileNotFoundError(f"{where}: {err}") from err
    except (OSError, RuntimeError) as err:
        raise RuntimeError(f"{where}: {err}") from err


class _AudioLabelDataset(Dataset):
    """Map-style base: one ``(audio, audio_len, label, 1)`` sample per manifest line.

    Args:
        manifest_filepath: manifest path(s): comma-separated string or list.
        labels: the classes in id order (``None``: the sorted labels found in the manifest).
        featurizer: reads the audio (``WaveformFeaturizer``: sample rate, augmentor).
        min_duration: drop shorter utterances (seconds, from the manifest).
        max_duration: drop longer utterances (seconds).
        trim: trim leading and trailing silence.
        is_regression_task: the label is a float target.
        cal_labels_occurrence: count each label's occurrences (``labels_occurrence``).
    """

    def __init__(
        self,
        *,
        manifest_filepath: str | list[str],
        labels: Sequence[Any] | None,
        featurizer: WaveformFeaturizer,
        min_duration: float | None = 0.1,
        max_duration: float | None = None,
        trim: bool = False,
        is_regression_task: bool = False,
        cal_labels_occurrence: bool = False,
    ) -> None:
        super().__init__()
        entries = load_audio_text_manifests(manifest_filepath, min_duration, max_duration)
        self.collection = _LabelledEntries(entries, labels, is_regression_task, cal_labels_occurrence)
        self.featurizer = featurizer
        self.trim = trim
        self.is_regression_task = is_regression_task
        self._sample_rate = featurizer.sample_rate
        self.labels = self.collection.labels
        self.num_classes = self.collection.num_classes
        if not is_regression_task:
            self.label2id, self.id2label = self.collection.label2id, self.collection.id2label
            self.labels_occurrence = self.collection.labels_occurrence

    @property
    def output_types(self) -> dict[str, NeuralType]:
        """``audio_signal`` (B, T), ``a_sig_length`` (B,), ``label`` (B,), ``label_length`` (B,)."""
        return _label_output_types(self._sample_rate, self.is_regression_task)

    def __len__(self) -> int:
        return len(self.collection.entries)

    def __getitem__(self, index: int) -> Sample:
        """``(audio (T,), audio_len, label, label_len=1)``."""
        entry = self.collection.entries[index]
        audio = _read_audio(self.featurizer, entry.audio_filepath, entry, self.trim, entry.where)
        return _labelled_sample(audio, self.collection.target(index))

    def _collate_fn(self, batch: Sequence[Sample]) -> Sample:
        return _label_collate_fn(batch)


class AudioToClassificationLabelDataset(_AudioLabelDataset):
    """Utterances with one class label each (speech commands, sound events, VAD segments).

    Arguments as :class:`_AudioLabelDataset`: ``manifest_filepath``, ``labels``, ``featurizer``,
    ``min_duration``, ``max_duration``, ``trim``, ``is_regression_task``, ``cal_labels_occurrence``.

    Example:
        >>> featurizer = WaveformFeaturizer(sample_rate=16000)
        >>> dataset = AudioToClassificationLabelDataset(
        ...     manifest_filepath="train.json", labels=["no", "yes"], featurizer=featurizer)
        >>> loader = DataLoader(dataset, batch_size=4, collate_fn=dataset.collate_fn)
    """


class _SpeechLabelBatching:
    """The speaker / VAD collate functions, for map-style and tarred speech-label datasets."""

    featurizer: WaveformFeaturizer
    window_length_in_sec: float
    shift_length_in_sec: float
    normalize_audio: bool

    def fixed_seq_collate_fn(self, batch: Sequence[Sample]) -> Sample:
        """Batch with every clip repeated to the longest clip's length (speaker training)."""
        return _fixed_seq_collate(batch)

    def vad_frame_seq_collate_fn(self, batch: Sequence[Sample]) -> Sample:
        """Batch of ``window_length_in_sec`` windows every ``shift_length_in_sec`` (VAD inference)."""
        return _vad_frame_seq_collate(
            batch,
            self.featurizer.sample_rate,
            self.window_length_in_sec,
            self.shift_length_in_sec,
            self.normalize_audio,
        )


class AudioToSpeechLabelDataset(_SpeechLabelBatching, _AudioLabelDataset):
    """Utterances with a speaker (or speech/background) label, with NeMo's speaker and VAD batching.

    Args:
        manifest_filepath, labels, featurizer, min_duration, max_duration, trim, is_regression_task,
            cal_labels_occurrence: as :class:`AudioToClassificationLabelDataset`.
        window_length_in_sec: window length of ``vad_frame_seq_collate_fn`` (seconds).
        shift_length_in_sec: window shift of ``vad_frame_seq_collate_fn`` (seconds).
        normalize_audio: zero-mean, peak-normalise each signal in ``vad_frame_seq_collate_fn``.
    """

    def __init__(
        self,
        *,
        manifest_filepath: str | list[str],
        labels: Sequence[Any] | None,
        featurizer: WaveformFeaturizer,
        min_duration: float | None = 0.1,
        max_duration: float | None = None,
        trim: bool = False,
        window_length_in_sec: float | None = 8,
        shift_length_in_sec: float | None = 1,
        normalize_audio: bool = False,
        is_regression_task: bool = False,
        cal_labels_occurrence: bool = False,
    ) -> None:
        self.window_length_in_sec = window_length_in_sec
        self.shift_length_in_sec = shift_length_in_sec
        self.normalize_audio = normalize_audio
        super().__init__(
            manifest_filepath=manifest_filepath,
            labels=labels,
            featurizer=featurizer,
            min_duration=min_duration,
            max_duration=max_duration,
            trim=trim,
            is_regression_task=is_regression_task,
            cal_labels_occurrence=cal_labels_occurrence,
        )


class _TarredAudioLabelDataset(IterableDataset):
    """Streams ``(audio, audio_len, label, 1)`` samples from tar shards; see the tarred classes for arguments.

    A member matches the manifest lines whose ``audio_filepath`` has the same name without extension
    (several lines may share a member, e.g. with different offsets). Shards are split across processes
    (``shard_strategy``) and DataLoader workers; ``shuffle_n > 0`` shuffles shards each epoch and samples
    through a buffer of that size.
    """

    def __init__(
        self,
        *,
        audio_tar_filepaths: str | list[str],
        manifest_filepath: str | list[str],
        labels: Sequence[Any] | None,
        featurizer: WaveformFeaturizer,
        shuffle_n: int = 0,
        min_duration: float | None = 0.1,
        max_duration: float | None = None,
        trim: bool = False,
        shard_strategy: str = "scatter",
        global_rank: int = 0,
        world_size: int = 0,
        is_regression_task: bool = False,
    ) -> None:
        super().__init__()
        entries = load_audio_text_manifests(
            manifest_filepath, min_duration, max_duration, check_audio_files=False
        )
        self.collection = _LabelledEntries(entries, labels, is_regression_task, False)
        self.featurizer = featurizer
        self.trim = trim
        self.is_regression_task = is_regression_task
        self._sample_rate = featurizer.sample_rate
        self.labels = self.collection.labels
        self.num_classes = self.collection.num_classes
        if not is_regression_task:
            self.label2id, self.id2label = self.collection.label2id, self.collection.id2label
        self.shuffle_n = shuffle_n
        self.shards = expand_sharded_filepaths(audio_tar_filepaths, shard_strategy, world_size, global_rank)
        self.member_to_indices: dict[str, list[int]] = {}
        for index, entry in enumerate(entries):
            file_id = os.path.splitext(os.path.basename(entry.audio_filepath))[0]
            self.member_to_indices.setdefault(file_id, []).append(index)

    @property
    def output_types(self) -> dict[str, NeuralType]:
        """``audio_signal`` (B, T), ``a_sig_length`` (B,), ``label`` (B,), ``label_length`` (B,)."""
        return _label_output_types(self._sample_rate, self.is_regression_task)

    def __len__(self) -> int:
        return len(self.collection.entries)

    def _matches(self, shards: list[str]) -> Iterator[tuple[bytes, str, str, int]]:
        for shard in shards:
            for member, data in iter_tar_members(shard):
                for index in self.member_to_indices.get(os.path.splitext(member)[0], ()):
                    yield data, member, shard, index

    def __iter__(self) -> Iterator[Sample]:
        shards, seed = worker_shards_and_seed(self.shards, self.shuffle_n)
        for data, member, shard, index in shuffle_buffer(
            self._matches(shards), self.shuffle_n, random.Random(seed)
        ):
            entry = self.collection.entries[index]
            where = f"{shard}:{member} ({entry.where})"
            audio = _read_audio(self.featurizer, open_member(data, member), entry, self.trim, where)
            yield _labelled_sample(audio, self.collection.target(index))

    def _collate_fn(self, batch: Sequence[Sample]) -> Sample:
        return _label_collate_fn(batch)


class TarredAudioToClassificationLabelDataset(_TarredAudioLabelDataset):
    """Tar shards of labelled utterances, streamed (the tarred :class:`AudioToClassificationLabelDataset`).

    Args:
        audio_tar_filepaths: shard brace pattern (``audio_{0..7}.tar``, ``_OP_``/``_CL_`` too) or list.
        manifest_filepath: the tarred manifest: ``audio_filepath`` names the member.
        labels, featurizer, min_duration, max_duration, trim, is_regression_task: as the map-style dataset.
        shuffle_n: shuffle buffer size (0: read in order).
        shard_strategy: ``"scatter"`` (each process its own shards) or ``"replicate"`` (all shards everywhere).
        global_rank: this process's rank.
        world_size: number of processes (0 or 1: not distributed).
    """


class TarredAudioToSpeechLabelDataset(_SpeechLabelBatching, _TarredAudioLabelDataset):
    """Tar shards of speaker-labelled utterances, streamed (the tarred :class:`AudioToSpeechLabelDataset`).

    Arguments as :class:`TarredAudioToClassificationLabelDataset`, plus ``window_length_in_sec``,
    ``shift_length_in_sec`` and ``normalize_audio`` as :class:`AudioToSpeechLabelDataset`.
    """

    def __init__(
        self,
        *,
        audio_tar_filepaths: str | list[str],
        manifest_filepath: str | list[str],
        labels: Sequence[Any] | None,
        featurizer: WaveformFeaturizer,
        shuffle_n: int = 0,
        min_duration: float | None = 0.1,
        max_duration: float | None = None,
        trim: bool = False,
        window_length_in_sec: float | None = 8,
        shift_length_in_sec: float | None = 1,
        normalize_audio: bool = False,
        shard_strategy: str = "scatter",
        global_rank: int = 0,
        world_size: int = 0,
    ) -> None:
        self.window_length_in_sec = window_length_in_sec
        self.shift_length_in_sec = shift_length_in_sec
        self.normalize_audio = normalize_audio
        super().__init__(
            audio_tar_filepaths=audio_tar_filepaths,
            manifest_filepath=manifest_filepath,
            labels=labels,
            featurizer=featurizer,
            shuffle_n=shuffle_n,
            min_duration=min_duration,
            max_duration=max_duration,
            trim=trim,
            shard_strategy=shard_strategy,
            global_rank=global_rank,
            world_size=world_size,
        )

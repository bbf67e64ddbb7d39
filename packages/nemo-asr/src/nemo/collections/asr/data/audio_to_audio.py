"""Audio-to-audio datasets (speech enhancement, separation): NeMo 1.23's classes, arguments and item layout.

A manifest line names several audio files by key, e.g.::

    {"input_filepath": "noisy/1.wav", "target_filepath": "clean/1.wav", "duration": 3.2, "offset": 0.0}

A key's value may be one path or a list of paths (one file per channel group, stacked along channels), and a
dataset key may combine several manifest keys (a list, or a comma-separated string). Relative paths are
resolved against the manifest's folder.

Items are dictionaries of tensors: ``{"input_signal": (C, T) or (T,), "target_signal": ..., ...}``.
Signals loaded *synchronously* share start and length (a fixed ``audio_duration`` picks the same window in
every file: from the manifest ``offset``, or at random after it with ``random_offset``); *asynchronous* signals
are windowed independently; embeddings are ``.npy`` vectors. ``_audio_collate_fn`` zero-pads each signal to
the longest in the batch and returns ``(signal_0, length_0, signal_1, length_1, ...)``.

* :class:`AudioToTargetDataset`: ``input_signal`` and ``target_signal`` (a ``None`` target key gives empty
  targets, for inference).
* :class:`AudioToTargetWithReferenceDataset`: plus ``reference_signal`` (synchronized or not).
* :class:`AudioToTargetWithEmbeddingDataset`: plus ``embedding_vector``.
"""

from __future__ import annotations

import abc
import math
import os
import random
from collections import OrderedDict, namedtuple
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import soundfile as sf
import torch
from nemo.collections.asr.data.manifest import ManifestError, parse_json_object, split_manifest_paths
from nemo.collections.asr.parts.preprocessing.segment import AudioSegment, ChannelSelectorType
from nemo.collections.common.parts.preprocessing.manifest import iter_text_lines
from nemo.core.classes import Dataset
from nemo.core.neural_types import AudioSignal, EncodedRepresentation, LengthsType, NeuralType
from nemo.utils import logging

__all__ = [
    "ASRAudioProcessor",
    "AudioExample",
    "AudioToTargetDataset",
    "AudioToTargetExample",
    "AudioToTargetWithEmbeddingDataset",
    "AudioToTargetWithEmbeddingExample",
    "AudioToTargetWithReferenceDataset",
    "AudioToTargetWithReferenceExample",
    "BaseAudioDataset",
    "SignalSetup",
]

AudioFiles = str | list[str] | None

AudioExample = namedtuple("AudioExample", "audio_files duration offset text")
"""One manifest line: ``audio_files`` maps each signal name to its path(s) (or None), ``duration`` and ``offset``
in seconds, ``text`` (None when absent)."""

AudioToTargetExample = namedtuple(
    "AudioToTargetExample", "input_signal input_length target_signal target_length"
)
AudioToTargetWithReferenceExample = namedtuple(
    "AudioToTargetWithReferenceExample",
    "input_signal input_length target_signal target_length reference_signal reference_length",
)
AudioToTargetWithEmbeddingExample = namedtuple(
    "AudioToTargetWithEmbeddingExample",
    "input_signal input_length target_signal target_length embedding_vector embedding_length",
)


def _audio_collate_fn(batch: list[dict[str, torch.Tensor]]) -> tuple[torch.Tensor, ...]:
    """Zero-pad every signal of the items to the batch's longest and stack.

    As in NeMo 1.23, the items' dictionaries are updated to hold the padded tensors.

    Args:
        batch: items ``{name: (T,) or (C, T) tensor}`` with the same names (the first item's order is used).

    Returns:
        ``(signal_0 (B, [C,] T_max), length_0 (B,) int32, signal_1, length_1, ...)``.
    """
    batched: list[torch.Tensor] = []
    for name in batch[0]:
        lengths = []
        for item in batch:
            if item[name].dim() not in (1, 2):
                raise RuntimeError(
                    f"signal {name!r} has shape {tuple(item[name].shape)}; only (T,) and (C, T) signals can be "
                    "batched."
                )
            lengths.append(item[name].shape[-1])
        longest = max(lengths)
        for item in batch:
            item[name] = torch.nn.functional.pad(item[name], (0, longest - item[name].shape[-1]))
        batched.append(torch.stack([item[name] for item in batch]))
        batched.append(torch.tensor(lengths, dtype=torch.int32))
    return tuple(batched)


@dataclass
class SignalSetup:
    """Which signals an ``ASRAudioProcessor`` loads together, and how.

    Attributes:
        signals: signal names (keys of an example's ``audio_files``).
        duration: seconds to load (None: whole files); synchronous setups take one value, asynchronous ones a
            list with one value per signal.
        channel_selectors: one channel selector per signal (None: all channels).
    """

    signals: list[str]
    duration: float | list[float | None] | None = None
    channel_selectors: list[ChannelSelectorType] | None = None


def _check_setup(value: Any) -> SignalSetup | None:
    if value is not None and not isinstance(value, SignalSetup):
        raise ValueError(f"expected a SignalSetup or None, got {type(value).__name__}: {value!r}.")
    return value


def _flatten(files: AudioFiles | Sequence[AudioFiles]) -> list[str]:
    if files is None:
        return []
    if isinstance(files, str):
        return [files]
    return [path for item in files for path in _flatten(item)]


class ASRAudioProcessor:
    """Turns an :data:`AudioExample` into a dictionary of signal tensors.

    Signals are ordered as loaded: synchronous ones (``sync_setup``), asynchronous ones (``async_setup``),
    then embeddings (``embedding_setup``).

    Args:
        sample_rate: rate of every returned signal (files are resampled as needed); must be positive.
        random_offset: pick fixed-duration windows at a random start (at or after the example's offset).
    """

    def __init__(self, sample_rate: float, random_offset: bool) -> None:
        self.sample_rate = sample_rate
        self.random_offset = random_offset
        self.sync_setup: SignalSetup | None = None
        self.async_setup: SignalSetup | None = None
        self.embedding_setup: SignalSetup | None = None

    @property
    def sample_rate(self) -> float:
        return self._sample_rate

    @sample_rate.setter
    def sample_rate(self, value: float) -> None:
        if value <= 0:
            raise ValueError(f"sample_rate must be positive, got {value}.")
        self._sample_rate = value

    @property
    def sync_setup(self) -> SignalSetup | None:
        """Signals loaded with a common start and length."""
        return self._sync_setup

    @sync_setup.setter
    def sync_setup(self, value: SignalSetup | None) -> None:
        self._sync_setup = _check_setup(value)

    @property
    def async_setup(self) -> SignalSetup | None:
        """Signals loaded independently of each other (``duration`` is a per-signal list)."""
        return self._async_setup

    @async_setup.setter
    def async_setup(self, value: SignalSetup | None) -> None:
        self._async_setup = _check_setup(value)

    @property
    def embedding_setup(self) -> SignalSetup | None:
        """Signals that are embedding vectors (``.npy`` files)."""
        return self._embedding_setup

    @embedding_setup.setter
    def embedding_setup(self, value: SignalSetup | None) -> None:
        self._embedding_setup = _check_setup(value)

    def process(self, example: AudioExample) -> OrderedDict[str, torch.Tensor]:
        """Load (``load_audio``) and post-process (``process_audio``) one example."""
        return self.process_audio(self.load_audio(example))

    def load_audio(self, example: AudioExample) -> OrderedDict[str, torch.Tensor]:
        """All configured signals of ``example`` as tensors, in setup order."""
        output: OrderedDict[str, torch.Tensor] = OrderedDict()
        if self.sync_setup is not None:
            output.update(self.load_sync_signals(example))
        if self.async_setup is not None:
            output.update(self.load_async_signals(example))
        if self.embedding_setup is not None:
            output.update(self.load_embedding(example))
        if not output:
            raise RuntimeError(
                "ASRAudioProcessor has nothing to load: set sync_setup, async_setup or embedding_setup first."
            )
        return output

    def process_audio(self, audio: OrderedDict[str, torch.Tensor]) -> OrderedDict[str, torch.Tensor]:
        """Hook for processing loaded signals; returns them unchanged."""
        return audio

    def load_sync_signals(self, example: AudioExample) -> OrderedDict[str, torch.Tensor]:
        """The synchronous signals of ``example``, cut to one common window."""
        setup = self.sync_setup
        samples = self.get_samples_synchronized(
            audio_files=[example.audio_files[name] for name in setup.signals],
            sample_rate=self.sample_rate,
            duration=setup.duration,
            channel_selectors=setup.channel_selectors,
            fixed_offset=example.offset,
            random_offset=self.random_offset,
        )
        return OrderedDict((name, torch.tensor(np.asarray(s))) for name, s in zip(setup.signals, samples))

    def load_async_signals(self, example: AudioExample) -> OrderedDict[str, torch.Tensor]:
        """The asynchronous signals of ``example``, each windowed on its own."""
        setup = self.async_setup
        durations = (
            setup.duration if isinstance(setup.duration, list) else [setup.duration] * len(setup.signals)
        )
        selectors = setup.channel_selectors or [None] * len(setup.signals)
        output: OrderedDict[str, torch.Tensor] = OrderedDict()
        for name, duration, selector in zip(setup.signals, durations, selectors):
            samples = self.get_samples(
                audio_file=example.audio_files[name],
                sample_rate=self.sample_rate,
                duration=duration,
                channel_selector=selector,
                fixed_offset=example.offset,
                random_offset=self.random_offset,
            )
            output[name] = torch.tensor(np.asarray(samples))
        return output

    @classmethod
    def get_samples(
        cls,
        audio_file: AudioFiles,
        sample_rate: int,
        duration: float | None = None,
        channel_selector: ChannelSelectorType = None,
        fixed_offset: float = 0,
        random_offset: bool = False,
    ) -> np.ndarray:
        """Samples of one signal, ``(T,)`` or ``(C, T)`` (see ``get_samples_synchronized``)."""
        return cls.get_samples_synchronized(
            [audio_file], sample_rate, duration, [channel_selector], fixed_offset, random_offset
        )[0]

    @classmethod
    def get_samples_synchronized(
        cls,
        audio_files: list[AudioFiles],
        sample_rate: int,
        duration: float | None = None,
        channel_selectors: list[ChannelSelectorType] | None = None,
        fixed_offset: float = 0,
        random_offset: bool = False,
    ) -> list[np.ndarray]:
        """Samples of several signals over one common window.

        Without ``duration`` every file is read from ``fixed_offset`` to its end. With it, the window is
        ``floor(duration * sample_rate)`` samples long, starting at ``fixed_offset`` (or uniformly at random
        in ``[fixed_offset, shortest - duration]`` with ``random_offset``); when the shortest file cannot hold
        it, the window shrinks to what remains after ``fixed_offset``.

        Args:
            audio_files: per signal, a path, a list of paths (stacked along channels), or None (an empty
                result, for inference without targets).
            sample_rate: output rate.
            duration: window length in seconds, or None.
            channel_selectors: per signal, a channel selector applied to each of its files.
            fixed_offset: seconds to skip.
            random_offset: randomize the window start.

        Returns:
            One array per signal: ``(T,)`` for one channel, ``(C, T)`` for several.
        """
        selectors = channel_selectors if channel_selectors is not None else [None] * len(audio_files)
        offset, num_samples = fixed_offset, None
        if duration is not None:
            shortest = min(cls.get_duration(audio_files))
            available = shortest - fixed_offset
            if available <= 0:
                raise ValueError(
                    f"offset {fixed_offset} s is past the end of the shortest file ({shortest} s) of {audio_files}."
                )
            if duration + fixed_offset > shortest:
                logging.debug(
                    f"Shortest file ({shortest} s) is shorter than offset + duration; using {available} s."
                )
                duration = available
            elif random_offset:
                offset = random.uniform(fixed_offset, shortest - duration)
            num_samples = math.floor(duration * sample_rate)
        return [
            cls.get_samples_from_file(files, sample_rate, offset, num_samples, selector)
            for files, selector in zip(audio_files, selectors)
        ]

    @classmethod
    def get_samples_from_file(
        cls,
        audio_file: AudioFiles,
        sample_rate: int,
        offset: float,
        num_samples: int | None = None,
        channel_selector: ChannelSelectorType = None,
    ) -> np.ndarray | list:
        """One signal from a path (``(T,)`` or ``(C, T)``), a list of paths (stacked), or None (``[]``)."""
        if audio_file is None:
            return []
        if isinstance(audio_file, str):
            return cls.get_segment_from_file(audio_file, sample_rate, offset, num_samples, channel_selector)
        if isinstance(audio_file, list):
            parts = [
                cls.get_segment_from_file(path, sample_rate, offset, num_samples, channel_selector)
                for path in audio_file
            ]
            lengths = {part.shape[-1] for part in parts}
            if len(lengths) > 1:
                raise RuntimeError(
                    f"files {audio_file} have different lengths ({[part.shape[-1] for part in parts]} samples) and "
                    "cannot be stacked into one multi-channel signal; give files of equal length or a fixed "
                    "audio_duration."
                )
            return cls.list_to_multichannel(parts)
        raise RuntimeError(f"unexpected audio_file {audio_file!r}: expected a path, a list of paths or None.")

    @staticmethod
    def get_segment_from_file(
        audio_file: str,
        sample_rate: int,
        offset: float,
        num_samples: int | None = None,
        channel_selector: ChannelSelectorType = None,
    ) -> np.ndarray:
        """Read one file from ``offset`` seconds (``num_samples`` samples at ``sample_rate``, or to the end).

        Returns:
            ``(T,)`` for one channel, ``(C, T)`` for several.
        """
        if num_samples is None:
            segment = AudioSegment.from_file(
                audio_file, target_sr=sample_rate, offset=offset, channel_selector=channel_selector
            )
        else:
            segment = _read_window(audio_file, sample_rate, offset, num_samples, channel_selector)
        samples = segment.samples
        if samples.ndim not in (1, 2):
            raise RuntimeError(f"unexpected samples of shape {samples.shape} read from {audio_file!r}.")
        return samples if samples.ndim == 1 else samples.T

    @staticmethod
    def list_to_multichannel(signal: np.ndarray | list[np.ndarray]) -> np.ndarray | list:
        """Stack a list of ``(T,)`` signals (or concatenate ``(C, T)`` ones) along channels.

        A non-list, an empty list or a one-element list is returned as is (the element for the latter).
        """
        if not isinstance(signal, list) or len(signal) == 0:
            return signal
        if len(signal) == 1:
            return signal[0]
        if signal[0].ndim == 1:
            return np.stack(signal, axis=0)
        if signal[0].ndim == 2:
            return np.concatenate(signal, axis=0)
        raise RuntimeError(f"cannot stack signals with {signal[0].ndim} dimensions; expected (T,) or (C, T).")

    @staticmethod
    def get_duration(audio_files: list[AudioFiles]) -> list[float]:
        """Duration in seconds of every file (lists flattened, None skipped)."""
        return [sf.info(path).duration for path in _flatten(audio_files)]

    def load_embedding(self, example: AudioExample) -> OrderedDict[str, torch.Tensor]:
        """The embedding vectors of ``example`` (``embedding_setup.signals``)."""
        return OrderedDict(
            (name, torch.tensor(self.load_embedding_vector(example.audio_files[name])))
            for name in self.embedding_setup.signals
        )

    @staticmethod
    def load_embedding_vector(filepath: str) -> np.ndarray:
        """Load a ``.npy`` embedding vector."""
        if not filepath.endswith(".npy"):
            raise RuntimeError(
                f"embedding file {filepath!r} is not a .npy file; store embeddings with numpy.save."
            )
        return np.load(filepath)


def _read_window(
    audio_file: str, sample_rate: int, offset: float, num_samples: int, channel_selector: ChannelSelectorType
) -> AudioSegment:
    """``num_samples`` samples (at ``sample_rate``) from ``offset`` seconds, as NeMo's ``segment_from_file``.

    A window longer than the file reads the whole file (with a warning), as NeMo does.
    """
    with sf.SoundFile(audio_file, "r") as handle:
        file_rate, file_frames = handle.samplerate, handle.frames
        needed = math.ceil(num_samples * file_rate / sample_rate)
        windowed = 0 < needed < file_frames
        if windowed:
            start = math.floor(offset * file_rate)
            if start > file_frames - needed:
                raise RuntimeError(
                    f"{audio_file!r}: a window of {needed} samples cannot start at sample {start} of {file_frames}."
                )
            handle.seek(start)
            samples = handle.read(needed, dtype="float32")
        else:
            if needed > file_frames:
                logging.warning(
                    f"{audio_file!r} has {file_frames} samples, fewer than the {needed} requested; reading it all."
                )
            samples = handle.read(dtype="float32")
    segment = AudioSegment(samples, file_rate, target_sr=sample_rate, channel_selector=channel_selector)
    if windowed:
        segment._samples = segment._samples[:num_samples]
    return segment


def _manifest_files(item: dict[str, Any], manifest_key: str | list[str] | None, where: str) -> AudioFiles:
    """The file(s) a dataset key names in a manifest line (several manifest keys are concatenated)."""
    if manifest_key is None:
        return None
    keys = [manifest_key] if isinstance(manifest_key, str) else list(manifest_key)
    files: list[str] = []
    for key in keys:
        if key not in item:
            raise ManifestError(f"{where}: missing key {key!r}.")
        value = item[key]
        if isinstance(value, str):
            files.append(value)
        elif isinstance(value, list) and all(isinstance(path, str) for path in value):
            files.extend(value)
        else:
            raise ManifestError(f"{where}: key {key!r} must be a path or a list of paths, got {value!r}.")
    single_value = isinstance(manifest_key, str) and isinstance(item[manifest_key], str)
    return files[0] if single_value else files


def read_audio_collection(
    manifest_filepath: str | Sequence[str],
    audio_to_manifest_key: dict[str, str | list[str] | None],
    min_duration: float | None = None,
    max_duration: float | None = None,
    max_number: int | None = None,
) -> list[AudioExample]:
    """Examples of one or more manifests (see the module docstring), filtered by ``duration``.

    Args:
        manifest_filepath: path(s), comma-separated or a list.
        audio_to_manifest_key: signal name -> manifest key(s); a comma-separated string is several keys, and
            None (allowed for ``target*`` signals only) gives no file.
        min_duration: drop lines shorter than this (seconds).
        max_duration: drop lines longer than this.
        max_number: keep at most this many (None or 0: all).

    Returns:
        The examples.

    Raises:
        FileNotFoundError: a manifest does not exist.
        ManifestError: a line is not UTF-8, not one JSON object, or lacks a key (naming ``<manifest>:<line>``).
    """
    keys = {
        name: key.split(",") if isinstance(key, str) and "," in key else key
        for name, key in audio_to_manifest_key.items()
    }
    for name, key in keys.items():
        if key is None and not name.startswith("target"):
            raise ValueError(f"{name} needs a manifest key; only target signals may have none (inference).")
    examples: list[AudioExample] = []
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
            if "duration" not in item:
                raise ManifestError(f"{where}: missing key 'duration' (seconds). Line: {line.strip()}")
            duration = item["duration"]
            if (min_duration is not None and duration < min_duration) or (
                max_duration is not None and duration > max_duration
            ):
                continue
            files = {}
            for name, key in keys.items():
                found = _manifest_files(item, key, where)
                if isinstance(found, str):
                    found = _resolve(found, folder)
                elif isinstance(found, list):
                    found = [_resolve(f, folder) for f in found]
                files[name] = found
            examples.append(AudioExample(files, duration, item.get("offset", 0.0), item.get("text")))
            if max_number and len(examples) == max_number:
                return examples
    return examples


def _resolve(audio_file: str, folder: str) -> str:
    if os.path.isabs(audio_file):
        return audio_file
    beside = os.path.join(folder, audio_file)
    return audio_file if not os.path.exists(beside) and os.path.exists(audio_file) else beside


class BaseAudioDataset(Dataset):
    """A list of examples processed into signal dictionaries by an ``ASRAudioProcessor``.

    Args:
        collection: the examples.
        audio_processor: object with ``process(example) -> dict``.
        output_type: namedtuple type of a collated batch.
    """

    def __init__(self, collection: list[AudioExample], audio_processor: Callable, output_type: type) -> None:
        super().__init__()
        self.collection = collection
        self.audio_processor = audio_processor
        self.output_type = output_type

    @property
    @abc.abstractmethod
    def output_types(self) -> OrderedDict[str, NeuralType]:
        """Port types of a collated batch."""

    def num_channels(self, signal_key: str) -> int:
        """Channels of ``signal_key`` in the first item (all items are assumed alike)."""
        signal = self[0][signal_key]
        if signal.dim() == 1:
            return 1
        if signal.dim() == 2:
            return signal.shape[0]
        raise RuntimeError(f"signal {signal_key!r} has unexpected shape {tuple(signal.shape)}.")

    def _audio_type(self, signal_key: str) -> NeuralType:
        axes = ("B", "T") if self.num_channels(signal_key) == 1 else ("B", "C", "T")
        return NeuralType(axes, AudioSignal())

    def __getitem__(self, index: int) -> OrderedDict[str, torch.Tensor]:
        """``{signal name: tensor}`` of example ``index``."""
        return self.audio_processor.process(example=self.collection[index])

    def __len__(self) -> int:
        return len(self.collection)

    def _collate_fn(self, batch: list[dict[str, torch.Tensor]]) -> tuple:
        """``output_type(*_audio_collate_fn(batch))``."""
        return self.output_type(*_audio_collate_fn(batch))


class AudioToTargetDataset(BaseAudioDataset):
    """Input and target audio (e.g. noisy and clean speech).

    Args:
        manifest_filepath: manifest path(s).
        sample_rate: output sample rate.
        input_key: manifest key(s) of the input audio.
        target_key: manifest key(s) of the target audio; None for none (inference).
        audio_duration: seconds per item, the same window of input and target (None: whole files).
        random_offset: random window start.
        max_duration: drop longer lines (manifest ``duration``).
        min_duration: drop shorter lines.
        max_utts: keep at most this many lines (None or 0: all).
        input_channel_selector: channels of the input files (None: all).
        target_channel_selector: channels of the target files (None: all).
    """

    def __init__(
        self,
        manifest_filepath: str,
        sample_rate: int,
        input_key: str,
        target_key: str | None,
        audio_duration: float | None = None,
        random_offset: bool = False,
        max_duration: float | None = None,
        min_duration: float | None = None,
        max_utts: int | None = None,
        input_channel_selector: ChannelSelectorType = None,
        target_channel_selector: ChannelSelectorType = None,
    ) -> None:
        collection = read_audio_collection(
            manifest_filepath,
            {"input_signal": input_key, "target_signal": target_key},
            min_duration=min_duration,
            max_duration=max_duration,
            max_number=max_utts,
        )
        processor = ASRAudioProcessor(sample_rate=sample_rate, random_offset=random_offset)
        processor.sync_setup = SignalSetup(
            signals=["input_signal", "target_signal"],
            duration=audio_duration,
            channel_selectors=[input_channel_selector, target_channel_selector],
        )
        super().__init__(collection, processor, AudioToTargetExample)

    @property
    def output_types(self) -> OrderedDict[str, NeuralType]:
        """``input_signal``, ``input_length``, ``target_signal``, ``target_length`` ((B, T) or (B, C, T))."""
        return OrderedDict(
            input_signal=self._audio_type("input_signal"),
            input_length=NeuralType(("B",), LengthsType()),
            target_signal=self._audio_type("target_signal"),
            target_length=NeuralType(("B",), LengthsType()),
        )


class AudioToTargetWithReferenceDataset(BaseAudioDataset):
    """Input, target and a reference signal (enrollment speech, echo reference, another sensor).

    Args:
        reference_key: manifest key(s) of the reference audio.
        reference_channel_selector: channels of the reference files.
        reference_is_synchronized: cut the reference with the same window as input and target; otherwise it
            is read on its own, ``reference_duration`` seconds long (None: whole file).
        reference_duration: see ``reference_is_synchronized``.
        Other arguments: as :class:`AudioToTargetDataset`.
    """

    def __init__(
        self,
        manifest_filepath: str,
        sample_rate: int,
        input_key: str,
        target_key: str,
        reference_key: str,
        audio_duration: float | None = None,
        random_offset: bool = False,
        max_duration: float | None = None,
        min_duration: float | None = None,
        max_utts: int | None = None,
        input_channel_selector: ChannelSelectorType = None,
        target_channel_selector: ChannelSelectorType = None,
        reference_channel_selector: ChannelSelectorType = None,
        reference_is_synchronized: bool = True,
        reference_duration: float | None = None,
    ) -> None:
        collection = read_audio_collection(
            manifest_filepath,
            {"input_signal": input_key, "target_signal": target_key, "reference_signal": reference_key},
            min_duration=min_duration,
            max_duration=max_duration,
            max_number=max_utts,
        )
        processor = ASRAudioProcessor(sample_rate=sample_rate, random_offset=random_offset)
        if reference_is_synchronized:
            if reference_duration is not None:
                raise ValueError(
                    f"reference_duration={reference_duration} only applies with reference_is_synchronized=False; "
                    "a synchronized reference uses audio_duration."
                )
            processor.sync_setup = SignalSetup(
                signals=["input_signal", "target_signal", "reference_signal"],
                duration=audio_duration,
                channel_selectors=[
                    input_channel_selector,
                    target_channel_selector,
                    reference_channel_selector,
                ],
            )
        else:
            processor.sync_setup = SignalSetup(
                signals=["input_signal", "target_signal"],
                duration=audio_duration,
                channel_selectors=[input_channel_selector, target_channel_selector],
            )
            processor.async_setup = SignalSetup(
                signals=["reference_signal"],
                duration=[reference_duration],
                channel_selectors=[reference_channel_selector],
            )
        super().__init__(collection, processor, AudioToTargetWithReferenceExample)

    @property
    def output_types(self) -> OrderedDict[str, NeuralType]:
        """Input, target and reference signals with their lengths."""
        return OrderedDict(
            input_signal=self._audio_type("input_signal"),
            input_length=NeuralType(("B",), LengthsType()),
            target_signal=self._audio_type("target_signal"),
            target_length=NeuralType(("B",), LengthsType()),
            reference_signal=self._audio_type("reference_signal"),
            reference_length=NeuralType(("B",), LengthsType()),
        )


class AudioToTargetWithEmbeddingDataset(BaseAudioDataset):
    """Input, target and an embedding vector (``.npy``, e.g. a speaker embedding) per line.

    Args:
        embedding_key: manifest key of the embedding file.
        Other arguments: as :class:`AudioToTargetDataset`.
    """

    def __init__(
        self,
        manifest_filepath: str,
        sample_rate: int,
        input_key: str,
        target_key: str,
        embedding_key: str,
        audio_duration: float | None = None,
        random_offset: bool = False,
        max_duration: float | None = None,
        min_duration: float | None = None,
        max_utts: int | None = None,
        input_channel_selector: ChannelSelectorType = None,
        target_channel_selector: ChannelSelectorType = None,
    ) -> None:
        collection = read_audio_collection(
            manifest_filepath,
            {"input_signal": input_key, "target_signal": target_key, "embedding_vector": embedding_key},
            min_duration=min_duration,
            max_duration=max_duration,
            max_number=max_utts,
        )
        processor = ASRAudioProcessor(sample_rate=sample_rate, random_offset=random_offset)
        processor.sync_setup = SignalSetup(
            signals=["input_signal", "target_signal"],
            duration=audio_duration,
            channel_selectors=[input_channel_selector, target_channel_selector],
        )
        processor.embedding_setup = SignalSetup(signals=["embedding_vector"])
        super().__init__(collection, processor, AudioToTargetWithEmbeddingExample)

    @property
    def output_types(self) -> OrderedDict[str, NeuralType]:
        """Input and target signals, ``embedding_vector`` (B, D) and their lengths."""
        return OrderedDict(
            input_signal=self._audio_type("input_signal"),
            input_length=NeuralType(("B",), LengthsType()),
            target_signal=self._audio_type("target_signal"),
            target_length=NeuralType(("B",), LengthsType()),
            embedding_vector=NeuralType(("B", "D"), EncodedRepresentation()),
            embedding_length=NeuralType(("B",), LengthsType()),
        )

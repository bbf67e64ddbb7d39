"""Batched inference inputs for ``transcribe()``: audio files or in-memory waveforms, no temp manifests.

NeMo 1.23 writes a temporary manifest and builds a training-style dataset to transcribe a list of files.
Here the inputs go straight into a small Dataset; batches are formed from inputs of similar length
(less padding), and results are returned in the caller's order.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

AudioInput = str | os.PathLike | np.ndarray | torch.Tensor


@dataclass
class AudioBatch:
    """One padded batch of transcription inputs.

    Attributes:
        indices: positions of the batch items in the caller's input list.
        audio: (B, T) float32 waveforms, zero padded.
        audio_lengths: (B,) valid samples per item.
    """

    indices: list[int]
    audio: torch.Tensor
    audio_lengths: torch.Tensor


class _TranscriptionInputs(Dataset):
    def __init__(self, inputs: Sequence[AudioInput], sample_rate: int, channel_selector) -> None:
        self.inputs = list(inputs)
        self.sample_rate = sample_rate
        self.channel_selector = channel_selector

    def __len__(self) -> int:
        return len(self.inputs)

    def __getitem__(self, index: int) -> tuple[int, torch.Tensor]:
        item = self.inputs[index]
        if isinstance(item, (str, os.PathLike)):
            from nemo.collections.asr.parts.preprocessing.segment import AudioSegment

            segment = AudioSegment.from_file(
                os.fspath(item), target_sr=self.sample_rate, channel_selector=self.channel_selector
            )
            waveform = torch.as_tensor(segment.samples, dtype=torch.float32)
        else:
            waveform = torch.as_tensor(item, dtype=torch.float32)
            if waveform.dim() != 1:
                raise ValueError(
                    f"transcribe() got an in-memory waveform of shape {tuple(waveform.shape)} at position "
                    f"{index}; expected a 1-D (T,) mono signal at {self.sample_rate} Hz. Select or average the "
                    "channels first."
                )
        return index, waveform


def _collate(items: list[tuple[int, torch.Tensor]]) -> AudioBatch:
    lengths = torch.tensor([waveform.shape[0] for _, waveform in items], dtype=torch.long)
    audio = torch.zeros(len(items), int(lengths.max()), dtype=torch.float32)
    for row, (_, waveform) in enumerate(items):
        audio[row, : waveform.shape[0]] = waveform
    return AudioBatch([index for index, _ in items], audio, lengths)


def _length_sorted_batches(inputs: Sequence[AudioInput], batch_size: int) -> list[list[int]]:
    """Batches of input positions, grouping inputs of similar size; files are sized by bytes on disk."""

    def size(item: AudioInput) -> int:
        if isinstance(item, (str, os.PathLike)):
            return os.path.getsize(item) if os.path.exists(item) else 0
        return int(item.shape[-1])

    order = sorted(range(len(inputs)), key=lambda position: size(inputs[position]))
    return [order[start : start + batch_size] for start in range(0, len(order), batch_size)]


def iterate_audio_batches(
    inputs: Sequence[AudioInput],
    *,
    sample_rate: int,
    batch_size: int = 4,
    num_workers: int = 0,
    channel_selector=None,
) -> Iterator[AudioBatch]:
    """Yield padded batches of ``inputs`` (paths or 1-D waveforms at ``sample_rate``).

    Args:
        inputs: audio file paths (any format soundfile reads; resampled to ``sample_rate``) or 1-D
            float waveforms (numpy arrays or tensors) already at ``sample_rate``.
        sample_rate: the model's sample rate.
        batch_size: items per batch.
        num_workers: DataLoader workers loading audio.
        channel_selector: NeMo's channel selection for multi-channel files (int, list, or "average").
    """
    if isinstance(inputs, (str, os.PathLike, np.ndarray, torch.Tensor)) and not (
        isinstance(inputs, (np.ndarray, torch.Tensor)) and inputs.ndim == 2
    ):
        inputs = [inputs]
    elif isinstance(inputs, (np.ndarray, torch.Tensor)):
        inputs = list(inputs)
    for item in inputs:
        if isinstance(item, (str, os.PathLike)) and not os.path.isfile(item):
            raise FileNotFoundError(
                f"transcribe(): audio file {os.fspath(item)!r} does not exist. Check the path."
            )
    loader = DataLoader(
        _TranscriptionInputs(inputs, sample_rate, channel_selector),
        batch_sampler=_length_sorted_batches(inputs, batch_size),
        collate_fn=_collate,
        num_workers=num_workers,
    )
    yield from loader


@contextlib.contextmanager
def transcription_mode(model: torch.nn.Module) -> Iterator[None]:
    """Eval mode with the feature extractor's dither and pad_to off; the previous state comes back after."""
    featurizer = getattr(getattr(model, "preprocessor", None), "featurizer", None)
    saved = (featurizer.dither, featurizer.pad_to) if featurizer is not None else None
    was_training = model.training
    model.eval()
    if featurizer is not None:
        featurizer.dither, featurizer.pad_to = 0.0, 0
    try:
        with torch.inference_mode():
            yield
    finally:
        if featurizer is not None:
            featurizer.dither, featurizer.pad_to = saved
        model.train(was_training)


def run_transcription(
    model: torch.nn.Module,
    inputs: Sequence[AudioInput] | AudioInput,
    decode_batch: Callable[[AudioBatch], list],
    *,
    sample_rate: int,
    batch_size: int = 4,
    num_workers: int = 0,
    channel_selector=None,
    verbose: bool = True,
) -> list:
    """Run ``decode_batch`` (one result per batch row) over ``inputs``; results in input order."""
    results: dict[int, object] = {}
    with transcription_mode(model):
        batches = iterate_audio_batches(
            inputs,
            sample_rate=sample_rate,
            batch_size=batch_size,
            num_workers=num_workers,
            channel_selector=channel_selector,
        )
        if verbose:
            from tqdm import tqdm

            batches = tqdm(batches, desc="Transcribing", unit="batch")
        for batch in batches:
            batch.audio = batch.audio.to(model.device)
            batch.audio_lengths = batch.audio_lengths.to(model.device)
            results.update(zip(batch.indices, decode_batch(batch)))
    return [results[index] for index in range(len(results))]

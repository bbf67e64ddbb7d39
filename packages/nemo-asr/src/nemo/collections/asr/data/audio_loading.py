"""Loading one utterance's audio for a dataset: a mono float32 tensor at the dataset's sample rate."""

from __future__ import annotations

from typing import BinaryIO, Protocol

import torch
from nemo.collections.asr.parts.preprocessing.segment import AudioSegment, ChannelSelectorType

__all__ = ["AudioLoader", "AudioPerturbation"]


class AudioPerturbation(Protocol):
    """What datasets accept as ``augmentor``: NeMo's ``AudioAugmentor`` interface."""

    def perturb(self, segment: AudioSegment) -> None:
        """Change ``segment`` in place."""


class AudioLoader:
    """Reads an utterance (offset, duration), resamples, selects channels, trims and augments it.

    Args:
        sample_rate: rate the dataset produces, in Hz.
        int_values: read integer PCM.
        trim: cut leading and trailing silence.
        channel_selector: how to get one channel from multi-channel files (``"average"``, an index, or
            ``None``, which accepts only mono files).
        augmentor: applied to every loaded segment.
        resample: resample files whose rate differs from ``sample_rate``; with ``False`` such a file is an
            error (config key ``resample``).
    """

    def __init__(
        self,
        sample_rate: int,
        int_values: bool = False,
        trim: bool = False,
        channel_selector: ChannelSelectorType = None,
        augmentor: AudioPerturbation | None = None,
        resample: bool = True,
    ) -> None:
        self.sample_rate = sample_rate
        self.int_values = int_values
        self.trim = trim
        self.channel_selector = channel_selector
        self.augmentor = augmentor
        self.resample = resample

    def load(self, source: str | BinaryIO, offset: float | None, duration: float, where: str) -> torch.Tensor:
        """Load ``duration`` seconds from ``offset`` (0 for ``duration`` reads to the end).

        Args:
            source: audio path or binary file object.
            offset: seconds to skip (``None`` = 0).
            duration: seconds to read.
            where: what to name in errors (manifest file and line, or shard and member).

        Returns:
            (T,) float32 samples at ``sample_rate``.
        """
        try:
            segment = AudioSegment.from_file(
                source,
                target_sr=self.sample_rate if self.resample else None,
                int_values=self.int_values,
                offset=offset or 0,
                duration=duration,
                trim=self.trim,
                channel_selector=self.channel_selector,
            )
        except FileNotFoundError as err:
            raise FileNotFoundError(f"{where}: {err}") from err
        except ValueError as err:
            raise ValueError(f"{where}: {err}") from err
        except (OSError, RuntimeError) as err:
            raise RuntimeError(f"{where}: {err}") from err
        if segment.sample_rate != self.sample_rate:
            raise ValueError(
                f"{where}: audio is sampled at {segment.sample_rate} Hz, expected {self.sample_rate} Hz "
                "(config key sample_rate). Set resample: true in the dataset config, or resample the files."
            )
        if segment.samples.ndim != 1:
            raise ValueError(
                f"{where}: audio has {segment.num_channels} channels, expected mono. Set channel_selector in the "
                "dataset config ('average' to mix down, or a channel index)."
            )
        if self.augmentor is not None:
            self.augmentor.perturb(segment)
        return torch.from_numpy(segment.samples)

"""Audio-transcript datasets for ASR training (NeMo 1.23's classes and arguments).

- :class:`AudioToCharDataset`: manifest + character labels.
- :class:`AudioToBPEDataset`: manifest + a tokenizer (sentencepiece).
- :class:`TarredAudioToCharDataset`, :class:`TarredAudioToBPEDataset`: tar shards + a tarred manifest,
  streamed (``IterableDataset``), split across processes and DataLoader workers.

Every sample is ``(audio (T,), audio_len, tokens (U,), tokens_len)`` (plus ``sample_id`` with
``return_sample_id``), and ``collate_fn`` pads a list of them into
``(audio (B, T), audio_len (B,), tokens (B, U), tokens_len (B,))``.

:func:`cache_datastore_manifests` fetches manifests on a data store (``ais://...``), and optionally their audio,
into the local cache before a dataset reads them.

Besides NeMo's arguments, the datasets take two keyword-only options (config keys of the same name):
``skip_missing_audio`` (map-style only: drop manifest lines whose audio is missing, with one warning)
and ``resample`` (``False``: a file at another sample rate is an error instead of being resampled).
"""

from __future__ import annotations

import multiprocessing
import os
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from nemo.collections.asr.data.audio_loading import AudioLoader, AudioPerturbation
from nemo.collections.asr.data.collate import _speech_collate_fn
from nemo.collections.asr.data.manifest import ManifestEntry, load_audio_text_manifests
from nemo.collections.asr.data.tarred_audio import (
    expand_sharded_filepaths,
    iter_tar_members,
    open_member,
    shuffle_buffer,
    worker_shards_and_seed,
)
from nemo.collections.asr.data.transcripts import TokenizedTranscripts
from nemo.collections.asr.parts.preprocessing.parsers import make_parser
from nemo.collections.asr.parts.preprocessing.segment import ChannelSelectorType
from nemo.collections.asr.parts.utils.manifest_utils import read_manifest
from nemo.collections.common.tokenizers.tokenizer_spec import TokenizerSpec
from nemo.core.classes import Dataset, IterableDataset
from nemo.core.neural_types import AudioSignal, LabelsType, LengthsType, NeuralType
from nemo.utils import logging
from nemo.utils.data_utils import (
    DataStoreObject,
    datastore_object_get,
    is_datastore_cache_shared,
    is_datastore_path,
)

__all__ = [
    "AudioToBPEDataset",
    "AudioToCharDataset",
    "DataStoreObject",
    "cache_datastore_manifests",
    "TarredAudioToBPEDataset",
    "TarredAudioToCharDataset",
    "_speech_collate_fn",
    "expand_sharded_filepaths",
]

Parser = Callable[[str], "list[int] | None"]


def _output_types(sample_rate: int) -> dict[str, NeuralType]:
    return {
        "audio_signal": NeuralType(("B", "T"), AudioSignal(freq=sample_rate)),
        "a_sig_length": NeuralType(tuple("B"), LengthsType()),
        "transcripts": NeuralType(("B", "T"), LabelsType()),
        "transcript_length": NeuralType(tuple("B"), LengthsType()),
        "sample_id": NeuralType(tuple("B"), LengthsType(), optional=True),
    }


def _char_parser(
    labels: Sequence[str] | None, parser: str | Parser, unk_index: int, blank_index: int, normalize: bool
) -> Parser:
    if isinstance(parser, str):
        return make_parser(
            labels=labels, name=parser, unk_id=unk_index, blank_id=blank_index, do_normalize=normalize
        )
    return parser


def _positive_special_id(tokenizer: TokenizerSpec, name: str) -> int | None:
    """``tokenizer.<name>`` when the tokenizer has it and it is > 0 (NeMo's rule), else ``None``."""
    try:
        value = getattr(tokenizer, name)
    except (AttributeError, NameError):
        return None
    return value if isinstance(value, int) and value > 0 else None


def _tokenizer_ids(tokenizer: TokenizerSpec, use_start_end_token: bool) -> tuple[int | None, int | None, int]:
    """``(bos_id, eos_id, pad_id)`` for a BPE dataset."""
    bos_id = _positive_special_id(tokenizer, "bos_id") if use_start_end_token else None
    eos_id = _positive_special_id(tokenizer, "eos_id") if use_start_end_token else None
    return bos_id, eos_id, _positive_special_id(tokenizer, "pad_id") or 0


@dataclass(frozen=True)
class _Sharding:
    """How tar shards, and with ``shard_manifests`` the per-shard manifests, split across processes.

    Args:
        strategy: ``"scatter"`` (each process its own shards) or ``"replicate"`` (all shards everywhere).
        world_size: number of processes (0 or 1: not distributed).
        global_rank: this process's rank.
        shard_manifests: ``manifest_filepath`` is a pattern of per-shard manifests, split like the shards.
    """

    strategy: str
    world_size: int
    global_rank: int
    shard_manifests: bool

    def expand(self, paths: str | Sequence[str]) -> list[str]:
        """This process's paths of a brace pattern or list of shards."""
        return expand_sharded_filepaths(paths, self.strategy, self.world_size, self.global_rank)

    def load_manifests(
        self,
        manifest_filepath: str | Sequence[str],
        min_duration: float | None,
        max_duration: float | None,
        max_utts: int,
    ) -> list[ManifestEntry]:
        """The tarred manifest's entries (their audio is in the shards, so no file is checked)."""
        if self.shard_manifests:
            manifest_filepath = self.expand(manifest_filepath)
        return load_audio_text_manifests(
            manifest_filepath, min_duration, max_duration, max_utts, check_audio_files=False
        )


class _TranscribedAudio:
    """What map-style and tarred datasets share: transcripts, an audio loader, samples and batching.

    Args:
        transcripts: the kept manifest entries and their token ids.
        audio_loader: reads each entry's audio at the dataset's sample rate.
        pad_id: transcript padding id in batches.
        return_sample_id: also return each sample's index.
    """

    def __init__(
        self,
        transcripts: TokenizedTranscripts,
        audio_loader: AudioLoader,
        pad_id: int,
        return_sample_id: bool,
    ) -> None:
        super().__init__()
        self.transcripts = transcripts
        self.audio_loader = audio_loader
        self._sample_rate = audio_loader.sample_rate
        self.pad_id = pad_id
        self.return_sample_id = return_sample_id

    @property
    def output_types(self) -> dict[str, NeuralType]:
        return _output_types(self._sample_rate)

    def __len__(self) -> int:
        return len(self.transcripts)

    def _sample(self, audio: torch.Tensor, index: int) -> tuple[torch.Tensor, ...]:
        """``(audio (T,), audio_len, tokens (U,), tokens_len[, sample_id])`` of entry ``index``."""
        tokens = self.transcripts.tokens(index)
        sample = (
            audio,
            torch.tensor(audio.shape[0], dtype=torch.long),
            tokens,
            torch.tensor(tokens.shape[0], dtype=torch.long),
        )
        return (*sample, torch.tensor(index, dtype=torch.long)) if self.return_sample_id else sample

    def _collate_fn(self, batch: list[tuple[torch.Tensor, ...]]) -> tuple[torch.Tensor, ...]:
        return _speech_collate_fn(batch, pad_id=self.pad_id)


class _AudioTextDataset(_TranscribedAudio, Dataset):
    """Map-style base: one sample per manifest entry, read from the entry's audio file."""

    @property
    def durations(self) -> np.ndarray:
        """(N,) durations in seconds (for duration bucketing)."""
        return self.transcripts.durations

    def __getitem__(self, index: int) -> tuple[torch.Tensor, ...]:
        """``(audio (T,), audio_len, tokens (U,), tokens_len[, sample_id])``."""
        entry = self.transcripts.entries[index]
        audio = self.audio_loader.load(entry.audio_filepath, entry.offset, entry.duration, entry.where)
        return self._sample(audio, index)


class AudioToCharDataset(_AudioTextDataset):
    """Manifest utterances with character-label transcripts.

    Args:
        manifest_filepath: manifest path(s): comma-separated string or list.
        labels: the characters; a transcript character's id is its index here (``None``: printable ASCII).
        sample_rate: output sample rate (files at other rates are resampled).
        int_values: read integer PCM.
        augmentor: object with ``perturb(segment)`` applied to every utterance.
        max_duration: drop longer utterances (seconds).
        min_duration: drop shorter utterances (seconds).
        max_utts: keep at most this many utterances (0: all).
        blank_index: id removed from transcripts (-1 with ``unk_index`` -1 drops unknown characters).
        unk_index: id of characters that are no label.
        normalize: normalize transcripts (English cleaning with ``parser="en"``).
        trim: trim leading and trailing silence.
        bos_id: id put before every transcript.
        eos_id: id put after every transcript.
        pad_id: transcript padding id in batches.
        parser: ``"en"``, ``"base"`` or a callable text -> ids.
        return_sample_id: also return each sample's index.
        channel_selector: how to get mono audio from multi-channel files (``"average"``, an index).
        skip_missing_audio: drop lines whose audio file is missing instead of raising.
        resample: ``False`` makes a sample-rate mismatch an error.
    """

    def __init__(
        self,
        manifest_filepath: str | Sequence[str],
        labels: Sequence[str] | None,
        sample_rate: int,
        int_values: bool = False,
        augmentor: AudioPerturbation | None = None,
        max_duration: float | None = None,
        min_duration: float | None = None,
        max_utts: int = 0,
        blank_index: int = -1,
        unk_index: int = -1,
        normalize: bool = True,
        trim: bool = False,
        bos_id: int | None = None,
        eos_id: int | None = None,
        pad_id: int = 0,
        parser: str | Parser = "en",
        return_sample_id: bool = False,
        channel_selector: ChannelSelectorType = None,
        *,
        skip_missing_audio: bool = False,
        resample: bool = True,
    ) -> None:
        self.labels = None if labels is None else list(labels)
        text_parser = _char_parser(self.labels, parser, unk_index, blank_index, normalize)
        entries = load_audio_text_manifests(
            manifest_filepath, min_duration, max_duration, max_utts, skip_missing_audio=skip_missing_audio
        )
        super().__init__(
            TokenizedTranscripts(entries, text_parser, bos_id=bos_id, eos_id=eos_id),
            AudioLoader(sample_rate, int_values, trim, channel_selector, augmentor, resample),
            pad_id,
            return_sample_id,
        )


class AudioToBPEDataset(_AudioTextDataset):
    """Manifest utterances with transcripts tokenized by ``tokenizer`` (``text_to_ids``).

    BOS/EOS are added when ``use_start_end_token`` and the tokenizer has them (id > 0); batches are
    padded with the tokenizer's ``pad_id`` when it has one (> 0), else 0. Other arguments as
    :class:`AudioToCharDataset`.
    """

    def __init__(
        self,
        manifest_filepath: str | Sequence[str],
        tokenizer: TokenizerSpec,
        sample_rate: int,
        int_values: bool = False,
        augmentor: AudioPerturbation | None = None,
        max_duration: float | None = None,
        min_duration: float | None = None,
        max_utts: int = 0,
        trim: bool = False,
        use_start_end_token: bool = True,
        return_sample_id: bool = False,
        channel_selector: ChannelSelectorType = None,
        *,
        skip_missing_audio: bool = False,
        resample: bool = True,
    ) -> None:
        bos_id, eos_id, pad_id = _tokenizer_ids(tokenizer, use_start_end_token)
        entries = load_audio_text_manifests(
            manifest_filepath, min_duration, max_duration, max_utts, skip_missing_audio=skip_missing_audio
        )
        super().__init__(
            TokenizedTranscripts(entries, tokenizer.text_to_ids, bos_id=bos_id, eos_id=eos_id),
            AudioLoader(sample_rate, int_values, trim, channel_selector, augmentor, resample),
            pad_id,
            return_sample_id,
        )


class _TarredAudioTextDataset(_TranscribedAudio, IterableDataset):
    """Streaming base over tar shards; see :class:`TarredAudioToCharDataset` for the arguments.

    Args:
        transcripts: the tarred manifest's entries; ``audio_filepath`` names the tar member.
        audio_loader: reads each member's audio.
        shards: this process's tar shard paths.
        shuffle_n: shuffle buffer size (0: read in order).
        pad_id: transcript padding id in batches.
        return_sample_id: also return each sample's index.
    """

    def __init__(
        self,
        transcripts: TokenizedTranscripts,
        audio_loader: AudioLoader,
        shards: list[str],
        shuffle_n: int,
        pad_id: int,
        return_sample_id: bool,
    ) -> None:
        super().__init__(transcripts, audio_loader, pad_id, return_sample_id)
        self.shards = shards
        self.member_to_indices: dict[str, list[int]] = {}
        for index, entry in enumerate(self.transcripts.entries):
            self.member_to_indices.setdefault(os.path.basename(entry.audio_filepath), []).append(index)
        self.shuffle_n = shuffle_n

    def _members(self, shards: list[str]) -> Iterator[tuple[bytes, str, str, int]]:
        for shard in shards:
            for member, data in iter_tar_members(shard):
                for index in self.member_to_indices.get(member, ()):
                    yield data, member, shard, index

    def __iter__(self) -> Iterator[tuple[torch.Tensor, ...]]:
        shards, seed = worker_shards_and_seed(self.shards, self.shuffle_n)
        for data, member, shard, index in shuffle_buffer(
            self._members(shards), self.shuffle_n, random.Random(seed)
        ):
            entry = self.transcripts.entries[index]
            where = f"{shard}:{member} ({entry.where})"
            audio = self.audio_loader.load(open_member(data, member), entry.offset, entry.duration, where)
            yield self._sample(audio, index)


class TarredAudioToCharDataset(_TarredAudioTextDataset):
    """Tar shards of audio with character-label transcripts, streamed.

    Args:
        audio_tar_filepaths: shard brace pattern (``audio_{0..7}.tar``, or with ``_OP_``/``_CL_``) or list.
        manifest_filepath: the tarred manifest(s): ``audio_filepath`` names the member; several entries
            may share a member with different ``offset``\\ s.
        labels, sample_rate, int_values, augmentor, min_duration, max_duration, max_utts, blank_index,
        unk_index, normalize, trim, bos_id, eos_id, parser, pad_id, return_sample_id: as
            :class:`AudioToCharDataset`.
        shuffle_n: shuffle buffer size (0: read in order); shard order is shuffled per epoch too.
        shard_strategy: ``"scatter"`` (each process its own shards) or ``"replicate"`` (all shards everywhere).
        shard_manifests: ``manifest_filepath`` is a pattern of per-shard manifests, split like the shards.
        global_rank: this process's rank.
        world_size: number of processes (0 or 1: not distributed).
        channel_selector, resample: as :class:`AudioToCharDataset`.
    """

    def __init__(
        self,
        audio_tar_filepaths: str | Sequence[str],
        manifest_filepath: str | Sequence[str],
        labels: Sequence[str] | None,
        sample_rate: int,
        int_values: bool = False,
        augmentor: AudioPerturbation | None = None,
        shuffle_n: int = 0,
        min_duration: float | None = None,
        max_duration: float | None = None,
        max_utts: int = 0,
        blank_index: int = -1,
        unk_index: int = -1,
        normalize: bool = True,
        trim: bool = False,
        bos_id: int | None = None,
        eos_id: int | None = None,
        parser: str | Parser = "en",
        pad_id: int = 0,
        shard_strategy: str = "scatter",
        shard_manifests: bool = False,
        global_rank: int = 0,
        world_size: int = 0,
        return_sample_id: bool = False,
        *,
        channel_selector: ChannelSelectorType = None,
        resample: bool = True,
    ) -> None:
        self.labels = None if labels is None else list(labels)
        text_parser = _char_parser(self.labels, parser, unk_index, blank_index, normalize)
        sharding = _Sharding(shard_strategy, world_size, global_rank, shard_manifests)
        entries = sharding.load_manifests(manifest_filepath, min_duration, max_duration, max_utts)
        super().__init__(
            TokenizedTranscripts(entries, text_parser, bos_id=bos_id, eos_id=eos_id),
            AudioLoader(sample_rate, int_values, trim, channel_selector, augmentor, resample),
            sharding.expand(audio_tar_filepaths),
            shuffle_n,
            pad_id,
            return_sample_id,
        )


class TarredAudioToBPEDataset(_TarredAudioTextDataset):
    """Tar shards of audio with tokenizer transcripts, streamed.

    Arguments as :class:`TarredAudioToCharDataset` and :class:`AudioToBPEDataset`; ``max_utts`` is keyword-only.
    """

    def __init__(
        self,
        audio_tar_filepaths: str | Sequence[str],
        manifest_filepath: str | Sequence[str],
        tokenizer: TokenizerSpec,
        sample_rate: int,
        int_values: bool = False,
        augmentor: AudioPerturbation | None = None,
        shuffle_n: int = 0,
        min_duration: float | None = None,
        max_duration: float | None = None,
        trim: bool = False,
        use_start_end_token: bool = True,
        shard_strategy: str = "scatter",
        shard_manifests: bool = False,
        global_rank: int = 0,
        world_size: int = 0,
        return_sample_id: bool = False,
        *,
        channel_selector: ChannelSelectorType = None,
        resample: bool = True,
        max_utts: int = 0,
    ) -> None:
        bos_id, eos_id, pad_id = _tokenizer_ids(tokenizer, use_start_end_token)
        sharding = _Sharding(shard_strategy, world_size, global_rank, shard_manifests)
        entries = sharding.load_manifests(manifest_filepath, min_duration, max_duration, max_utts)
        super().__init__(
            TokenizedTranscripts(entries, tokenizer.text_to_ids, bos_id=bos_id, eos_id=eos_id),
            AudioLoader(sample_rate, int_values, trim, channel_selector, augmentor, resample),
            sharding.expand(audio_tar_filepaths),
            shuffle_n,
            pad_id,
            return_sample_id,
        )


def cache_datastore_manifests(
    manifest_filepaths: str | Sequence[str],
    cache_audio: bool = False,
    shared_cache: bool | None = None,
    num_workers: int | None = None,
    max_num_workers: int = 20,
) -> None:
    """Fetch the data-store manifests among ``manifest_filepaths`` (and with ``cache_audio`` their audio).

    Local manifests are left alone. A store manifest's ``audio_filepath`` entries are taken relative to the
    manifest's store folder. Under ``torch.distributed`` one process fetches (global rank 0 when the cache
    is shared across nodes, else local rank 0 of each node) while the others wait at a barrier.

    Args:
        manifest_filepaths: paths, as a list or a comma-separated string.
        cache_audio: also fetch every audio file the store manifests name.
        shared_cache: whether all nodes share the cache; None asks ``is_datastore_cache_shared``.
        num_workers: parallel fetches of audio files (None: CPU count - 1, at most ``max_num_workers``).
        max_num_workers: cap for ``num_workers``.

    Raises:
        RuntimeError: an audio object could not be fetched.
    """
    paths = manifest_filepaths.split(",") if isinstance(manifest_filepaths, str) else list(manifest_filepaths)
    store_paths = [path for path in paths if is_datastore_path(path)]
    if not store_paths:
        return
    workers = min(num_workers if num_workers is not None else (os.cpu_count() or 2) - 1, max_num_workers)
    distributed = torch.distributed.is_available() and torch.distributed.is_initialized()
    if not distributed:
        _cache_store_manifests(store_paths, cache_audio, workers)
        return
    if shared_cache is None:
        shared_cache = is_datastore_cache_shared()
    fetching_rank = torch.distributed.get_rank() if shared_cache else int(os.environ.get("LOCAL_RANK", 0))
    if fetching_rank == 0:
        _cache_store_manifests(store_paths, cache_audio, workers)
    torch.distributed.barrier()


def _cache_store_manifests(store_paths: list[str], cache_audio: bool, num_workers: int) -> None:
    """Fetch each store manifest and, with ``cache_audio``, the audio objects it lists."""
    for manifest_path in store_paths:
        local_manifest = DataStoreObject(manifest_path).get()
        logging.info(f"Cached manifest {manifest_path} at {local_manifest}")
        if not cache_audio:
            continue
        store_folder = os.path.dirname(manifest_path)
        objects = [
            DataStoreObject(store_path=os.path.join(store_folder, item["audio_filepath"]))
            for item in read_manifest(local_manifest)
        ]
        if num_workers > 1:
            with multiprocessing.Pool(processes=num_workers) as pool:
                fetched = pool.map(datastore_object_get, objects)
        else:
            fetched = [store_object.get() is not None for store_object in objects]
        failed = [store_object.store_path for store_object, ok in zip(objects, fetched) if not ok]
        if failed:
            raise RuntimeError(
                f"{len(failed)} audio objects of {manifest_path} could not be fetched, e.g. {failed[:3]}."
            )

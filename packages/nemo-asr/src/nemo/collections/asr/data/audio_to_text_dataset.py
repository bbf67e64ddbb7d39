"""Datasets and DataLoaders from a model's ``train_ds`` / ``validation_ds`` / ``test_ds`` config.

Models call :func:`get_audio_to_text_dataloader`. Config keys (NeMo 1.23's, plus three marked *ours*):

===========================  ==================================================================
``manifest_filepath``        manifest path(s): comma-separated string or list; for tarred
                             bucketing a list of lists (one per bucket)
``sample_rate``              output sample rate (files are resampled to it)
``labels``                   character labels (char models; the ``labels`` argument wins)
``batch_size``               utterances per batch
``shuffle``                  shuffle every epoch
``num_workers``              DataLoader worker processes (default 0)
``pin_memory``               pin batches in page-locked memory
``drop_last``                drop the last incomplete batch
``persistent_workers``       keep workers between epochs (with ``num_workers > 0``)
``max_duration``             drop longer utterances (seconds)
``min_duration``             drop shorter utterances (seconds)
``max_utts``                 keep at most this many utterances (0: all; not for tarred data)
``trim_silence``             trim leading/trailing silence
``int_values``               read integer PCM
``normalize_transcripts``    English text normalization (default false, as in NeMo)
``parser``                   ``en`` or ``base`` character parser
``blank_index``/``unk_index`` see ``AudioToCharDataset``
``use_start_end_token``      BPE: add the tokenizer's BOS/EOS (default true)
``return_sample_id``         batches also carry each sample's index
``channel_selector``         ``average`` or a channel index for multi-channel audio
``skip_missing_audio``       *ours*: skip manifest lines whose audio is missing (one warning)
``resample``                 *ours*: false makes a sample-rate mismatch an error (default true)
``is_tarred``                read tar shards instead of files
``tarred_audio_filepaths``   shard pattern(s), e.g. ``audio_{0..7}.tar`` (``_OP_``/``_CL_`` too)
``shuffle_n``                tarred shuffle buffer (default ``4 * batch_size`` when shuffling)
``tarred_shard_strategy``    ``scatter`` or ``replicate`` across processes
``shard_manifests``          the manifest is sharded like the audio
``bucketing_strategy``       tarred buckets: ``synced_randomized``/``fully_randomized``/``fixed_order``
``bucketing_batch_size``     per-bucket batch sizes (see ``bucketing``)
``use_bucketing``            *ours*: duration-bucketed batches for map-style data
``num_buckets``              *ours*: number of duration buckets (default 8)
``bucketing_seed``           *ours*: bucket shuffling seed (default 0)
===========================  ==================================================================
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from nemo.collections.asr.data.audio_loading import AudioPerturbation
from nemo.collections.asr.data.audio_to_text import (
    AudioToBPEDataset,
    AudioToCharDataset,
    TarredAudioToBPEDataset,
    TarredAudioToCharDataset,
)
from nemo.collections.asr.data.bucketing import (
    BucketingDataset,
    DurationBucketingBatchSampler,
    get_chain_dataset,
)
from nemo.collections.common.tokenizers.tokenizer_spec import TokenizerSpec
from nemo.utils import logging
from omegaconf import DictConfig, ListConfig, OmegaConf, open_dict
from torch.utils.data import ChainDataset, DataLoader

__all__ = [
    "convert_to_config_list",
    "get_audio_to_text_bpe_dataset_from_config",
    "get_audio_to_text_char_dataset_from_config",
    "get_audio_to_text_dataloader",
    "get_bpe_dataset",
    "get_char_dataset",
    "get_tarred_dataset",
    "inject_dataloader_value_from_model_config",
]


def inject_dataloader_value_from_model_config(
    model_cfg: Mapping[str, Any], dataloader_cfg: DictConfig, key: str
) -> None:
    """Copy ``model_cfg[key]`` (e.g. ``labels``) into ``dataloader_cfg`` unless the loader sets another value.

    A missing or null ``dataloader_cfg[key]`` (or an equal one) takes the model's value; a different, explicit
    one is kept with a warning. Without ``key`` in ``model_cfg`` nothing changes (an info message says so).
    ``dataloader_cfg`` is changed in place when it is a ``DictConfig``.

    Args:
        model_cfg: the model config.
        dataloader_cfg: one data loader's config (``train_ds`` ...).
        key: the shared key.
    """
    if key not in model_cfg:
        logging.info(
            f"Model level config does not contain `{key}`, please explicitly provide `{key}` to the dataloaders."
        )
        return
    if not isinstance(dataloader_cfg, DictConfig):
        dataloader_cfg = DictConfig(dataloader_cfg)
    explicit = dataloader_cfg.get(key) if key in dataloader_cfg else None
    if explicit is not None and explicit != model_cfg[key]:
        logging.warning(
            f"`{key}` is explicitly provided to the data loader, and is different from the `{key}` provided at the "
            f"model level config.\nIf this is incorrect, please set the dataloader's `{key}` to None."
        )
        return
    with open_dict(dataloader_cfg):
        dataloader_cfg[key] = model_cfg[key]


def _as_dict(config: Mapping[str, Any] | DictConfig) -> dict[str, Any]:
    if isinstance(config, DictConfig):
        return OmegaConf.to_container(config, resolve=True)
    return dict(config)


def _local_options(config: Mapping[str, Any]) -> dict[str, Any]:
    return {"resample": config.get("resample", True), "channel_selector": config.get("channel_selector")}


def get_char_dataset(
    config: Mapping[str, Any], augmentor: AudioPerturbation | None = None
) -> AudioToCharDataset:
    """An ``AudioToCharDataset`` from a dataset config (see the module docstring for keys)."""
    if "labels" not in config:
        logging.warning("dataset does not have explicitly defined labels")
    return AudioToCharDataset(
        manifest_filepath=config["manifest_filepath"],
        labels=config.get("labels"),
        sample_rate=config["sample_rate"],
        int_values=config.get("int_values", False),
        augmentor=augmentor,
        max_duration=config.get("max_duration"),
        min_duration=config.get("min_duration"),
        max_utts=config.get("max_utts", 0),
        blank_index=config.get("blank_index", -1),
        unk_index=config.get("unk_index", -1),
        normalize=config.get("normalize_transcripts", False),
        trim=config.get("trim_silence", False),
        parser=config.get("parser", "en"),
        return_sample_id=config.get("return_sample_id", False),
        skip_missing_audio=config.get("skip_missing_audio", False),
        **_local_options(config),
    )


def get_bpe_dataset(
    config: Mapping[str, Any], tokenizer: TokenizerSpec, augmentor: AudioPerturbation | None = None
) -> AudioToBPEDataset:
    """An ``AudioToBPEDataset`` from a dataset config."""
    return AudioToBPEDataset(
        manifest_filepath=config["manifest_filepath"],
        tokenizer=tokenizer,
        sample_rate=config["sample_rate"],
        int_values=config.get("int_values", False),
        augmentor=augmentor,
        max_duration=config.get("max_duration"),
        min_duration=config.get("min_duration"),
        max_utts=config.get("max_utts", 0),
        trim=config.get("trim_silence", False),
        use_start_end_token=config.get("use_start_end_token", True),
        return_sample_id=config.get("return_sample_id", False),
        skip_missing_audio=config.get("skip_missing_audio", False),
        **_local_options(config),
    )


def convert_to_config_list(initial_list: str | Sequence[Any]) -> list[list[str]]:
    """Normalize ``manifest_filepath``/``tarred_audio_filepaths`` to a list of buckets, each a list of paths.

    A string (comma-separated) or a flat list is one bucket; a list of lists is several.
    """
    if isinstance(initial_list, str):
        initial_list = initial_list.split(",")
    if isinstance(initial_list, ListConfig):
        initial_list = OmegaConf.to_container(initial_list)
    if not initial_list:
        raise ValueError("manifest_filepath and tarred_audio_filepaths must not be empty.")
    nested = [isinstance(item, (list, tuple)) for item in initial_list]
    if any(nested) and not all(nested):
        raise ValueError(
            f"{initial_list!r} mixes paths and lists; manifest_filepath and tarred_audio_filepaths must be a list of "
            "lists (one per bucket) or a list of paths."
        )
    return [list(item) for item in initial_list] if all(nested) else [list(initial_list)]


def get_tarred_dataset(
    config: Mapping[str, Any],
    shuffle_n: int,
    global_rank: int,
    world_size: int,
    tokenizer: TokenizerSpec | None = None,
    augmentor: AudioPerturbation | None = None,
) -> TarredAudioToCharDataset | TarredAudioToBPEDataset | torch.utils.data.IterableDataset:
    """Tarred dataset(s) from a config: one per bucket, chained (see ``bucketing.get_chain_dataset``).

    Args:
        config: dataset config with ``tarred_audio_filepaths`` and ``manifest_filepath``.
        shuffle_n: shuffle buffer size.
        global_rank: this process's rank.
        world_size: number of processes.
        tokenizer: BPE tokenizer; ``None`` builds character datasets from ``config["labels"]``.
        augmentor: applied to every utterance.
    """
    tarred_audio_filepaths = convert_to_config_list(config["tarred_audio_filepaths"])
    manifest_filepaths = convert_to_config_list(config["manifest_filepath"])
    if len(manifest_filepaths) != len(tarred_audio_filepaths):
        raise ValueError(
            f"manifest_filepath (length={len(manifest_filepaths)}) and tarred_audio_filepaths "
            f"(length={len(tarred_audio_filepaths)}) need to have the same number of buckets."
        )
    if config.get("max_utts"):
        raise ValueError(
            '"max_utts" parameter is not supported for tarred datasets; remove it from the config.'
        )
    common = {
        "sample_rate": config["sample_rate"],
        "int_values": config.get("int_values", False),
        "augmentor": augmentor,
        "shuffle_n": shuffle_n,
        "max_duration": config.get("max_duration"),
        "min_duration": config.get("min_duration"),
        "trim": config.get("trim_silence", False),
        "shard_strategy": config.get("tarred_shard_strategy", "scatter"),
        "shard_manifests": config.get("shard_manifests", False),
        "global_rank": global_rank,
        "world_size": world_size,
        "return_sample_id": config.get("return_sample_id", False),
        **_local_options(config),
    }
    datasets = []
    for audio_paths, manifest_paths in zip(tarred_audio_filepaths, manifest_filepaths):
        audio = audio_paths[0] if len(audio_paths) == 1 else audio_paths
        manifest = manifest_paths[0] if len(manifest_paths) == 1 else manifest_paths
        if tokenizer is None:
            if "labels" not in config:
                logging.warning("dataset does not have explicitly defined labels")
            dataset = TarredAudioToCharDataset(
                audio_tar_filepaths=audio,
                manifest_filepath=manifest,
                labels=config.get("labels"),
                blank_index=config.get("blank_index", -1),
                unk_index=config.get("unk_index", -1),
                normalize=config.get("normalize_transcripts", False),
                parser=config.get("parser", "en"),
                **common,
            )
        else:
            dataset = TarredAudioToBPEDataset(
                audio_tar_filepaths=audio,
                manifest_filepath=manifest,
                tokenizer=tokenizer,
                use_start_end_token=config.get("use_start_end_token", True),
                **common,
            )
        datasets.append(dataset)
    return get_chain_dataset(datasets, config, rank=global_rank)


def _augmentor_from_config(
    config: Mapping[str, Any], augmentor: AudioPerturbation | None, global_rank: int = 0, world_size: int = 1
) -> AudioPerturbation | None:
    """The given augmentor, else the one the config key ``augmentor`` describes (NeMo's perturbation form)."""
    if augmentor is not None or not config.get("augmentor"):
        return augmentor
    from nemo.collections.asr.parts.preprocessing.perturb import process_augmentations

    return process_augmentations(config["augmentor"], global_rank=global_rank, world_size=world_size)


def get_audio_to_text_char_dataset_from_config(
    config: Mapping[str, Any] | DictConfig,
    local_rank: int,
    global_rank: int,
    world_size: int,
    preprocessor_cfg: Any = None,
) -> AudioToCharDataset | torch.utils.data.IterableDataset | None:
    """The character dataset a config describes, or ``None`` without a manifest (NeMo's function).

    ``local_rank`` and ``preprocessor_cfg`` (used by NeMo for DALI) are accepted and unused.
    """
    config = _as_dict(config)
    augmentor = _augmentor_from_config(config, None, global_rank, world_size)
    if config.get("manifest_filepath") is None:
        logging.warning(f"Could not load dataset as `manifest_filepath` was None. Provided config : {config}")
        return None
    if config.get("is_tarred", False):
        shuffle_n = config.get("shuffle_n", 4 * config["batch_size"]) if config.get("shuffle") else 0
        return get_tarred_dataset(config, shuffle_n, global_rank, world_size, augmentor=augmentor)
    return get_char_dataset(config, augmentor)


def get_audio_to_text_bpe_dataset_from_config(
    config: Mapping[str, Any] | DictConfig,
    local_rank: int,
    global_rank: int,
    world_size: int,
    tokenizer: TokenizerSpec,
    preprocessor_cfg: Any = None,
) -> AudioToBPEDataset | torch.utils.data.IterableDataset | None:
    """The BPE dataset a config describes, or ``None`` without a manifest (NeMo's function)."""
    config = _as_dict(config)
    augmentor = _augmentor_from_config(config, None, global_rank, world_size)
    if config.get("manifest_filepath") is None:
        logging.warning(f"Could not load dataset as `manifest_filepath` was None. Provided config : {config}")
        return None
    if config.get("is_tarred", False):
        shuffle_n = config.get("shuffle_n", 4 * config["batch_size"]) if config.get("shuffle") else 0
        return get_tarred_dataset(
            config, shuffle_n, global_rank, world_size, tokenizer=tokenizer, augmentor=augmentor
        )
    return get_bpe_dataset(config, tokenizer, augmentor)


def _collate_fn_of(dataset: torch.utils.data.Dataset) -> Callable:
    """The ``collate_fn`` of a dataset, or of the first dataset inside chains and bucketing wrappers."""
    while not hasattr(dataset, "collate_fn"):
        dataset = dataset.datasets[0] if isinstance(dataset, ChainDataset) else dataset.wrapped_dataset
    return dataset.collate_fn


def _yields_batches(dataset: torch.utils.data.Dataset) -> bool:
    if isinstance(dataset, ChainDataset):
        return _yields_batches(dataset.datasets[0])
    return isinstance(dataset, BucketingDataset)


def _distributed_rank_and_size() -> tuple[int, int]:
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


def get_audio_to_text_dataloader(
    config: Mapping[str, Any] | DictConfig,
    labels: Sequence[str] | None = None,
    tokenizer: TokenizerSpec | None = None,
    *,
    global_rank: int | None = None,
    world_size: int | None = None,
    augmentor: AudioPerturbation | None = None,
) -> DataLoader | None:
    """Build the DataLoader a model's dataset config describes (keys in the module docstring).

    Args:
        config: ``train_ds``/``validation_ds``/``test_ds`` config.
        labels: character labels (char models); overrides ``config["labels"]``.
        tokenizer: tokenizer (BPE models); when given, BPE datasets are built.
        global_rank: this process's rank (default: from ``torch.distributed``, else 0).
        world_size: number of processes (default: from ``torch.distributed``, else 1).
        augmentor: object with ``perturb(segment)`` applied to every training utterance.

    Returns:
        The DataLoader, or ``None`` when the config has no ``manifest_filepath``. Batches are
        ``(audio (B, T), audio_len (B,), tokens (B, U), tokens_len (B,))``.

    Distributed training: with ``use_bucketing``, the batch sampler splits whole batches between processes;
    under Lightning it takes rank, process count, seed and epoch from the ``DistributedSampler`` Lightning
    injects (see ``DurationBucketingBatchSampler``), otherwise from ``global_rank``/``world_size`` when both
    are given, else from ``torch.distributed`` when it iterates. Other map-style loaders are plain
    DataLoaders, which Lightning gives its ``DistributedSampler``.

    Example:
        >>> loader = get_audio_to_text_dataloader(cfg.train_ds, labels=cfg.labels)
    """
    config = _as_dict(config)
    if config.get("manifest_filepath") is None:
        logging.warning(f"Could not load dataset as `manifest_filepath` was None. Provided config : {config}")
        return None
    if labels is not None:
        config["labels"] = list(labels)
    # Models build their loaders before the Trainer starts torch.distributed, so the bucketing sampler is
    # given a rank only when the caller gives both; otherwise Lightning's sampler or torch.distributed decide.
    shard = (world_size, global_rank) if world_size is not None and global_rank is not None else (None, None)
    default_rank, default_size = _distributed_rank_and_size()
    global_rank = default_rank if global_rank is None else global_rank
    world_size = default_size if world_size is None else world_size
    augmentor = _augmentor_from_config(config, augmentor, global_rank, world_size)
    shuffle = bool(config.get("shuffle", False))
    num_workers = config.get("num_workers") or 0
    loader_options = {
        "num_workers": num_workers,
        "pin_memory": config.get("pin_memory", False),
        "persistent_workers": bool(config.get("persistent_workers", False)) and num_workers > 0,
    }

    if config.get("is_tarred", False):
        if not config.get("tarred_audio_filepaths"):
            raise ValueError(
                "Config has is_tarred: true but no tarred_audio_filepaths; set the shard pattern."
            )
        shuffle_n = config.get("shuffle_n", 4 * config["batch_size"]) if shuffle else 0
        dataset = get_tarred_dataset(
            config, shuffle_n, global_rank, world_size, tokenizer=tokenizer, augmentor=augmentor
        )
        collate_fn = _collate_fn_of(dataset)
        if _yields_batches(dataset):
            return DataLoader(dataset, batch_size=None, collate_fn=collate_fn, **loader_options)
        return DataLoader(
            dataset,
            batch_size=config["batch_size"],
            collate_fn=collate_fn,
            drop_last=config.get("drop_last", False),
            **loader_options,
        )

    dataset = (
        get_char_dataset(config, augmentor)
        if tokenizer is None
        else get_bpe_dataset(config, tokenizer, augmentor)
    )
    if config.get("use_bucketing", False):
        batch_sampler = DurationBucketingBatchSampler.accepting_lightning_sampler(
            dataset.durations,
            batch_size=config["batch_size"],
            num_buckets=config.get("num_buckets", 8),
            bucketing_batch_size=config.get("bucketing_batch_size"),
            shuffle=shuffle,
            seed=config.get("bucketing_seed", 0),
            drop_last=config.get("drop_last", False),
            num_replicas=shard[0],
            rank=shard[1],
        )
        return DataLoader(
            dataset, batch_sampler=batch_sampler, collate_fn=dataset.collate_fn, **loader_options
        )
    return DataLoader(
        dataset,
        batch_size=config["batch_size"],
        shuffle=shuffle,
        drop_last=config.get("drop_last", False),
        collate_fn=dataset.collate_fn,
        **loader_options,
    )

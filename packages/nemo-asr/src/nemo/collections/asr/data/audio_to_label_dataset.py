"""Label datasets from a model's ``train_ds`` / ``validation_ds`` / ``test_ds`` config (NeMo 1.23's functions).

Config keys read here: ``manifest_filepath``, ``labels``, ``min_duration``, ``max_duration``,
``trim_silence``, ``is_regression_task``, ``cal_labels_occurrence``; speech-label data also
``window_length_in_sec``, ``shift_length_in_sec``, ``normalize_audio``; tarred data also
``tarred_audio_filepaths``, ``tarred_shard_strategy`` and the bucketing keys ``bucketing_weights``,
``bucketing_strategy``, ``bucketing_batch_size`` (a list of lists of paths makes one dataset per bucket).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nemo.collections.asr.data.audio_to_label import (
    AudioToClassificationLabelDataset,
    AudioToSpeechLabelDataset,
    TarredAudioToClassificationLabelDataset,
    TarredAudioToSpeechLabelDataset,
)
from nemo.collections.asr.data.audio_to_text_dataset import convert_to_config_list
from nemo.collections.asr.data.bucketing import get_chain_dataset
from nemo.collections.asr.parts.preprocessing.waveform_featurizer import WaveformFeaturizer
from torch.utils.data import IterableDataset

__all__ = [
    "get_classification_label_dataset",
    "get_speech_label_dataset",
    "get_tarred_classification_label_dataset",
    "get_tarred_speech_label_dataset",
]


def __getattr__(name: str) -> Any:
    """NeMo's ``get_audio_multi_label_dataset``, which lives in ``audio_to_frame_label.py`` (imported on first use)."""
    if name == "get_audio_multi_label_dataset":
        from nemo.collections.asr.data.audio_to_frame_label import get_audio_multi_label_dataset

        return get_audio_multi_label_dataset
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def get_classification_label_dataset(
    featurizer: WaveformFeaturizer, config: Mapping[str, Any]
) -> AudioToClassificationLabelDataset:
    """An ``AudioToClassificationLabelDataset`` from a dataset config."""
    return AudioToClassificationLabelDataset(
        manifest_filepath=config["manifest_filepath"],
        labels=config["labels"],
        featurizer=featurizer,
        max_duration=config.get("max_duration"),
        min_duration=config.get("min_duration"),
        trim=config.get("trim_silence", False),
        is_regression_task=config.get("is_regression_task", False),
        cal_labels_occurrence=config.get("cal_labels_occurrence", False),
    )


def get_speech_label_dataset(
    featurizer: WaveformFeaturizer, config: Mapping[str, Any]
) -> AudioToSpeechLabelDataset:
    """An ``AudioToSpeechLabelDataset`` (speaker, VAD) from a dataset config; windows default to 0.31 s / 0.01 s."""
    return AudioToSpeechLabelDataset(
        manifest_filepath=config["manifest_filepath"],
        labels=config["labels"],
        featurizer=featurizer,
        max_duration=config.get("max_duration"),
        min_duration=config.get("min_duration"),
        trim=config.get("trim_silence", False),
        window_length_in_sec=config.get("window_length_in_sec", 0.31),
        shift_length_in_sec=config.get("shift_length_in_sec", 0.01),
        normalize_audio=config.get("normalize_audio", False),
        cal_labels_occurrence=config.get("cal_labels_occurrence", False),
    )


def _buckets(config: Mapping[str, Any]) -> list[tuple[int, str | list[str], list[str]]]:
    """``(bucket index, shard paths, manifest paths)`` per bucket, each repeated ``bucketing_weights[i]`` times."""
    tarred_audio_filepaths = convert_to_config_list(config["tarred_audio_filepaths"])
    manifest_filepaths = convert_to_config_list(config["manifest_filepath"])
    weights = config.get("bucketing_weights")
    if weights:
        bad = [
            weight
            for weight in weights
            if isinstance(weight, bool) or not isinstance(weight, int) or weight <= 0
        ]
        if bad:
            raise ValueError(
                f"bucketing_weights must be positive integers, got {list(weights)}; fix the dataset config."
            )
        if len(weights) != len(manifest_filepaths):
            raise ValueError(
                f"bucketing_weights has {len(weights)} entries but there are {len(manifest_filepaths)} buckets; "
                "give one weight per bucket."
            )
    if len(manifest_filepaths) != len(tarred_audio_filepaths):
        raise ValueError(
            f"manifest_filepath (length={len(manifest_filepaths)}) and tarred_audio_filepaths "
            f"(length={len(tarred_audio_filepaths)}) need to have the same number of buckets."
        )
    buckets = []
    for index, (shards, manifests) in enumerate(zip(tarred_audio_filepaths, manifest_filepaths)):
        shard_paths = shards[0] if len(shards) == 1 else shards
        buckets.extend([(index, shard_paths, manifests)] * (weights[index] if weights else 1))
    return buckets


def get_tarred_classification_label_dataset(
    featurizer: WaveformFeaturizer,
    config: Mapping[str, Any],
    shuffle_n: int,
    global_rank: int,
    world_size: int,
) -> TarredAudioToClassificationLabelDataset | IterableDataset:
    """Tarred classification dataset(s) from a config: one per bucket, chained (``bucketing.get_chain_dataset``).

    Args:
        featurizer: reads the audio.
        config: dataset config with ``tarred_audio_filepaths`` and ``manifest_filepath``.
        shuffle_n: shuffle buffer size.
        global_rank: this process's rank.
        world_size: number of processes.
    """
    datasets = [
        TarredAudioToClassificationLabelDataset(
            audio_tar_filepaths=shards,
            manifest_filepath=manifests,
            labels=config["labels"],
            featurizer=featurizer,
            shuffle_n=shuffle_n,
            max_duration=config.get("max_duration"),
            min_duration=config.get("min_duration"),
            trim=config.get("trim_silence", False),
            shard_strategy=config.get("tarred_shard_strategy", "scatter"),
            global_rank=global_rank,
            world_size=world_size,
            is_regression_task=config.get("is_regression_task", False),
        )
        for _, shards, manifests in _buckets(config)
    ]
    return get_chain_dataset(datasets=datasets, ds_config=config, rank=global_rank)


def get_tarred_speech_label_dataset(
    featurizer: WaveformFeaturizer,
    config: Mapping[str, Any],
    shuffle_n: int,
    global_rank: int,
    world_size: int,
) -> TarredAudioToSpeechLabelDataset | IterableDataset:
    """Tarred speech-label dataset(s) from a config; windows default to 8 s / 0.075 s as in NeMo."""
    datasets = [
        TarredAudioToSpeechLabelDataset(
            audio_tar_filepaths=shards,
            manifest_filepath=manifests,
            labels=config["labels"],
            featurizer=featurizer,
            shuffle_n=shuffle_n,
            max_duration=config.get("max_duration"),
            min_duration=config.get("min_duration"),
            trim=config.get("trim_silence", False),
            window_length_in_sec=config.get("window_length_in_sec", 8),
            shift_length_in_sec=config.get("shift_length_in_sec", 0.075),
            normalize_audio=config.get("normalize_audio", False),
            shard_strategy=config.get("tarred_shard_strategy", "scatter"),
            global_rank=global_rank,
            world_size=world_size,
        )
        for _, shards, manifests in _buckets(config)
    ]
    return get_chain_dataset(datasets=datasets, ds_config=config, rank=global_rank)

"""Build audio-to-audio datasets from a config (NeMo 1.23's ``get_audio_to_target*_dataset`` functions).

Each function reads the keys of its dataset's constructor from ``config`` (a dict or DictConfig); the required
ones are ``manifest_filepath``, ``sample_rate``, ``input_key``, ``target_key`` (plus ``reference_key`` or
``embedding_key``), every other key falls back to the constructor's default. Other keys of the config (the
DataLoader's ``batch_size``, ``shuffle``, ...) are not the dataset's and are left alone.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

from nemo.collections.asr.data.audio_to_audio import (
    AudioToTargetDataset,
    AudioToTargetWithEmbeddingDataset,
    AudioToTargetWithReferenceDataset,
)

__all__ = [
    "get_audio_to_target_dataset",
    "get_audio_to_target_with_embedding_dataset",
    "get_audio_to_target_with_reference_dataset",
]


def _build(dataset_class: type, config: Mapping[str, Any]) -> Any:
    """``dataset_class`` built from the keys of ``config`` its constructor takes (DataLoader keys such as
    ``batch_size`` or ``shuffle`` are left to the caller)."""
    parameters = inspect.signature(dataset_class.__init__).parameters
    arguments = {name: config[name] for name in parameters if name != "self" and name in config}
    missing = [
        name
        for name, parameter in parameters.items()
        if name != "self" and parameter.default is inspect.Parameter.empty and name not in config
    ]
    if missing:
        raise ValueError(f"{dataset_class.__name__} config is missing required keys {missing}.")
    return dataset_class(**arguments)


def get_audio_to_target_dataset(config: Mapping[str, Any]) -> AudioToTargetDataset:
    """An ``AudioToTargetDataset`` from ``config``."""
    return _build(AudioToTargetDataset, config)


def get_audio_to_target_with_reference_dataset(
    config: Mapping[str, Any],
) -> AudioToTargetWithReferenceDataset:
    """An ``AudioToTargetWithReferenceDataset`` from ``config``."""
    return _build(AudioToTargetWithReferenceDataset, config)


def get_audio_to_target_with_embedding_dataset(
    config: Mapping[str, Any],
) -> AudioToTargetWithEmbeddingDataset:
    """An ``AudioToTargetWithEmbeddingDataset`` from ``config``."""
    return _build(AudioToTargetWithEmbeddingDataset, config)

"""NeMo 1.23's punctuation and capitalization data configs (``train_ds``, ``validation_ds``, ``test_ds``).

Keys and defaults are NeMo's, so NeMo's YAML configs load unchanged. Two keys behave differently: features are
never pickled (``use_cache`` and ``cache_dir`` are accepted and unused), and files are written only to
``label_info_save_dir`` when it is set, never next to the data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from omegaconf import MISSING, DictConfig, OmegaConf

__all__ = [
    "PunctuationCapitalizationDataConfigBase",
    "PunctuationCapitalizationEvalDataConfig",
    "PunctuationCapitalizationTrainDataConfig",
    "is_legacy_data_config",
    "legacy_data_config_to_new_data_config",
]


@dataclass
class PunctuationCapitalizationDataConfigBase:
    """Keys shared by training and evaluation data sections.

    Attributes:
        use_audio: lexical-audio data (NeMo's ``PunctuationCapitalizationLexicalAudioModel``); not supported, must
            stay ``False``.
        audio_file: audio paths, one per line (lexical-audio only).
        sample_rate: audio sample rate (lexical-audio only).
        use_bucketing: pack samples into batches of ``tokens_in_batch`` tokens (the data loader's batch size is
            then 1); ``False`` gives single samples batched by ``batch_size``.
        batch_size: batch size when ``use_bucketing`` is ``False``.
        preload_audios: load audio in the dataset constructor (lexical-audio only).
        use_tarred_dataset: read ``tar_metadata_file`` (tarred data) instead of ``text_file`` and ``labels_file``.
        label_info_save_dir: the directory (run or cache directory) receiving label-id files and label
            frequencies; ``None`` writes nothing.
        text_file: text without punctuation and capitalization, relative to ``ds_item``.
        labels_file: the labels of ``text_file`` (``OU``, ``,O``, ...), relative to ``ds_item``.
        tokens_in_batch: tokens per batch, padding and special tokens included.
        max_seq_length: longest sequence, ``[CLS]`` and ``[SEP]`` included; longer ones lose their end.
        num_samples: how many lines to use; ``-1`` uses all.
        use_cache: accepted for NeMo's configs; features are never pickled.
        cache_dir: accepted for NeMo's configs; unused.
        get_label_frequences: compute label frequencies (NeMo's spelling); saved in ``label_info_save_dir``.
        verbose: log progress and examples.
        n_jobs: accepted for NeMo's configs; the fast tokenizer batches the whole file itself.
        tar_metadata_file: the tarred dataset's metadata JSON, relative to ``ds_item``.
        tar_shuffle_n: shuffle buffer of the tarred dataset, in batches.
        shard_strategy: ``scatter`` (each process reads its own shards) or ``replicate`` (all read all).
        shuffle: shuffle (and repack) batches every epoch.
        drop_last: ``DataLoader`` argument.
        pin_memory: ``DataLoader`` argument.
        num_workers: ``DataLoader`` argument.
        persistent_workers: ``DataLoader`` argument.
    """

    use_audio: bool = False
    audio_file: str | None = None
    sample_rate: int | None = 16000
    use_bucketing: bool | None = True
    batch_size: int | None = 32
    preload_audios: bool | None = True
    use_tarred_dataset: bool = MISSING
    label_info_save_dir: str | None = None
    text_file: str | None = None
    labels_file: str | None = None
    tokens_in_batch: int | None = None
    max_seq_length: int = 512
    num_samples: int = -1
    use_cache: bool = True
    cache_dir: str | None = None
    get_label_frequences: bool = False
    verbose: bool = True
    n_jobs: int | None = 0
    tar_metadata_file: str | None = None
    tar_shuffle_n: int = 1
    shard_strategy: str | None = "scatter"
    shuffle: bool = True
    drop_last: bool = False
    pin_memory: bool = True
    num_workers: int = 8
    persistent_workers: bool = True


@dataclass
class PunctuationCapitalizationTrainDataConfig(PunctuationCapitalizationDataConfigBase):
    """Training data: ``ds_item`` is the directory holding ``text_file`` and ``labels_file`` or the tarred data."""

    ds_item: str | None = MISSING


@dataclass
class PunctuationCapitalizationEvalDataConfig(PunctuationCapitalizationDataConfigBase):
    """Evaluation data: ``ds_item`` is a directory, or a list of directories (one dataset each)."""

    ds_item: Any = MISSING


def is_legacy_data_config(ds_section: DictConfig) -> bool:
    """Whether a data section predates NeMo 1.5's format (it has no ``use_tarred_dataset`` key)."""
    return "use_tarred_dataset" not in ds_section


def legacy_data_config_to_new_data_config(
    ds_section: DictConfig, legacy_dataset_section: DictConfig, train: bool
) -> DictConfig:
    """Convert an old data section (with ``model.dataset.data_dir``) to the current format.

    Args:
        ds_section: the old ``train_ds``, ``validation_ds`` or ``test_ds`` section.
        legacy_dataset_section: the old ``model.dataset`` section (``data_dir``, ``max_seq_length``).
        train: whether ``ds_section`` is ``train_ds``.

    Returns:
        A ``PunctuationCapitalizationTrainDataConfig`` (``train``) or ``...EvalDataConfig`` structured config.

    Raises:
        ValueError: neither section names the data directory.
    """
    if train:
        cls: type = PunctuationCapitalizationTrainDataConfig
        ds_item = legacy_dataset_section.get("data_dir")
    else:
        cls = PunctuationCapitalizationEvalDataConfig
        ds_item = ds_section.get("ds_item")
        if ds_item is None:
            ds_item = legacy_dataset_section.get("data_dir")
    if ds_item is None:
        raise ValueError(
            "No data directory in a legacy punctuation config: expected `model.dataset.data_dir` (or `ds_item` in "
            f"an evaluation section). Data section:\n{OmegaConf.to_yaml(ds_section)}\nmodel.dataset:\n"
            f"{OmegaConf.to_yaml(legacy_dataset_section)}Add `data_dir`."
        )
    return OmegaConf.structured(
        cls(
            use_tarred_dataset=False,
            text_file=ds_section.text_file,
            labels_file=ds_section.labels_file,
            ds_item=ds_item,
            max_seq_length=legacy_dataset_section.get(
                "max_seq_length", PunctuationCapitalizationDataConfigBase.max_seq_length
            ),
        )
    )

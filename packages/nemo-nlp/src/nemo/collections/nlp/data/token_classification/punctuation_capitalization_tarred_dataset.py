"""Tarred punctuation and capitalization data for corpora too large for memory (NeMo 1.23's names and metadata).

A tarred dataset is a directory with a metadata JSON file, tar shards of ready batches, and the label vocabulary
files ``punct_label_vocab.csv`` and ``capit_label_vocab.csv``; ``create_tarred_dataset`` (or ``python -m
nemo.collections.nlp.data.token_classification.create_tarred_dataset``) writes it. The metadata holds
``num_batches``, ``tar_files`` (paths relative to the metadata file's directory, or absolute),
``punct_label_vocab_file``, ``capit_label_vocab_file`` and ``batch_format``. Shards hold ``.npz`` batches, never
pickles (see ``tarred_batch_shards``); NeMo 1.23's pickled shards are refused with an error.
"""

from __future__ import annotations

import json
import os
import random
import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from nemo.collections.nlp.data.token_classification.create_tarred_dataset import (
    METADATA_BATCH_FORMAT_KEY,
    METADATA_CAPIT_LABEL_VOCAB_KEY,
    METADATA_PUNCT_LABEL_VOCAB_KEY,
    create_tarred_dataset,
)
from nemo.collections.nlp.data.token_classification.label_id_files import (
    check_pad_label_id,
    load_label_ids,
    raise_not_equal_labels_error,
)
from nemo.collections.nlp.data.token_classification.punctuation_capitalization_dataset import (
    LABEL_ID_DIR_FOR_NEMO_CHECKPOINT,
    create_masks_and_segment_ids,
)
from nemo.collections.nlp.data.token_classification.tarred_batch_shards import (
    BATCH_FORMAT,
    TarredBatchError,
    read_batches,
)
from nemo.collections.nlp.data.token_classification.token_classification_utils import token_batch_types
from nemo.core.classes import IterableDataset
from nemo.core.neural_types import NeuralType
from nemo.utils import logging
from omegaconf import DictConfig

__all__ = ["BertPunctuationCapitalizationTarredDataset", "create_tarred_dataset"]

_SHARD_STRATEGIES = ("scatter", "replicate")


def _read_metadata(metadata_file: Path) -> dict[str, Any]:
    if not metadata_file.is_file():
        raise FileNotFoundError(
            f"Tarred dataset metadata file {metadata_file} was not found. Create the dataset with `python -m "
            "nemo.collections.nlp.data.token_classification.create_tarred_dataset` and give its metadata file."
        )
    try:
        metadata = json.loads(metadata_file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(
            f"Tarred dataset metadata file {metadata_file} is not valid JSON: {error}."
        ) from error
    expected = {
        "num_batches": int,
        "tar_files": list,
        METADATA_PUNCT_LABEL_VOCAB_KEY: str,
        METADATA_CAPIT_LABEL_VOCAB_KEY: str,
    }
    for key, kind in expected.items():
        if not isinstance(metadata, dict) or not isinstance(metadata.get(key), kind):
            found = metadata.get(key) if isinstance(metadata, dict) else metadata
            raise ValueError(
                f"Tarred dataset metadata file {metadata_file}: key {key!r} is {found!r}; expected a "
                f"{kind.__name__}. Re-create the dataset."
            )
    if metadata.get(METADATA_BATCH_FORMAT_KEY) != BATCH_FORMAT:
        raise TarredBatchError(
            f"Tarred dataset metadata file {metadata_file} has {METADATA_BATCH_FORMAT_KEY}="
            f"{metadata.get(METADATA_BATCH_FORMAT_KEY)!r}, expected {BATCH_FORMAT!r}. Without it the shards were "
            "made by NeMo 1.23 and hold pickled batches, which are refused because loading them can run code. "
            "Re-create the dataset with `python -m nemo.collections.nlp.data.token_classification.create_tarred_dataset`."
        )
    if not metadata["tar_files"]:
        raise ValueError(
            f"Tarred dataset metadata file {metadata_file} lists no tar files; re-create the dataset."
        )
    return metadata


class BertPunctuationCapitalizationTarredDataset(IterableDataset):
    """Batches of a tarred punctuation and capitalization dataset, for a ``DataLoader`` with ``batch_size=1``.

    Shards are divided between data-parallel processes (``scatter``: process ``global_rank`` of ``world_size``
    reads the ``global_rank``-th equal slice of the shards, leftover shards unused; ``replicate``: every process
    reads all shards), then between the ``DataLoader`` workers of a process (worker ``i`` of ``n`` reads every
    ``n``-th shard from the ``i``-th). Batches pass through a shuffle buffer of ``shuffle_n`` batches, drawn from
    torch's random generator (reproducible with a seed, different every epoch).

    Args:
        metadata_file: the metadata JSON of the tarred dataset.
        tokenizer: the tokenizer the dataset was made with (``pad_id``, ``cls_id``, ``sep_id``, ``vocab_size``).
        pad_label: the padding and neutral label; must have id 0 in both label vocabularies.
        label_info_save_dir: the directory (run or cache directory) receiving the label-id files of
            ``save_labels_and_get_file_paths``; ``None`` writes nothing.
        ignore_extra_tokens: loss on the first token of each word only.
        ignore_start_end: NeMo's flag; no effect on the loss mask (see ``create_masks_and_segment_ids``).
        world_size: the number of data-parallel processes.
        global_rank: this process's rank.
        shuffle_n: the shuffle buffer size in batches; 0 or 1 keeps shard order.
        shard_strategy: ``scatter`` or ``replicate``.
        use_audio: must be ``False``: lexical-audio data is not supported.

    Raises:
        FileNotFoundError: the metadata or a label vocabulary file is missing.
        ValueError: a bad metadata file (NeMo 1.23's pickled format included), ``pad_label`` without id 0, a bad
            ``shard_strategy``, or ``use_audio``.
    """

    @property
    def output_types(self) -> dict[str, NeuralType]:
        """Neural types of a collated batch, each ``(B, T)``."""
        return token_batch_types("punct_labels", "capit_labels")

    def __init__(
        self,
        metadata_file: str | os.PathLike[str],
        tokenizer,
        pad_label: str,
        label_info_save_dir: str | os.PathLike[str] | None = None,
        ignore_extra_tokens: bool = False,
        ignore_start_end: bool = True,
        world_size: int = 1,
        global_rank: int = 0,
        shuffle_n: int = 1,
        shard_strategy: str = "scatter",
        use_audio: bool = False,
    ) -> None:
        super().__init__()
        if shard_strategy not in _SHARD_STRATEGIES:
            raise ValueError(f"shard_strategy={shard_strategy!r}; expected one of {list(_SHARD_STRATEGIES)}.")
        if use_audio:
            raise ValueError(
                "use_audio=True: lexical-audio tarred data is not supported by nemo-nlp; set it False."
            )
        if not 0 <= global_rank < world_size:
            raise ValueError(
                f"global_rank={global_rank} with world_size={world_size}; expected 0 <= rank < size."
            )
        self.tokenizer = tokenizer
        self.metadata_file = Path(metadata_file).expanduser()
        self.metadata = _read_metadata(self.metadata_file)
        self.label_info_save_dir = (
            None if label_info_save_dir is None else Path(label_info_save_dir).expanduser()
        )
        self.ignore_extra_tokens = ignore_extra_tokens
        self.ignore_start_end = ignore_start_end
        self.pad_label = pad_label
        self.shuffle_n = shuffle_n
        self.use_audio = False
        root = self.metadata_file.parent
        self.punct_label_vocab_file = root / self.metadata[METADATA_PUNCT_LABEL_VOCAB_KEY]
        self.capit_label_vocab_file = root / self.metadata[METADATA_CAPIT_LABEL_VOCAB_KEY]
        self.punct_label_ids = load_label_ids(self.punct_label_vocab_file)
        self.capit_label_ids = load_label_ids(self.capit_label_vocab_file)
        check_pad_label_id(self.punct_label_ids, pad_label, str(self.punct_label_vocab_file))
        check_pad_label_id(self.capit_label_ids, pad_label, str(self.capit_label_vocab_file))
        all_files = [str(root / Path(name).expanduser()) for name in self.metadata["tar_files"]]
        if shard_strategy == "scatter":
            per_rank = len(all_files) // world_size
            if len(all_files) % world_size:
                logging.warning(
                    f"{len(all_files)} shards do not divide between {world_size} processes; "
                    f"{len(all_files) % world_size} shards are unused."
                )
            if per_rank == 0:
                raise ValueError(
                    f"{len(all_files)} shards cannot be scattered over {world_size} processes: every process needs "
                    "one. Re-create the dataset with fewer batches per tar file or use shard_strategy='replicate'."
                )
            self.tar_files = all_files[per_rank * global_rank : per_rank * (global_rank + 1)]
            self.length = self.metadata["num_batches"] // len(all_files) * per_rank * world_size
            logging.info(
                f"Process {global_rank} reads shards [{per_rank * global_rank}, {per_rank * (global_rank + 1)})."
            )
        else:
            self.tar_files = all_files
            self.length = self.metadata["num_batches"]

    def _worker_shards(self) -> list[str]:
        info = torch.utils.data.get_worker_info()
        if info is None:
            return self.tar_files
        return self.tar_files[info.id :: info.num_workers]

    def _shuffled(self, batches: Iterator[dict[str, np.ndarray]]) -> Iterator[dict[str, np.ndarray]]:
        if self.shuffle_n <= 1:
            yield from batches
            return
        rng = random.Random(int(torch.randint(0, 2**62, ()).item()))
        buffer: list[dict[str, np.ndarray]] = []
        for batch in batches:
            if len(buffer) < self.shuffle_n:
                buffer.append(batch)
                continue
            index = rng.randrange(len(buffer))
            buffer[index], batch = batch, buffer[index]
            yield batch
        rng.shuffle(buffer)
        yield from buffer

    def _checked(self, shard: str, key: str, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The batch with NeMo's masks, after checking token and label ids are in range."""
        limits = {
            "input_ids": self.tokenizer.vocab_size,
            "punct_labels": len(self.punct_label_ids),
            "capit_labels": len(self.capit_label_ids),
        }
        for name, limit in limits.items():
            values = batch[name]
            if values.size and (values.min() < 0 or values.max() >= limit):
                raise TarredBatchError(
                    f"Tarred dataset shard {shard}, batch {key!r}: {name} has values in [{values.min()}, "
                    f"{values.max()}], expected [0, {limit}). The shard does not match this tokenizer or the label "
                    "vocabulary files; re-create it or use the tokenizer it was made with."
                )
        batch["segment_ids"], batch["input_mask"], batch["loss_mask"] = create_masks_and_segment_ids(
            batch["input_ids"],
            batch["subtokens_mask"],
            self.tokenizer.pad_id,
            self.tokenizer.cls_id,
            self.tokenizer.sep_id,
            self.ignore_start_end,
            self.ignore_extra_tokens,
        )
        return batch

    def _batches(self) -> Iterator[dict[str, np.ndarray]]:
        for shard in self._worker_shards():
            for key, batch in read_batches(shard):
                yield self._checked(shard, key, batch)

    def __iter__(self) -> Iterator[dict[str, np.ndarray]]:
        """Yield batches: ``input_ids`` (int32), ``subtokens_mask`` (bool), ``punct_labels`` and ``capit_labels``
        (int64), ``segment_ids`` (int8), ``input_mask`` and ``loss_mask`` (bool), each ``(B, T)``."""
        return self._shuffled(self._batches())

    def __len__(self) -> int:
        return self.length

    def collate_fn(self, batches: list[dict[str, np.ndarray]]) -> dict[str, torch.Tensor]:
        """Tensors of the one batch a ``DataLoader`` with ``batch_size=1`` passes.

        Returns:
            ``input_ids`` (int32), ``subtokens_mask`` (bool), ``punct_labels`` and ``capit_labels`` (int64),
            ``segment_ids`` (int32), ``input_mask`` and ``loss_mask`` (bool), each ``(B, T)``.

        Raises:
            ValueError: more than one batch (the ``DataLoader`` batch size must be 1).
        """
        if len(batches) != 1:
            raise ValueError(
                f"collate_fn got {len(batches)} batches; the tarred dataset yields whole batches, so the "
                "DataLoader's batch_size must be 1."
            )
        batch = {key: torch.as_tensor(value) for key, value in batches[0].items()}
        batch["segment_ids"] = batch["segment_ids"].int()
        batch["punct_labels"] = batch["punct_labels"].long()
        batch["capit_labels"] = batch["capit_labels"].long()
        return batch

    def check_for_label_consistency_with_model_config(
        self,
        punct_label_ids: Mapping[str, int] | None,
        capit_label_ids: Mapping[str, int] | None,
        class_labels: DictConfig,
        common_dataset_parameters_config: DictConfig,
    ) -> None:
        """Raise if the model's or the config's label ids differ from the tarred dataset's.

        Args:
            punct_label_ids: the model's ``punct_label_ids`` attribute, or ``None``.
            capit_label_ids: the model's ``capit_label_ids`` attribute, or ``None``.
            class_labels: the ``model.class_labels`` config (``punct_labels_file``, ``capit_labels_file``).
            common_dataset_parameters_config: ``model.common_dataset_parameters`` (``punct_label_ids``,
                ``capit_label_ids``, ``label_vocab_dir``).

        Raises:
            ValueError: label ids differ; the message says where each set came from.
        """
        source = f"labels loaded from the tarred dataset with metadata file {self.metadata_file}"
        candidates = [
            (
                "Punctuation",
                self.punct_label_ids,
                punct_label_ids,
                "the attribute `punct_label_ids` of the model",
            ),
            (
                "Capitalization",
                self.capit_label_ids,
                capit_label_ids,
                "the attribute `capit_label_ids` of the model",
            ),
        ]
        for task, key in (("Punctuation", "punct_label_ids"), ("Capitalization", "capit_label_ids")):
            config_ids = common_dataset_parameters_config.get(key)
            if config_ids is not None:
                mine = self.punct_label_ids if task == "Punctuation" else self.capit_label_ids
                candidates.append((task, mine, dict(config_ids), f"`model.common_dataset_parameters.{key}`"))
        label_vocab_dir = common_dataset_parameters_config.get("label_vocab_dir")
        if label_vocab_dir is not None:
            for task, mine, file_name in (
                ("Punctuation", self.punct_label_ids, class_labels.punct_labels_file),
                ("Capitalization", self.capit_label_ids, class_labels.capit_labels_file),
            ):
                path = Path(label_vocab_dir).expanduser() / file_name
                candidates.append((task, mine, load_label_ids(path), f"labels in {path} (`label_vocab_dir`)"))
        for task, mine, other, other_desc in candidates:
            if other is not None and dict(other) != mine:
                raise_not_equal_labels_error(mine, dict(other), f"{task} {source}", other_desc)

    def save_labels_and_get_file_paths(
        self, punct_labels_file_name: str, capit_labels_file_name: str
    ) -> tuple[Path, Path]:
        """Copy the label vocabulary files to ``label_info_save_dir/label_id_files_for_nemo_checkpoint``.

        Args:
            punct_labels_file_name: the new punctuation file name (``punct_label_ids.csv``).
            capit_labels_file_name: the new capitalization file name (``capit_label_ids.csv``).

        Returns:
            The paths of the copies.

        Raises:
            ValueError: ``label_info_save_dir`` is not set (nothing is written next to the data).
        """
        if self.label_info_save_dir is None:
            raise ValueError(
                "label_info_save_dir is not set, so the label-id files have nowhere to go: nothing is written next "
                f"to the tarred data ({self.metadata_file.parent}). Set `label_info_save_dir` in the data config to "
                "the run or cache directory."
            )
        target = self.label_info_save_dir / LABEL_ID_DIR_FOR_NEMO_CHECKPOINT
        target.mkdir(parents=True, exist_ok=True)
        punct_file, capit_file = target / punct_labels_file_name, target / capit_labels_file_name
        shutil.copyfile(self.punct_label_vocab_file, punct_file)
        shutil.copyfile(self.capit_label_vocab_file, capit_file)
        return punct_file, capit_file

"""Punctuation and capitalization training and evaluation data (NeMo 1.23's ``BertPunctuationCapitalizationDataset``).

The dataset yields whole batches: ``__getitem__`` returns a dict of ``(B, T)`` numpy arrays packed to at most
``tokens_in_batch`` tokens, so the ``DataLoader`` runs with ``batch_size=1`` and ``collate_fn`` unwraps the
batch. Labels are NeMo's pairs (``OU``, ``,O``, ``.U``): the first character is the punctuation after the word,
the second its capitalization; ``pad_label`` (``O``) has id 0 in both label vocabularies.

Differences from NeMo 1.23, on purpose:
- the whole file is tokenized with one batch call of the fast tokenizer; nothing is pickled (``use_cache``,
  ``cache_dir`` and ``n_jobs`` are accepted and unused);
- files are written only to ``label_info_save_dir``; ``save_labels_and_get_file_paths`` needs it set;
- errors name the file and line; ``use_bucketing=False`` works without audio;
- lexical-audio data (``use_audio``) is not supported.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from nemo.collections.nlp.data.data_utils.data_preprocessing import get_label_stats, get_stats
from nemo.collections.nlp.data.token_classification.label_id_files import (
    check_pad_label_id,
    create_label_ids,
    load_label_ids,
    raise_not_equal_labels_error,
    save_label_ids,
)
from nemo.collections.nlp.data.token_classification.punctuation_capitalization_batching import (
    pack_into_batches,
)
from nemo.collections.nlp.data.token_classification.punctuation_capitalization_data_config import (
    PunctuationCapitalizationDataConfigBase,
    PunctuationCapitalizationEvalDataConfig,
    PunctuationCapitalizationTrainDataConfig,
    is_legacy_data_config,
    legacy_data_config_to_new_data_config,
)
from nemo.collections.nlp.data.token_classification.punctuation_capitalization_files import (
    check_labels_known,
    read_punctuation_capitalization_files,
)
from nemo.collections.nlp.data.token_classification.token_classification_utils import token_batch_types
from nemo.collections.nlp.data.token_classification.word_tokenization import tokenize_words
from nemo.core.classes import Dataset
from nemo.core.neural_types import NeuralType
from nemo.utils import logging
from omegaconf import DictConfig, OmegaConf
from torch.nn.utils.rnn import pad_sequence

__all__ = [
    "BertPunctuationCapitalizationDataset",
    "LABEL_ID_DIR_FOR_NEMO_CHECKPOINT",
    "PunctuationCapitalizationDataConfigBase",
    "PunctuationCapitalizationEvalDataConfig",
    "PunctuationCapitalizationTrainDataConfig",
    "create_label_ids",
    "create_masks_and_segment_ids",
    "encode_queries",
    "is_legacy_data_config",
    "legacy_data_config_to_new_data_config",
    "load_label_ids",
    "raise_not_equal_labels_error",
    "save_label_ids",
]

LABEL_ID_DIR_FOR_NEMO_CHECKPOINT = "label_id_files_for_nemo_checkpoint"


def create_masks_and_segment_ids(
    input_ids: np.ndarray,
    subtokens_mask: np.ndarray,
    pad_id: int,
    cls_id: int,
    sep_id: int,
    ignore_start_end: bool,
    ignore_extra_tokens: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Segment ids, input mask and loss mask of a padded batch, computed as NeMo 1.23 computes them.

    ``input_mask`` is ``input_ids != pad_id``. ``loss_mask`` is ``subtokens_mask`` (first token of each word)
    with ``ignore_extra_tokens``, else ``input_mask`` (every real token, ``[CLS]`` and ``[SEP]`` included).
    ``ignore_start_end`` does not change it: NeMo 1.23 tests for ``[CLS]``/``[SEP]`` with a condition that never
    holds, so its training never drops them; this keeps NeMo's losses.

    Args:
        input_ids: token ids, shape ``(B, T)``.
        subtokens_mask: ``True`` on the first token of each word, shape ``(B, T)``.
        pad_id: the padding token id.
        cls_id: the ``[CLS]`` id (kept for NeMo's signature).
        sep_id: the ``[SEP]`` id (kept for NeMo's signature).
        ignore_start_end: NeMo's flag; no effect (see above).
        ignore_extra_tokens: compute the loss on first tokens of words only.

    Returns:
        ``segment_ids`` (int8 zeros), ``input_mask`` (bool), ``loss_mask`` (bool), each ``(B, T)``.
    """
    segment_ids = np.zeros_like(input_ids, dtype=np.int8)
    input_mask = np.not_equal(input_ids, pad_id)
    loss_mask = subtokens_mask if ignore_extra_tokens else input_mask
    return segment_ids, input_mask, loss_mask


def encode_queries(
    queries: Sequence[str],
    punct_labels: Sequence[Sequence[str]],
    capit_labels: Sequence[Sequence[str]],
    tokenizer,
    max_seq_length: int,
    punct_label_ids: Mapping[str, int],
    capit_label_ids: Mapping[str, int],
    pad_label: str = "O",
) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    """Tokenize queries and give every token its word's labels (NeMo's ``TokenizeCreateMasksClipWorker``).

    Each query becomes ``[CLS] tokens [SEP]``; ``[CLS]`` and ``[SEP]`` get ``pad_label``. A sequence longer than
    ``max_seq_length`` keeps its first ``max_seq_length - 1`` tokens and ends with ``[SEP]``.

    Raises:
        ValueError: ``max_seq_length`` is below 3.

    Args:
        queries: text lines, words separated by whitespace.
        punct_labels: each query's punctuation labels, one per word.
        capit_labels: each query's capitalization labels, one per word.
        tokenizer: a NeMo tokenizer with ``cls_id``, ``sep_id``, ``unk_id`` (``AutoTokenizer``).
        max_seq_length: the longest sequence, ``[CLS]`` and ``[SEP]`` included.
        punct_label_ids: punctuation label -> id.
        capit_label_ids: capitalization label -> id.
        pad_label: the label of ``[CLS]`` and ``[SEP]``.

    Returns:
        Per query, arrays of shape ``(T_i,)``: ``input_ids`` (int32), ``subtokens_mask`` (bool, first token of each
        word), ``punct_labels`` and ``capit_labels`` (int32 label ids).
    """
    if max_seq_length < 3:
        raise ValueError(
            f"max_seq_length={max_seq_length} leaves no room for a token between [CLS] and [SEP]; expected at least 3."
        )
    tokens = tokenize_words([query.split() for query in queries], tokenizer)
    cls_id, sep_id = tokenizer.cls_id, tokenizer.sep_id
    punct_pad, capit_pad = punct_label_ids[pad_label], capit_label_ids[pad_label]
    all_ids, all_masks, all_punct, all_capit = [], [], [], []
    for t, punct, capit in zip(tokens, punct_labels, capit_labels):
        keep = min(t.ids.size, max_seq_length - 2)
        words = t.word_index[:keep]
        punct_ids = np.array([punct_label_ids[label] for label in punct], dtype=np.int32)
        capit_ids = np.array([capit_label_ids[label] for label in capit], dtype=np.int32)
        all_ids.append(np.concatenate([[cls_id], t.ids[:keep], [sep_id]]).astype(np.int32))
        all_masks.append(np.concatenate([[False], t.first_token_mask[:keep], [False]]))
        all_punct.append(np.concatenate([[punct_pad], punct_ids[words], [punct_pad]]).astype(np.int32))
        all_capit.append(np.concatenate([[capit_pad], capit_ids[words], [capit_pad]]).astype(np.int32))
    return all_ids, all_masks, all_punct, all_capit


def _to_plain_dict(label_ids: Mapping[str, int] | DictConfig | None) -> dict[str, int] | None:
    if label_ids is None:
        return None
    if isinstance(label_ids, DictConfig):
        return OmegaConf.to_container(label_ids)
    return dict(label_ids)


class BertPunctuationCapitalizationDataset(Dataset):
    """Punctuation and capitalization data from ``text_file`` and ``labels_file``, in batches of tokens.

    Batches: samples are shuffled with ``batch_shuffling_random_seed``, sorted by length and packed into batches
    of at most ``tokens_in_batch`` tokens (padded lengths and batch sizes multiples of 8), then the batches are
    shuffled. ``repack_batches_with_shuffle`` repacks for a new epoch. NeMo's random draws are reproduced, so
    the same seed gives NeMo's batches.

    Args:
        text_file: text without punctuation and capitalization, a sentence a line.
        labels_file: one label pair per word (``OU``, ``,O``...).
        max_seq_length: the longest sequence, ``[CLS]`` and ``[SEP]`` included; longer ones lose their end.
        tokenizer: a NeMo tokenizer with ``cls_id``, ``sep_id``, ``pad_id``, ``unk_id`` (``AutoTokenizer``).
        num_samples: how many lines to use; ``-1`` uses all.
        tokens_in_batch: tokens per batch, padding and special tokens included.
        pad_label: the padding and neutral label of both tasks; id 0.
        punct_label_ids: punctuation label -> id (use the training ids for evaluation data); ``None`` creates them
            from the file (``pad_label`` first, then sorted) or reads ``punct_label_vocab_file``.
        capit_label_ids: the same for capitalization.
        ignore_extra_tokens: loss on the first token of each word only.
        ignore_start_end: NeMo's flag; no effect on the loss mask (see ``create_masks_and_segment_ids``).
        use_cache: accepted for NeMo's configs; nothing is cached.
        cache_dir: accepted for NeMo's configs; unused.
        get_label_frequencies: compute label frequencies (and save them to ``label_info_save_dir`` if set).
        label_info_save_dir: the directory (run or cache directory) for label-id files and frequencies;
            ``None`` writes nothing.
        punct_label_vocab_file: a label-id file (one label a line, ``pad_label`` first) for punctuation.
        capit_label_vocab_file: the same for capitalization.
        add_masks_and_segment_ids_to_batch: add ``segment_ids``, ``input_mask``, ``loss_mask`` to batches
            (``False`` when writing tarred data).
        verbose: log progress and an example.
        n_jobs: accepted for NeMo's configs; the fast tokenizer batches the file itself.
        number_of_batches_is_multiple_of: split batches until their number divides by this (evaluation with
            several processes).
        batch_shuffling_random_seed: seed of the shuffles.
        tokenization_progress_queue: receives the number of tokenized queries, if given.
        batch_mark_up_progress_queue: receives the number of queries assigned to batches, if given.
        batch_building_progress_queue: receives the number of queries packed into batches, if given.
        use_audio: must be ``False``: lexical-audio data is not supported.
        audio_file: must be ``None``.
        sample_rate: unused without audio.
        use_bucketing: ``False`` yields single samples for a ``DataLoader`` with ``batch_size`` > 1.
        preload_audios: unused without audio.

    Raises:
        FileNotFoundError: a file is missing.
        ValueError: bad parameters, labels that differ between ``*_label_ids`` and ``*_label_vocab_file``, bad
            lines (the message names the file and line), or unknown labels.
    """

    @property
    def output_types(self) -> dict[str, NeuralType]:
        """Neural types of a collated batch, each ``(B, T)``."""
        return token_batch_types("punct_labels", "capit_labels")

    def __init__(
        self,
        text_file: str | os.PathLike[str],
        labels_file: str | os.PathLike[str],
        max_seq_length: int,
        tokenizer,
        num_samples: int = -1,
        tokens_in_batch: int = 5000,
        pad_label: str = "O",
        punct_label_ids: Mapping[str, int] | DictConfig | None = None,
        capit_label_ids: Mapping[str, int] | DictConfig | None = None,
        ignore_extra_tokens: bool = False,
        ignore_start_end: bool = True,
        use_cache: bool = True,
        cache_dir: str | os.PathLike[str] | None = None,
        get_label_frequencies: bool = False,
        label_info_save_dir: str | os.PathLike[str] | None = None,
        punct_label_vocab_file: str | os.PathLike[str] | None = None,
        capit_label_vocab_file: str | os.PathLike[str] | None = None,
        add_masks_and_segment_ids_to_batch: bool = True,
        verbose: bool = True,
        n_jobs: int | None = 0,
        number_of_batches_is_multiple_of: int = 1,
        batch_shuffling_random_seed: int = 42,
        tokenization_progress_queue: Any = None,
        batch_mark_up_progress_queue: Any = None,
        batch_building_progress_queue: Any = None,
        use_audio: bool | None = False,
        audio_file: str | os.PathLike[str] | None = None,
        sample_rate: int | None = None,
        use_bucketing: bool | None = True,
        preload_audios: bool | None = True,
    ) -> None:
        self._check_parameters(num_samples, number_of_batches_is_multiple_of, tokens_in_batch, use_bucketing)
        self._check_no_audio(use_audio, audio_file)
        self.text_file, self.labels_file = Path(text_file).expanduser(), Path(labels_file).expanduser()
        self.label_info_save_dir = (
            None if label_info_save_dir is None else Path(label_info_save_dir).expanduser()
        )
        self.tokens_in_batch = tokens_in_batch
        self.tokenizer = tokenizer
        self.pad_label = pad_label
        self.ignore_extra_tokens = ignore_extra_tokens
        self.ignore_start_end = ignore_start_end
        self.add_masks_and_segment_ids_to_batch = add_masks_and_segment_ids_to_batch
        self.verbose = verbose
        self.use_audio = False
        self.use_bucketing = bool(use_bucketing)
        self.number_of_batches_is_multiple_of = number_of_batches_is_multiple_of
        self.batch_mark_up_progress_queue = batch_mark_up_progress_queue
        self.batch_building_progress_queue = batch_building_progress_queue

        punct_label_ids = self._resolve_label_ids(
            punct_label_ids, punct_label_vocab_file, "punct", "Punctuation"
        )
        capit_label_ids = self._resolve_label_ids(
            capit_label_ids, capit_label_vocab_file, "capit", "Capitalization"
        )
        if verbose:
            logging.info(f"Processing {self.text_file}")
        data = read_punctuation_capitalization_files(self.text_file, self.labels_file)
        for label_ids, lines, unique, task in (
            (punct_label_ids, data.punct_labels, data.punct_unique, "punctuation"),
            (capit_label_ids, data.capit_labels, data.capit_unique, "capitalization"),
        ):
            if label_ids is not None:
                check_labels_known(lines, unique, label_ids, self.labels_file, task)
        self.punct_label_ids = punct_label_ids or create_label_ids(data.punct_unique, pad_label)
        self.capit_label_ids = capit_label_ids or create_label_ids(data.capit_unique, pad_label)
        for label_ids, name in (
            (self.punct_label_ids, "punct_label_ids"),
            (self.capit_label_ids, "capit_label_ids"),
        ):
            if pad_label not in label_ids:
                raise ValueError(f"Pad label {pad_label!r} is not in `{name}` {label_ids}; add it with id 0.")

        keep = slice(None) if num_samples < 0 else slice(num_samples)
        self.input_ids, self.subtokens_mask, self.punct_labels, self.capit_labels = encode_queries(
            data.text_lines[keep],
            data.punct_labels[keep],
            data.capit_labels[keep],
            tokenizer,
            max_seq_length,
            self.punct_label_ids,
            self.capit_label_ids,
            pad_label,
        )
        if tokenization_progress_queue is not None:
            tokenization_progress_queue.put(len(self.input_ids))
        if verbose:
            get_stats([ids.size for ids in self.input_ids])
            if self.input_ids:
                logging.info(
                    f"Example: input_ids {self.input_ids[0].tolist()}, subtokens_mask "
                    f"{self.subtokens_mask[0].astype(int).tolist()}, punct_labels {self.punct_labels[0].tolist()}, "
                    f"capit_labels {self.capit_labels[0].tolist()}"
                )
        self.batch_shuffling_random_state = np.random.RandomState(batch_shuffling_random_seed)
        if get_label_frequencies:
            self.punct_label_frequencies = self._label_frequencies(self.punct_labels, "punct")
            self.capit_label_frequencies = self._label_frequencies(self.capit_labels, "capit")
        self.batches = self._pack_into_batches() if self.use_bucketing else self._single_samples()

    @staticmethod
    def _check_parameters(
        num_samples: int,
        number_of_batches_is_multiple_of: int,
        tokens_in_batch: int | None,
        use_bucketing: bool,
    ) -> None:
        if num_samples == 0:
            raise ValueError(
                "num_samples=0 selects no data; expected a positive number, or -1 for all lines."
            )
        if not isinstance(number_of_batches_is_multiple_of, int) or number_of_batches_is_multiple_of < 1:
            raise ValueError(
                f"number_of_batches_is_multiple_of={number_of_batches_is_multiple_of!r}; expected a positive integer "
                "(the number of data-parallel processes, 1 for one)."
            )
        if use_bucketing and (not isinstance(tokens_in_batch, int) or tokens_in_batch < 1):
            raise ValueError(
                f"tokens_in_batch={tokens_in_batch!r}; expected a positive integer (tokens per batch, padding "
                "included), or use_bucketing=False with a batch size."
            )

    @staticmethod
    def _check_no_audio(use_audio: bool | None, audio_file: str | os.PathLike[str] | None) -> None:
        if use_audio or audio_file is not None:
            raise ValueError(
                f"use_audio={use_audio!r}, audio_file={audio_file!r}: lexical-audio punctuation data "
                "(PunctuationCapitalizationLexicalAudioModel) is not supported by nemo-nlp. Set use_audio=False "
                "and audio_file=None."
            )

    def _resolve_label_ids(
        self,
        label_ids: Mapping[str, int] | DictConfig | None,
        vocab_file: str | os.PathLike[str] | None,
        prefix: str,
        task: str,
    ) -> dict[str, int] | None:
        """Label ids from the parameter or the vocabulary file (checked to agree), or ``None``."""
        label_ids = _to_plain_dict(label_ids)
        if vocab_file is None:
            return label_ids
        vocab_path = Path(vocab_file).expanduser()
        file_label_ids = load_label_ids(vocab_path)
        check_pad_label_id(file_label_ids, self.pad_label, str(vocab_path))
        if label_ids is not None and label_ids != file_label_ids:
            raise_not_equal_labels_error(
                first_labels=label_ids,
                second_labels=file_label_ids,
                first_labels_desc=f"{task} labels passed to the dataset in `{prefix}_label_ids`",
                second_labels_desc=f"{task} labels loaded from {vocab_path} (`{prefix}_label_vocab_file`)",
            )
        return file_label_ids

    def _label_frequencies(self, all_labels: list[np.ndarray], name: str) -> dict[int, int]:
        """Label id counts; saved as ``label_count_<name>.tsv`` in ``label_info_save_dir`` when set."""
        outfile = None
        if self.label_info_save_dir is not None:
            self.label_info_save_dir.mkdir(parents=True, exist_ok=True)
            outfile = self.label_info_save_dir / f"label_count_{name}.tsv"
        merged = np.concatenate(all_labels).tolist() if all_labels else []
        return get_label_stats(merged, outfile, verbose=self.verbose)[1]

    def _single_samples(self) -> list[dict[str, np.ndarray]]:
        return [
            {
                "input_ids": ids,
                "subtokens_mask": mask,
                "punct_labels": punct.astype(np.int64),
                "capit_labels": capit.astype(np.int64),
            }
            for ids, mask, punct, capit in zip(
                self.input_ids, self.subtokens_mask, self.punct_labels, self.capit_labels
            )
        ]

    def _pack_into_batches(self) -> list[dict[str, np.ndarray]]:
        """Shuffle, sort by length, pack into batches and shuffle the batches, with NeMo's random draws."""
        batches = pack_into_batches(
            self.input_ids,
            self.subtokens_mask,
            self.punct_labels,
            self.capit_labels,
            self.batch_shuffling_random_state,
            self.tokens_in_batch,
            self.tokenizer.pad_id,
            self.punct_label_ids[self.pad_label],
            self.capit_label_ids[self.pad_label],
            self.number_of_batches_is_multiple_of,
            f"'{self.text_file}' with '{self.labels_file}'",
        )
        for queue in (self.batch_mark_up_progress_queue, self.batch_building_progress_queue):
            if queue is not None:
                queue.put(len(self.input_ids))
        if self.add_masks_and_segment_ids_to_batch:
            for batch in batches:
                batch["segment_ids"], batch["input_mask"], batch["loss_mask"] = self._masks(
                    batch["input_ids"], batch["subtokens_mask"]
                )
        return batches

    def _masks(
        self, input_ids: np.ndarray, subtokens_mask: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return create_masks_and_segment_ids(
            input_ids,
            subtokens_mask,
            self.tokenizer.pad_id,
            self.tokenizer.cls_id,
            self.tokenizer.sep_id,
            self.ignore_start_end,
            self.ignore_extra_tokens,
        )

    def repack_batches_with_shuffle(self) -> None:
        """Repack the samples into new batches (call every epoch; a ``DataLoader`` shuffle only reorders batches)."""
        if not self.use_bucketing:
            return
        logging.info("Shuffling training dataset")
        self.batches = self._pack_into_batches()

    def save_labels_and_get_file_paths(
        self, punct_labels_file_name: str, capit_labels_file_name: str
    ) -> tuple[Path, Path]:
        """Write the label-id files under ``label_info_save_dir/label_id_files_for_nemo_checkpoint``.

        Args:
            punct_labels_file_name: file name for the punctuation label ids (``punct_label_ids.csv``).
            capit_labels_file_name: file name for the capitalization label ids (``capit_label_ids.csv``).

        Returns:
            The paths of the punctuation and capitalization label-id files.

        Raises:
            ValueError: ``label_info_save_dir`` is not set (nothing is written next to the data).
        """
        if self.label_info_save_dir is None:
            raise ValueError(
                "label_info_save_dir is not set, so the label-id files have nowhere to go: nothing is written "
                f"next to the data ({self.text_file.parent}). Set `label_info_save_dir` in the data config to the run "
                "or cache directory."
            )
        nemo_dir = self.label_info_save_dir / LABEL_ID_DIR_FOR_NEMO_CHECKPOINT
        punct_file, capit_file = nemo_dir / punct_labels_file_name, nemo_dir / capit_labels_file_name
        save_label_ids(self.punct_label_ids, punct_file)
        save_label_ids(self.capit_label_ids, capit_file)
        return punct_file, capit_file

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, idx: int) -> dict[str, np.ndarray]:
        """Batch ``idx`` (bucketing) or sample ``idx`` (``use_bucketing=False``).

        Returns:
            ``input_ids`` (int32), ``subtokens_mask`` (bool, first token of each word), ``punct_labels`` and
            ``capit_labels`` (int64 label ids, every token of a word has its word's labels), and with
            ``add_masks_and_segment_ids_to_batch``: ``segment_ids`` (int8 zeros), ``input_mask`` (bool, not
            padding), ``loss_mask`` (bool). Shapes ``(B, T)`` for batches, ``(T,)`` for single samples.
        """
        return self.batches[idx]

    def collate_fn(self, batches: list[dict[str, np.ndarray]]) -> dict[str, torch.Tensor]:
        """Tensors of one batch: unwrap it (bucketing, ``DataLoader`` ``batch_size=1``) or pad single samples.

        Returns:
            ``input_ids`` (int32), ``subtokens_mask`` (bool), ``punct_labels`` and ``capit_labels`` (int64),
            ``segment_ids`` (int32), ``input_mask`` and ``loss_mask`` (bool), each ``(B, T)``.

        Raises:
            ValueError: more than one batch with bucketing (the ``DataLoader`` batch size must be 1).
        """
        if not self.use_bucketing:
            return self._collate_samples(batches)
        if len(batches) != 1:
            raise ValueError(
                f"collate_fn got {len(batches)} batches; this dataset yields whole batches of {self.tokens_in_batch} "
                "tokens, so the DataLoader's batch_size must be 1."
            )
        batch = {key: torch.as_tensor(value) for key, value in batches[0].items()}
        if "segment_ids" in batch:
            batch["segment_ids"] = batch["segment_ids"].int()
        batch["punct_labels"] = batch["punct_labels"].long()
        batch["capit_labels"] = batch["capit_labels"].long()
        return batch

    def _collate_samples(self, samples: list[dict[str, np.ndarray]]) -> dict[str, torch.Tensor]:
        def padded(key: str, value: int | bool, dtype: torch.dtype) -> torch.Tensor:
            tensors = [torch.as_tensor(sample[key], dtype=dtype) for sample in samples]
            return pad_sequence(tensors, batch_first=True, padding_value=value)

        input_ids = padded("input_ids", self.tokenizer.pad_id, torch.int32)
        subtokens_mask = padded("subtokens_mask", False, torch.bool)
        segment_ids, input_mask, loss_mask = self._masks(input_ids.numpy(), subtokens_mask.numpy())
        return {
            "input_ids": input_ids,
            "subtokens_mask": subtokens_mask,
            "punct_labels": padded("punct_labels", self.punct_label_ids[self.pad_label], torch.long),
            "capit_labels": padded("capit_labels", self.capit_label_ids[self.pad_label], torch.long),
            "segment_ids": torch.as_tensor(segment_ids, dtype=torch.int32),
            "input_mask": torch.as_tensor(input_mask),
            "loss_mask": torch.as_tensor(loss_mask),
        }

"""Write a tarred punctuation and capitalization dataset (NeMo 1.23's ``create_tarred_dataset`` and its script).

Usage (NeMo's option names; NeMo keeps this script under ``examples/nlp/token_classification/data/``)::

    python -m nemo.collections.nlp.data.token_classification.create_tarred_dataset \\
        --text text_train.txt --labels labels_train.txt --output_dir tarred/ \\
        --tokenizer_name /path/to/hf_model_dir --tokens_in_batch 5000 --num_batches_per_tarfile 100

The text and labels files are read in fragments of ``--lines_per_dataset_fragment`` lines, processed in
parallel (``--n_jobs``). Each fragment is tokenized and packed into batches exactly as
``BertPunctuationCapitalizationDataset`` packs them (seed 42), and its batches are written to tar shards of
``--num_batches_per_tarfile`` batches. Fragments' leftover batches are regrouped into full shards; fewer than
``--num_batches_per_tarfile`` batches may be left out. The output directory then holds the shards
``<prefix>.tokens<N>.max_seq_length<M>.<tokenizer>.batches<B>.<i>.tar``, the metadata file
``metadata.<prefix>.tokens<N>.max_seq_length<M>.<tokenizer>.json``, ``punct_label_vocab.csv`` and
``capit_label_vocab.csv``. Batches are stored as ``.npz`` arrays, never pickles (``tarred_batch_shards``).

Both input files are read as everywhere else in the package (``iter_text_lines``): UTF-8, a leading byte-order
mark ignored, lines ending at ``"\\n"`` (a ``"\\r"`` before it is dropped, any other ``"\\r"`` stays in the line).
Every line is checked to be UTF-8 before any shard is written; label counts are checked per fragment. Errors
name ``file:line``.
"""

from __future__ import annotations

import argparse
import functools
import json
import multiprocessing as mp
import os
import re
import tarfile
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from nemo.collections.common.parts.preprocessing.manifest import decode_text_line, iter_text_lines
from nemo.collections.nlp.data.token_classification.label_id_files import (
    check_pad_label_id,
    create_label_ids,
    load_label_ids,
    save_label_ids,
)
from nemo.collections.nlp.data.token_classification.punctuation_capitalization_batching import (
    pack_into_batches,
)
from nemo.collections.nlp.data.token_classification.punctuation_capitalization_dataset import encode_queries
from nemo.collections.nlp.data.token_classification.punctuation_capitalization_files import (
    check_labels_known,
    parse_punctuation_capitalization_lines,
)
from nemo.collections.nlp.data.token_classification.tarred_batch_shards import (
    BATCH_FORMAT,
    read_batches,
    write_batch,
)
from nemo.utils import logging

__all__ = [
    "DEFAULT_CAPIT_LABEL_VOCAB_FILE_NAME",
    "DEFAULT_PUNCT_LABEL_VOCAB_FILE_NAME",
    "METADATA_BATCH_FORMAT_KEY",
    "METADATA_CAPIT_LABEL_VOCAB_KEY",
    "METADATA_PUNCT_LABEL_VOCAB_KEY",
    "build_label_ids_from_list_of_labels",
    "check_tar_file_prefix",
    "create_tarred_dataset",
    "get_args",
    "main",
]

METADATA_PUNCT_LABEL_VOCAB_KEY = "punct_label_vocab_file"
METADATA_CAPIT_LABEL_VOCAB_KEY = "capit_label_vocab_file"
METADATA_BATCH_FORMAT_KEY = "batch_format"
DEFAULT_PUNCT_LABEL_VOCAB_FILE_NAME = "punct_label_vocab.csv"
DEFAULT_CAPIT_LABEL_VOCAB_FILE_NAME = "capit_label_vocab.csv"
BATCH_SHUFFLING_RANDOM_SEED = 42
"""The seed of each fragment's batch packing: NeMo's dataset default, which its tarred-dataset writer uses."""

_NUMBER = "(0|[1-9][0-9]*)"
_IN_PROGRESS = "fragment{fragment_idx}.{file_idx}.tar"
_FINISHED = "fragment{fragment_idx}.num_batches{num_batches}.{file_idx}.tar"
_TO_REPACK = "fragment{fragment_idx}.num_batches{num_batches}.{file_idx}.tar.to_repack"
_WORK_FILE_PATTERNS = [
    re.compile(rf"fragment{_NUMBER}\.{_NUMBER}\.tar$"),
    re.compile(rf"fragment{_NUMBER}\.num_batches{_NUMBER}\.{_NUMBER}\.tar$"),
    re.compile(rf"fragment{_NUMBER}\.num_batches{_NUMBER}\.{_NUMBER}\.tar\.to_repack$"),
]
_NOT_ALLOWED_IN_FILE_NAME = re.compile("[^a-zA-Z0-9_.-]")
_REPLACE_IN_FILE_NAME = re.compile("-*[^a-zA-Z0-9_.-]+-*")
_DATASET_PARAMETERS = "{prefix}.tokens{tokens_in_batch}.max_seq_length{max_seq_length}.{tokenizer}"
_TAR_FINAL = ".batches{num_batches}.{ctr}.tar"
_BOM = b"\xef\xbb\xbf"
_TEXT_FILE, _LABELS_FILE = "text file", "labels file"


def check_tar_file_prefix(
    tar_file_prefix: str, error_class_or_function: type[Exception] | Callable[[str], object], var_name: str
) -> None:
    """Report characters other than ``A-Z a-z 0-9 _ - .`` in ``tar_file_prefix``.

    Args:
        tar_file_prefix: the prefix of the tar file names.
        error_class_or_function: an exception class to raise, or a function taking the message
            (``argparse.ArgumentParser.error``).
        var_name: the parameter name, for the message.
    """
    bad = sorted(set(_NOT_ALLOWED_IN_FILE_NAME.findall(tar_file_prefix)))
    if bad:
        message = (
            f"`{var_name}`={tar_file_prefix!r} has characters that are not allowed in file names: {bad[:10]}. "
            "Use only 'A-Z', 'a-z', '0-9', '_', '-', '.'."
        )
        if isinstance(error_class_or_function, type) and issubclass(error_class_or_function, Exception):
            raise error_class_or_function(message)
        error_class_or_function(message)


def build_label_ids_from_list_of_labels(pad_label: str, other_labels: Sequence[str]) -> dict[str, int]:
    """Label ids from the command line: ``pad_label`` is 0, ``other_labels`` follow in the given order.

    Raises:
        ValueError: a label repeats, or equals ``pad_label``.
    """
    label_ids = {pad_label: 0}
    for label in other_labels:
        if label in label_ids:
            raise ValueError(
                f"Label {label!r} is given twice (or equals the pad label {pad_label!r}); expected distinct labels "
                "other than the pad label."
            )
        label_ids[label] = len(label_ids)
    return label_ids


def _count_lines_and_fragment_starts(path: Path, lines_per_fragment: int, what: str) -> tuple[int, list[int]]:
    """The number of lines of ``path`` and the byte offset where each fragment starts.

    The lines are those of ``iter_text_lines`` (ending at ``"\\n"`` only; a file holding only a byte-order mark
    has none); each is decoded (``decode_text_line``) to check that it is UTF-8 before any work starts.

    Raises:
        ValueError: a line is not UTF-8 (the message names ``file:line``).
    """
    starts: list[int] = []
    count = offset = 0
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if number == 1 and raw == _BOM:  # only a byte-order mark: no lines
                break
            decode_text_line(raw, number, path, what=what)
            if (number - 1) % lines_per_fragment == 0:
                starts.append(offset)
            count, offset = number, offset + len(raw)
    return count, starts


def _read_fragment(path: Path, start: int, first_line_number: int, num_lines: int, what: str) -> list[str]:
    """Up to ``num_lines`` lines of ``path`` from byte ``start``, where line ``first_line_number`` begins."""
    lines = []
    with path.open("rb") as f:
        f.seek(start)
        for number in range(first_line_number, first_line_number + num_lines):
            raw = f.readline()
            if not raw:
                break
            lines.append(decode_text_line(raw, number, path, what=what))
    return lines


def _collect_unique_labels(labels_file: Path) -> tuple[set[str], set[str]]:
    """Every punctuation and capitalization label of ``labels_file``.

    Raises:
        ValueError: a label is not two characters, or a line is not UTF-8 (the message names ``file:line``).
    """
    punct, capit = set(), set()
    for number, line in iter_text_lines(labels_file, what=_LABELS_FILE):
        for position, pair in enumerate(line.split()):
            if len(pair) != 2:
                raise ValueError(
                    f"{labels_file}:{number}: label {pair!r} (word {position + 1}) is not two characters. "
                    "Expected a punctuation character then a capitalization character, like 'OU' or ',O'; fix "
                    "the line."
                )
            punct.add(pair[0])
            capit.add(pair[1])
    return punct, capit


def _label_dictionaries(
    labels_file: Path,
    pad_label: str,
    punct_label_ids: Mapping[str, int] | None,
    capit_label_ids: Mapping[str, int] | None,
    punct_label_vocab_file: Path | None,
    capit_label_vocab_file: Path | None,
) -> tuple[dict[str, int], dict[str, int]]:
    result = []
    for task, label_ids, vocab_file in (
        ("punct", punct_label_ids, punct_label_vocab_file),
        ("capit", capit_label_ids, capit_label_vocab_file),
    ):
        if label_ids is not None and vocab_file is not None:
            raise ValueError(f"Give at most one of `{task}_label_ids` and `{task}_label_vocab_file`.")
        if vocab_file is not None:
            label_ids = load_label_ids(vocab_file)
        if label_ids is not None:
            check_pad_label_id(label_ids, pad_label, str(vocab_file) if vocab_file else f"`{task}_label_ids`")
        result.append(None if label_ids is None else dict(label_ids))
    if result[0] is None or result[1] is None:
        punct_unique, capit_unique = _collect_unique_labels(labels_file)
        result[0] = result[0] or create_label_ids(punct_unique, pad_label)
        result[1] = result[1] or create_label_ids(capit_unique, pad_label)
    return result[0], result[1]


@dataclass(frozen=True)
class _TokenizerArgs:
    tokenizer_name: str
    tokenizer_model: str | None
    vocab_file: str | None
    merges_file: str | None
    special_tokens: tuple[tuple[str, str], ...]
    use_fast_tokenizer: bool


@functools.lru_cache(maxsize=2)
def _tokenizer(args: _TokenizerArgs):
    from nemo.collections.nlp.modules.common.tokenizer_utils import get_tokenizer

    return get_tokenizer(
        args.tokenizer_name,
        tokenizer_model=args.tokenizer_model,
        vocab_file=args.vocab_file,
        merges_file=args.merges_file,
        special_tokens=dict(args.special_tokens) or None,
        use_fast=args.use_fast_tokenizer,
    )


@dataclass(frozen=True)
class _Fragment:
    index: int
    text_file: Path
    labels_file: Path
    text_start: int
    labels_start: int
    first_line_number: int
    num_lines: int
    output_dir: Path
    max_seq_length: int
    tokens_in_batch: int
    num_batches_per_tarfile: int
    tokenizer: _TokenizerArgs
    pad_label: str
    punct_label_ids: tuple[tuple[str, int], ...]
    capit_label_ids: tuple[tuple[str, int], ...]


def _process_fragment(fragment: _Fragment) -> tuple[list[Path], Path | None]:
    """Pack one fragment into batches and write its shards; returns full shards and the leftover shard."""
    first = fragment.first_line_number
    text_lines = _read_fragment(
        fragment.text_file, fragment.text_start, first, fragment.num_lines, _TEXT_FILE
    )
    label_lines = _read_fragment(
        fragment.labels_file, fragment.labels_start, first, fragment.num_lines, _LABELS_FILE
    )
    data = parse_punctuation_capitalization_lines(
        text_lines, label_lines, fragment.text_file, fragment.labels_file, fragment.first_line_number
    )
    punct_label_ids, capit_label_ids = dict(fragment.punct_label_ids), dict(fragment.capit_label_ids)
    for lines, unique, label_ids, task in (
        (data.punct_labels, data.punct_unique, punct_label_ids, "punctuation"),
        (data.capit_labels, data.capit_unique, capit_label_ids, "capitalization"),
    ):
        check_labels_known(lines, unique, label_ids, fragment.labels_file, task, fragment.first_line_number)
    tokenizer = _tokenizer(fragment.tokenizer)
    features = encode_queries(
        data.text_lines,
        data.punct_labels,
        data.capit_labels,
        tokenizer,
        fragment.max_seq_length,
        punct_label_ids,
        capit_label_ids,
        fragment.pad_label,
    )
    batches = pack_into_batches(
        *features,
        np.random.RandomState(BATCH_SHUFFLING_RANDOM_SEED),
        fragment.tokens_in_batch,
        tokenizer.pad_id,
        punct_label_ids[fragment.pad_label],
        capit_label_ids[fragment.pad_label],
        dataset_description=f"fragment {fragment.index} of {fragment.text_file}",
    )
    finished: list[Path] = []
    leftover = None
    per_file = fragment.num_batches_per_tarfile
    for file_idx, first in enumerate(range(0, len(batches), per_file)):
        chunk = batches[first : first + per_file]
        in_progress = fragment.output_dir / _IN_PROGRESS.format(
            fragment_idx=fragment.index, file_idx=file_idx
        )
        with tarfile.open(in_progress, "w") as tar:
            for offset, batch in enumerate(chunk):
                write_batch(tar, f"fragment-{fragment.index}-batch-{first + offset}", batch)
        names = {"fragment_idx": fragment.index, "num_batches": len(chunk), "file_idx": file_idx}
        if len(chunk) == per_file:
            finished.append(in_progress.rename(fragment.output_dir / _FINISHED.format(**names)))
        else:
            leftover = in_progress.rename(fragment.output_dir / _TO_REPACK.format(**names))
    return finished, leftover


def _repack(leftovers: list[Path], output_dir: Path, num_batches_per_tarfile: int) -> list[Path]:
    """Regroup leftover batches into full shards; the last incomplete group is dropped."""
    repacked: list[Path] = []
    group: list[tuple[str, dict[str, np.ndarray]]] = []

    def flush() -> None:
        path = output_dir / f"repacked.num_batches{num_batches_per_tarfile}.{len(repacked)}.tar"
        with tarfile.open(path, "w") as tar:
            for key, batch in group:
                write_batch(tar, key, batch)
        repacked.append(path)
        group.clear()

    for leftover in leftovers:
        for key, batch in read_batches(leftover):
            group.append((key, batch))
            if len(group) == num_batches_per_tarfile:
                flush()
        leftover.unlink()
    if group:
        logging.info(
            f"Discarded {len(group)} batches that do not fill a tar file of {num_batches_per_tarfile}."
        )
    return repacked


def _remove_previous_output(output_dir: Path, final_pattern: re.Pattern, metadata_file: Path) -> None:
    if not output_dir.is_dir():
        return
    patterns = [
        *_WORK_FILE_PATTERNS,
        final_pattern,
        re.compile(rf"repacked\.num_batches{_NUMBER}\.{_NUMBER}\.tar$"),
    ]
    stale = [path for path in output_dir.iterdir() if any(p.match(path.name) for p in patterns)]
    stale += [
        path
        for path in (
            metadata_file,
            output_dir / DEFAULT_PUNCT_LABEL_VOCAB_FILE_NAME,
            output_dir / DEFAULT_CAPIT_LABEL_VOCAB_FILE_NAME,
        )
        if path.exists()
    ]
    if stale:
        logging.warning(
            f"Removing {len(stale)} files of an earlier tarred dataset from {output_dir}, e.g. "
            f"{', '.join(str(p) for p in stale[:3])}."
        )
        for path in stale:
            path.unlink()


def create_tarred_dataset(
    text_file: str | os.PathLike[str],
    labels_file: str | os.PathLike[str],
    output_dir: str | os.PathLike[str],
    max_seq_length: int,
    tokens_in_batch: int,
    lines_per_dataset_fragment: int,
    num_batches_per_tarfile: int,
    tokenizer_name: str,
    tokenizer_model: str | os.PathLike[str] | None = None,
    vocab_file: str | os.PathLike[str] | None = None,
    merges_file: str | os.PathLike[str] | None = None,
    special_tokens: Mapping[str, str] | None = None,
    use_fast_tokenizer: bool | None = True,
    pad_label: str = "O",
    punct_label_ids: Mapping[str, int] | None = None,
    capit_label_ids: Mapping[str, int] | None = None,
    punct_label_vocab_file: str | os.PathLike[str] | None = None,
    capit_label_vocab_file: str | os.PathLike[str] | None = None,
    tar_file_prefix: str | None = "punctuation_capitalization",
    n_jobs: int | None = None,
    audio_file: str | os.PathLike[str] | None = None,
    use_audio: bool | None = False,
    sample_rate: int | None = 16000,
) -> Path:
    """Write a tarred dataset from ``text_file`` and ``labels_file`` into ``output_dir``.

    Args:
        text_file: lower-case text without punctuation, a sentence a line.
        labels_file: the labels (``OU``, ``,O``...), a line per text line.
        output_dir: the directory receiving shards, metadata and label vocabularies (created if missing);
            files of an earlier dataset with the same parameters are removed first.
        max_seq_length: the longest sequence, ``[CLS]`` and ``[SEP]`` included; longer ones lose their end.
        tokens_in_batch: tokens per batch, padding and special tokens included.
        lines_per_dataset_fragment: lines tokenized and packed together by one worker.
        num_batches_per_tarfile: batches per shard.
        tokenizer_name: a Hugging Face tokenizer (local directory or cached hub id), ``sentencepiece`` or ``char``
            (``nemo.collections.nlp.modules.get_tokenizer``).
        tokenizer_model: the sentencepiece model.
        vocab_file: a vocabulary file for the tokenizer.
        merges_file: a BPE merges file.
        special_tokens: special tokens by role (``{"pad_token": "[PAD]"}``).
        use_fast_tokenizer: the fast Hugging Face tokenizer (default, unlike NeMo).
        pad_label: the padding and neutral label (id 0).
        punct_label_ids: punctuation label ids (``pad_label`` 0); at most one of this and the vocabulary file.
        capit_label_ids: capitalization label ids.
        punct_label_vocab_file: a punctuation label-id file (``pad_label`` first).
        capit_label_vocab_file: a capitalization label-id file.
        tar_file_prefix: the start of the shard names (``A-Z a-z 0-9 _ - .``).
        n_jobs: parallel worker processes; ``None``: the number of CPUs.
        audio_file: must be ``None``: lexical-audio data is not supported.
        use_audio: must be ``False``.
        sample_rate: unused without audio.

    Returns:
        The metadata file's path.

    Raises:
        FileNotFoundError: an input file is missing.
        ValueError: bad parameters, empty or mismatched files, a line that is not UTF-8 or a bad labels line
            (naming the file and line).
    """
    if use_audio or audio_file is not None:
        raise ValueError("Lexical-audio tarred data (use_audio, audio_file) is not supported by nemo-nlp.")
    for name, value in (
        ("max_seq_length", max_seq_length),
        ("tokens_in_batch", tokens_in_batch),
        ("lines_per_dataset_fragment", lines_per_dataset_fragment),
        ("num_batches_per_tarfile", num_batches_per_tarfile),
    ):
        if value < 1:
            raise ValueError(f"{name}={value}; expected a positive integer.")
    check_tar_file_prefix(tar_file_prefix, ValueError, "tar_file_prefix")
    text_file, labels_file = Path(text_file).expanduser(), Path(labels_file).expanduser()
    output_dir = Path(output_dir).expanduser()
    for path, what in ((text_file, "text"), (labels_file, "labels")):
        if not path.is_file():
            raise FileNotFoundError(f"The {what} file {path} was not found; give an existing file.")
    parameters = _DATASET_PARAMETERS.format(
        prefix=tar_file_prefix,
        tokens_in_batch=tokens_in_batch,
        max_seq_length=max_seq_length,
        tokenizer=_REPLACE_IN_FILE_NAME.sub("-", tokenizer_name),
    )
    final_template = parameters + _TAR_FINAL
    metadata_file = output_dir / f"metadata.{parameters}.json"
    final_pattern = re.compile(re.escape(parameters) + rf"\.batches{_NUMBER}\.{_NUMBER}\.tar$")
    _remove_previous_output(output_dir, final_pattern, metadata_file)

    num_lines, text_starts = _count_lines_and_fragment_starts(
        text_file, lines_per_dataset_fragment, _TEXT_FILE
    )
    num_label_lines, label_starts = _count_lines_and_fragment_starts(
        labels_file, lines_per_dataset_fragment, _LABELS_FILE
    )
    if num_lines != num_label_lines:
        raise ValueError(
            f"{text_file} has {num_lines} lines but {labels_file} has {num_label_lines}. Expected one label line per "
            "text line; fix the files."
        )
    if num_lines == 0:
        raise ValueError(
            f"{text_file} and {labels_file} are empty; a tarred dataset needs at least one line."
        )
    output_dir.mkdir(parents=True, exist_ok=True)
    punct_ids, capit_ids = _label_dictionaries(
        labels_file,
        pad_label,
        punct_label_ids,
        capit_label_ids,
        None if punct_label_vocab_file is None else Path(punct_label_vocab_file).expanduser(),
        None if capit_label_vocab_file is None else Path(capit_label_vocab_file).expanduser(),
    )
    tokenizer_args = _TokenizerArgs(
        tokenizer_name,
        None if tokenizer_model is None else str(Path(tokenizer_model).expanduser()),
        None if vocab_file is None else str(Path(vocab_file).expanduser()),
        None if merges_file is None else str(Path(merges_file).expanduser()),
        tuple(sorted((special_tokens or {}).items())),
        True if use_fast_tokenizer is None else bool(use_fast_tokenizer),
    )
    fragments = [
        _Fragment(
            index=index,
            text_file=text_file,
            labels_file=labels_file,
            text_start=text_start,
            labels_start=label_start,
            first_line_number=index * lines_per_dataset_fragment + 1,
            num_lines=lines_per_dataset_fragment,
            output_dir=output_dir,
            max_seq_length=max_seq_length,
            tokens_in_batch=tokens_in_batch,
            num_batches_per_tarfile=num_batches_per_tarfile,
            tokenizer=tokenizer_args,
            pad_label=pad_label,
            punct_label_ids=tuple(punct_ids.items()),
            capit_label_ids=tuple(capit_ids.items()),
        )
        for index, (text_start, label_start) in enumerate(zip(text_starts, label_starts))
    ]
    workers = min(mp.cpu_count() if n_jobs is None else max(n_jobs, 1), len(fragments))
    logging.info(
        f"Creating a tarred dataset from {num_lines} lines in {len(fragments)} fragments, {workers} workers."
    )
    if workers > 1:
        with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn")) as pool:
            results = list(pool.map(_process_fragment, fragments))
    else:
        results = [_process_fragment(fragment) for fragment in fragments]
    finished = [path for shards, _ in results for path in shards]
    finished += _repack(
        [left for _, left in results if left is not None], output_dir, num_batches_per_tarfile
    )

    save_label_ids(punct_ids, output_dir / DEFAULT_PUNCT_LABEL_VOCAB_FILE_NAME)
    save_label_ids(capit_ids, output_dir / DEFAULT_CAPIT_LABEL_VOCAB_FILE_NAME)
    tar_files = []
    for ctr, path in enumerate(finished):
        final = path.rename(output_dir / final_template.format(num_batches=num_batches_per_tarfile, ctr=ctr))
        tar_files.append(final.name)
    metadata = {
        "num_batches": num_batches_per_tarfile * len(tar_files),
        "tar_files": tar_files,
        METADATA_PUNCT_LABEL_VOCAB_KEY: DEFAULT_PUNCT_LABEL_VOCAB_FILE_NAME,
        METADATA_CAPIT_LABEL_VOCAB_KEY: DEFAULT_CAPIT_LABEL_VOCAB_FILE_NAME,
        METADATA_BATCH_FORMAT_KEY: BATCH_FORMAT,
    }
    metadata_file.write_text(json.dumps(metadata, indent=2) + "\n", encoding="utf-8")
    logging.info(
        f"{metadata['num_batches']} batches in {len(tar_files)} tar files; metadata in {metadata_file}."
    )
    if not tar_files:
        logging.warning(
            f"No tar file was written: the data gives fewer than num_batches_per_tarfile={num_batches_per_tarfile} "
            "batches. Lower --num_batches_per_tarfile or --tokens_in_batch."
        )
    return metadata_file


def get_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line (NeMo's option names and defaults, but a fast tokenizer by default)."""
    parser = argparse.ArgumentParser(
        prog="python -m nemo.collections.nlp.data.token_classification.create_tarred_dataset",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="Write a tarred punctuation and capitalization dataset: tar shards of ready batches (.npz "
        "arrays, no pickles), a metadata JSON file and the label vocabulary files, for "
        "BertPunctuationCapitalizationTarredDataset.",
    )
    parser.add_argument("--text", "-t", type=Path, required=True, help="Lower-case text without punctuation.")
    parser.add_argument(
        "--labels", "-L", type=Path, required=True, help="Labels (OU, ,O ...), a line per text line."
    )
    parser.add_argument("--output_dir", "-o", type=Path, required=True, help="Where shards and metadata go.")
    parser.add_argument(
        "--max_seq_length", "-s", type=int, default=512, help="Longest sequence, [CLS]/[SEP] included."
    )
    parser.add_argument(
        "--tokens_in_batch", "-b", type=int, default=15000, help="Tokens per batch, padding included."
    )
    parser.add_argument(
        "--lines_per_dataset_fragment", type=int, default=10**6, help="Lines per worker task."
    )
    parser.add_argument("--num_batches_per_tarfile", type=int, default=1000, help="Batches per tar file.")
    parser.add_argument(
        "--tokenizer_name", "-T", default="bert-base-uncased", help="HF tokenizer dir/id, etc."
    )
    parser.add_argument("--tokenizer_model", "-m", type=Path, help="Sentencepiece model.")
    parser.add_argument("--vocab_file", "-v", type=Path, help="Tokenizer vocabulary file.")
    parser.add_argument("--merges_file", "-M", type=Path, help="BPE merges file.")
    parser.add_argument(
        "--special_token_names", "-n", nargs="+", help="Roles of special tokens (pad_token ...)."
    )
    parser.add_argument("--special_token_values", "-V", nargs="+", help="Special tokens, one per name.")
    parser.add_argument(
        "--use_fast_tokenizer",
        "-f",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="Fast HF tokenizer.",
    )
    parser.add_argument("--pad_label", "-P", default="O", help="Padding and neutral label of both tasks.")
    punct = parser.add_mutually_exclusive_group()
    punct.add_argument(
        "--punct_labels", "-p", nargs="+", help="Punctuation labels except the pad label, in id order."
    )
    punct.add_argument(
        "--punct_label_vocab_file", type=Path, help="Punctuation label-id file (pad label first)."
    )
    capit = parser.add_mutually_exclusive_group()
    capit.add_argument("--capit_labels", "-c", nargs="+", help="Capitalization labels except the pad label.")
    capit.add_argument(
        "--capit_label_vocab_file", type=Path, help="Capitalization label-id file (pad label first)."
    )
    parser.add_argument(
        "--tar_file_prefix", "-x", default="punctuation_capitalization", help="Tar file name start."
    )
    parser.add_argument("--n_jobs", "-j", type=int, default=mp.cpu_count(), help="Worker processes.")
    parser.add_argument("--audio_file", type=Path, help="Not supported (lexical-audio data).")
    parser.add_argument("--use_audio", action="store_true", help="Not supported (lexical-audio data).")
    parser.add_argument("--sample_rate", type=int, help="Not supported (lexical-audio data).")
    args = parser.parse_args(argv)
    if args.use_audio or args.audio_file is not None:
        parser.error("--use_audio/--audio_file: lexical-audio punctuation data is not supported by nemo-nlp.")
    names, values = args.special_token_names, args.special_token_values
    if (names is None) != (values is None):
        parser.error("Give both --special_token_names and --special_token_values, or neither.")
    if names is not None:
        if len(names) != len(values):
            parser.error(
                f"--special_token_names has {len(names)} values but --special_token_values has {len(values)}; "
                "give one value per name."
            )
        if len(set(names)) != len(names):
            parser.error(f"--special_token_names repeats a name: {names}; give each role once.")
    for option, labels in (("--punct_labels", args.punct_labels), ("--capit_labels", args.capit_labels)):
        if labels is not None:
            try:
                build_label_ids_from_list_of_labels(args.pad_label, labels)
            except ValueError as error:
                parser.error(f"{option}: {error}")
    check_tar_file_prefix(args.tar_file_prefix, parser.error, "--tar_file_prefix")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    """Create a tarred dataset from the command line (see the module docstring)."""
    args = get_args(argv)
    special_tokens = None
    if args.special_token_names is not None:
        special_tokens = dict(zip(args.special_token_names, args.special_token_values))
    create_tarred_dataset(
        args.text,
        args.labels,
        args.output_dir,
        args.max_seq_length,
        args.tokens_in_batch,
        args.lines_per_dataset_fragment,
        args.num_batches_per_tarfile,
        args.tokenizer_name,
        tokenizer_model=args.tokenizer_model,
        vocab_file=args.vocab_file,
        merges_file=args.merges_file,
        special_tokens=special_tokens,
        use_fast_tokenizer=args.use_fast_tokenizer,
        pad_label=args.pad_label,
        punct_label_ids=None
        if args.punct_labels is None
        else build_label_ids_from_list_of_labels(args.pad_label, args.punct_labels),
        capit_label_ids=None
        if args.capit_labels is None
        else build_label_ids_from_list_of_labels(args.pad_label, args.capit_labels),
        punct_label_vocab_file=args.punct_label_vocab_file,
        capit_label_vocab_file=args.capit_label_vocab_file,
        tar_file_prefix=args.tar_file_prefix,
        n_jobs=args.n_jobs,
    )


if __name__ == "__main__":
    main()

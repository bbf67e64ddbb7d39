"""NeMo 1.23's packing of punctuation and capitalization samples into batches of at most ``tokens_in_batch`` tokens.

Samples are shuffled, sorted by length (stable), and cut into consecutive batches such that
- a batch's padded length is its longest sample rounded up to a multiple of 8,
- padded length x batch size stays within ``tokens_in_batch``,
- batch sizes are multiples of 8, except the last batch and batches of samples too long for 8 of them.

Every sample lands in exactly one batch, even a sample longer than ``tokens_in_batch`` (it forms its own batch).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from nemo.utils import logging

__all__ = [
    "BatchMarkUp",
    "adjust_number_of_batches",
    "mark_up_batches",
    "pack_into_batches",
    "pad_and_stack",
    "round_up_to_8",
]

BatchMarkUp = tuple[list[int], list[int], list[int]]
"""``(beginnings, sizes, seq_lengths)``: each batch's first sample (in sorted order), sample count, padded length."""


def round_up_to_8(length: int) -> int:
    """``length`` rounded up to a multiple of 8."""
    return -(-int(length) // 8) * 8


def mark_up_batches(sorted_lengths: np.ndarray, tokens_in_batch: int) -> BatchMarkUp:
    """Cut length-sorted samples into batches (NeMo's ``_mark_up_batches``).

    Args:
        sorted_lengths: sample lengths in tokens (``[CLS]``/``[SEP]`` included), ascending, shape ``(N,)``.
        tokens_in_batch: the largest padded length x batch size of a batch.

    Returns:
        ``(beginnings, sizes, seq_lengths)`` of consecutive batches covering all samples.
    """
    beginnings: list[int] = []
    sizes: list[int] = []
    seq_lengths: list[int] = []
    start = 0
    current_max = 0
    for i, length in enumerate(sorted_lengths):
        current_max = max(current_max, round_up_to_8(length))
        if current_max * (i + 1 - start) <= tokens_in_batch:
            continue
        size = (i - start) // 8 * 8
        if size == 0:
            if i == start:
                # Sample ``i`` alone exceeds ``tokens_in_batch``; it is batched with whatever follows it.
                logging.warning(
                    f"Sample {i} ({int(length)} tokens, padded to {current_max}) does not fit in a batch of "
                    f"{tokens_in_batch} tokens; it gets a batch of its own. Increase `tokens_in_batch` or lower "
                    "`max_seq_length`."
                )
                continue
            size = i - start
            logging.warning(
                f"Could not make a batch whose size is a multiple of 8: samples are {current_max} tokens long and "
                f"tokens_in_batch={tokens_in_batch}. Batch size reduced to {size} (samples {start} to {i - 1})."
            )
        beginnings.append(start)
        sizes.append(size)
        seq_lengths.append(round_up_to_8(sorted_lengths[start + size - 1]))
        start += size
        current_max = round_up_to_8(sorted_lengths[i])
    if start < len(sorted_lengths):
        beginnings.append(start)
        sizes.append(len(sorted_lengths) - start)
        seq_lengths.append(round_up_to_8(sorted_lengths[-1]))
    return beginnings, sizes, seq_lengths


def adjust_number_of_batches(
    sorted_lengths: np.ndarray, markup: BatchMarkUp, multiple: int, dataset_description: str
) -> BatchMarkUp:
    """Split batches until their number is a multiple of ``multiple`` (NeMo's ``_adjust_number_of_batches``).

    Pieces of 8 samples are cut from the start of batches, last batch first; then pieces of 1 if needed. If the
    data cannot give enough batches, a warning is logged and the mark-up is returned unchanged.

    Args:
        sorted_lengths: sample lengths, ascending, shape ``(N,)``.
        markup: ``(beginnings, sizes, seq_lengths)`` from ``mark_up_batches``.
        multiple: the wanted divisor of the number of batches (number of data-parallel processes).
        dataset_description: names the dataset's files in the warning.

    Returns:
        The new ``(beginnings, sizes, seq_lengths)``, ordered by beginning.
    """
    beginnings, sizes, seq_lengths = (list(values) for values in markup)
    missing = (multiple - len(sizes) % multiple) % multiple
    if missing == 0:
        return beginnings, sizes, seq_lengths
    if sum(sizes) - len(sizes) < missing:
        logging.warning(
            f"Unable to make the number of batches a multiple of {multiple}: {dataset_description} holds too few "
            f"samples ({sum(sizes)}) or too long ones. The dataset keeps {len(sizes)} batches, so with several "
            "processes some batches are evaluated twice and metrics are distorted. Try a larger `tokens_in_batch`."
        )
        return beginnings, sizes, seq_lengths
    cut = 0
    for piece in (8, 1):
        index = len(sizes) - 1
        while index >= 0 and cut < missing:
            size, begin = sizes[index], beginnings[index]
            offset = 0
            if offset < size - piece:
                while offset < size - piece and cut < missing:
                    beginnings.append(begin + offset)
                    sizes.append(piece)
                    seq_lengths.append(round_up_to_8(sorted_lengths[begin + offset + piece - 1]))
                    offset += piece
                    cut += 1
                beginnings[index], sizes[index] = begin + offset, size - offset
                seq_lengths[index] = round_up_to_8(sorted_lengths[begin + size - 1])
            index -= 1
        order = sorted(range(len(beginnings)), key=beginnings.__getitem__)
        beginnings, sizes, seq_lengths = (
            [values[i] for i in order] for values in (beginnings, sizes, seq_lengths)
        )
    return beginnings, sizes, seq_lengths


def pad_and_stack(vectors: Sequence[np.ndarray], length: int, value: int | bool) -> np.ndarray:
    """Right-pad 1-D arrays to ``length`` with ``value`` and stack them: shape ``(len(vectors), length)``."""
    out = np.full((len(vectors), length), value, dtype=vectors[0].dtype)
    for row, vector in zip(out, vectors):
        row[: vector.size] = vector
    return out


def pack_into_batches(
    input_ids: Sequence[np.ndarray],
    subtokens_mask: Sequence[np.ndarray],
    punct_labels: Sequence[np.ndarray],
    capit_labels: Sequence[np.ndarray],
    random_state: np.random.RandomState,
    tokens_in_batch: int,
    pad_id: int,
    punct_pad_id: int,
    capit_pad_id: int,
    number_of_batches_is_multiple_of: int = 1,
    dataset_description: str = "the dataset",
) -> list[dict[str, np.ndarray]]:
    """Shuffle, sort by length, pack and pad samples into batches, then shuffle the batches (NeMo's draws).

    ``random_state`` is used as NeMo uses it: one permutation of the samples, then one of the batches; a
    ``RandomState`` seeded like NeMo's gives NeMo's batches.

    Args:
        input_ids: per sample, token ids ``(T_i,)`` (int32).
        subtokens_mask: per sample, ``True`` on the first token of each word ``(T_i,)``.
        punct_labels: per sample, punctuation label ids ``(T_i,)``.
        capit_labels: per sample, capitalization label ids ``(T_i,)``.
        random_state: the shuffling state; advanced by the call.
        tokens_in_batch: the largest padded length x batch size.
        pad_id: the padding token id.
        punct_pad_id: the pad label's punctuation id.
        capit_pad_id: the pad label's capitalization id.
        number_of_batches_is_multiple_of: split batches until their number divides by this.
        dataset_description: names the data in warnings.

    Returns:
        Batches of ``(B, T)`` arrays: ``input_ids`` (int32), ``subtokens_mask`` (bool), ``punct_labels`` and
        ``capit_labels`` (int64).
    """
    lengths = np.array([ids.size for ids in input_ids], dtype=np.int64)
    order = random_state.permutation(len(lengths))
    order = order[np.argsort(lengths[order], kind="stable")]
    sorted_lengths = lengths[order]
    markup = mark_up_batches(sorted_lengths, tokens_in_batch)
    if len(markup[0]) % number_of_batches_is_multiple_of:
        markup = adjust_number_of_batches(
            sorted_lengths, markup, number_of_batches_is_multiple_of, dataset_description
        )
    batches = []
    for start, size, length in zip(*markup):
        samples = order[start : start + size]
        batches.append(
            {
                "input_ids": pad_and_stack([input_ids[i] for i in samples], length, pad_id),
                "subtokens_mask": pad_and_stack([subtokens_mask[i] for i in samples], length, False),
                "punct_labels": pad_and_stack(
                    [punct_labels[i] for i in samples], length, punct_pad_id
                ).astype(np.int64),
                "capit_labels": pad_and_stack(
                    [capit_labels[i] for i in samples], length, capit_pad_id
                ).astype(np.int64),
            }
        )
    shuffle = random_state.permutation(len(batches))
    return [batches[i] for i in shuffle]

"""Punctuation and capitalization inference data: queries cut into NeMo 1.23's overlapping segments.

Segmentation (exactly NeMo's ``get_features_infer``). Let ``L`` be the number of subword tokens of the longest
query. If ``max_seq_length > L + 2`` every query fits in one segment: ``max_seq_length`` becomes ``L + 2`` and
``step`` becomes 1. Otherwise segments hold ``length = max_seq_length - 2`` tokens and ``step`` becomes
``min(length - 2 * margin, step)``. A query of ``n`` tokens gives the segments starting at token
``0, step, 2 * step, ...`` below ``max(n, length) - length + step``; segment ``k`` holds tokens
``[k * step, k * step + length)`` between ``[CLS]`` and ``[SEP]``, so the last segment reaches the query's end.
Segments of all queries come in query order, each query's segments in order.

Contract with the model (NeMo's ``add_punctuation_capitalization``), per segment of a collated batch:
- ``input_ids``, ``segment_ids``, ``input_mask``, ``subtokens_mask``: ``(B, T)`` tensors, ``T`` the batch's
  longest segment, padded with 0 (``input_mask`` is float 1.0 on real tokens, ``subtokens_mask`` is ``True`` on
  the first token of each word);
- ``quantities_of_preceding_words``: the number of words of the query that start before the segment's first
  token (the index of the segment's first whole word, or of the word whose tail the segment starts with);
- ``query_ids``: the index of the segment's query in ``queries``;
- ``is_first`` / ``is_last``: whether the segment is the query's first / last.

NeMo then, for each segment: drops ``[CLS]`` plus ``margin`` tokens on the left unless ``is_first``, and
``margin`` tokens plus ``[SEP]`` on the right unless ``is_last`` (counted from the padded length ``T``; only a
query's last segment can be shorter than ``T``); adds to ``quantities_of_preceding_words`` the number of
``subtokens_mask`` positions among the first ``margin + 1`` tokens when the left margin was dropped (the
segment's first kept word); keeps the softmax probabilities of the remaining ``subtokens_mask`` positions, one
per word; multiplies them into the probabilities accumulated for the same words of the query from earlier
segments; and fixes (argmax) each word once no later segment can cover it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from nemo.collections.nlp.data.data_utils.data_preprocessing import get_stats
from nemo.collections.nlp.data.token_classification.word_tokenization import tokenize_words
from nemo.core.classes import Dataset
from nemo.core.neural_types import BoolType, ChannelType, Index, MaskType, NeuralType
from nemo.utils import logging
from torch.nn.utils.rnn import pad_sequence

__all__ = ["BertPunctuationCapitalizationInferDataset", "get_features_infer"]

InferFeatures = tuple[
    list[np.ndarray],
    list[np.ndarray],
    list[np.ndarray],
    list[np.ndarray],
    list[int],
    list[int],
    list[bool],
    list[bool],
]


def _check_max_seq_length_and_margin_and_step(max_seq_length: int, margin: int, step: int) -> None:
    if max_seq_length < 3:
        raise ValueError(
            f"max_seq_length={max_seq_length} is below 3: a segment needs [CLS], at least one token and [SEP]. "
            "Expected max_seq_length >= 3."
        )
    if margin < 0 or (margin > 0 and margin >= (max_seq_length - 2) // 2):
        raise ValueError(
            f"margin={margin} with max_seq_length={max_seq_length}: expected 0 <= margin < (max_seq_length - 2) // 2 "
            f"= {(max_seq_length - 2) // 2} (the margins of both sides, plus [CLS] and [SEP], must leave room). "
            "Lower margin or raise max_seq_length."
        )
    if step <= 0:
        raise ValueError(f"step={step}; expected a positive number of tokens between consecutive segments.")
    if step > max_seq_length - 2 - 2 * margin:
        logging.warning(
            f"step={step} is larger than max_seq_length - 2 - 2 * margin = {max_seq_length - 2 - 2 * margin}; it is "
            "reduced to min(max_seq_length, longest query + 2) - 2 - 2 * margin."
        )


def get_features_infer(
    queries: Sequence[str],
    tokenizer,
    max_seq_length: int = 64,
    step: int = 8,
    margin: int = 16,
) -> InferFeatures:
    """Cut queries into overlapping segments (see the module docstring for the exact rule).

    Args:
        queries: lower-case text without punctuation; words separated by whitespace.
        tokenizer: a NeMo tokenizer with ``cls_id``, ``sep_id``, ``unk_id`` (``AutoTokenizer``).
        max_seq_length: segment length, ``[CLS]`` and ``[SEP]`` included.
        step: offset in tokens between consecutive segments of a query.
        margin: tokens at each inner segment edge whose predictions the model discards.

    Returns:
        Per segment: ``input_ids`` (int64 ``(T_s,)``), ``segment_ids`` (int64 zeros), ``input_mask`` (float32
        ones), ``subtokens_mask`` (bool), then ``quantities_of_preceding_words``, ``query_ids``, ``is_first``,
        ``is_last``.

    Raises:
        ValueError: ``max_seq_length`` below 3, ``margin`` negative or too large, ``step`` not positive.
    """
    _check_max_seq_length_and_margin_and_step(max_seq_length, margin, step)
    tokens = tokenize_words([query.split() for query in queries], tokenizer)
    lengths = [t.ids.size for t in tokens]
    get_stats(lengths)
    longest = max(lengths, default=0)
    if max_seq_length > longest + 2:
        # Every query fits in one segment (NeMo then lowers max_seq_length to longest + 2 and step to 1).
        length, step = longest, 1
    else:
        length = max_seq_length - 2
        step = min(length - 2 * margin, step)
    logging.info(f"Max length: {length + 2}")
    cls_id, sep_id = tokenizer.cls_id, tokenizer.sep_id
    input_ids, segment_ids, input_mask, subtokens_mask = [], [], [], []
    preceding_words, query_ids, is_first, is_last = [], [], [], []
    for query_index, t in enumerate(tokens):
        first = t.first_token_mask
        words_before = np.concatenate([[0], np.cumsum(first)])
        starts = range(0, max(t.ids.size, length) - length + step, step)
        for k, start in enumerate(starts):
            ids = np.concatenate([[cls_id], t.ids[start : start + length], [sep_id]]).astype(np.int64)
            input_ids.append(ids)
            segment_ids.append(np.zeros(ids.size, dtype=np.int64))
            input_mask.append(np.ones(ids.size, dtype=np.float32))
            subtokens_mask.append(np.concatenate([[False], first[start : start + length], [False]]))
            preceding_words.append(int(words_before[start]))
            query_ids.append(query_index)
            is_first.append(k == 0)
            is_last.append(k == len(starts) - 1)
    return input_ids, segment_ids, input_mask, subtokens_mask, preceding_words, query_ids, is_first, is_last


class BertPunctuationCapitalizationInferDataset(Dataset):
    """Inference segments of punctuation and capitalization queries, in NeMo 1.23's order and format.

    A word that gives no token (a lone zero-width or control character) is one ``[UNK]`` token, as in training
    data; NeMo 1.23 gives it no token but still a ``subtokens_mask`` entry, which shifts the mask.

    Args:
        queries: lower-case text without punctuation; words separated by whitespace.
        tokenizer: a NeMo tokenizer with ``cls_id``, ``sep_id``, ``unk_id`` (``AutoTokenizer``).
        max_seq_length: segment length, ``[CLS]`` and ``[SEP]`` included.
        step: offset in tokens between consecutive segments of a query.
        margin: tokens at each inner segment edge whose predictions the model discards.
        audio_queries: must be ``None``: lexical-audio inference is not supported.
        target_sr: unused without audio.

    Raises:
        ValueError: bad ``max_seq_length``, ``step`` or ``margin``, or ``audio_queries`` given.
    """

    @property
    def output_types(self) -> dict[str, NeuralType]:
        """Neural types of ``collate_fn``'s output."""
        return {
            "input_ids": NeuralType(("B", "T"), ChannelType()),
            "segment_ids": NeuralType(("B", "T"), ChannelType()),
            "input_mask": NeuralType(("B", "T"), MaskType()),
            "subtokens_mask": NeuralType(("B", "T"), MaskType()),
            "quantities_of_preceding_words": NeuralType(("B",), Index()),
            "query_ids": NeuralType(("B",), Index()),
            "is_first": NeuralType(("B",), BoolType()),
            "is_last": NeuralType(("B",), BoolType()),
        }

    def __init__(
        self,
        queries: Sequence[str],
        tokenizer,
        max_seq_length: int = 64,
        step: int = 8,
        margin: int = 16,
        audio_queries: Sequence[str] | Sequence[bytes] | None = None,
        target_sr: int | None = None,
    ) -> None:
        if audio_queries is not None:
            raise ValueError(
                "audio_queries were given, but lexical-audio punctuation inference is not supported by nemo-nlp. "
                "Pass audio_queries=None."
            )
        self.use_audio = False
        (
            self.all_input_ids,
            self.all_segment_ids,
            self.all_input_mask,
            self.all_subtokens_mask,
            self.all_quantities_of_preceding_words,
            self.all_query_ids,
            self.all_is_first,
            self.all_is_last,
        ) = get_features_infer(queries, tokenizer, max_seq_length=max_seq_length, step=step, margin=margin)

    def __len__(self) -> int:
        return len(self.all_input_ids)

    def __getitem__(
        self, idx: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int, int, bool, bool]:
        """Segment ``idx``: ``(input_ids, segment_ids, input_mask, subtokens_mask, quantities_of_preceding_words,
        query_ids, is_first, is_last)``; the arrays are ``(T,)`` (int64, int64, float32, bool)."""
        return (
            self.all_input_ids[idx],
            self.all_segment_ids[idx],
            self.all_input_mask[idx],
            self.all_subtokens_mask[idx],
            self.all_quantities_of_preceding_words[idx],
            self.all_query_ids[idx],
            self.all_is_first[idx],
            self.all_is_last[idx],
        )

    def collate_fn(
        self, batch: list[tuple]
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, tuple, tuple, tuple, tuple]:
        """Pad segments into a batch.

        Returns:
            ``input_ids`` (int64), ``segment_ids`` (int64), ``input_mask`` (float32), ``subtokens_mask`` (bool), each
            ``(B, T)`` padded with 0; then tuples of ``B`` items: ``quantities_of_preceding_words``, ``query_ids``,
            ``is_first``, ``is_last``.
        """
        inp_ids, segment_ids, inp_mask, st_mask, n_preceding, query_ids, is_first, is_last = zip(*batch)

        def padded(arrays: tuple[np.ndarray, ...]) -> torch.Tensor:
            return pad_sequence([torch.from_numpy(a) for a in arrays], batch_first=True, padding_value=0)

        return (
            padded(inp_ids),
            padded(segment_ids),
            padded(inp_mask),
            padded(st_mask),
            n_preceding,
            query_ids,
            is_first,
            is_last,
        )

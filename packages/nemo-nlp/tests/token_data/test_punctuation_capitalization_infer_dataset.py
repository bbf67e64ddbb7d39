"""Inference segments of ``BertPunctuationCapitalizationInferDataset`` against NeMo 1.23 and by hand."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from nemo.collections.nlp.data.token_classification.punctuation_capitalization_infer_dataset import (
    BertPunctuationCapitalizationInferDataset,
    get_features_infer,
)

DATA = Path(__file__).resolve().parent / "data"
FIXTURE = json.loads((DATA / "punctcap_minilm_tiny.json").read_text(encoding="utf-8"))
CASES = ["fixture", "fixture_default", "bbc_default", "bbc_short", "bbc_step_capped", "bbc_no_margin", "tiny"]


@pytest.mark.parametrize("name", CASES)
def test_segments_match_nemo(tokenizer, nemo_reference: dict, name: str) -> None:
    [case] = [c for c in nemo_reference["infer"] if c["name"] == name]
    features = get_features_infer(
        case["queries"],
        tokenizer,
        max_seq_length=case["max_seq_length"],
        step=case["step"],
        margin=case["margin"],
    )
    ids, segment_ids, input_mask, subtokens_mask, preceding, query_ids, is_first, is_last = features
    assert [a.tolist() for a in ids] == case["input_ids"]
    assert [a.tolist() for a in subtokens_mask] == case["subtokens_mask"]
    assert preceding == case["quantities_of_preceding_words"]
    assert query_ids == case["query_ids"]
    assert is_first == case["is_first"] and is_last == case["is_last"]
    assert all(not s.any() and s.shape == a.shape for s, a in zip(segment_ids, ids))
    assert all(m.dtype == np.float32 and (m == 1).all() for m in input_mask)
    dataset = BertPunctuationCapitalizationInferDataset(
        case["queries"], tokenizer, case["max_seq_length"], case["step"], case["margin"]
    )
    collated = dataset.collate_fn([dataset[i] for i in range(min(3, len(dataset)))])
    dtypes = [str(x.dtype) if isinstance(x, torch.Tensor) else type(x).__name__ for x in collated]
    assert dtypes == case["collate_dtypes"]


def test_fixture_segmentation_by_hand(tokenizer) -> None:
    # max_seq_length=8, step=2, margin=1: segments of 6 tokens, step min(6 - 2 * 1, 2) = 2. Every word here is one
    # token: a query of n tokens starts segments at 0, 2, ... below max(n, 6) - 6 + 2.
    queries = FIXTURE["queries"]
    assert FIXTURE["segmented"]["kwargs"] == {"batch_size": 2, "max_seq_length": 8, "step": 2, "margin": 1}
    features = get_features_infer(queries, tokenizer, max_seq_length=8, step=2, margin=1)
    ids, _, _, subtokens, preceding, query_ids, is_first, is_last = features
    london = [2026, 2171, 2003, 5650, 1998, 1045, 2444, 1999, 2414]  # my name is alice and i live in london
    assert [a.tolist() for a in ids[1:4]] == [
        [101, *london[0:6], 102],
        [101, *london[2:8], 102],
        [101, *london[4:9], 102],
    ]
    assert ids[0].tolist() == [101, 7592, 2129, 2024, 2017, 102]  # hello how are you: one short segment
    assert query_ids == [0, 1, 1, 1, 2, 3, 3, 3]
    assert preceding == [0, 0, 2, 4, 0, 0, 2, 4]
    assert is_first == [True, True, False, False, True, True, False, False]
    assert is_last == [True, False, False, True, True, False, False, True]
    assert subtokens[1].tolist() == [False] + [True] * 6 + [False]


def test_segments_of_split_words_by_hand(tokenizer) -> None:
    # "tokenization" is token ##ization: a segment may start inside a word; it then starts no word there.
    [ids, _, _, subtokens, preceding, _, is_first, is_last] = get_features_infer(
        ["the tokenization works", "a"], tokenizer, max_seq_length=5, step=1, margin=0
    )
    # the 1996, token 19204, ##ization 3989, works 2573; longest 4 tokens -> segments of 3 tokens, step 1
    assert [a.tolist() for a in ids] == [
        [101, 1996, 19204, 3989, 102],
        [101, 19204, 3989, 2573, 102],
        [101, 1037, 102],
    ]
    assert [m.tolist() for m in subtokens[:2]] == [
        [False, True, True, False, False],
        [False, True, False, True, False],
    ]
    assert preceding == [0, 1, 0]
    assert (is_first, is_last) == ([True, False, True], [False, True, True])


def test_collated_default_segments_equal_nemo_model_inputs(tokenizer) -> None:
    io = torch.load(DATA / "punctcap_minilm_tiny.io.pt", weights_only=True)
    dataset = BertPunctuationCapitalizationInferDataset(FIXTURE["queries"], tokenizer)
    loader = torch.utils.data.DataLoader(dataset, batch_size=4, collate_fn=dataset.collate_fn)
    input_ids, segment_ids, input_mask, subtokens_mask, preceding, query_ids, is_first, is_last = next(
        iter(loader)
    )
    assert torch.equal(input_ids, io["input_ids"])
    assert torch.equal(input_mask.long(), io["attention_mask"])
    assert torch.equal(segment_ids, io["token_type_ids"])
    assert input_mask.dtype == torch.float32 and subtokens_mask.dtype == torch.bool
    assert (preceding, query_ids, is_first, is_last) == ((0, 0, 0, 0), (0, 1, 2, 3), (True,) * 4, (True,) * 4)


def test_word_without_tokens_is_unknown_and_keeps_mask_aligned(tokenizer) -> None:
    [ids, _, _, subtokens, *_] = get_features_infer(["hello \u200b how"], tokenizer)
    assert ids[0].tolist() == [101, 7592, 100, 2129, 102]
    assert subtokens[0].tolist() == [False, True, True, True, False]


def test_empty_inputs(tokenizer) -> None:
    assert len(BertPunctuationCapitalizationInferDataset([], tokenizer)) == 0
    [ids, *_] = get_features_infer(["", "   "], tokenizer)
    assert [a.tolist() for a in ids] == [[101, 102], [101, 102]]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_seq_length": 2}, "max_seq_length=2 is below 3"),
        ({"max_seq_length": 6, "margin": 2}, r"expected 0 <= margin < \(max_seq_length - 2\) // 2 = 2"),
        ({"margin": -1}, "margin=-1"),
        ({"step": 0}, "step=0"),
    ],
)
def test_bad_parameters(tokenizer, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        BertPunctuationCapitalizationInferDataset(["hello there"], tokenizer, **kwargs)


def test_audio_is_refused(tokenizer) -> None:
    with pytest.raises(ValueError, match="lexical-audio punctuation inference is not supported"):
        BertPunctuationCapitalizationInferDataset(["hello"], tokenizer, audio_queries=["a.wav"])

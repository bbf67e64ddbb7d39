"""How ``add_punctuation_capitalization`` combines overlapping segments: by hand on small arrays, and on long
queries against an independent reference that multiplies, for every word, the probabilities of all segments whose
kept (margin-free) region holds the word's first token, located by absolute token position in the query."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from nemo.collections.nlp.data.token_classification.punctuation_capitalization_infer_dataset import (
    BertPunctuationCapitalizationInferDataset,
)
from nemo.collections.nlp.data.token_classification.word_tokenization import tokenize_words
from nemo.collections.nlp.models import PunctuationCapitalizationModel
from nemo.collections.nlp.models.token_classification.punctuation_capitalization_model import (
    _segment_word_probs,
    _WordLabels,
)

DATA = Path(__file__).resolve().parent / "data"
ARCHIVE = DATA / "punctcap_minilm_tiny.nemo"
FIXTURE = json.loads((DATA / "punctcap_minilm_tiny.json").read_text(encoding="utf-8"))
LONG_QUERIES = [
    "the chancellor said unemployment had fallen to its lowest level since records began and that the "
    "government would not be blown off course by what he called unbelievably pessimistic forecasts from "
    "economists in the city who had predicted a slowdown in consumer spending before christmas",
    "hello",
    "tokenization of unbelievably long words such as antidisestablishmentarianism and "
    "pneumonoultramicroscopicsilicovolcanoconiosis keeps segments busy",
    "shares in the telecoms giant rose sharply on monday after it announced a restructuring plan",
]


def test_a_first_segment_only_stores_its_probabilities():
    labels = _WordLabels()
    probs = np.array([[0.9, 0.1], [0.2, 0.8]], dtype=np.float32)

    labels.add_segment(0, probs)

    assert labels.fixed == [] and labels.pending is probs
    assert labels.finish() == [0, 1]


def test_overlapping_segments_multiply_and_fix_words_no_later_segment_covers():
    labels = _WordLabels()
    labels.add_segment(0, np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]], dtype=np.float32))

    labels.add_segment(1, np.array([[0.9, 0.1], [0.3, 0.7], [0.5, 0.5]], dtype=np.float32))

    assert labels.fixed == [0]  # word 0 is before the new segment: fixed from its own probabilities
    np.testing.assert_allclose(labels.pending, [[0.18, 0.08], [0.18, 0.28], [0.5, 0.5]], rtol=1e-6)
    # word 1: 0.2 * 0.9 > 0.8 * 0.1 flips it to label 0; word 3: a tie goes to the first label.
    assert labels.finish() == [0, 0, 1, 0]


def test_a_segment_starting_past_the_pending_words_is_a_bug_report():
    labels = _WordLabels()
    labels.add_segment(0, np.ones((2, 3), dtype=np.float32))

    with pytest.raises(RuntimeError, match="do not cover the query contiguously"):
        labels.add_segment(5, np.ones((2, 3), dtype=np.float32))


def test_segment_word_probs_drop_margins_and_count_the_words_in_the_left_margin():
    # Two segments of T=8 padded tokens: [CLS] t1..t6 [SEP]; words start at the True positions.
    mask = np.array(
        [
            [False, True, False, True, True, False, True, False],
            [False, True, True, False, True, True, True, False],
        ]
    )
    probs = np.arange(2 * 8 * 2, dtype=np.float32).reshape(2, 8, 2)

    word_probs, first_words = _segment_word_probs(
        probs, mask, preceding_words=[0, 3], margin=1, is_first=[True, False], is_last=[False, True]
    )

    # first segment: keeps positions 0..5 (drops margin 1 and [SEP] on the right) -> words at 1, 3, 4
    np.testing.assert_array_equal(word_probs[0], probs[0, [1, 3, 4]])
    # last segment: drops [CLS] and position 1 on the left -> words at 2, 4, 5, 6; word at 1 counted as skipped
    np.testing.assert_array_equal(word_probs[1], probs[1, [2, 4, 5, 6]])
    assert first_words == [0, 3 + 1]


def effective_step(model, queries, max_seq_length, step, margin) -> int:
    """The offset between segments NeMo uses: 1 when every query fits one segment, else capped by the margins."""
    longest = max(len(t.ids) for t in tokenize_words([q.split() for q in queries], model.tokenizer))
    if max_seq_length > longest + 2:
        return 1
    return min(max_seq_length - 2 - 2 * margin, step)


def reference_labels(
    model, queries, batch_size, max_seq_length, step, margin
) -> list[tuple[list[int], list[int]]]:
    """Per query: the argmax of the product, over every segment keeping the word's first token, of its softmax.

    Segments and logits come from the same batches the model sees; a kept token's word is found from its absolute
    position in the query (segment ``k`` starts at token ``k * step``), independently of the model's bookkeeping.
    """
    dataset = BertPunctuationCapitalizationInferDataset(
        queries, model.tokenizer, max_seq_length, step, margin
    )
    tokens = tokenize_words([query.split() for query in queries], model.tokenizer)
    word_of_position = [np.cumsum(t.first_token_mask) - 1 for t in tokens]
    shift = effective_step(model, queries, max_seq_length, step, margin)
    products = [
        [np.ones((int(t.first_token_mask.sum()), len(label_ids)), np.float32) for t in tokens]
        for label_ids in (model.punct_label_ids, model.capit_label_ids)
    ]
    segments_seen = [0] * len(queries)
    model.eval()
    with torch.inference_mode():
        for begin in range(0, len(dataset), batch_size):
            items = [dataset[i] for i in range(begin, min(begin + batch_size, len(dataset)))]
            input_ids, segment_ids, input_mask, subtokens_mask, _, query_ids, firsts, lasts = (
                dataset.collate_fn(items)
            )
            logits = model(input_ids=input_ids, token_type_ids=segment_ids, attention_mask=input_mask)
            length = input_ids.shape[1]
            for row, (query, first, last) in enumerate(zip(query_ids, firsts, lasts)):
                offset = segments_seen[query] * shift - 1  # segment position 1 is query token k * step
                segments_seen[query] += 1
                keep_from = 0 if first else margin + 1
                keep_to = length if last else length - margin - 1
                for position in range(keep_from, keep_to):
                    if subtokens_mask[row, position]:
                        word = word_of_position[query][offset + position]
                        for task_products, task_logits in zip(products, logits):
                            task_products[query][word] *= torch.softmax(
                                task_logits[row, position], -1
                            ).numpy()
    return [(p.argmax(-1).tolist(), c.argmax(-1).tolist()) for p, c in zip(*products)]


@pytest.fixture(scope="module")
def restored() -> PunctuationCapitalizationModel:
    return PunctuationCapitalizationModel.restore_from(str(ARCHIVE), map_location="cpu")


@pytest.mark.parametrize(
    ("batch_size", "max_seq_length", "step", "margin"),
    [(3, 16, 4, 2), (2, 12, 4, 0), (5, 10, 1, 3), (4, 20, 100, 2), (None, 64, 8, 16), (1, 512, 8, 16)],
)
def test_long_queries_combine_as_the_per_word_product_of_all_covering_segments(
    restored, batch_size, max_seq_length, step, margin
):
    labels = restored.add_punctuation_capitalization(
        LONG_QUERIES,
        batch_size=batch_size,
        max_seq_length=max_seq_length,
        step=step,
        margin=margin,
        return_labels=True,
    )

    expected = reference_labels(
        restored, LONG_QUERIES, batch_size or len(LONG_QUERIES), max_seq_length, step, margin
    )
    punct_names = {i: label for label, i in restored.punct_label_ids.items()}
    capit_names = {i: label for label, i in restored.capit_label_ids.items()}
    assert labels == [
        " ".join(punct_names[p] + capit_names[c] for p, c in zip(punct, capit)) for punct, capit in expected
    ]
    assert [len(line.split()) for line in labels] == [len(q.split()) for q in LONG_QUERIES]


def test_text_output_applies_the_labels_as_nemo_does(restored):
    queries = FIXTURE["queries"] + ["", "iphone"]

    texts = restored.add_punctuation_capitalization(queries, batch_size=2)
    labels = restored.add_punctuation_capitalization(queries, batch_size=2, return_labels=True)

    for query, text, line in zip(queries, texts, labels):
        expected = []
        for word, pair in zip(query.split(), line.split()):
            word = word.capitalize() if pair[1] == "U" else word
            expected.append(word if pair[0] == "O" else word + pair[0])
        assert text == " ".join(expected)
    assert texts[-2] == "" and labels[-2] == ""


def test_capitalized_words_get_str_capitalize_and_marks_follow_them(restored):
    punct = restored.punct_label_ids
    capit = restored.capit_label_ids

    text = restored._apply_punct_capit_predictions(
        "o'neill met well-known mcdonald's staff",
        [punct[","], punct["O"], punct["O"], punct["?"], punct["."]],
        [capit["U"], capit["O"], capit["U"], capit["U"], capit["O"]],
    )

    assert text == "O'neill, met Well-known Mcdonald's? staff."


def test_no_queries_give_no_results(restored):
    assert restored.add_punctuation_capitalization([]) == []


def test_bad_segment_settings_are_errors_naming_them(restored):
    with pytest.raises(ValueError, match="margin=8"):
        restored.add_punctuation_capitalization(LONG_QUERIES, max_seq_length=16, step=2, margin=8)


def test_segments_are_batched_by_length_and_folded_in_each_querys_order(restored):
    queries = [LONG_QUERIES[0], "yes", "the weather is fine today", LONG_QUERIES[-1], "no thanks"]
    loader = restored._setup_infer_dataloader(queries, 3, 16, 4, 2, None)
    order = [index for batch in loader.batch_sampler for index in batch]
    lengths = [len(loader.dataset.all_input_ids[index]) for index in order]
    assert sorted(order) == list(range(len(loader.dataset))) and lengths == sorted(lengths)
    assert lengths[0] < lengths[-1]  # the queries' segments differ in length, so the order is a real choice

    settings = {"max_seq_length": 16, "step": 4, "margin": 2, "return_labels": True}
    one_by_one = restored.add_punctuation_capitalization(queries, batch_size=1, **settings)
    assert restored.add_punctuation_capitalization(queries, batch_size=3, **settings) == one_by_one

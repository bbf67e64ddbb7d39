"""``examples/nlp/named_entities.py``: the entity-level F1 it reports (CoNLL's span rule) and its length-grouped
training batches, on hand-made cases."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

EXAMPLE = Path(__file__).resolve().parents[4] / "examples" / "nlp" / "named_entities.py"


@pytest.fixture(scope="module")
def example():
    spec = importlib.util.spec_from_file_location("named_entities_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_spans_follow_conlls_rule(example):
    tags = ["B-PER", "I-PER", "O", "I-LOC", "B-ORG", "B-ORG", "I-PER", "I-LOC", "I-LOC"]

    assert example.entity_spans(tags) == {
        ("PER", 0, 2),
        ("LOC", 3, 4),  # a stray I- starts a span
        ("ORG", 4, 5),
        ("ORG", 5, 6),
        ("PER", 6, 7),  # an I- of another type starts a new span
        ("LOC", 7, 9),
    }


def test_entity_f1_is_micro_over_exact_spans(example):
    references = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O", "I-ORG"]]
    predictions = [["B-PER", "I-PER", "O", "B-ORG"], ["B-ORG", "O", "B-ORG"]]

    scores = example.entity_scores(references, predictions)

    # Spans: PER 0-2 found; LOC 3-4 missed (predicted ORG: one false positive); ORG 0-1 and ORG 2-3 found.
    assert scores["precision"] == pytest.approx(3 / 4)
    assert scores["recall"] == pytest.approx(3 / 4)
    assert scores["f1"] == pytest.approx(3 / 4)
    assert scores["entities"] == 4
    assert scores["by_type"]["PER"] == pytest.approx(
        {"precision": 1.0, "recall": 1.0, "f1": 1.0, "entities": 1}
    )
    assert scores["by_type"]["ORG"]["precision"] == pytest.approx(2 / 3)
    assert scores["by_type"]["ORG"]["f1"] == pytest.approx(0.8)
    assert scores["by_type"]["LOC"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "entities": 1}


def test_length_grouped_batches_cover_every_sentence_once_with_little_padding(example):
    lengths = np.random.default_rng(0).integers(5, 80, size=1000)
    batches = example.LengthGroupedBatches(lengths, batch_size=16, seed=3)

    first, second = list(batches), list(batches)

    for epoch in (first, second):
        assert sorted(index for batch in epoch for index in batch) == list(range(1000))
        assert len(epoch) == len(batches) == 63
    assert first != second  # a new order each epoch
    padded = sum(len(batch) * max(lengths[batch]) for batch in first)
    assert padded < 1.1 * lengths.sum()

"""QA answer scoring, document-window helpers and the SQuAD-format reader.

Every expected value below is worked out by hand in the comment next to it (SQuAD's rules as NeMo 1.23 applies them).
"""

from __future__ import annotations

import json
from collections import namedtuple

import pytest
import torch
from nemo.collections.nlp.data.question_answering.data_processor.qa_processing import QAProcessor
from nemo.collections.nlp.data.question_answering.dataset.qa_dataset import QADataset
from nemo.collections.nlp.data.question_answering.dataset.qa_gpt_dataset import GPTQADataset
from nemo.collections.nlp.data.question_answering_squad.qa_squad_processing import (
    _get_tokens,
    apply_no_ans_threshold,
    f1_score,
    find_all_best_thresh,
)
from nemo.collections.nlp.metrics.qa_metrics import QAMetrics

Span = namedtuple("Span", ["start", "length"])

SQUAD = {
    "data": [
        {
            "title": "T",
            "paragraphs": [
                {
                    "context": "Paris is in France.",
                    "qas": [
                        {
                            "id": "q1",
                            "question": "Where is Paris?",
                            "answers": [
                                {"text": "France", "answer_start": 12},
                                {"text": "in France", "answer_start": 9},
                            ],
                        },
                        {"id": "q2", "question": "Who?", "answers": [], "is_impossible": True},
                        {"id": "q3", "question": "", "answers": []},
                    ],
                },
                {
                    "context": "Paris is in France.",
                    "qas": [
                        {
                            "id": "q4",
                            "question": "What?",
                            "answers": [{"text": "the Paris", "answer_start": 0}],
                        }
                    ],
                },
            ],
        }
    ]
}


@pytest.fixture
def squad_file(tmp_path):
    path = tmp_path / "squad.json"
    path.write_text(json.dumps(SQUAD))
    return str(path)


def test_mixed_chinese_tokens_and_f1():
    # "The " -> article dropped; "北京，大学" -> chars without the Chinese comma; " is big!" -> is, big.
    assert _get_tokens("The 北京，大学 is big!") == ["北", "京", "大", "学", "is", "big"]
    # prediction 5 tokens (北 京 大 学 place), reference 3 (北 京 place), overlap 3: P=3/5, R=1, F1=0.75.
    assert f1_score("北京大学 a place", "北京 place") == pytest.approx(0.75)


def test_docspans_and_max_context():
    spans = tuple(QADataset.get_docspans(list(range(12)), 6, 3))
    assert [(s.start, s.length) for s in spans] == [(0, 6), (3, 6), (6, 6)]
    # token 5: window 0 has left 5 / right 0 (score 0.06), window 1 left 2 / right 3 (2.06), window 2 misses it.
    assert QADataset.get_best_span_index(spans, 5) == 1
    assert [QADataset.check_is_max_context(spans, i, 5) for i in range(3)] == [False, True, False]
    with pytest.raises(ValueError, match="doc_stride"):
        QADataset.get_docspans([1, 2, 3], 2, 0)


def test_limited_negative_keeps_nearest_ten_in_stable_order():
    spans = [Span(s, 4) for s in range(0, 40, 2)]
    # answer centre (20+23)//2 = 21; distance (|s-21| + |s+3-21|)//2: s=18 ->1, 20 ->1, 22 ->2, 16 ->3, 24 ->4, ...
    kept = QADataset.keep_relevant_docspans(spans, 20, 23, "limited_negative")
    assert [s.start for s in kept] == [18, 20, 22, 16, 24, 14, 26, 12, 28, 10]
    with pytest.raises(ValueError, match="only_positive"):
        QADataset.keep_relevant_docspans(spans, 1, 2, "nearest")


def test_answer_word_positions():
    # "brown fox" starts at char 7 and ends at char 15; the double space maps to the word before it.
    words, offsets, start, end, _ = QADataset.get_doc_tokens_and_offset_from_context_id(
        0, 7, False, "brown fox", {0: "quick  brown fox jumps"}
    )
    assert words == ["quick", "brown", "fox", "jumps"]
    assert offsets[5:8] == [0, 0, 1] and (start, end) == (1, 2)


@pytest.mark.parametrize(
    ("mode", "q1_answer", "q1_answers"),
    [
        ("train", "France", []),
        ("eval", "France", SQUAD["data"][0]["paragraphs"][0]["qas"][0]["answers"]),
        ("infer", None, []),
    ],
)
def test_processor_modes(squad_file, mode, q1_answer, q1_answers):
    processor = QAProcessor(squad_file, mode)
    examples = processor.get_examples()
    # q3 has an empty question and is skipped; both paragraphs share one context id.
    assert [e.qas_id for e in examples] == ["q1", "q2", "q4"]
    assert [e.context_id for e in examples] == [0, 0, 0] and processor.doc_id_to_context_text == {
        0: "Paris is in France."
    }
    assert (examples[0].answer_text, examples[0].answers) == (q1_answer, q1_answers)
    assert [e.is_impossible for e in examples] == [False, True, False]


def test_evaluate_predictions(squad_file):
    examples = QAProcessor(squad_file, "eval").get_examples()
    scores = QAMetrics.evaluate_predictions(examples, {"q1": "in france!", "q2": "", "q4": "Paris city"})
    # q1: matches "in France" (EM 1, F1 1); q2: unanswerable, empty prediction (1, 1);
    # q4: "paris city" vs "paris" (EM 0, F1 = 2*(1/2*1)/(1/2+1) = 2/3).
    assert scores == pytest.approx(
        {
            "exact": 200 / 3,
            "f1": 100 * (2 + 2 / 3) / 3,
            "total": 3.0,
            "HasAns_exact": 50.0,
            "HasAns_f1": 100 * (1 + 2 / 3) / 2,
            "HasAns_total": 2.0,
            "NoAns_exact": 100.0,
            "NoAns_f1": 100.0,
            "NoAns_total": 1.0,
        }
    )
    assert list(scores)[:3] == ["exact", "f1", "total"]


def test_no_answer_threshold():
    has_ans = {"a": True, "b": False, "c": False}
    main = {}
    # start at 2 (both unanswerable right); answer a (p=0.2, +1 -> 3, best), c (-1: it answered "y"), b (0).
    find_all_best_thresh(
        main,
        {"a": "x", "b": "", "c": "y"},
        {"a": 1, "b": 1, "c": 0},
        {"a": 1.0, "b": 1.0, "c": 0.5},
        {"a": 0.2, "b": 0.9, "c": 0.5},
        has_ans,
    )
    assert main == {"best_exact": 100.0, "best_exact_thresh": 0.2, "best_f1": 100.0, "best_f1_thresh": 0.2}
    # both above 0.6 -> "no answer": right only for b.
    assert apply_no_ans_threshold({"a": 0.5, "b": 0.0}, {"a": 0.7, "b": 0.9}, has_ans, 0.6) == {
        "a": 0.0,
        "b": 1.0,
    }


def test_gpt_labels_mask_prompt_and_padding():
    ids = torch.tensor([[5, 6, 7, 8, 0, 0]])
    mask = torch.tensor([[1, 1, 1, 1, 1, 0]])
    labels = GPTQADataset.update_labels_for_no_pad_loss(ids, 2, mask)
    assert labels.tolist() == [-100, -100, 7, 8, 0, -100]
    with pytest.raises(NotImplementedError, match="update_labels_for_no_pad_loss"):
        GPTQADataset("f.json", None, None)


def test_dataset_rejects_bad_arguments(squad_file):
    with pytest.raises(ValueError, match="num_samples"):
        QADataset(squad_file, QAProcessor(squad_file, "eval"), None, "eval", 0)
    with pytest.raises(ValueError, match="mode"):
        QAProcessor(squad_file, "test")
    dataset = QADataset(squad_file, QAProcessor(squad_file, "eval"), None, "eval", 2)
    assert [e.qas_id for e in dataset.examples] == ["q1", "q2"]

"""Punctuation Error Rate on small texts whose alignments are worked out by hand in the comments."""

import pytest
from nemo.collections.common.metrics.punct_er import (
    DatasetPunctuationErrorRate,
    OccurancePunctuationErrorRate,
    punctuation_error_rate,
)

MARKS = [".", ",", "!", "?"]

# Reference tokens: Yes , it is . Go ! Now .      Hypothesis tokens: Yes it is , go ? Now .
# With every mark masked as P:  Yes P it is P Go P Now P   vs   Yes it is P go P Now P.
# The cheapest alignment (cost 2) deletes the reference "," and substitutes the word "Go" -> "go"; the marks
# then pair up as "." -> ",", "!" -> "?" (two substitutions) and "." -> "." (correct).
REFERENCE = "Yes, it is. Go! Now."
HYPOTHESIS = "Yes it is, go? Now."


def test_counts_of_one_pair() -> None:
    amounts, substitutions, rates = OccurancePunctuationErrorRate(MARKS).compute(REFERENCE, HYPOTHESIS)

    assert amounts == {
        ".": {"Correct": 1, "Deletions": 0, "Insertions": 0, "Substitutions": 1},
        ",": {"Correct": 0, "Deletions": 1, "Insertions": 0, "Substitutions": 0},
        "!": {"Correct": 0, "Deletions": 0, "Insertions": 0, "Substitutions": 1},
        "?": {"Correct": 0, "Deletions": 0, "Insertions": 0, "Substitutions": 0},
    }
    assert substitutions["."] == {".": 0, ",": 1, "!": 0, "?": 0}
    assert substitutions["!"] == {".": 0, ",": 0, "!": 0, "?": 1}
    assert sum(sum(row.values()) for row in substitutions.values()) == 2

    # 4 outcomes: 1 correct, 1 deletion, 2 substitutions.
    assert rates.correct_rate == 0.25
    assert rates.deletions_rate == 0.25
    assert rates.insertions_rate == 0.0
    assert rates.substitutions_rate == 0.5
    assert rates.punct_er == 0.75
    assert rates.operation_rates["."] == {
        "Correct": 0.5,
        "Deletions": 0.0,
        "Insertions": 0.0,
        "Substitutions": 0.5,
    }
    assert rates.operation_rates["?"] == {
        "Correct": 0.0,
        "Deletions": 0.0,
        "Insertions": 0.0,
        "Substitutions": 0.0,
    }
    assert rates.substitution_rates["."][","] == 0.5


def test_a_moved_mark_is_a_deletion_and_an_insertion() -> None:
    # "a P b" vs "a b P": three alignments cost 2, one of them pairs the marks (dropping and re-adding "b"). The
    # tie-break (substitution first, walking back from the ends) substitutes twice, so "." counts as deleted and
    # inserted; NeMo 1.23 gives the same counts (run once by hand).
    amounts, _, rates = OccurancePunctuationErrorRate(MARKS).compute("a. b", "a b.")
    assert amounts["."] == {"Correct": 0, "Deletions": 1, "Insertions": 1, "Substitutions": 0}
    assert rates.punct_er == 1.0


def test_no_marks_gives_zero_rates() -> None:
    _, _, rates = OccurancePunctuationErrorRate(MARKS).compute("a b", "a b")
    assert (rates.correct_rate, rates.punct_er) == (0.0, 0.0)


def test_dataset_pools_counts_rather_than_averaging_rates() -> None:
    references, hypotheses = [REFERENCE, "Ok"], [HYPOTHESIS, "Ok!"]  # the second pair adds one "!" insertion
    metric = DatasetPunctuationErrorRate(references, hypotheses, MARKS)
    metric.compute()

    # Pooled outcomes: 1 correct, 1 deletion, 1 insertion, 2 substitutions -> PER 4/5 (the mean of the per-pair
    # rates would be (0.75 + 1) / 2). NeMo 1.23's punctuation_error_rate gives 0.8 here too (run once by hand).
    assert metric.punct_er == pytest.approx(0.8)
    assert metric.insertions_rate == pytest.approx(0.2)
    assert [rates.punct_er for rates in metric.rates] == [0.75, 1.0]
    assert punctuation_error_rate(references, hypotheses, MARKS) == pytest.approx(0.8)

    metric.print()  # logs tables; must not fail
    metric.reset()
    assert metric.punct_er is None and metric.rates == []


def test_errors_name_the_argument() -> None:
    with pytest.raises(ValueError, match="punctuation_marks"):
        OccurancePunctuationErrorRate([])
    with pytest.raises(ValueError, match="hypotheses"):
        DatasetPunctuationErrorRate(["a."], [], MARKS)

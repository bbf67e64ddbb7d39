"""word_error_rate_detail on hand-counted alignments (and NeMo 1.23's own expected tuples)."""

import pytest
from nemo.collections.asr.metrics import word_error_rate, word_error_rate_detail


@pytest.mark.parametrize(
    ("hypotheses", "references", "use_cer", "expected"),
    [
        # one substitution out of one word
        (["cat"], ["cot"], False, (1.0, 1, 0.0, 0.0, 1.0)),
        # 'G P U' against 'GPU': one substitution and two insertions
        (["G P U"], ["GPU"], False, (3.0, 1, 2.0, 0.0, 1.0)),
        # an insertion against an empty reference, a deletion of the only word of the next one
        (["cat", ""], ["", "gpu"], False, (2.0, 1, 1.0, 1.0, 0.0)),
        # every character of 'ducuti motorcycle' (17, the space included) deleted
        ([""], ["ducuti motorcycle"], True, (1.0, 17, 0.0, 1.0, 0.0)),
        # 'the cat sat' -> 'a cat sat down': one substitution, one insertion over 3 words
        (["a cat sat down"], ["the cat sat"], False, (2 / 3, 3, 1 / 3, 0.0, 1 / 3)),
        # nothing to compare against
        (["cat"], [""], False, (float("inf"), 0, float("inf"), float("inf"), float("inf"))),
    ],
)
def test_detail_counts(hypotheses, references, use_cer, expected):
    result = word_error_rate_detail(hypotheses=hypotheses, references=references, use_cer=use_cer)
    assert result == pytest.approx(expected)


def test_detail_total_agrees_with_word_error_rate():
    hypotheses = ["the quick brown fox", "jumps over", "a lazy dog today"]
    references = ["the quick fox", "jumped over the", "the lazy dog"]
    for use_cer in (False, True):
        wer, *_ = word_error_rate_detail(hypotheses, references, use_cer=use_cer)
        assert wer == pytest.approx(word_error_rate(hypotheses, references, use_cer=use_cer))
    with pytest.raises(ValueError, match="as many hypotheses as references"):
        word_error_rate_detail(["a"], ["a", "b"])

"""cpWER against a brute-force search written here, online DER bookkeeping and partial references by hand."""

from itertools import permutations

import pytest
from nemo.collections.asr.metrics.der import (
    calculate_session_cpWER,
    calculate_session_cpWER_bruteforce,
    concat_perm_word_error_rate,
    get_online_DER_stats,
    get_partial_ref_labels,
    score_labels,
)


def levenshtein(a: list[str], b: list[str]) -> int:
    """Independent reference: textbook dynamic-programming edit distance."""
    row = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, y in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (x != y))
    return row[-1]


def reference_cpwer(hyp: list[str], ref: list[str]) -> float:
    ref_words = " ".join(ref).split()
    return min(levenshtein(" ".join(p).split(), ref_words) for p in permutations(hyp)) / len(ref_words)


@pytest.mark.parametrize(
    "hyp, ref",
    [
        (["ff", "aa bb cc", "dd ee"], ["aa bb cc", "dd ee", "ff"]),
        (["aa bb c ff", "dd e ii jj kk", "hi"], ["aa bb cc ff", "dd ee gg jj kk", "hh ii"]),
        (["aa bb cc", "dd ee gg", "hh ii", "jj kk"], ["aa bb cc", "dd ee", "ff", "gg", "hh ii", "jj kk"]),
        (["aa bb cc", "dd ee gg hh", "ii jj kk"], ["aa bb cc", "dd ee ff gg hh ii jj kk"]),
    ],
)
def test_cpwer_matches_exhaustive_search(hyp, ref):
    expected = reference_cpwer(hyp, ref)
    for order in permutations(hyp):
        cpwer, best_hyp, ref_trans = calculate_session_cpWER(list(order), ref)
        assert cpwer == pytest.approx(expected)
        assert ref_trans == " ".join(ref)
        assert sorted(best_hyp.split()) == sorted(" ".join(hyp).split())
    brute, _, _ = calculate_session_cpWER_bruteforce(hyp, ref)
    assert brute == pytest.approx(expected)


def test_cpwer_hand_value_and_lsa_only_keeps_all_words():
    # Speaker confusion plus ASR errors: 1 deletion and 4 substitutions over 11 reference words.
    cpwer, _, _ = calculate_session_cpWER(
        ["aa bb c ff", "dd e ii jj kk", "hi"], ["aa bb cc ff", "dd ee gg jj kk", "hh ii"]
    )
    assert cpwer == pytest.approx(5 / 11)
    _, hyp_trans, _ = calculate_session_cpWER(["a", "b", "c"], ["b c"], use_lsa_only=True)
    assert sorted(hyp_trans.split()) == ["a", "b", "c"]
    values, hyps, refs = concat_perm_word_error_rate([["x"], ["a b", "c"]], [["x"], ["c", "a b"]])
    assert values == [0.0, 0.0] and hyps[1] == "c a b" and refs == ["x", "c a b"]
    with pytest.raises(ValueError, match="sessions"):
        concat_perm_word_error_rate([["x"]], [])


def test_partial_reference_labels():
    assert get_partial_ref_labels([], ["0.0 1.0 a"]) == []
    assert get_partial_ref_labels(
        ["0.1 0.6 s1", "0.2 1.5 s2"], ["0.5 1.0 s1", "1.01 2.0 s2", "1.6 2.0 s3"]
    ) == [
        "0.5 1.0 s1",
        "1.01 1.5 s2",
    ]


def test_online_der_stats():
    stats = {
        "cum_DER": 0.3,
        "cum_CER": 0.3,
        "avg_DER": 15.0,
        "avg_CER": 15.0,
        "max_DER": 30.0,
        "max_CER": 10.0,
    }
    der, stats = get_online_DER_stats(0.1, 0.2, 0.03, 0.07, 2, stats, 2)
    assert der == {"DER": 10.0, "CER": 20.0, "FA": 3.0, "MISS": 7.0}
    # Averages: 100 * 0.4 / 2 = 20 and 100 * 0.5 / 2 = 25; maxima: max(10, 30) and max(20, 10).
    assert stats["avg_DER"] == 20.0 and stats["avg_CER"] == 25.0
    assert stats["max_DER"] == 30.0 and stats["max_CER"] == 20.0
    assert stats["cum_DER"] == pytest.approx(0.4)


def test_score_labels():
    assert score_labels({}, [["a", None]], [], verbose=False) is None
    try:
        import pyannote.metrics  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="pip install pyannote.metrics"):
            score_labels({"a": {}}, [["a", None]], [["a", None]])

"""get_heteronym_spans and remove_punctuation (nemo.collections.tts.g2p.utils)."""

from nemo.collections.tts.g2p.utils import get_heteronym_spans, remove_punctuation


def test_heteronym_spans_match_nemo():
    sentences = [
        "I  read   the (READ) book; read-read, it's read.",
        'Desert: "live" ... live!',
        "no match here",
        "pre--live and live's",
        "  lead read",
    ]
    spans, words = get_heteronym_spans(sentences, {"read": 1, "live": 1, "desert": 1})
    # Computed once with NeMo 1.23 (/tmp/nemo-ref/bin/python) on the same input.
    assert spans == [
        [(3, 7), (15, 19), (27, 31), (32, 36), (43, 47)],
        [(0, 6), (9, 13), (19, 23)],
        [],
        [(5, 9)],
        [(7, 11)],
    ]
    assert words == [["read"] * 5, ["desert", "live", "live"], [], ["live"], ["read"]]
    for sentence, sentence_spans, sentence_words in zip(sentences, spans, words):
        assert [sentence[a:b].lower() for a, b in sentence_spans] == sentence_words


def test_remove_punctuation():
    assert remove_punctuation("Hello,  world!") == "Hello world"
    assert remove_punctuation("It's A.B.", exclude=["'"], do_lower=True) == "it's a b"
    assert remove_punctuation("a - b", remove_spaces=True) == "ab"

"""ARPA reading and backoff scoring, the Kneser-Ney estimator, mixing and ARPA writing, on real files."""

import gzip
import json
import math
from collections import Counter, defaultdict
from fractions import Fraction
from pathlib import Path

import pytest
from nemo.collections.asr.parts.lm.ngram_lm import (
    BOS,
    EOS,
    UNK,
    ArpaFormatError,
    NGramLanguageModel,
    estimate_ngram_lm,
    mix_ngram_lms,
)

ASTERISK_TRAIN = Path(__file__).resolve().parents[5] / "data" / "asterisk" / "train_manifest.json"

# Backoff arithmetic below is worked out by hand from these numbers.
HANDWRITTEN_ARPA = """\
some preamble text that readers skip

\\data\\
ngram 1=5
ngram 2=4
ngram 3=1

\\1-grams:
-1.0\t<unk>
-99\t<s>\t-0.5
-0.7\t</s>
-0.6\tpound\t-0.3
-0.8\tkey\t-0.2

\\2-grams:
-0.2\t<s> pound\t-0.25
-0.1\tpound key
-0.4\tkey </s>
-0.9\t<unk> key

\\3-grams:
-0.05\t<s> pound key

\\end\\
"""


@pytest.fixture
def handwritten(tmp_path) -> Path:
    path = tmp_path / "hand.arpa"
    path.write_text(HANDWRITTEN_ARPA, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("context", "word", "expected"),
    [
        (("<s>", "pound"), "key", -0.05),  # trigram listed
        (("x", "<s>", "pound"), "key", -0.05),  # only the last order-1 words count
        (("pound",), "key", -0.1),  # bigram listed
        (("key",), "pound", -0.2 + -0.6),  # bo(key) + p(pound)
        (("<s>",), "key", -0.5 + -0.8),  # bo(<s>) + p(key)
        (("<s>", "pound"), "</s>", -0.25 + -0.3 + -0.7),  # bo(<s> pound) + bo(pound) + p(</s>)
        (("pound",), "zebra", -0.3 + -1.0),  # unknown word -> <unk>
        (("zebra",), "key", -0.9),  # unknown context word -> <unk>, and (<unk> key) is listed
        (("zebra",), "pound", -0.6),  # <unk> has no backoff: 0
        ((), "key", -0.8),
    ],
)
def test_handwritten_arpa_backoff_arithmetic(handwritten, context, word, expected):
    lm = NGramLanguageModel.from_arpa(handwritten)
    assert lm.score(context, word) == pytest.approx(expected, abs=1e-9)


def test_handwritten_arpa_order_vocabulary_counts_and_prefixes(handwritten):
    lm = NGramLanguageModel.from_arpa(handwritten)
    assert lm.order == 3
    assert lm.vocabulary == {BOS, EOS, UNK, "pound", "key"}
    assert lm.ngram_counts == {1: 5, 2: 4, 3: 1}
    assert [lm.is_prefix(p) for p in ("po", "pound", "k", "ke", "key")] == [True] * 5
    assert [lm.is_prefix(p) for p in ("kee", "poundk", "x", "<s", "</")] == [False] * 5


def test_gzip_arpa_is_read_from_its_magic_bytes(handwritten, tmp_path):
    compressed = tmp_path / "hand_lm.bin-but-gzip"
    compressed.write_bytes(gzip.compress(handwritten.read_bytes()))
    plain, packed = NGramLanguageModel.from_arpa(handwritten), NGramLanguageModel.from_arpa(compressed)
    for context, word in [(("<s>", "pound"), "key"), (("key",), "pound"), (("pound",), "zebra")]:
        assert packed.score(context, word) == plain.score(context, word)


def test_missing_unk_gets_kenlm_substitute(tmp_path):
    path = tmp_path / "no_unk.arpa"
    path.write_text("\\data\\\nngram 1=2\n\n\\1-grams:\n-0.3\ta\n-0.2\t</s>\n\n\\end\\\n", encoding="utf-8")
    lm = NGramLanguageModel.from_arpa(path)
    assert lm.score((), "b") == -100.0
    assert UNK in lm.vocabulary


def _replace_line(text: str, old: str, new: str) -> tuple[str, int]:
    lines = text.splitlines()
    number = lines.index(old) + 1
    lines[number - 1] = new
    return "\n".join(lines) + "\n", number


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("-0.1\tpound key", "-0.1\tpound key -0.3 extra", "expected a 2-gram line"),
        ("-0.1\tpound key", "minus\tpound key", "expected numbers"),
        ("ngram 2=4", "ngram 2=5", "announces ngram 2=5 but the \\2-grams: section holds 4"),
        ("ngram 3=1", "ngram three", "expected 'ngram N=COUNT'"),
        ("\\3-grams:", "\\4-grams:", "section \\4-grams: is not announced"),
    ],
)
def test_malformed_arpa_errors_name_the_file_and_line(tmp_path, old, new, message):
    text, number = _replace_line(HANDWRITTEN_ARPA, old, new)
    path = tmp_path / "bad.arpa"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ArpaFormatError) as error:
        NGramLanguageModel.from_arpa(path)
    assert f"{path}:{number}:" in str(error.value)
    assert message in str(error.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (HANDWRITTEN_ARPA.replace("\\end\\", ""), "without an \\end\\ line"),
        ("just some text\n", "no \\data\\ line"),
    ],
)
def test_truncated_or_foreign_text_is_refused(tmp_path, text, message):
    path = tmp_path / "broken.arpa"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ArpaFormatError, match=message.replace("\\", "\\\\")) as error:
        NGramLanguageModel.from_arpa(path)
    assert str(path) in str(error.value)


def test_kenlm_binary_is_refused_with_advice(tmp_path):
    path = tmp_path / "lm.bin"
    path.write_bytes(b"mmap lm http://kheafield.com/code format version 5\n\x00\x01\x02\x03")
    with pytest.raises(ArpaFormatError, match="KenLM binary") as error:
        NGramLanguageModel.from_arpa(path)
    assert str(path) in str(error.value) and ".arpa" in str(error.value)


def test_non_text_file_and_missing_file(tmp_path):
    binary = tmp_path / "noise.arpa"
    binary.write_bytes(bytes(range(128, 256)))
    with pytest.raises(ArpaFormatError, match="not UTF-8 text"):
        NGramLanguageModel.from_arpa(binary)
    with pytest.raises(FileNotFoundError, match="missing.arpa"):
        NGramLanguageModel.from_arpa(tmp_path / "missing.arpa")


def asterisk_sentences() -> list[str]:
    lines = ASTERISK_TRAIN.read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["text"] for line in lines if line.strip()]


TINY_CORPUS = ["a b", "b a c", "c c a b"]  # count-of-counts have zeros: discounts fall back
# Bigram count-of-counts n1..n4 = 2, 3, 1, 3: Y = 1/4 and D3+ = 3 - 4 * 1/4 * 3/1 = 0, so "<s>" and "c",
# whose continuations all occur 3 times or more, discount nothing and keep no mass for backing off.
ZERO_DISCOUNT_CORPUS = ["c"] * 6 + ["b a b"] * 2 + ["b b c"] + ["a c c"] * 4


def seen_contexts(sentences: list[str], order: int) -> set[tuple[str, ...]]:
    """Every history (up to order - 1 words) that precedes a word in the padded sentences."""
    contexts = set()
    for sentence in sentences:
        padded = [BOS, *sentence.split(), EOS]
        for end in range(1, len(padded)):
            for length in range(order):
                if end - length >= 0:
                    contexts.add(tuple(padded[end - length : end]))
    return contexts


@pytest.mark.parametrize(
    ("corpus", "order"),
    [("tiny", 1), ("tiny", 2), ("tiny", 3), ("zero_discount", 2), ("asterisk", 3), ("asterisk", 4)],
)
def test_estimated_distributions_sum_to_one_for_every_seen_context(corpus, order):
    sentences = {"tiny": TINY_CORPUS, "zero_discount": ZERO_DISCOUNT_CORPUS}.get(
        corpus
    ) or asterisk_sentences()
    lm = estimate_ngram_lm(sentences, order=order)
    predictable = sorted(lm.vocabulary - {BOS})
    assert UNK in predictable and EOS in predictable
    contexts = sorted(seen_contexts(sentences, order))
    if len(contexts) > 300:
        contexts = contexts[:: len(contexts) // 300]
    for context in contexts:
        total = sum(10 ** lm.score(context, word) for word in predictable)
        assert total == pytest.approx(1.0, abs=1e-6), context


def read_arpa_entries(path: Path) -> tuple[dict[tuple[str, ...], float], dict[tuple[str, ...], float]]:
    """``(log10 probs, backoffs)`` exactly as an ARPA file lists them (a few lines, independent of our reader)."""
    log10_probs, backoffs = {}, {}
    order = 0
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("\\") and line.endswith("-grams:"):
            order = int(line[1:].split("-")[0])
        elif order and line.strip() and not line.startswith("\\"):
            fields = line.split("\t")
            ngram = tuple(fields[1].split())
            assert len(ngram) == order, line
            log10_probs[ngram] = float(fields[0])
            if len(fields) == 3:
                backoffs[ngram] = float(fields[2])
    return log10_probs, backoffs


# Modified Kneser-Ney worked out by hand (Chen & Goodman, as KenLM's lmplz estimates it: interpolated, raw
# counts at the top order and for n-grams starting with <s>, continuation counts below, unigrams
# interpolated with the uniform distribution over the words, </s> and <unk>).
#
# Bigram model of 4x "a b", 3x "b a", 2x "c a", 1x "d c".
# Bigram counts: <s> a 4, a b 4, b </s> 4, <s> b 3, b a 3, a </s> 5, <s> c 2, c a 2, <s> d 1, d c 1, c </s> 1
#   count-of-counts n1..n4 = 3, 2, 2, 3; Y = 3 / (3 + 2*2) = 3/7
#   D1 = 1 - 2Y n2/n1 = 3/7, D2 = 2 - 3Y n3/n2 = 5/7, D3+ = 3 - 4Y n4/n3 = 3/7
# Unigram continuation counts (distinct left words): a 3 (<s> b c), b 2 (<s> a), c 2 (<s> d), d 1 (<s>),
# </s> 3 (a b c); total 11
#   n1..n4 = 1, 2, 2, 0; Y = 1/5; D1 = 1/5, D2 = 2 - 3/5 = 7/5, D3+ = 3 - 0 = 3 (n4 = 0 is allowed: lmplz
#   only needs n1..n3 > 0 and each discount in [0, k])
#   gamma() = (1/5*1 + 7/5*2 + 3*2) / 11 = 9/11, spread over |V| = 6 (a b c d </s> <unk>): 3/22 each
HAND_CORPUS = ["a b"] * 4 + ["b a"] * 3 + ["c a"] * 2 + ["d c"]
F = Fraction


def chen_goodman_discounts(n1: int, n2: int, n3: int, n4: int) -> dict[int, Fraction]:
    """D1, D2, D3+ of Chen & Goodman's eq. 26 from the count-of-counts, keyed by count 1, 2, 3."""
    y = F(n1, n1 + 2 * n2)
    return {1: 1 - 2 * y * n2 / n1, 2: 2 - 3 * y * n3 / n2, 3: 3 - 4 * y * n4 / n3}


BIGRAM_D = chen_goodman_discounts(3, 2, 2, 3)
UNIGRAM_D = chen_goodman_discounts(1, 2, 2, 0)
assert BIGRAM_D == {1: F(3, 7), 2: F(5, 7), 3: F(3, 7)} and UNIGRAM_D == {1: F(1, 5), 2: F(7, 5), 3: 3}
UNIFORM = (UNIGRAM_D[1] * 1 + UNIGRAM_D[2] * 2 + UNIGRAM_D[3] * 2) / 11 / 6  # gamma() = 9/11 over 6 words
HAND_UNIGRAMS = {
    "a": (3 - UNIGRAM_D[3]) / 11 + UNIFORM,
    "b": (2 - UNIGRAM_D[2]) / 11 + UNIFORM,
    "c": (2 - UNIGRAM_D[2]) / 11 + UNIFORM,
    "d": (1 - UNIGRAM_D[1]) / 11 + UNIFORM,
    EOS: (3 - UNIGRAM_D[3]) / 11 + UNIFORM,
    UNK: UNIFORM,
}
# gamma(h) = the discounts of h's continuations / h's total count
HAND_BACKOFFS = {
    BOS: (BIGRAM_D[3] * 2 + BIGRAM_D[2] + BIGRAM_D[1]) / 10,  # a 4, b 3, c 2, d 1
    "a": (BIGRAM_D[3] * 2) / 9,  # b 4, </s> 5
    "b": (BIGRAM_D[3] * 2) / 7,  # </s> 4, a 3
    "c": (BIGRAM_D[2] + BIGRAM_D[1]) / 3,  # a 2, </s> 1
    "d": BIGRAM_D[1] / 1,  # c 1
}


def hand_bigram(context: str, word: str, count: int, total: int) -> Fraction:
    discounted = count - BIGRAM_D[min(count, 3)]
    return discounted / total + HAND_BACKOFFS[context] * HAND_UNIGRAMS[word]


HAND_BIGRAMS = {
    (BOS, "a"): hand_bigram(BOS, "a", 4, 10),
    (BOS, "b"): hand_bigram(BOS, "b", 3, 10),
    (BOS, "c"): hand_bigram(BOS, "c", 2, 10),
    (BOS, "d"): hand_bigram(BOS, "d", 1, 10),
    ("a", "b"): hand_bigram("a", "b", 4, 9),
    ("a", EOS): hand_bigram("a", EOS, 5, 9),
    ("b", EOS): hand_bigram("b", EOS, 4, 7),
    ("b", "a"): hand_bigram("b", "a", 3, 7),
    ("c", "a"): hand_bigram("c", "a", 2, 3),
    ("c", EOS): hand_bigram("c", EOS, 1, 3),
    ("d", "c"): hand_bigram("d", "c", 1, 1),
}


def test_hand_worked_modified_kneser_ney_matches_the_written_arpa(tmp_path):
    # the hand arithmetic gives distributions: unigrams, and each context's listed words plus its backoff mass
    assert sum(HAND_UNIGRAMS.values()) == 1
    assert HAND_BIGRAMS[("d", "c")] + HAND_BACKOFFS["d"] * (1 - HAND_UNIGRAMS["c"]) == 1
    estimate_ngram_lm(HAND_CORPUS, order=2).write_arpa(tmp_path / "hand.arpa")
    log10_probs, backoffs = read_arpa_entries(tmp_path / "hand.arpa")

    expected = {(word,): prob for word, prob in HAND_UNIGRAMS.items()} | HAND_BIGRAMS
    assert set(log10_probs) == set(expected) | {(BOS,)}
    assert log10_probs[(BOS,)] == -99  # KenLM: <s> is never predicted
    for ngram, probability in expected.items():
        assert log10_probs[ngram] == pytest.approx(math.log10(probability), abs=1e-6), ngram
    assert {ngram[0]: value for ngram, value in backoffs.items() if value != 0} == pytest.approx(
        {word: math.log10(gamma) for word, gamma in HAND_BACKOFFS.items()}, abs=1e-6
    )


def reference_kneser_ney(sentences: list[str], order: int):
    """Interpolated modified Kneser-Ney from the formulas (Chen & Goodman 1998, eq. 26; KenLM's lmplz rules).

    Returns ``(probability(context, word), gamma(context), ngrams)``: the model's probability of ``word``
    after ``context`` (the last ``order - 1`` words), the interpolation weight of a seen context, and every
    n-gram seen in the padded sentences.
    """
    padded = [(BOS, *sentence.split(), EOS) for sentence in sentences if sentence.split()]
    raw = Counter(
        words[start : start + n]
        for words in padded
        for n in range(1, order + 1)
        for start in range(len(words) - n + 1)
    )
    left_words = defaultdict(set)
    for ngram in raw:
        if len(ngram) > 1:
            left_words[ngram[1:]].add(ngram[0])

    def adjusted(ngram):
        return raw[ngram] if len(ngram) == order or ngram[0] == BOS else len(left_words[ngram])

    def discounts(n):
        count_of_counts = Counter(adjusted(g) for g in raw if len(g) == n and g != (BOS,))
        n1, n2, n3, n4 = (count_of_counts[k] for k in (1, 2, 3, 4))
        if min(n1, n2, n3) > 0:
            y = n1 / (n1 + 2 * n2)
            found = (0.0, 1 - 2 * y * n2 / n1, 2 - 3 * y * n3 / n2, 3 - 4 * y * n4 / n3)
            if all(0 <= found[k] <= k for k in (1, 2, 3)):
                return found
        return (0.0, 0.5, 1.0, 1.5)  # lmplz --discount_fallback

    discount = {n: discounts(n) for n in range(1, order + 1)}
    continuations = defaultdict(dict)
    for ngram in raw:
        if ngram != (BOS,):
            continuations[ngram[:-1]][ngram[-1]] = adjusted(ngram)
    vocabulary_size = len({g[0] for g in raw if len(g) == 1} - {BOS}) + 1  # + <unk>

    def gamma(context):
        counts = continuations[context].values()
        return sum(discount[len(context) + 1][min(c, 3)] for c in counts) / sum(counts)

    def probability(context, word):
        context = tuple(context[max(0, len(context) - order + 1) :])
        lower = probability(context[1:], word) if context else 1 / vocabulary_size
        if not continuations.get(context):
            return lower
        count = continuations[context].get(word, 0)
        total = sum(continuations[context].values())
        return (count - discount[len(context) + 1][min(count, 3)]) / total + gamma(context) * lower

    return probability, gamma, set(raw)


@pytest.mark.parametrize("order", [2, 3, 4])
def test_estimator_arpa_matches_an_independent_kneser_ney_reference(tmp_path, order):
    sentences = asterisk_sentences()
    probability, gamma, seen = reference_kneser_ney(sentences, order)
    estimate_ngram_lm(sentences, order=order).write_arpa(tmp_path / "lm.arpa")
    log10_probs, backoffs = read_arpa_entries(tmp_path / "lm.arpa")

    assert set(log10_probs) == seen | {(UNK,)}
    for ngram, log10_prob in log10_probs.items():
        if ngram != (BOS,):
            assert log10_prob == pytest.approx(math.log10(probability(ngram[:-1], ngram[-1])), abs=1e-5), (
                ngram
            )
    contexts = {ngram[:-1] for ngram in seen if len(ngram) > 1}
    assert {ngram for ngram, value in backoffs.items() if value != 0} == contexts
    for context in contexts:
        assert backoffs[context] == pytest.approx(math.log10(gamma(context)), abs=1e-5), context


def test_a_zero_discount_leaves_a_context_nothing_to_back_off_to():
    lm = estimate_ngram_lm(ZERO_DISCOUNT_CORPUS, order=2)
    # "c" is followed by "c" 4 times and by </s> 11 times: with nothing discounted, 4/15 and 11/15.
    assert lm.score(("c",), "c") == pytest.approx(math.log10(4 / 15), abs=1e-9)
    assert lm.score(("c",), EOS) == pytest.approx(math.log10(11 / 15), abs=1e-9)
    assert 10 ** lm.score(("c",), "a") < 1e-11


def test_kneser_ney_unigrams_count_distinct_left_contexts():
    sentences = ["san francisco"] * 5 + ["a glasses", "b glasses", "c glasses"]
    lm = estimate_ngram_lm(sentences, order=2)
    # raw counts favour "francisco" (5 vs 3); continuation counts favour "glasses" (3 left words vs 1)
    assert lm.score((), "glasses") > lm.score((), "francisco")
    assert lm.score(("san",), "francisco") > lm.score(("san",), "glasses")


def test_unknown_words_get_a_small_finite_probability():
    lm = estimate_ngram_lm(asterisk_sentences(), order=3)
    unknown = lm.score(("the", "pound"), "zebra")
    assert math.isfinite(unknown)
    assert unknown == lm.score(("the", "pound"), UNK)
    assert unknown < min(lm.score((), word) for word in lm.vocabulary - {BOS, UNK})
    assert lm.score(("the", "pound"), "key") > lm.score(("the", "pound"), "kee")


@pytest.mark.parametrize("name", ["lm.arpa", "lm.arpa.gz"])
def test_write_arpa_round_trip_gives_the_same_scores(tmp_path, name):
    sentences = asterisk_sentences()
    lm = estimate_ngram_lm(sentences, order=3)
    lm.write_arpa(tmp_path / name)
    loaded = NGramLanguageModel.from_arpa(tmp_path / name)
    assert loaded.order == lm.order and loaded.vocabulary == lm.vocabulary
    assert loaded.ngram_counts == lm.ngram_counts
    queries = [
        (context, word)
        for context in sorted(seen_contexts(sentences[:20], 3))
        for word in ("key", "zebra", EOS)
    ]
    for context, word in queries:
        assert loaded.score(context, word) == pytest.approx(lm.score(context, word), abs=1e-6)


def test_estimator_argument_errors():
    with pytest.raises(ValueError, match="order must be >= 1, got 0"):
        estimate_ngram_lm(["a b"], order=0)
    with pytest.raises(ValueError, match="no words"):
        estimate_ngram_lm(["", "  "], order=2)


# A second domain for mixing: sentences that share some words with the Asterisk prompts and bring new ones.
GENERAL_CORPUS = [
    "the weather will be cold tomorrow",
    "please call me tomorrow morning",
    "the conference will start on tuesday",
    "press the button to start the engine",
    "your number was not found",
    "we will meet on tuesday at the office",
]


@pytest.mark.parametrize("weights", [(0.2, 0.8), (0.5, 0.5), (0.9, 0.1)])
def test_mixed_model_sums_to_one_and_interpolates_listed_ngrams(weights):
    in_domain = estimate_ngram_lm(asterisk_sentences(), order=3)
    general = estimate_ngram_lm(GENERAL_CORPUS, order=2)  # orders may differ
    mixed = mix_ngram_lms([in_domain, general], weights)
    assert mixed.order == 3
    assert mixed.vocabulary == in_domain.vocabulary | general.vocabulary

    def interpolated(context, word):
        return math.log10(
            sum(
                weight * 10 ** model.score(context, word)
                for model, weight in zip((in_domain, general), weights)
                if word in model.vocabulary
            )
        )

    # Listed n-grams score exactly the interpolation, whichever model lists them.
    for context, word in [
        (("the", "pound"), "key"),
        (("cold",), "tomorrow"),
        ((), "tuesday"),
        (("the",), "number"),
    ]:
        assert mixed.score(context, word) == pytest.approx(interpolated(context, word), abs=1e-9)
    # Every context, seen by either model or by neither, gives a distribution over the mixed vocabulary.
    predictable = sorted(mixed.vocabulary - {BOS})
    contexts = sorted(
        seen_contexts(GENERAL_CORPUS, 3) | set(list(seen_contexts(asterisk_sentences()[:40], 3)))
    )
    contexts += [("tomorrow", "key"), ("zebra",), ("the", "zebra")]
    for context in contexts:
        total = sum(10 ** mixed.score(context, word) for word in predictable)
        assert total == pytest.approx(1.0, abs=1e-6), context


def test_mixing_moves_probability_toward_the_general_model():
    in_domain = estimate_ngram_lm(asterisk_sentences(), order=3)
    general = estimate_ngram_lm(GENERAL_CORPUS, order=3)
    light, heavy = (mix_ngram_lms([in_domain, general], [1 - w, w]) for w in (0.1, 0.8))
    assert "tomorrow" not in in_domain.vocabulary
    assert (
        heavy.score(("cold",), "tomorrow")
        > light.score(("cold",), "tomorrow")
        > in_domain.score(("cold",), "tomorrow")
    )


def test_mixed_model_round_trips_through_arpa(tmp_path):
    mixed = mix_ngram_lms(
        [estimate_ngram_lm(asterisk_sentences(), order=3), estimate_ngram_lm(GENERAL_CORPUS, order=3)],
        [0.3, 0.7],
    )
    mixed.write_arpa(tmp_path / "mixed.arpa.gz")
    loaded = NGramLanguageModel.from_arpa(tmp_path / "mixed.arpa.gz")
    for context, word in [(("please", "call"), "me"), (("the",), "tuesday"), ((), "zebra")]:
        assert loaded.score(context, word) == pytest.approx(mixed.score(context, word), abs=1e-6)


def test_mixing_argument_errors():
    lm = estimate_ngram_lm(TINY_CORPUS, order=2)
    with pytest.raises(ValueError, match="two or more models and one weight per model; got 2 models and 1"):
        mix_ngram_lms([lm, lm], [1.0])
    with pytest.raises(ValueError, match="two or more models"):
        mix_ngram_lms([lm], [1.0])
    with pytest.raises(ValueError, match=r"positive and sum to 1, got \[0.5, 0.6\]"):
        mix_ngram_lms([lm, lm], [0.5, 0.6])
    with pytest.raises(ValueError, match="positive"):
        mix_ngram_lms([lm, lm], [1.2, -0.2])

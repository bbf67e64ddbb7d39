"""Word n-gram language models in the ARPA format: load, score with backoff, estimate with Kneser-Ney.

``kenlm_path`` in NeMo 1.23's ``decoding.beam`` often points at an ARPA file; :meth:`NGramLanguageModel.from_arpa`
reads one (plain or gzip-compressed) and :meth:`NGramLanguageModel.score` answers ``log10 P(word | context)``
with the usual backoff rule, handling ``<s>``, ``</s>`` and ``<unk>`` as KenLM does. KenLM's binary format is
not read. :func:`estimate_ngram_lm` estimates an interpolated modified Kneser-Ney model from sentences (the
method of KenLM's ``lmplz``), :func:`mix_ngram_lms` interpolates models into one (SRILM's ``ngram -mix-lm``,
e.g. a small in-domain model with a general one), and :meth:`NGramLanguageModel.write_arpa` writes either.

Example:
    >>> lm = estimate_ngram_lm(["press the pound key", "enter the pound key"], order=3)
    >>> lm.score(("the", "pound"), "key") > lm.score(("the", "pound"), "kee")
    True
"""

from __future__ import annotations

import bisect
import gzip
import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path

from nemo.collections.asr.parts.utils.text_files import open_text
from nemo.utils import logging

__all__ = ["BOS", "EOS", "UNK", "ArpaFormatError", "NGramLanguageModel", "estimate_ngram_lm", "mix_ngram_lms"]

BOS = "<s>"
EOS = "</s>"
UNK = "<unk>"
# KenLM substitutes this when an ARPA file lists no <unk>, and writes -99 for <s>, which is never predicted.
MISSING_UNK_LOG10_PROB = -100.0
BOS_LOG10_PROB = -99.0
# KenLM's `lmplz --discount_fallback` discounts for counts 1, 2 and 3+, used when the corpus is too small
# to estimate them from its count-of-counts.
FALLBACK_DISCOUNTS = (0.5, 1.0, 1.5)

_MIN_MASS = 1e-12
"""Floor for the probability mass left to backoff (rounding can take ``1 - sum`` to zero or below)."""
_KENLM_BINARY_MAGIC = b"mmap lm "
_SECTION = re.compile(r"\\(\d+)-grams:")
_COUNT = re.compile(r"ngram\s+(\d+)\s*=\s*(\d+)")

NGram = tuple[str, ...]


class ArpaFormatError(ValueError):
    """An ARPA file could not be read; the message names the file and, where it applies, the 1-based line."""


class NGramLanguageModel:
    """A backoff word n-gram model with ARPA semantics: a log10 probability and backoff weight per n-gram.

    Args:
        log10_probs: ``log10 P(w_n | w_1 .. w_{n-1})`` for each n-gram ``(w_1, ..., w_n)``; must hold
            every word as a unigram. ``<unk>`` is added with log10 probability -100 when missing (KenLM).
        backoffs: log10 backoff weight of each n-gram that is the context of a longer one (missing: 0).
        source: where the model came from (an ARPA path), used in messages.
    """

    def __init__(
        self, log10_probs: Mapping[NGram, float], backoffs: Mapping[NGram, float], source: str = "<memory>"
    ) -> None:
        if not any(len(ngram) == 1 for ngram in log10_probs):
            raise ValueError(
                f"the n-gram model from {source} has no unigrams; a model needs at least one word."
            )
        self._log10_probs = dict(log10_probs)
        self._backoffs = dict(backoffs)
        self.source = source
        if (UNK,) not in self._log10_probs:
            logging.warning(
                f"{source} lists no {UNK}; unknown words get log10 probability {MISSING_UNK_LOG10_PROB}."
            )
            self._log10_probs[(UNK,)] = MISSING_UNK_LOG10_PROB
        self.order = max(len(ngram) for ngram in self._log10_probs)
        self._vocabulary = frozenset(ngram[0] for ngram in self._log10_probs if len(ngram) == 1)
        self._sorted_words = sorted(self._vocabulary - {BOS, EOS, UNK})

    @property
    def vocabulary(self) -> frozenset[str]:
        """Every unigram of the model, ``<s>``, ``</s>`` and ``<unk>`` included."""
        return self._vocabulary

    @property
    def ngram_counts(self) -> dict[int, int]:
        """Number of n-grams of each order, ``{1: unigrams, 2: bigrams, ...}``."""
        counts = Counter(len(ngram) for ngram in self._log10_probs)
        return {n: counts[n] for n in range(1, self.order + 1)}

    def score(self, context: tuple[str, ...], word: str) -> float:
        """``log10 P(word | context)`` with ARPA backoff.

        Words the model does not know (in ``context`` or as ``word``) are read as ``<unk>``, as KenLM
        does; only the last ``order - 1`` words of ``context`` are used. Start a sentence with the
        context ``("<s>",)`` and end it by scoring ``"</s>"``.

        Args:
            context: the preceding words, oldest first.
            word: the word to score.

        Returns:
            The log10 probability (``<unk>``'s for an unknown word, never ``-inf`` unless the file says so).
        """
        word = word if word in self._vocabulary else UNK
        recent = context[max(0, len(context) - self.order + 1) :]
        history = tuple(w if w in self._vocabulary else UNK for w in recent)
        return _backoff_log10_prob(self._log10_probs, self._backoffs, history, word)

    def is_prefix(self, partial: str) -> bool:
        """Whether ``partial`` begins some word of the vocabulary (``<s>``, ``</s>``, ``<unk>`` excluded)."""
        index = bisect.bisect_left(self._sorted_words, partial)
        return index < len(self._sorted_words) and self._sorted_words[index].startswith(partial)

    @classmethod
    def from_arpa(cls, path: str | Path) -> NGramLanguageModel:
        """Read an ARPA file, plain or gzip-compressed (detected from its first bytes, not its name).

        Raises:
            FileNotFoundError: ``path`` does not exist.
            ArpaFormatError: the file is KenLM's binary format, not text, or malformed (file and line named).
        """
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(
                f"ARPA file {str(path)!r} does not exist. Pass the path of a .arpa (or .arpa.gz)."
            )
        with open(path, "rb") as raw:
            head = raw.read(len(_KENLM_BINARY_MAGIC))
        if head.startswith(_KENLM_BINARY_MAGIC):
            raise ArpaFormatError(
                f"{path} is a KenLM binary language model, which this decoder cannot read. Pass the ARPA file it "
                "was built from (.arpa or .arpa.gz), or write one with `nemo asr build-lm`."
            )
        try:
            with open_text(path) as lines:
                log10_probs, backoffs = _parse_arpa(lines, str(path))
        except UnicodeDecodeError as error:
            raise ArpaFormatError(
                f"{path} is not UTF-8 text ({error.reason} at byte {error.start}); an ARPA file was expected. "
                "Pass a .arpa or .arpa.gz file."
            ) from error
        return cls(log10_probs, backoffs, source=str(path))

    def write_arpa(self, path: str | Path) -> None:
        """Write the model as an ARPA file (gzip-compressed when ``path`` ends in ``.gz``)."""
        path = Path(path)
        by_order: dict[int, list[NGram]] = defaultdict(list)
        for ngram in self._log10_probs:
            by_order[len(ngram)].append(ngram)
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "wt", encoding="utf-8") as out:
            out.write("\\data\\\n")
            out.writelines(f"ngram {n}={len(by_order[n])}\n" for n in range(1, self.order + 1))
            for n in range(1, self.order + 1):
                out.write(f"\n\\{n}-grams:\n")
                for ngram in sorted(by_order[n]):
                    line = f"{self._log10_probs[ngram]:.7f}\t{' '.join(ngram)}"
                    if ngram in self._backoffs:
                        line += f"\t{self._backoffs[ngram]:.7f}"
                    out.write(line + "\n")
            out.write("\n\\end\\\n")


def _backoff_log10_prob(
    log10_probs: Mapping[NGram, float], backoffs: Mapping[NGram, float], history: NGram, word: str
) -> float:
    """ARPA backoff: the longest listed ``(*suffix of history, word)``, plus the backoffs of the longer
    suffixes skipped. ``word`` must be listed as a unigram."""
    backoff = 0.0
    for start in range(len(history)):
        suffix = history[start:]
        log10_prob = log10_probs.get((*suffix, word))
        if log10_prob is not None:
            return backoff + log10_prob
        backoff += backoffs.get(suffix, 0.0)
    return backoff + log10_probs[(word,)]


def _parse_arpa(lines: Iterable[str], source: str) -> tuple[dict[NGram, float], dict[NGram, float]]:
    """Read the ``\\data\\`` header, the ``\\N-grams:`` sections and ``\\end\\`` of an ARPA file."""
    announced: dict[int, tuple[int, int]] = {}  # order -> (count, line of its "ngram N=count")
    log10_probs: dict[NGram, float] = {}
    backoffs: dict[NGram, float] = {}
    found: Counter[int] = Counter()
    section: int | None = None  # None: before \data\; 0: inside \data\; n: inside \n-grams:
    ended = False
    for number, line in _numbered_lines(lines):
        where = f"{source}:{number}"
        if section is None:
            section = 0 if line == "\\data\\" else None
            continue
        if line == "\\end\\":
            ended = True
            break
        header = _SECTION.fullmatch(line)
        if header:
            section = int(header[1])
            if section not in announced:
                raise ArpaFormatError(
                    f"{where}: section \\{section}-grams: is not announced in the \\data\\ header, which lists "
                    f"orders {sorted(announced)}. Add 'ngram {section}=COUNT' to the header or remove the section."
                )
            continue
        if section == 0:
            count = _COUNT.fullmatch(line)
            if not count:
                raise ArpaFormatError(
                    f"{where}: expected 'ngram N=COUNT' in the \\data\\ header, got {line!r}. Fix the header."
                )
            announced[int(count[1])] = (int(count[2]), number)
            continue
        ngram, log10_prob, backoff = _parse_ngram_line(line, section, where)
        log10_probs[ngram] = log10_prob
        if backoff is not None:
            backoffs[ngram] = backoff
        found[section] += 1
    if section is None:
        raise ArpaFormatError(
            f"{source}: no \\data\\ line found; this is not an ARPA file. Pass a .arpa file."
        )
    if not ended:
        raise ArpaFormatError(
            f"{source}: the file ends without an \\end\\ line; it may be truncated. Rewrite it."
        )
    for order, (count, number) in sorted(announced.items()):
        if found[order] != count:
            raise ArpaFormatError(
                f"{source}:{number}: the header announces ngram {order}={count} but the \\{order}-grams: section "
                f"holds {found[order]} entries. Fix the count or the section."
            )
    return log10_probs, backoffs


def _numbered_lines(lines: Iterable[str]) -> Iterator[tuple[int, str]]:
    """Non-blank lines, stripped, with their 1-based line numbers."""
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        if stripped:
            yield number, stripped


def _parse_ngram_line(line: str, order: int, where: str) -> tuple[NGram, float, float | None]:
    """``log10prob w_1 .. w_order [backoff]`` -> (n-gram, log10 probability, backoff or None)."""
    fields = line.split()
    if len(fields) not in (order + 1, order + 2):
        raise ArpaFormatError(
            f"{where}: expected a {order}-gram line 'log10prob w1 .. w{order} [backoff]' ({order + 1} or "
            f"{order + 2} fields), got {len(fields)} fields: {line!r}. Fix or remove the line."
        )
    try:
        log10_prob = float(fields[0])
        backoff = float(fields[order + 1]) if len(fields) == order + 2 else None
    except ValueError as error:
        raise ArpaFormatError(
            f"{where}: expected numbers for the log10 probability and backoff, got {line!r} ({error}). "
            "Fix the line."
        ) from error
    return tuple(fields[1 : order + 1]), log10_prob, backoff


def estimate_ngram_lm(sentences: Iterable[str], order: int = 3) -> NGramLanguageModel:
    """Estimate an interpolated modified Kneser-Ney word n-gram model (Chen & Goodman; KenLM's ``lmplz``).

    Each sentence is split on whitespace and padded as ``<s> w_1 .. w_k </s>``. The highest order counts
    n-grams; lower orders count distinct left extensions (continuation counts), except n-grams that begin
    with ``<s>``, which keep their counts. Each order gets discounts D1, D2, D3+ from its count-of-counts;
    where those cannot be estimated (n1, n2 or n3 is zero, as on tiny corpora, or a discount falls
    outside ``[0, k]``) the order uses KenLM's fallback (0.5, 1.0, 1.5). Unigrams are interpolated with
    the uniform distribution over the vocabulary plus ``</s>`` and ``<unk>``, so ``<unk>`` keeps a small
    probability.

    Args:
        sentences: text, one sentence per item (empty ones are skipped).
        order: the n of the n-grams (>= 1).

    Returns:
        The model; :meth:`NGramLanguageModel.write_arpa` saves it.

    Raises:
        ValueError: ``order`` < 1, or the sentences hold no words.
    """
    if order < 1:
        raise ValueError(f"n-gram order must be >= 1, got {order}. Pass order=3 for a trigram model.")
    counts: list[Counter[NGram]] = [Counter() for _ in range(order + 1)]
    for sentence in sentences:
        words = sentence.split()
        if not words:
            continue
        padded = (BOS, *words, EOS)
        for n in range(1, order + 1):
            counts[n].update(padded[i : i + n] for i in range(len(padded) - n + 1))
    if not counts[1]:
        raise ValueError(
            "the sentences hold no words; an n-gram model needs at least one non-empty sentence."
        )
    adjusted = _adjusted_counts(counts, order)
    vocabulary_size = len({ngram[0] for ngram in adjusted[1]} - {BOS} | {UNK})
    log10_probs: dict[NGram, float] = {}
    backoffs: dict[NGram, float] = {}
    probabilities: dict[NGram, float] = {}
    for n in range(1, order + 1):
        discounts = _discounts(adjusted[n], n)
        for context, continuations in _group_by_context(adjusted[n]).items():
            total = sum(continuations.values())
            mass = sum(_discount(count, discounts) for count in continuations.values()) / total
            for word, count in continuations.items():
                lower = probabilities[(*context[1:], word)] if n > 1 else 1.0 / vocabulary_size
                probability = (count - _discount(count, discounts)) / total + mass * lower
                probabilities[(*context, word)] = probability
                log10_probs[(*context, word)] = math.log10(probability)
            if n == 1:
                uniform = mass / vocabulary_size
                probabilities.setdefault((UNK,), uniform)
                log10_probs.setdefault((UNK,), math.log10(uniform))
            else:
                # D2 or D3+ may be 0, so a context whose words all have those counts keeps no mass.
                backoffs[context] = math.log10(max(mass, _MIN_MASS))
    log10_probs[(BOS,)] = BOS_LOG10_PROB
    return NGramLanguageModel(log10_probs, backoffs, source="estimate_ngram_lm")


def _adjusted_counts(counts: list[Counter[NGram]], order: int) -> list[dict[NGram, int]]:
    """Kneser-Ney counts per order: raw at the top order and for n-grams starting with ``<s>``, else the
    number of distinct words seen to the left. ``<s>`` itself is left out of the unigrams (never predicted)."""
    adjusted: list[dict[NGram, int]] = [{} for _ in range(order + 1)]
    adjusted[order] = dict(counts[order])
    for n in range(order - 1, 0, -1):
        left_extensions = Counter(ngram[1:] for ngram in counts[n + 1])
        adjusted[n] = {
            ngram: count if ngram[0] == BOS else left_extensions[ngram] for ngram, count in counts[n].items()
        }
    adjusted[1].pop((BOS,), None)
    return adjusted


def _group_by_context(ngrams: dict[NGram, int]) -> dict[NGram, dict[str, int]]:
    """``{(w_1 .. w_n): count}`` -> ``{(w_1 .. w_{n-1}): {w_n: count}}``."""
    grouped: dict[NGram, dict[str, int]] = defaultdict(dict)
    for ngram, count in ngrams.items():
        grouped[ngram[:-1]][ngram[-1]] = count
    return grouped


def _discounts(ngrams: dict[NGram, int], order: int) -> tuple[float, float, float]:
    """Chen & Goodman's D1, D2, D3+ from the count-of-counts n1..n4 of one order, or the fallback.

    As in KenLM's ``lmplz``, the discounts need n1, n2 and n3 above zero (n4 may be zero: D3+ is then 3)
    and each Dk within ``[0, k]``."""
    count_of_counts = Counter(ngrams.values())
    n1, n2, n3, n4 = (count_of_counts[k] for k in (1, 2, 3, 4))
    if min(n1, n2, n3) > 0:
        y = n1 / (n1 + 2 * n2)
        discounts = (1 - 2 * y * n2 / n1, 2 - 3 * y * n3 / n2, 3 - 4 * y * n4 / n3)
        if all(0 <= discount <= k for k, discount in enumerate(discounts, start=1)):
            return discounts
    logging.warning(
        f"n-gram order {order}: count-of-counts n1..n4 = {n1}, {n2}, {n3}, {n4} give no valid Kneser-Ney "
        f"discounts (the corpus is small); using the fallback {FALLBACK_DISCOUNTS}."
    )
    return FALLBACK_DISCOUNTS


def _discount(count: int, discounts: tuple[float, float, float]) -> float:
    """The discount for an n-gram seen ``count`` times (D1, D2 or D3+)."""
    return discounts[min(count, 3) - 1]


def mix_ngram_lms(models: Sequence[NGramLanguageModel], weights: Sequence[float]) -> NGramLanguageModel:
    """Linear interpolation of backoff n-gram models, written as one backoff model (static mixing).

    Every n-gram listed by any model is listed in the result with ``P(w | h) = sum_i weight_i * P_i(w | h)``,
    where ``P_i`` is model i's backoff probability (0 for a word model i does not know; ``<unk>`` mixes the
    models' ``<unk>`` probabilities). Each context then gets the backoff weight that makes its distribution
    sum to one over the mixed vocabulary, so for listed n-grams the result scores exactly the interpolation;
    elsewhere it backs off as ARPA models do (SRILM's ``ngram -mix-lm`` approximation).

    Args:
        models: two or more models, e.g. a small in-domain one and a general one.
        weights: one positive weight per model, summing to 1.

    Returns:
        The mixed model, of the largest order among ``models``.

    Raises:
        ValueError: the number of weights differs from the number of models, a weight is not positive, or
            the weights do not sum to 1.
    """
    if len(models) < 2 or len(models) != len(weights):
        raise ValueError(
            f"mix_ngram_lms needs two or more models and one weight per model; got {len(models)} models and "
            f"{len(weights)} weights."
        )
    if any(weight <= 0 for weight in weights) or not math.isclose(sum(weights), 1.0, abs_tol=1e-6):
        raise ValueError(
            f"mixing weights must be positive and sum to 1, got {list(weights)}. Pass e.g. [0.2, 0.8]."
        )
    ngrams = set().union(*(model._log10_probs for model in models))
    log10_probs: dict[NGram, float] = {}
    for ngram in ngrams:
        history, word = ngram[:-1], ngram[-1]
        if word == BOS:
            log10_probs[ngram] = BOS_LOG10_PROB
            continue
        probability = sum(
            weight * 10.0 ** model.score(history, word)
            for model, weight in zip(models, weights)
            if word in model.vocabulary
        )
        log10_probs[ngram] = math.log10(probability) if probability > 0.0 else MISSING_UNK_LOG10_PROB
    return NGramLanguageModel(log10_probs, _normalizing_backoffs(log10_probs), source="mix_ngram_lms")


def _normalizing_backoffs(log10_probs: Mapping[NGram, float]) -> dict[NGram, float]:
    """The backoff weight of every context that has listed continuations, shortest contexts first, so that
    ``P(. | h)`` sums to one: ``(1 - sum listed P(w | h)) / (1 - sum of P(w | h[1:]) over the same w)``."""
    continuations: dict[NGram, list[str]] = defaultdict(list)
    for ngram in log10_probs:
        if len(ngram) > 1 and ngram[-1] != BOS:
            continuations[ngram[:-1]].append(ngram[-1])
    backoffs: dict[NGram, float] = {}
    for context in sorted(continuations, key=len):
        words = continuations[context]
        listed = sum(10.0 ** log10_probs[(*context, word)] for word in words)
        lower = sum(10.0 ** _backoff_log10_prob(log10_probs, backoffs, context[1:], word) for word in words)
        backoffs[context] = math.log10(max(1.0 - listed, _MIN_MASS) / max(1.0 - lower, _MIN_MASS))
    return backoffs

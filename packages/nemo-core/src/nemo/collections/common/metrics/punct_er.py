"""Punctuation Error Rate (PER): how well a hypothesis restores the punctuation marks of a reference text.

Both texts are split into words (runs of word characters and apostrophes) and punctuation marks. Every mark is
replaced by one shared placeholder token and the two token sequences are aligned by Levenshtein distance, so a
mark is matched against a mark at the same place in the word stream whatever its kind. Each matched pair of
marks is a *correct* prediction when the marks are equal and a *substitution* otherwise; a reference mark left
without a partner is a *deletion*, a hypothesis mark without a partner an *insertion*. PER is the share of
deletions, insertions and substitutions among all four kinds of outcome.

Pure Python: importing this module imports neither torch nor numpy.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from nemo.utils import logging

__all__ = [
    "DatasetPunctuationErrorRate",
    "OccurancePunctuationErrorRate",
    "PunctuationRates",
    "punctuation_error_rate",
]

CORRECT, DELETIONS, INSERTIONS, SUBSTITUTIONS = "Correct", "Deletions", "Insertions", "Substitutions"
OPERATIONS: tuple[str, ...] = (CORRECT, DELETIONS, INSERTIONS, SUBSTITUTIONS)

# Per-mark counts: {mark: {operation: count}}, and {reference mark: {hypothesis mark: count}}.
OperationAmounts = dict[str, dict[str, int]]
SubstitutionAmounts = dict[str, dict[str, int]]


class PunctuationRates(NamedTuple):
    """Rates in ``[0, 1]`` of the outcomes for the punctuation marks of one or many text pairs.

    The four overall rates are shares of all outcomes of all marks and sum to 1 (all are 0 when there is no
    mark at all). ``operation_rates[mark][operation]`` is the share of ``operation`` among the outcomes of
    ``mark``; ``substitution_rates[ref_mark][hyp_mark]`` the share of ``ref_mark`` outcomes in which it was
    replaced by ``hyp_mark``.
    """

    correct_rate: float
    deletions_rate: float
    insertions_rate: float
    substitutions_rate: float
    punct_er: float
    operation_rates: dict[str, dict[str, float]]
    substitution_rates: dict[str, dict[str, float]]


def punctuation_error_rate(
    references: list[str],
    hypotheses: list[str],
    punctuation_marks: list[str],
    punctuation_mask: str = "[PUNCT]",
) -> float:
    """PER over all pairs ``(references[i], hypotheses[i])`` together (outcomes are pooled, not averaged)."""
    dataset_metric = DatasetPunctuationErrorRate(references, hypotheses, punctuation_marks, punctuation_mask)
    dataset_metric.compute()
    return dataset_metric.punct_er


def _token_pattern(punctuation_marks: list[str]) -> re.Pattern[str]:
    """A regex that finds words and the given marks; longer marks first so ``...`` wins over ``.``."""
    marks = sorted(set(punctuation_marks), key=len, reverse=True)
    return re.compile(r"[\w']+|" + "|".join(re.escape(mark) for mark in marks))


def _aligned_equal_pairs(reference: list[str], hypothesis: list[str]) -> list[tuple[int, int]]:
    """Index pairs ``(i, j)`` with ``reference[i] == hypothesis[j]`` that a minimum edit-distance alignment keeps.

    Unit costs for deletion, insertion and substitution. Where several alignments are optimal, an equal pair is
    taken whenever the tokens are equal, and otherwise a substitution is preferred over an insertion, and an
    insertion over a deletion (walking back from the ends of both sequences).
    """
    n_ref, n_hyp = len(reference), len(hypothesis)
    # cost[i][j]: edit distance between reference[:i] and hypothesis[:j]; step[i][j]: last move of that path.
    cost = [[0] * (n_hyp + 1) for _ in range(n_ref + 1)]
    step = [[""] * (n_hyp + 1) for _ in range(n_ref + 1)]
    for i in range(1, n_ref + 1):
        cost[i][0], step[i][0] = i, DELETIONS
    for j in range(1, n_hyp + 1):
        cost[0][j], step[0][j] = j, INSERTIONS
    for i in range(1, n_ref + 1):
        for j in range(1, n_hyp + 1):
            if reference[i - 1] == hypothesis[j - 1]:
                cost[i][j], step[i][j] = cost[i - 1][j - 1], CORRECT
                continue
            candidates = (
                (cost[i - 1][j - 1] + 1, SUBSTITUTIONS),
                (cost[i][j - 1] + 1, INSERTIONS),
                (cost[i - 1][j] + 1, DELETIONS),
            )
            cost[i][j], step[i][j] = min(
                candidates, key=lambda candidate: candidate[0]
            )  # first of equal costs

    pairs = []
    i, j = n_ref, n_hyp
    while i > 0 or j > 0:
        move = step[i][j]
        if move == CORRECT:
            pairs.append((i - 1, j - 1))
        if move in (CORRECT, SUBSTITUTIONS, DELETIONS):
            i -= 1
        if move in (CORRECT, SUBSTITUTIONS, INSERTIONS):
            j -= 1
    pairs.reverse()
    return pairs


class OccurancePunctuationErrorRate:
    """Outcome counts and rates of the punctuation marks in one reference/hypothesis pair.

    Args:
        punctuation_marks: The marks to score, e.g. ``[".", ",", "!", "?"]``. Other characters are ignored.
        punctuation_mask: Placeholder that stands for every mark during the alignment; it must not occur as a
            word in the texts.

    Example:
        >>> metric = OccurancePunctuationErrorRate([".", ",", "!", "?"])
        >>> amounts, substitutions, rates = metric.compute("Hi, dear! Bye.", "Hi dear! Bye!")
        >>> amounts[","], substitutions["."]["!"], rates.punct_er
        ({'Correct': 0, 'Deletions': 1, 'Insertions': 0, 'Substitutions': 0}, 1, 0.6666666666666666)
    """

    def __init__(self, punctuation_marks: list[str], punctuation_mask: str = "[PUNCT]") -> None:
        if len(punctuation_marks) == 0:
            raise ValueError(
                "OccurancePunctuationErrorRate: `punctuation_marks` is empty; pass the marks to score."
            )
        self.punctuation_marks = list(punctuation_marks)
        self.punctuation_mask = punctuation_mask
        self.operations = list(OPERATIONS)
        self._pattern = _token_pattern(self.punctuation_marks)

    def _empty_amounts(self) -> tuple[OperationAmounts, SubstitutionAmounts]:
        operations = {mark: dict.fromkeys(OPERATIONS, 0) for mark in self.punctuation_marks}
        substitutions = {mark: dict.fromkeys(self.punctuation_marks, 0) for mark in self.punctuation_marks}
        return operations, substitutions

    def compute_operation_amounts(
        self, reference: str, hypothesis: str
    ) -> tuple[OperationAmounts, SubstitutionAmounts]:
        """Counts of each outcome per mark, and of each (reference mark, hypothesis mark) substitution."""
        operation_amounts, substitution_amounts = self._empty_amounts()
        ref_tokens = self._pattern.findall(reference)
        hyp_tokens = self._pattern.findall(hypothesis)
        marks = set(self.punctuation_marks)

        def masked(tokens: list[str]) -> list[str]:
            return [self.punctuation_mask if token in marks else token for token in tokens]

        matched_ref = dict.fromkeys(marks, 0)  # reference marks that found a partner mark
        matched_hyp = dict.fromkeys(marks, 0)  # hypothesis marks that found a partner mark
        for i, j in _aligned_equal_pairs(masked(ref_tokens), masked(hyp_tokens)):
            ref_token, hyp_token = ref_tokens[i], hyp_tokens[j]
            if ref_token not in marks:
                continue  # an aligned word
            matched_ref[ref_token] += 1
            matched_hyp[hyp_token] += 1
            if ref_token == hyp_token:
                operation_amounts[ref_token][CORRECT] += 1
            else:
                operation_amounts[ref_token][SUBSTITUTIONS] += 1
                substitution_amounts[ref_token][hyp_token] += 1

        for mark in self.punctuation_marks:
            operation_amounts[mark][DELETIONS] = ref_tokens.count(mark) - matched_ref[mark]
            operation_amounts[mark][INSERTIONS] = hyp_tokens.count(mark) - matched_hyp[mark]
        return operation_amounts, substitution_amounts

    def compute_rates(
        self, operation_amounts: OperationAmounts, substitution_amounts: SubstitutionAmounts
    ) -> PunctuationRates:
        """Turn counts (of one pair or summed over many) into :class:`PunctuationRates`."""
        operation_rates: dict[str, dict[str, float]] = {}
        substitution_rates: dict[str, dict[str, float]] = {}
        for mark in self.punctuation_marks:
            total = sum(operation_amounts[mark].values())
            operation_rates[mark] = {op: _share(operation_amounts[mark][op], total) for op in OPERATIONS}
            substitution_rates[mark] = {
                other: _share(count, total) for other, count in substitution_amounts[mark].items()
            }

        totals = {
            op: sum(operation_amounts[mark][op] for mark in self.punctuation_marks) for op in OPERATIONS
        }
        grand_total = sum(totals.values())
        correct, deletions, insertions, substitutions = (_share(totals[op], grand_total) for op in OPERATIONS)
        punct_er = deletions + insertions + substitutions if grand_total else 0.0
        return PunctuationRates(
            correct, deletions, insertions, substitutions, punct_er, operation_rates, substitution_rates
        )

    def compute(
        self, reference: str, hypothesis: str
    ) -> tuple[OperationAmounts, SubstitutionAmounts, PunctuationRates]:
        """Counts per outcome, counts per substitution, and the rates, for one pair of texts."""
        operation_amounts, substitution_amounts = self.compute_operation_amounts(reference, hypothesis)
        return (
            operation_amounts,
            substitution_amounts,
            self.compute_rates(operation_amounts, substitution_amounts),
        )


def _share(count: int, total: int) -> float:
    return count / total if total else 0.0


class DatasetPunctuationErrorRate:
    """Punctuation outcome rates pooled over a data set of reference/hypothesis pairs.

    After :meth:`compute`, the attributes ``correct_rate``, ``deletions_rate``, ``insertions_rate``,
    ``substitutions_rate``, ``punct_er``, ``operation_rates`` and ``substitution_rates`` hold the rates of the
    summed counts of all pairs (see :class:`PunctuationRates`); ``operation_amounts``, ``substitution_amounts``
    and ``rates`` hold the per-pair results, in order.

    Args:
        references: Reference texts.
        hypotheses: Hypothesis texts, one per reference.
        punctuation_marks: The marks to score.
        punctuation_mask: Placeholder used for the marks during the alignment.
    """

    def __init__(
        self,
        references: list[str],
        hypotheses: list[str],
        punctuation_marks: list[str],
        punctuation_mask: str = "[PUNCT]",
    ) -> None:
        if len(references) != len(hypotheses):
            raise ValueError(
                f"DatasetPunctuationErrorRate: got {len(references)} `references` but {len(hypotheses)} "
                "`hypotheses`; pass one hypothesis per reference."
            )
        self.references = references
        self.hypotheses = hypotheses
        self.punctuation_marks = punctuation_marks
        self.punctuation_mask = punctuation_mask
        self.oper_obj = OccurancePunctuationErrorRate(punctuation_marks, punctuation_mask)
        self.reset()

    def reset(self) -> None:
        """Forget the results of :meth:`compute`."""
        self.operation_amounts: list[OperationAmounts] = []
        self.substitution_amounts: list[SubstitutionAmounts] = []
        self.rates: list[PunctuationRates] = []
        self.operation_rates: dict[str, dict[str, float]] | None = None
        self.substitution_rates: dict[str, dict[str, float]] | None = None
        self.correct_rate: float | None = None
        self.deletions_rate: float | None = None
        self.insertions_rate: float | None = None
        self.substitutions_rate: float | None = None
        self.punct_er: float | None = None

    def compute(self) -> None:
        """Score every pair and set the pooled rates (results of an earlier call are replaced)."""
        self.reset()
        logging.info(f"Computing Punctuation Error Rate over {len(self.references)} text pairs")
        total_operations, total_substitutions = self.oper_obj._empty_amounts()
        for reference, hypothesis in zip(self.references, self.hypotheses):
            operations, substitutions, rates = self.oper_obj.compute(reference, hypothesis)
            self.operation_amounts.append(operations)
            self.substitution_amounts.append(substitutions)
            self.rates.append(rates)
            _add_into(total_operations, operations)
            _add_into(total_substitutions, substitutions)

        pooled = self.oper_obj.compute_rates(total_operations, total_substitutions)
        self.operation_rates = pooled.operation_rates
        self.substitution_rates = pooled.substitution_rates
        self.correct_rate = pooled.correct_rate
        self.deletions_rate = pooled.deletions_rate
        self.insertions_rate = pooled.insertions_rate
        self.substitutions_rate = pooled.substitutions_rate
        self.punct_er = pooled.punct_er

    def print(self) -> None:
        """Log the pooled PER and, as percentage tables, the per-mark outcome and substitution rates."""
        if self.punct_er is None:
            raise RuntimeError("DatasetPunctuationErrorRate.print: call `compute()` first.")
        logging.info(f"Dataset PER {round(100 * self.punct_er, 2)}%")
        logging.info(
            "Rates of punctuation correctness and errors (%):\n" + _percent_table(self.operation_rates)
        )
        logging.info(
            "Substitution rates between punctuation marks (%):\n" + _percent_table(self.substitution_rates)
        )


def _add_into(total: dict[str, dict[str, int]], amounts: dict[str, dict[str, int]]) -> None:
    for outer, inner in amounts.items():
        for key, value in inner.items():
            total[outer][key] += value


def _percent_table(rates: dict[str, dict[str, float]]) -> str:
    """A plain-text table: one column per mark (outer key), one row per inner key, values in percent."""
    columns = list(rates)
    rows = list(next(iter(rates.values()), {}))
    row_width = max((len(row) for row in rows), default=0)
    lines = [" " * row_width + "".join(f" {column:>8}" for column in columns)]
    for row in rows:
        lines.append(
            f"{row:<{row_width}}" + "".join(f" {100 * rates[column][row]:8.2f}" for column in columns)
        )
    return "\n".join(lines)

"""SQuAD scoring helpers (NeMo 1.23's ``question_answering_squad.qa_squad_processing`` names).

Answers are compared as :func:`_get_tokens` gives them: normalized English words, and Chinese text one character
at a time. The SQuAD 2.0 helpers pick the no-answer threshold that maximizes a score.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, MutableMapping, Sequence

import numpy as np
from nemo.collections.nlp.data.data_utils.answer_text import answer_tokens, normalize_answer, token_f1
from nemo.collections.nlp.data.question_answering.data_processor.qa_processing import (
    EVALUATION_MODE,
    INFERENCE_MODE,
    TRAINING_MODE,
)
from nemo.collections.nlp.data.question_answering.doc_spans import (  # noqa: F401 (NeMo's private name)
    improve_answer_span as _improve_answer_span,
)

__all__ = [
    "EVALUATION_MODE",
    "INFERENCE_MODE",
    "TRAINING_MODE",
    "apply_no_ans_threshold",
    "exact_match_score",
    "f1_score",
    "find_all_best_thresh",
    "get_best_indexes",
    "make_eval_dict",
    "merge_eval",
    "normalize_answer",
]

_get_tokens = answer_tokens


def f1_score(prediction: str, ground_truth: str) -> float:
    """Token F1 of a prediction against one reference (1/0 when either is empty: whether both are)."""
    return token_f1(_get_tokens(prediction), _get_tokens(ground_truth))


def exact_match_score(prediction: str, ground_truth: str) -> int:
    """1 when both answers are equal after :func:`normalize_answer`, else 0."""
    return int(normalize_answer(prediction) == normalize_answer(ground_truth))


def get_best_indexes(logits: Sequence[float] | np.ndarray, n_best_size: int) -> np.ndarray:
    """Indices of the ``n_best_size`` largest logits, largest first."""
    return np.argsort(logits)[::-1][:n_best_size]


def apply_no_ans_threshold(
    scores: Mapping[str, float],
    na_probs: Mapping[str, float],
    qid_to_has_ans: Mapping[str, bool],
    na_prob_thresh: float,
) -> dict[str, float]:
    """Scores after predicting "no answer" wherever the no-answer probability exceeds the threshold.

    Such a question scores 1.0 if it truly has no answer and 0.0 otherwise.
    """
    return {
        qid: float(not qid_to_has_ans[qid]) if na_probs[qid] > na_prob_thresh else score
        for qid, score in scores.items()
    }


def make_eval_dict(
    exact_scores: Mapping[str, float], f1_scores: Mapping[str, float], qid_list: Sequence[str] | None = None
) -> OrderedDict[str, float]:
    """``exact`` and ``f1`` (means in percent) and ``total`` over ``qid_list`` (every question when empty)."""
    qids = list(qid_list) if qid_list else list(exact_scores)
    total = len(qids)
    return OrderedDict(
        [
            ("exact", 100.0 * sum(exact_scores[q] for q in qids) / total),
            ("f1", 100.0 * sum(f1_scores[q] for q in qids) / total),
            ("total", total),
        ]
    )


def merge_eval(main_eval: MutableMapping[str, float], new_eval: Mapping[str, float], prefix: str) -> None:
    """Copy ``new_eval`` into ``main_eval`` under ``{prefix}_{key}``."""
    for key, value in new_eval.items():
        main_eval[f"{prefix}_{key}"] = value


def _best_threshold(
    preds: Mapping[str, str],
    scores: Mapping[str, float],
    na_probs: Mapping[str, float],
    qid_to_has_ans: Mapping[str, bool],
) -> tuple[float, float]:
    """Best score in percent, and the no-answer probability threshold that reaches it.

    Start from answering nothing (every unanswerable question right), then answer questions in order of rising
    no-answer probability and keep the best running total.
    """
    running = best = sum(1 for has_answer in qid_to_has_ans.values() if not has_answer)
    best_thresh = 0.0
    for qid in sorted(na_probs, key=na_probs.__getitem__):
        if qid not in scores:
            continue
        if qid_to_has_ans[qid]:
            running += scores[qid]
        elif preds[qid]:
            running -= 1
        if running > best:
            best, best_thresh = running, na_probs[qid]
    return 100.0 * best / len(scores), best_thresh


def find_all_best_thresh(
    main_eval: MutableMapping[str, float],
    preds: Mapping[str, str],
    exact_raw: Mapping[str, float],
    f1_raw: Mapping[str, float],
    na_probs: Mapping[str, float],
    qid_to_has_ans: Mapping[str, bool],
) -> None:
    """Add ``best_exact``, ``best_exact_thresh``, ``best_f1`` and ``best_f1_thresh`` to ``main_eval``."""
    main_eval["best_exact"], main_eval["best_exact_thresh"] = _best_threshold(
        preds, exact_raw, na_probs, qid_to_has_ans
    )
    main_eval["best_f1"], main_eval["best_f1_thresh"] = _best_threshold(
        preds, f1_raw, na_probs, qid_to_has_ans
    )

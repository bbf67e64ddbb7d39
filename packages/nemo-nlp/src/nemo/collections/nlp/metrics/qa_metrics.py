"""``QAMetrics``: exact-match and F1 scores of extractive/generative QA answers, as NeMo 1.23 reports them.

All methods are static; the answer normalization lives in
:mod:`nemo.collections.nlp.data.data_utils.answer_text`.
"""

from __future__ import annotations

import json
import os
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from nemo.collections.nlp.data.data_utils import answer_text
from nemo.utils import logging

__all__ = ["QAMetrics"]


class QAMetrics:
    """SQuAD-style answer scores: per question exact match and token F1, averaged in percent."""

    remove_articles = staticmethod(answer_text.remove_articles)
    white_space_fix = staticmethod(answer_text.white_space_fix)
    remove_punc = staticmethod(answer_text.remove_punc)
    normalize_answer = staticmethod(answer_text.normalize_answer)

    @staticmethod
    def _get_normalized_tokens(s: str | None) -> list[str]:
        """Whitespace tokens of the normalized answer (``[]`` for an empty or ``None`` answer)."""
        return answer_text.normalize_answer(s).split() if s else []

    @staticmethod
    def get_one_f1(prediction: str, ground_truth: str) -> float:
        """Token F1 of one prediction against one reference (1/0 when either is empty: whether both are)."""
        return answer_text.token_f1(
            QAMetrics._get_normalized_tokens(prediction), QAMetrics._get_normalized_tokens(ground_truth)
        )

    @staticmethod
    def get_one_exact_match(prediction: str, ground_truth: str) -> int:
        """1 when the two answers are equal after normalization, else 0."""
        return int(answer_text.normalize_answer(prediction) == answer_text.normalize_answer(ground_truth))

    @staticmethod
    def convert_dict_outputs_to_lists(
        outputs: Iterable[Mapping[str, Any]], keys: Sequence[str]
    ) -> list[list]:
        """Concatenate ``output[key]`` over the step outputs, one flat list per key (tensors become lists)."""
        import torch

        gathered: list[list] = [[] for _ in keys]
        for output in outputs:
            for column, key in zip(gathered, keys):
                value = output[key]
                column.extend(value.detach().cpu().tolist() if isinstance(value, torch.Tensor) else value)
        return gathered

    @staticmethod
    def get_exact_match_and_f1(
        examples: Iterable[Any], preds: Mapping[str, str], question_id_filter: Iterable[str] = ()
    ) -> tuple[dict[str, int], dict[str, float]]:
        """Best exact match and F1 over each example's gold answers, for the question ids in the filter only.

        An example with no non-empty gold answer is scored against the empty answer (unanswerable question).
        """
        wanted = set(question_id_filter)
        exact: dict[str, int] = {}
        f1: dict[str, float] = {}
        for example in examples:
            qid = example.qas_id
            if qid not in wanted:
                continue
            golds = [a["text"] for a in example.answers if answer_text.normalize_answer(a["text"])] or [""]
            prediction = preds[qid]
            exact[qid] = max(QAMetrics.get_one_exact_match(prediction, gold) for gold in golds)
            f1[qid] = max(QAMetrics.get_one_f1(prediction, gold) for gold in golds)
        return exact, f1

    @staticmethod
    def make_eval_dict(
        exact_scores: Mapping[str, float], f1_scores: Mapping[str, float], prefix: str = ""
    ) -> OrderedDict[str, float]:
        """``{prefix}exact``, ``{prefix}f1`` (mean in percent, 0.0 when empty) and ``{prefix}total`` (a float)."""
        total = len(exact_scores)

        def percent(scores: Mapping[str, float]) -> float:
            return 100.0 * sum(scores.values()) / total if total else 0.0

        return OrderedDict(
            [
                (f"{prefix}exact", percent(exact_scores)),
                (f"{prefix}f1", percent(f1_scores)),
                (f"{prefix}total", float(total)),
            ]
        )

    @staticmethod
    def merge_eval_dicts(eval_dicts: Iterable[Mapping[str, float]]) -> OrderedDict[str, float]:
        """One ordered dict with every key of every dict (a later dict wins on a repeated key)."""
        merged: OrderedDict[str, float] = OrderedDict()
        for eval_dict in eval_dicts:
            merged.update(eval_dict)
        return merged

    @staticmethod
    def evaluate_predictions(
        examples: Sequence[Any], all_predictions: Mapping[str, str]
    ) -> OrderedDict[str, float]:
        """Scores over all predicted questions, then over those with an answer (``HasAns_``) and without (``NoAns_``).

        Only the first ``len(all_predictions)`` examples are scored.
        """
        has_answer = {example.qas_id: bool(example.answers) for example in examples[: len(all_predictions)]}
        groups = (
            (list(has_answer), ""),
            ([qid for qid, answered in has_answer.items() if answered], "HasAns_"),
            ([qid for qid, answered in has_answer.items() if not answered], "NoAns_"),
        )
        return QAMetrics.merge_eval_dicts(
            QAMetrics.make_eval_dict(
                *QAMetrics.get_exact_match_and_f1(examples, all_predictions, ids), prefix=prefix
            )
            for ids, prefix in groups
        )

    @staticmethod
    def dump_predicted_answers_to_file(
        output_filename: str | os.PathLike[str], examples: Iterable[Any], predictions: Mapping[str, str]
    ) -> None:
        """Write one JSON line per example: ``id``, ``context``, ``question``, ``predicted_answer``."""
        logging.info(f"Writing predictions to {output_filename}")
        with open(output_filename, "w") as writer:
            for example in examples:
                record = {
                    "id": example.qas_id,
                    "context": example.context_text,
                    "question": example.question_text,
                    "predicted_answer": predictions[example.qas_id],
                }
                writer.write(json.dumps(record) + "\n")

    @staticmethod
    def dump_nbest_predictions_to_file(
        output_filename: str | os.PathLike[str],
        examples: Iterable[Any],
        nbest_predictions: Mapping[str, Sequence[Mapping[str, Any]]],
        keys_to_dump: Sequence[str] = (),
    ) -> None:
        """Write one JSON line per example with its n-best predictions, keeping only ``keys_to_dump`` of each."""
        logging.info(f"Writing nbest predictions to {output_filename}")
        with open(output_filename, "w") as writer:
            for example in examples:
                record = {
                    "id": example.qas_id,
                    "context": example.context_text,
                    "question": example.question_text,
                    "nbest_predictions": [
                        {key: prediction[key] for key in keys_to_dump}
                        for prediction in nbest_predictions[example.qas_id]
                    ],
                }
                writer.write(json.dumps(record) + "\n")

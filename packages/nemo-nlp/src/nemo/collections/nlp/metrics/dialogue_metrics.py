"""Dialogue metrics (NeMo 1.23's names): token-overlap F1 and BLEU of generated responses, and intent/slot scores.

All figures are percentages (0-100).
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Sequence

import numpy as np

__all__ = ["DialogueClassificationMetrics", "DialogueGenerationMetrics"]


def _write_jsonl(filename: str | os.PathLike[str], columns: dict[str, Sequence], length: int) -> None:
    """One JSON object per row, with one key per column (all columns have ``length`` rows)."""
    with open(filename, "w", encoding="UTF-8") as f:
        for row in range(length):
            f.write(json.dumps({key: values[row] for key, values in columns.items()}) + "\n")


class DialogueGenerationMetrics:
    """Scores of generated responses against references."""

    @staticmethod
    def save_predictions(
        filename: str | os.PathLike[str],
        generated_field: Sequence[str],
        ground_truth_field: Sequence[str],
        inputs: Sequence[str],
    ) -> None:
        """Write ``{"input", "ground_truth", "generated"}`` JSON lines, one per input."""
        columns = {"input": inputs, "ground_truth": ground_truth_field, "generated": generated_field}
        _write_jsonl(filename, columns, len(inputs))

    @staticmethod
    def _get_one_f1(generated_field: str, ground_truth_field: str) -> np.ndarray:
        """``[precision, recall, f1]`` in percent of the whitespace tokens two strings share (zeros if none)."""
        generated = generated_field.split()
        truth = ground_truth_field.split()
        shared = sum((Counter(generated) & Counter(truth)).values())
        if shared == 0:
            return np.zeros(3)
        precision = shared / len(generated)
        recall = shared / len(truth)
        return 100.0 * np.array([precision, recall, 2 * precision * recall / (precision + recall)])

    @staticmethod
    def get_f1(generated_fields: Sequence[str], ground_truth_fields: Sequence[str]) -> np.ndarray:
        """Mean ``[precision, recall, f1]`` (percent) over the pairs, shape ``(3,)``."""
        scores = [
            DialogueGenerationMetrics._get_one_f1(g, t) for g, t in zip(generated_fields, ground_truth_fields)
        ]
        return np.mean(np.array(scores), axis=0)

    @staticmethod
    def get_bleu(generated_field: Sequence[str], ground_truth_field: Sequence[str]) -> float:
        """Corpus BLEU (sacrebleu, ``13a`` tokenizer) over the pairs where both strings are non-empty."""
        try:
            from sacrebleu import corpus_bleu
        except ImportError as err:
            raise ImportError(
                "DialogueGenerationMetrics.get_bleu needs sacrebleu: pip install sacrebleu."
            ) from err
        pairs = [(g, t) for g, t in zip(generated_field, ground_truth_field) if g and t]
        return corpus_bleu([g for g, _ in pairs], [[t for _, t in pairs]], tokenize="13a").score


class DialogueClassificationMetrics:
    """Intent-label and slot-filling scores of generated ``"<label>\\nslots: name(value), ..."`` outputs."""

    @staticmethod
    def save_predictions(
        filename: str | os.PathLike[str],
        generated_labels: Sequence,
        generated_slots: Sequence,
        ground_truth_labels: Sequence,
        ground_truth_slots: Sequence,
        generated_field: Sequence[str],
        ground_truth_field: Sequence[str],
        inputs: Sequence[str],
    ) -> None:
        """Write one JSON line per input with the input, the references and the predictions."""
        columns = {
            "input": inputs,
            "ground_truth": ground_truth_field,
            "ground_truth_slots": ground_truth_slots,
            "ground_truth_labels": ground_truth_labels,
            "generated": generated_field,
            "generated_slots": generated_slots,
            "generated_labels": generated_labels,
        }
        _write_jsonl(filename, columns, len(inputs))

    @staticmethod
    def split_label_and_slots(
        fields: Sequence[str], with_slots: bool = False
    ) -> tuple[list[str], list[list[str]]]:
        """Split each ``"label\\nslots: a(1), b(2)"`` into ``"label"`` and ``["a(1)", "b(2)"]``.

        Without ``slots:`` the label is ``"none"`` and the whole text is read as slots. Anything after
        ``possible intents:`` in the slots is dropped. With ``with_slots=False`` the field is the label and the
        slots are ``[]``.
        """
        labels: list[str] = []
        slots_list: list[list[str]] = []
        for field in fields:
            if not with_slots:
                labels.append(field)
                slots_list.append([])
                continue
            parts = [part.strip() for part in field.split("slots:", 1)]
            label, slots = parts if len(parts) == 2 else ("none", parts[0])
            labels.append(label)
            slots_list.append(slots.split("possible intents:")[0].split(", "))
        return labels, slots_list

    @staticmethod
    def get_slot_filling_metrics(
        generated_slots: Sequence[Sequence[str]], ground_truth_slots: Sequence[Sequence[str]]
    ) -> tuple[float, float, float, float]:
        """Mean precision, recall, their F1, and joint goal accuracy (all slots right), in percent.

        Slots are compared as sets of ``"name(value)"`` strings; precision (recall) of an empty prediction
        (reference) is 0. F1 is taken from the two means, not averaged per example.
        """
        precisions, recalls, joint = [], [], []
        for generated, truth in zip(generated_slots, ground_truth_slots):
            predicted, expected = set(generated), set(truth)
            correct = len(predicted & expected)
            precisions.append(correct / len(predicted) if predicted else 0)
            recalls.append(correct / len(expected) if expected else 0)
            joint.append(int(predicted == expected))
        precision = np.mean(precisions) * 100
        recall = np.mean(recalls) * 100
        f1 = 2 * recall * precision / (recall + precision + 1e-20)
        return precision, recall, f1, np.mean(joint) * 100

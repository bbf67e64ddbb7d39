"""Write ``classification_report_reference.json``: what NeMo 1.23's ``ClassificationReport`` computes.

This script runs NeMo 1.23 (its ``nemo/collections/nlp/metrics/classification_report.py``, loaded as a single
file because ``nemo.collections.nlp`` itself does not import in the reference venv). The tests never need NeMo:
they read the JSON this writes.

    cd /tmp/scratch && /tmp/nemo-ref/bin/python \
        /work/main/packages/nemo-nlp/tests/metrics/data/make_classification_report_reference.py

For each case the JSON holds the update batches (``[predictions, labels]`` pairs, nested lists), the constructor
arguments, and per mode NeMo's ``compute()``: ``precision``, ``recall``, ``f1`` (numbers, or lists in ``"all"``
mode; NaN where NeMo divides by zero) and ``report`` (the exact string).
"""

import importlib.util
import json
import random
from pathlib import Path

import nemo
import torch

SOURCE = Path(nemo.__file__).parent / "collections" / "nlp" / "metrics" / "classification_report.py"
OUT = Path(__file__).with_name("classification_report_reference.json")
MODES = ("macro", "micro", "weighted", "all")


def load_nemo_metric():
    spec = importlib.util.spec_from_file_location("nemo_classification_report", SOURCE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.ClassificationReport


def random_batches(num_classes: int, sizes: list[int], seed: int) -> list[list[list[int]]]:
    rng = random.Random(seed)
    batches = []
    for size in sizes:
        labels = [rng.randrange(num_classes) for _ in range(size)]
        # Mostly right, so the figures are far from 0 and differ per class.
        predictions = [label if rng.random() < 0.6 else rng.randrange(num_classes) for label in labels]
        batches.append([predictions, labels])
    return batches


CASES = {
    # Class 3 is predicted once but never labelled (zero support); class 2 is labelled but never predicted.
    "hand_made": {
        "num_classes": 4,
        "label_ids": {"O": 0, "B-PER": 1, "I-PER": 2, "B-LOC": 3},
        "batches": [[[0, 0, 1, 1, 3], [0, 1, 1, 2, 0]], [[0, 1, 0], [0, 1, 2]]],
    },
    "random": {"num_classes": 6, "label_ids": None, "batches": random_batches(6, [50, 70, 30], seed=0)},
    # Token-level (B, T) batches with NeMo's ignore label -100 and an out-of-range prediction.
    "ignore_index": {
        "num_classes": 3,
        "label_ids": {"O": 0, ",": 1, ".": 2},
        "batches": [
            [[[0, 1, 2, 0, 0], [2, 2, 0, 1, 7]], [[0, 1, -100, 0, -100], [2, 0, 0, 1, 1]]],
        ],
    },
    "no_updates": {"num_classes": 2, "label_ids": {"yes": 1}, "batches": []},
}


def main() -> None:
    metric_class = load_nemo_metric()
    results = {}
    for name, case in CASES.items():
        results[name] = dict(case, nemo={})
        for mode in MODES:
            metric = metric_class(num_classes=case["num_classes"], label_ids=case["label_ids"], mode=mode)
            for predictions, labels in case["batches"]:
                metric.update(torch.tensor(predictions), torch.tensor(labels))
            precision, recall, f1, report = metric.compute()
            results[name]["nemo"][mode] = {
                "precision": precision.tolist(),
                "recall": recall.tolist(),
                "f1": f1.tolist(),
                "report": report,
            }
    OUT.write_text(json.dumps(results, indent=1) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()

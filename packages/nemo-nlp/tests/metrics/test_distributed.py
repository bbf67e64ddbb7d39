"""Across 2 gloo processes ClassificationReport sums its counts: each rank computes the single-process result."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from nemo.collections.nlp.metrics import ClassificationReport

WORKER = Path(__file__).with_name("distributed_worker.py")
NUM_CLASSES = 5
LABEL_IDS = {"business": 0, "entertainment": 1, "politics": 2, "sports": 3, "tech": 4}


def batches(seed: int, sizes: list[int]) -> list[list[list[int]]]:
    rng = random.Random(seed)
    out = []
    for size in sizes:
        labels = [rng.randrange(NUM_CLASSES - 1) for _ in range(size)]  # class 4 never labelled
        out.append([[t if rng.random() < 0.6 else rng.randrange(NUM_CLASSES) for t in labels], labels])
    return out


def single_process(batch_list: list[list[list[int]]], mode: str, label_ids: dict | None) -> dict:
    metric = ClassificationReport(NUM_CLASSES, label_ids=label_ids, mode=mode)
    for predictions, labels in batch_list:
        metric.update(torch.tensor(predictions), torch.tensor(labels))
    precision, recall, f1, report = metric.compute()
    return {"figures": [values.reshape(-1).tolist() for values in (precision, recall, f1)], "report": report}


def flat(figures: list[list[float]]) -> list[float]:
    return [value for values in figures for value in values]


@pytest.mark.slow
def test_two_ranks_compute_what_one_process_computes_on_all_batches(tmp_path: Path) -> None:
    ranks = [batches(0, [40, 25]), batches(1, [33])]  # unequal shares, as the last DDP batch often is
    inputs = {"num_classes": NUM_CLASSES, "label_ids": LABEL_IDS, "ranks": ranks}
    (tmp_path / "inputs.json").write_text(json.dumps(inputs))
    subprocess.run(
        [sys.executable, str(WORKER), str(tmp_path / "inputs.json"), str(tmp_path)], check=True, timeout=300
    )
    results = [json.loads((tmp_path / f"rank{rank}.json").read_text()) for rank in range(2)]

    for mode in ("macro", "micro", "weighted", "all"):
        everything = single_process(ranks[0] + ranks[1], mode, LABEL_IDS)
        first_steps = single_process([ranks[0][0], ranks[1][0]], mode, None)
        for rank, result in enumerate(results):
            assert result[mode]["epoch"]["report"] == everything["report"]
            assert flat(result[mode]["epoch"]["figures"]) == pytest.approx(
                flat(everything["figures"]), abs=1e-4
            )
            assert flat(result[mode]["first_step"]["figures"]) == pytest.approx(
                flat(first_steps["figures"]), abs=1e-4
            )
            # After compute, each rank's own counts are its own again.
            own = ClassificationReport(NUM_CLASSES)
            for predictions, labels in ranks[rank]:
                own.update(torch.tensor(predictions), torch.tensor(labels))
            assert result[mode]["local_tp"] == own.tp.tolist()
    assert results[0]["macro"]["epoch"]["report"].count("\n") == 1 + NUM_CLASSES + 1 + 3 + 1

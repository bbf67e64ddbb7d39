"""Across 2 processes the metrics reduce like NeMo's: states are summed over ranks before ``compute``."""

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

WORKER = Path(__file__).with_name("distributed_worker.py")

# Top-k by hand (classes ranked by logit): rank 0 rows rank [1, 2, 0] and [0, 1, 2], so label 2 is 2nd and
# label 0 is 1st; rank 1 rows rank [0, 1, 2], [2, 1, 0], [1, 0, 2], so the labels are 3rd, 1st and 2nd.
INPUTS = [
    {
        "losses": [[2.0, 3], [6.0, 1]],
        "probs": [[[0.5, 0.5]], [[0.25, 0.25, 0.25, 0.25]]],
        "logits": [[0.1, 0.7, 0.2], [0.5, 0.3, 0.2]],
        "labels": [2, 0],
    },
    {
        "losses": [[1.0, 4], [3.0, 2]],
        "probs": [[[1.0, 0.0, 0.0], [0.5, 0.25, 0.25]]],
        "logits": [[0.6, 0.3, 0.1], [0.2, 0.3, 0.5], [0.3, 0.45, 0.25]],
        "labels": [2, 2, 0],
    },
]
TOP_1_HITS, TOP_2_HITS, EXAMPLES = 1 + 1, 2 + 2, 2 + 3


def hand_perplexity(probs: list[float]) -> float:
    return math.exp(-sum(p * math.log(p) for p in probs if p > 0))


@pytest.mark.slow
def test_two_ranks_sum_their_states(tmp_path: Path) -> None:
    (tmp_path / "inputs.json").write_text(json.dumps(INPUTS))
    subprocess.run(
        [sys.executable, str(WORKER), str(tmp_path / "inputs.json"), str(tmp_path)], check=True, timeout=180
    )
    results = [json.loads((tmp_path / f"rank{rank}.json").read_text()) for rank in range(2)]

    losses = [pair for rank in INPUTS for pair in rank["losses"]]
    mean_loss = sum(loss * count for loss, count in losses) / sum(count for _, count in losses)
    first_steps = [rank["losses"][0] for rank in INPUTS]
    first_step_loss = sum(loss * count for loss, count in first_steps) / sum(
        count for _, count in first_steps
    )
    distributions = [row for rank in INPUTS for batch in rank["probs"] for row in batch]
    mean_perplexity = sum(hand_perplexity(row) for row in distributions) / len(distributions)
    for result in results:
        assert result["loss"] == pytest.approx(mean_loss)
        assert result["step_loss"] == pytest.approx(first_step_loss)
        assert result["perplexity"] == pytest.approx(mean_perplexity)
        assert result["accuracy"] == pytest.approx([TOP_1_HITS / EXAMPLES, TOP_2_HITS / EXAMPLES])
    # After compute, each rank keeps accumulating its own measurements only.
    assert [result["loss_local_count"] for result in results] == [3 + 1, 4 + 2]

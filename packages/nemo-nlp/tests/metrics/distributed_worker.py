"""Run ClassificationReport on 2 CPU processes (gloo) and write what each rank computes.

Usage: ``python distributed_worker.py INPUTS_JSON OUTPUT_DIR``. ``INPUTS_JSON`` holds ``num_classes``,
``label_ids`` and, per rank, that rank's ``[predictions, labels]`` batches; rank ``r`` writes
``OUTPUT_DIR/rank<r>.json`` with, per mode, the synced ``compute()`` and the first step's ``forward`` value
under ``dist_sync_on_step=True``. ``test_distributed.py`` runs it: ``torch.multiprocessing.spawn`` needs a
worker importable by name, which a test module collected with ``--import-mode=importlib`` is not.
"""

import json
import socket
import sys
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from nemo.collections.nlp.metrics import ClassificationReport

MODES = ("macro", "micro", "weighted", "all")


def figures(result: tuple) -> dict:
    precision, recall, f1, report = result
    return {"figures": [values.reshape(-1).tolist() for values in (precision, recall, f1)], "report": report}


def run_rank(rank: int, world_size: int, port: int, inputs: dict, output_dir: str) -> None:
    """Update with this rank's batches, then compute (which sums the counts over the ranks)."""
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world_size)
    try:
        batches = [[torch.tensor(p), torch.tensor(t)] for p, t in inputs["ranks"][rank]]
        result = {}
        for mode in MODES:
            metric = ClassificationReport(inputs["num_classes"], label_ids=inputs["label_ids"], mode=mode)
            for predictions, labels in batches:
                metric.update(predictions, labels)
            on_step = ClassificationReport(inputs["num_classes"], mode=mode, dist_sync_on_step=True)
            result[mode] = {
                "epoch": figures(metric.compute()),
                "local_tp": metric.tp.tolist(),
                "first_step": figures(on_step(*batches[0])),
            }
        Path(output_dir, f"rank{rank}.json").write_text(json.dumps(result))
    finally:
        dist.destroy_process_group()


def main() -> None:
    inputs = json.loads(Path(sys.argv[1]).read_text())
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    world_size = len(inputs["ranks"])
    mp.spawn(run_rank, args=(world_size, port, inputs, sys.argv[2]), nprocs=world_size, join=True)


if __name__ == "__main__":
    main()

"""Run the shared metrics on 2 CPU processes (gloo) and write what each rank computes.

Usage: ``python distributed_worker.py INPUTS_JSON OUTPUT_DIR``. ``INPUTS_JSON`` holds one entry per rank
with that rank's batches; rank ``r`` writes ``OUTPUT_DIR/rank<r>.json``. ``test_distributed.py`` runs it:
``torch.multiprocessing.spawn`` needs a worker importable by name, which a test module collected with
``--import-mode=importlib`` is not.
"""

import json
import socket
import sys
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from nemo.collections.common.metrics import GlobalAverageLossMetric, Perplexity, TopKClassificationAccuracy


def run_rank(rank: int, world_size: int, port: int, inputs: list[dict], output_dir: str) -> None:
    """Update each metric with this rank's batches, then compute (which syncs across ranks)."""
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world_size)
    try:
        mine = inputs[rank]
        loss = GlobalAverageLossMetric(take_avg_loss=True)
        for value, count in mine["losses"]:
            loss.update(torch.tensor(value), torch.tensor(count))
        step_loss = GlobalAverageLossMetric(dist_sync_on_step=True)
        synced_step = step_loss(torch.tensor(mine["losses"][0][0]), torch.tensor(mine["losses"][0][1]))
        perplexity = Perplexity()
        for probs in mine["probs"]:
            perplexity.update(probs=torch.tensor(probs))
        accuracy = TopKClassificationAccuracy(top_k=[1, 2])
        accuracy.update(torch.tensor(mine["logits"]), torch.tensor(mine["labels"]))
        result = {
            "loss": loss.compute().item(),
            "loss_local_count": loss.num_measurements.item(),
            "step_loss": synced_step.item(),
            "perplexity": perplexity.compute().item(),
            "accuracy": accuracy.compute(),
        }
        Path(output_dir, f"rank{rank}.json").write_text(json.dumps(result))
    finally:
        dist.destroy_process_group()


def main() -> None:
    inputs = json.loads(Path(sys.argv[1]).read_text())
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    mp.spawn(run_rank, args=(len(inputs), port, inputs, sys.argv[2]), nprocs=len(inputs), join=True)


if __name__ == "__main__":
    main()

"""``nemo.utils.distributed`` and ``ModelPT``'s DDP hooks in a real 2-process gloo group (CPU).

Each process runs the script below and writes what it saw to ``rank<r>.json``; the test checks the results
against values it computes itself from the same inputs.
"""

import json
import os
import subprocess
import sys

import pytest
import torch
from nemo.core.classes.modelPT import ModelPT
from nemo.utils.distributed import (
    ratio_over_processes,
    shard_for_evaluation,
    sum_over_processes,
    weighted_mean_over_processes,
)
from omegaconf import OmegaConf
from torch.utils.data import DataLoader

# Step values of each rank: rank 0 runs three evaluation steps, rank 1 two, rank 2 none (an empty share).
STEPS = {
    0: {"losses": [1.0, 2.0, 4.0], "weights": [2, 2, 1], "errors": [1, 0, 3], "words": [4, 2, 5]},
    1: {"losses": [8.0, 0.5], "weights": [2, 3], "errors": [2, 2], "words": [3, 3]},
    2: {"losses": [], "weights": [], "errors": [], "words": []},
}

SCRIPT = """
import json, sys
import torch
import torch.distributed as dist
from nemo.core.classes.modelPT import ModelPT
from nemo.utils.distributed import (
    ratio_over_processes, shard_for_evaluation, sum_over_processes, weighted_mean_over_processes,
)
from omegaconf import OmegaConf
from torch.utils.data import DataLoader

rank, world, store, steps = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], json.loads(sys.argv[4])
dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=world)
mine = steps[str(rank)]
result = {
    "sum": sum_over_processes(torch.tensor([rank + 1.0, 10.0 * rank])).tolist(),
    "loss": float(weighted_mean_over_processes([torch.tensor(v) for v in mine["losses"]], mine["weights"])),
    "wer": float(ratio_over_processes([torch.tensor(e) for e in mine["errors"]], mine["words"])),
}

ordered = DataLoader(list(range(11)), batch_size=2)
result["shard"] = [batch.tolist() for batch in shard_for_evaluation(ordered)]
result["in_a_list"] = [[b.tolist() for b in dl] for dl in shard_for_evaluation([ordered, ordered])]
result["shuffled_kept"] = shard_for_evaluation(DataLoader(list(range(11)), shuffle=True)).sampler.__class__.__name__
result["opted_out"] = shard_for_evaluation(ordered, use_distributed_sampler=False) is ordered
too_small = DataLoader([0, 1], batch_size=1)  # fewer items than processes: one process would have none
result["too_small_kept"] = shard_for_evaluation(too_small) is too_small


class Table(torch.nn.Module):
    rank_local_buffers = ("table",)

    def __init__(self):
        super().__init__()
        self.register_buffer("table", torch.zeros(4), persistent=False)


class Tiny(ModelPT):
    def __init__(self):
        super().__init__(cfg=OmegaConf.create({}))
        self.layer = torch.nn.Linear(3, 1)
        self.positions = Table()
        self.norm = torch.nn.BatchNorm1d(1)

    def forward(self, x):
        return self.norm(self.layer(x)) + self.positions.table.sum()

    def setup_training_data(self, cfg): pass
    def setup_validation_data(self, cfg): pass
    @classmethod
    def list_available_models(cls): return []


model = Tiny()
result["ignored"] = sorted(model._ddp_params_and_buffers_to_ignore)
ddp = torch.nn.parallel.DistributedDataParallel(model)
# Each process grows its own table (rank 0 the largest) with its own values, then trains: DDP broadcasts rank 0's
# buffers before training forwards, which fails on a buffer larger on rank 0 and overwrites the values of
# one that fits, unless the buffer is left out of DDP.
size = 4 + 3 * (world - 1 - rank)
model.positions.register_buffer("table", torch.full((size,), float(rank)), persistent=False)
for _ in range(3):
    ddp(torch.ones(2, 3)).sum().backward()
result["table"] = [model.positions.table.numel(), float(model.positions.table.sum())]
result["norm_mean"] = model.norm.running_mean.tolist()  # BatchNorm's buffers are still synchronized
with open(f"{sys.argv[5]}/rank{rank}.json", "w") as out:
    json.dump(result, out)
"""


@pytest.fixture(scope="module")
def three_ranks(tmp_path_factory) -> dict[int, dict]:
    """What each of three processes of one gloo group computed."""
    folder = tmp_path_factory.mktemp("distributed")
    script = folder / "worker.py"
    script.write_text(SCRIPT, encoding="utf-8")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    args = [str(3), str(folder / "store"), json.dumps(STEPS), str(folder)]
    processes = [
        subprocess.Popen(
            [sys.executable, str(script), str(rank), *args], env=env, stderr=subprocess.PIPE, text=True
        )
        for rank in range(3)
    ]
    errors = [process.communicate(timeout=180)[1] for process in processes]
    assert [process.returncode for process in processes] == [0, 0, 0], "\n".join(e[-2000:] for e in errors)
    return {rank: json.loads((folder / f"rank{rank}.json").read_text()) for rank in range(3)}


def test_sums_and_means_cover_every_step_of_every_process(three_ranks):
    all_losses = [v for r in STEPS.values() for v in r["losses"]]
    all_weights = [w for r in STEPS.values() for w in r["weights"]]
    expected_loss = sum(v * w for v, w in zip(all_losses, all_weights)) / sum(all_weights)
    expected_wer = sum(e for r in STEPS.values() for e in r["errors"]) / sum(
        w for r in STEPS.values() for w in r["words"]
    )
    for rank in range(3):
        assert three_ranks[rank]["sum"] == [6.0, 30.0]
        assert three_ranks[rank]["loss"] == pytest.approx(expected_loss, rel=1e-6)
        assert three_ranks[rank]["wer"] == pytest.approx(expected_wer, rel=1e-6)


def test_evaluation_shards_are_disjoint_and_cover_the_set_once(three_ranks):
    shards = [[item for batch in three_ranks[rank]["shard"] for item in batch] for rank in range(3)]
    assert shards == [[0, 3, 6, 9], [1, 4, 7, 10], [2, 5, 8]]  # items r, r + 3, ...; nothing repeated
    assert [len(three_ranks[rank]["shard"][0]) for rank in range(3)] == [2, 2, 2]  # batch size kept
    for rank in range(3):
        assert [[i for b in dl for i in b] for dl in three_ranks[rank]["in_a_list"]] == [shards[rank]] * 2
        assert three_ranks[rank]["shuffled_kept"] == "RandomSampler"  # left for Lightning's sampler
        assert three_ranks[rank]["opted_out"] is True
        # Fewer items than processes: left to Lightning's padding sampler, with a warning.
        assert three_ranks[rank]["too_small_kept"] is True


def test_rank_local_buffers_are_left_out_of_ddp_and_may_differ(three_ranks):
    for rank in range(3):
        assert three_ranks[rank]["ignored"] == ["positions.table"]
        size = 4 + 3 * (2 - rank)
        assert three_ranks[rank]["table"] == [size, float(rank * size)]  # its own size and values
    assert three_ranks[0]["norm_mean"] == three_ranks[1]["norm_mean"] == three_ranks[2]["norm_mean"]


def test_outside_a_distributed_run_nothing_is_reduced_or_resharded():
    loader = DataLoader(list(range(5)), batch_size=2)
    assert shard_for_evaluation(loader) is loader
    assert sum_over_processes(torch.tensor([2.0, 3.0])).tolist() == [2.0, 3.0]
    assert float(weighted_mean_over_processes([1.0, 4.0], [3, 1])) == pytest.approx(7 / 4)
    assert float(ratio_over_processes([1, 2], [0, 0])) == 3.0  # no words: errors over max(words, 1)
    assert torch.isnan(weighted_mean_over_processes([], []))


class _Holder(torch.nn.Module):
    rank_local_buffers = ("a", "b")


class _Model(ModelPT):
    def __init__(self) -> None:
        super().__init__(cfg=OmegaConf.create({}))
        self.inner = torch.nn.Sequential(_Holder())
        self.top = _Holder()

    def setup_training_data(self, cfg) -> None: ...

    def setup_validation_data(self, cfg) -> None: ...

    @classmethod
    def list_available_models(cls) -> list:
        return []


def test_ddp_ignore_list_names_nested_buffers_and_keeps_names_ddp_assigns():
    model = _Model()
    assert model._ddp_params_and_buffers_to_ignore == ["inner.0.a", "inner.0.b", "top.a", "top.b"]
    torch.nn.parallel.DistributedDataParallel._set_params_and_buffers_to_ignore_for_model(model, ["inner.w"])
    assert model._ddp_params_and_buffers_to_ignore[-1] == "inner.w"

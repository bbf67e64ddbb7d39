import json
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest
from nemo.collections.asr.data.bucketing import (
    BucketingDataset,
    DurationBucketingBatchSampler,
    RandomizedChainDataset,
    bucket_batch_sizes,
    calc_bucketing_batch_sizes,
)
from torch.utils.data import DistributedSampler

DURATIONS = np.random.default_rng(0).uniform(0.5, 20.0, size=103)


def bucket_bounds(num_buckets: int) -> list[tuple[float, float]]:
    ordered = np.sort(DURATIONS)
    return [(chunk[0], chunk[-1]) for chunk in np.array_split(ordered, num_buckets)]


def test_every_utterance_once_and_batches_stay_in_one_bucket():
    sampler = DurationBucketingBatchSampler(DURATIONS, batch_size=8, num_buckets=4, seed=1)
    batches = list(sampler)
    assert sorted(i for batch in batches for i in batch) == list(range(len(DURATIONS)))
    assert len(batches) == len(sampler)
    bounds = bucket_bounds(4)
    for batch in batches:
        lo, hi = DURATIONS[batch].min(), DURATIONS[batch].max()
        assert any(b_lo <= lo and hi <= b_hi for b_lo, b_hi in bounds)
        assert len(batch) <= 8


def test_shuffle_is_seeded_and_new_each_epoch():
    first = DurationBucketingBatchSampler(DURATIONS, 8, num_buckets=4, seed=5)
    again = DurationBucketingBatchSampler(DURATIONS, 8, num_buckets=4, seed=5)
    epoch0 = list(first)
    assert list(again) == epoch0
    assert list(first) != epoch0
    first.set_epoch(0)
    assert list(first) == epoch0
    assert list(DurationBucketingBatchSampler(DURATIONS, 8, num_buckets=4, seed=6)) != epoch0


def test_without_shuffle_batches_go_shortest_first():
    batches = list(DurationBucketingBatchSampler(DURATIONS, 10, num_buckets=3, shuffle=False))
    flat = [i for batch in batches for i in batch]
    assert flat == np.argsort(DURATIONS, kind="stable").tolist()


def test_bucket_batch_sizes_and_drop_last():
    assert bucket_batch_sizes(None, 4, 3) == [4, 4, 4]
    assert bucket_batch_sizes(2, 99, 3) == [6, 4, 2]
    assert bucket_batch_sizes([5, 3], 99, 2) == [5, 3]
    with pytest.raises(ValueError, match=r"gives batch sizes \[5\] for 2 buckets"):
        bucket_batch_sizes([5], 1, 2)
    sampler = DurationBucketingBatchSampler(
        DURATIONS, 1, num_buckets=2, bucketing_batch_size=[10, 7], drop_last=True
    )
    batches = list(sampler)
    sizes = sorted({len(batch) for batch in batches})
    assert sizes == [7, 10] and len(batches) == len(sampler) == 52 // 10 + 51 // 7


def shares_of(make_sampler, num_replicas: int) -> list[list[list[int]]]:
    """One epoch of every rank's batches, each rank from its own sampler, as separate processes build them."""
    return [list(make_sampler(rank)) for rank in range(num_replicas)]


def assert_disjoint_cover(shares: list[list[list[int]]], repeated_batches: int) -> None:
    """Equal batch counts; every utterance in some share; only ``repeated_batches`` whole batches twice."""
    assert len({len(share) for share in shares}) == 1
    batches = [tuple(batch) for share in shares for batch in share]
    assert {i for batch in batches for i in batch} == set(range(len(DURATIONS)))
    assert len(batches) - len(set(batches)) == repeated_batches
    flat = [i for batch in set(batches) for i in batch]
    assert sorted(flat) == list(range(len(DURATIONS)))
    for share in shares:
        seen = [i for batch in share for i in batch]
        assert len(seen) == len(set(seen)), "a rank got an utterance twice in one epoch"


def test_replicas_get_disjoint_equal_shares():
    # 103 utterances in 4 buckets of 26/26/26/25 at batch size 8: 4 batches each, 16 in all.
    four = shares_of(
        lambda r: DurationBucketingBatchSampler(DURATIONS, 8, 4, seed=3, num_replicas=4, rank=r), 4
    )
    assert [len(share) for share in four] == [4, 4, 4, 4]
    assert_disjoint_cover(four, repeated_batches=0)
    # 3 ranks: 16 batches padded to 18, so two batches are repeated on ranks that did not have them.
    three = shares_of(
        lambda r: DurationBucketingBatchSampler(DURATIONS, 8, 4, seed=3, num_replicas=3, rank=r), 3
    )
    assert [len(share) for share in three] == [6, 6, 6]
    assert len(DurationBucketingBatchSampler(DURATIONS, 8, 4, num_replicas=3, rank=2)) == 6
    assert_disjoint_cover(three, repeated_batches=2)


def test_distributed_sampler_shards_with_its_rank_seed_and_epoch():
    def make(rank, seed=7):
        shard = DistributedSampler(range(len(DURATIONS)), num_replicas=2, rank=rank, seed=seed)
        return DurationBucketingBatchSampler(DURATIONS, 8, 4, seed=3, sampler=shard)

    samplers = [make(0), make(1)]
    assert [(s.rank, s.num_replicas) for s in samplers] == [(0, 2), (1, 2)]
    epoch0 = [list(s) for s in samplers]
    assert_disjoint_cover(epoch0, repeated_batches=0)
    assert [list(s) for s in samplers] == epoch0, (
        "the epoch comes from the DistributedSampler, not from passes"
    )
    for s in samplers:
        s.sampler.set_epoch(1)  # what Lightning calls every epoch
    epoch1 = [list(s) for s in samplers]
    assert_disjoint_cover(epoch1, repeated_batches=0)
    assert epoch1[0] != epoch0[0]
    assert list(make(0, seed=8)) != epoch0[0]


def test_lightning_rebuilds_the_same_buckets_around_its_sampler():
    sampler = DurationBucketingBatchSampler.accepting_lightning_sampler(
        DURATIONS, 8, num_buckets=4, bucketing_batch_size=[9, 7, 5, 3], seed=3
    )
    assert isinstance(sampler, DurationBucketingBatchSampler) and sampler.num_replicas == 1
    # What Lightning does to a DataLoader's batch sampler under DDP (pytorch_lightning.utilities.data).
    rebuilt = [
        type(sampler)(
            DistributedSampler(range(len(DURATIONS)), num_replicas=2, rank=rank),
            batch_size=sampler.batch_size,
            drop_last=sampler.drop_last,
        )
        for rank in range(2)
    ]
    for copy in rebuilt:
        assert copy.batch_sizes == [9, 7, 5, 3] and copy.seed == 3
        assert [b.tolist() for b in copy.buckets] == [b.tolist() for b in sampler.buckets]
    # Batches per bucket: ceil(26/9) + ceil(26/7) + ceil(26/5) + ceil(25/3) = 3 + 4 + 6 + 9 = 22, 11 per rank.
    assert [len(copy) for copy in rebuilt] == [11, 11]
    assert_disjoint_cover([list(copy) for copy in rebuilt], repeated_batches=0)
    restored = pickle.loads(pickle.dumps(rebuilt[1]))
    assert type(restored).__name__ == type(rebuilt[1]).__name__ and restored.rank == 1
    assert list(restored) == list(rebuilt[1])


@pytest.mark.slow
def test_rank_comes_from_torch_distributed_when_iterating(tmp_path):
    """Without a sampler or rank, each process of a real gloo group takes its own share."""
    script = (
        "import json, sys, numpy as np, torch.distributed as dist\n"
        "from nemo.collections.asr.data.bucketing import DurationBucketingBatchSampler\n"
        "rank = int(sys.argv[1])\n"
        "durations = np.random.default_rng(0).uniform(0.5, 20.0, size=103)\n"
        "sampler = DurationBucketingBatchSampler(durations, 8, 4, seed=3)\n"
        f"dist.init_process_group('gloo', init_method='file://{tmp_path}/store', rank=rank, world_size=2)\n"
        "print(json.dumps(list(sampler)))\n"
        "dist.destroy_process_group()\n"
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    ranks = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(rank)], stdout=subprocess.PIPE, text=True, env=env
        )
        for rank in range(2)
    ]
    shares = [json.loads(process.communicate(timeout=120)[0]) for process in ranks]
    assert [process.returncode for process in ranks] == [0, 0]
    assert_disjoint_cover(shares, repeated_batches=0)


def test_bad_num_buckets_names_the_key():
    with pytest.raises(ValueError, match=r"num_buckets is 200 for 103 utterances.*config key num_buckets"):
        DurationBucketingBatchSampler(DURATIONS, 8, num_buckets=200)


def test_tarred_bucket_helpers():
    assert calc_bucketing_batch_sizes({"batch_size": 1, "bucketing_batch_size": 3}, 2) == [6, 3]
    with pytest.raises(ValueError, match=r"batch_size should be set to one.*batch_size=4"):
        calc_bucketing_batch_sizes({"batch_size": 4, "bucketing_batch_size": 3}, 2)
    batches = list(BucketingDataset(range(7), 3))
    assert batches == [[0, 1, 2], [3, 4, 5], [6]] and len(BucketingDataset(range(7), 3)) == 3


def test_randomized_chain_reorders_datasets_per_pass():
    from torch.utils.data import IterableDataset

    class Numbers(IterableDataset):
        def __init__(self, value):
            self.value = value

        def __iter__(self):
            yield self.value

        def __len__(self):
            return 1

    chain = RandomizedChainDataset([Numbers(v) for v in range(6)], rnd_seed=0)
    orders = [list(chain) for _ in range(4)]
    assert all(sorted(order) == list(range(6)) for order in orders)
    assert len({tuple(order) for order in orders}) > 1 and len(chain) == 6


def test_lightning_sampler_injection_gets_a_clear_error():
    from torch.utils.data import SequentialSampler

    with pytest.raises(TypeError, match="accepting_lightning_sampler.*use_distributed_sampler=False"):
        DurationBucketingBatchSampler(SequentialSampler(range(5)), batch_size=2, drop_last=False)

import numpy as np
import pytest
from nemo.collections.asr.data.bucketing import (
    BucketingDataset,
    DurationBucketingBatchSampler,
    RandomizedChainDataset,
    bucket_batch_sizes,
    calc_bucketing_batch_sizes,
)

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


def test_replicas_get_disjoint_equal_shares():
    shares = [
        list(DurationBucketingBatchSampler(DURATIONS, 8, 4, seed=3, num_replicas=3, rank=r)) for r in range(3)
    ]
    assert len({len(share) for share in shares}) == 1
    assert len(shares[0]) == len(DurationBucketingBatchSampler(DURATIONS, 8, 4, num_replicas=3, rank=0))
    covered = {i for share in shares for batch in share for i in batch}
    assert covered == set(range(len(DURATIONS)))


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

    with pytest.raises(TypeError, match="use_distributed_sampler=False"):
        DurationBucketingBatchSampler(SequentialSampler(range(5)), batch_size=2, drop_last=False)

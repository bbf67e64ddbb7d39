"""Duration bucketing: batches of utterances of similar length, so little of each batch is padding.

Map-style datasets (config keys of ``train_ds``)::

    use_bucketing: true          # group by duration with DurationBucketingBatchSampler
    num_buckets: 8               # equal-count duration buckets
    bucketing_batch_size: null   # null: batch_size in every bucket; an int b: bucket i (shortest first)
                                 # of n gets (n - i) * b; a list: one batch size per bucket
    bucketing_seed: 0            # shuffling seed (with shuffle: true); each epoch reshuffles

Tarred datasets use NeMo's layout instead: ``manifest_filepath`` and ``tarred_audio_filepaths`` as lists
of buckets (shortest first), ``bucketing_batch_size`` as above with ``batch_size: 1``, and
``bucketing_strategy``: ``synced_randomized`` (random bucket order, the same on every process),
``fully_randomized`` (random per process) or ``fixed_order``.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch
from nemo.utils import logging
from torch.utils.data import ChainDataset, IterableDataset, Sampler

__all__ = [
    "BUCKETING_STRATEGIES",
    "BucketingDataset",
    "DurationBucketingBatchSampler",
    "RandomizedChainDataset",
    "bucket_batch_sizes",
    "calc_bucketing_batch_sizes",
    "get_chain_dataset",
]

BUCKETING_STRATEGIES = ("synced_randomized", "fully_randomized", "fixed_order")


def bucket_batch_sizes(
    bucketing_batch_size: int | Sequence[int] | None, batch_size: int, num_buckets: int
) -> list[int]:
    """Batch size of each bucket, shortest bucket first.

    Args:
        bucketing_batch_size: ``None`` (``batch_size`` everywhere), an int ``b`` (bucket ``i`` of ``n`` gets
            ``(n - i) * b``, NeMo's linear scaling) or one size per bucket.
        batch_size: the config's ``batch_size``.
        num_buckets: number of buckets.
    """
    if bucketing_batch_size is None:
        sizes = [batch_size] * num_buckets
    elif isinstance(bucketing_batch_size, int):
        sizes = [(num_buckets - i) * bucketing_batch_size for i in range(num_buckets)]
    else:
        sizes = [int(size) for size in bucketing_batch_size]
    if len(sizes) != num_buckets or min(sizes) < 1:
        raise ValueError(
            f"bucketing_batch_size {bucketing_batch_size!r} gives batch sizes {sizes} for {num_buckets} buckets; "
            f"expected {num_buckets} sizes >= 1 (config keys bucketing_batch_size / num_buckets)."
        )
    return sizes


def calc_bucketing_batch_sizes(ds_config: Any, datasets_len: int) -> list[int]:
    """Batch sizes of tarred buckets from a dataset config (NeMo's function; ``batch_size`` must be 1)."""
    if ds_config["batch_size"] != 1:
        raise ValueError(
            f"batch_size should be set to one when bucketing_batch_size is set and adaptive bucketing is enabled "
            f"(batch_size={ds_config['batch_size']}). Set batch_size: 1."
        )
    return bucket_batch_sizes(ds_config["bucketing_batch_size"], 1, datasets_len)


class DurationBucketingBatchSampler(Sampler[list[int]]):
    """Batch sampler that groups utterances of similar duration.

    Utterances are sorted by duration and split into ``num_buckets`` buckets of equal count. Every epoch,
    each bucket is shuffled and cut into batches, and the batches of all buckets are shuffled together.
    The order depends only on ``seed`` and the epoch (``set_epoch``, which Lightning calls; otherwise
    each pass over the sampler advances the epoch). Under distributed training each process takes every
    ``num_replicas``-th batch, the batch list being padded by repetition so all get as many.

    Args:
        durations: (N,) duration of each dataset item, in seconds.
        batch_size: batch size used when ``bucketing_batch_size`` is ``None``.
        num_buckets: number of duration buckets.
        bucketing_batch_size: see :func:`bucket_batch_sizes`.
        shuffle: shuffle within buckets and across batches; ``False`` gives shortest-first batches.
        seed: shuffling seed.
        drop_last: drop each bucket's last, incomplete batch.
        num_replicas: number of processes (default: from ``torch.distributed`` when initialized, else 1).
        rank: this process's rank (default: from ``torch.distributed``, else 0).
    """

    def __init__(
        self,
        durations: Sequence[float] | np.ndarray,
        batch_size: int,
        num_buckets: int = 8,
        bucketing_batch_size: int | Sequence[int] | None = None,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = False,
        num_replicas: int | None = None,
        rank: int | None = None,
    ) -> None:
        if isinstance(durations, Sampler):
            raise TypeError(
                f"DurationBucketingBatchSampler got a {type(durations).__name__} instead of durations: Lightning is "
                "injecting a distributed sampler. This batch sampler splits batches across processes itself; "
                "create the Trainer with use_distributed_sampler=False when use_bucketing is true."
            )
        durations = np.asarray(durations, dtype=np.float64)
        if num_buckets < 1 or len(durations) < num_buckets:
            raise ValueError(
                f"num_buckets is {num_buckets} for {len(durations)} utterances; expected 1 <= num_buckets <= "
                "the number of utterances (config key num_buckets)."
            )
        distributed = torch.distributed.is_available() and torch.distributed.is_initialized()
        self.num_replicas = num_replicas or (torch.distributed.get_world_size() if distributed else 1)
        self.rank = rank if rank is not None else (torch.distributed.get_rank() if distributed else 0)
        self.buckets = np.array_split(np.argsort(durations, kind="stable"), num_buckets)
        self.batch_sizes = bucket_batch_sizes(bucketing_batch_size, batch_size, num_buckets)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.drop_last = drop_last
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Use the shuffle of ``epoch`` on the next pass."""
        self.epoch = epoch

    def _all_batches(self, rng: np.random.Generator) -> list[list[int]]:
        batches: list[list[int]] = []
        for bucket, size in zip(self.buckets, self.batch_sizes):
            order = rng.permutation(bucket) if self.shuffle else bucket
            cut = len(order) - len(order) % size if self.drop_last else len(order)
            batches.extend(order[start : start + size].tolist() for start in range(0, cut, size))
        if self.shuffle:
            batches = [batches[i] for i in rng.permutation(len(batches))]
        return batches

    def _batches_per_replica(self, total: int) -> int:
        return math.ceil(total / self.num_replicas)

    def __iter__(self) -> Iterator[list[int]]:
        batches = self._all_batches(np.random.default_rng([self.seed, self.epoch]))
        self.epoch += 1
        total = self._batches_per_replica(len(batches)) * self.num_replicas
        padded = list(itertools.islice(itertools.cycle(batches), total))
        return iter(padded[self.rank :: self.num_replicas])

    def __len__(self) -> int:
        if self.drop_last:
            total = sum(len(bucket) // size for bucket, size in zip(self.buckets, self.batch_sizes))
        else:
            total = sum(math.ceil(len(bucket) / size) for bucket, size in zip(self.buckets, self.batch_sizes))
        return self._batches_per_replica(total)


class BucketingDataset(IterableDataset):
    """Yields lists of ``bucketing_batch_size`` samples of one tarred bucket (the last list may be shorter).

    Use it in a ``DataLoader(batch_size=None, collate_fn=dataset.collate_fn)``: each list becomes a batch.
    """

    def __init__(self, dataset: IterableDataset, bucketing_batch_size: int) -> None:
        self.wrapped_dataset = dataset
        self.bucketing_batch_size = bucketing_batch_size

    def __iter__(self) -> Iterator[list[Any]]:
        batch: list[Any] = []
        for sample in self.wrapped_dataset:
            batch.append(sample)
            if len(batch) == self.bucketing_batch_size:
                yield batch
                batch = []
        if batch:
            yield batch

    def __len__(self) -> int:
        return math.ceil(len(self.wrapped_dataset) / self.bucketing_batch_size)


class RandomizedChainDataset(ChainDataset):
    """Chains iterable datasets, in a new random order on every pass (seeded by ``rnd_seed``)."""

    def __init__(self, datasets: Sequence[IterableDataset], rnd_seed: int = 0) -> None:
        super().__init__(list(datasets))
        self.rnd_gen = random.Random(rnd_seed)

    def __iter__(self) -> Iterator[Any]:
        order = list(range(len(self.datasets)))
        self.rnd_gen.shuffle(order)
        for index in order:
            yield from self.datasets[index]


def get_chain_dataset(datasets: list[IterableDataset], ds_config: Any, rank: int = 0) -> IterableDataset:
    """Combine tarred bucket datasets as the config asks (NeMo's function).

    With ``bucketing_batch_size`` set, each bucket is wrapped in a :class:`BucketingDataset` (yielding
    whole batches); then the buckets are chained per ``bucketing_strategy``.

    Args:
        datasets: one dataset per bucket, shortest first.
        ds_config: the dataset config (``batch_size``, ``bucketing_batch_size``, ``bucketing_strategy``).
        rank: this process's rank (seeds ``fully_randomized``).
    """
    if len(datasets) == 1:
        return datasets[0]
    if ds_config.get("bucketing_batch_size") is not None:
        sizes = calc_bucketing_batch_sizes(ds_config, len(datasets))
        logging.info(
            f"Batch bucketing is enabled for {len(datasets)} buckets with adaptive batch sizes of {sizes}!"
        )
        datasets = [BucketingDataset(dataset, size) for dataset, size in zip(datasets, sizes)]
    else:
        logging.info(
            f"Batch bucketing is enabled for {len(datasets)} buckets with fixed batch size of {ds_config['batch_size']}!"
        )
    strategy = ds_config.get("bucketing_strategy", "synced_randomized")
    if strategy == "fixed_order":
        return ChainDataset(datasets)
    if strategy == "synced_randomized":
        return RandomizedChainDataset(datasets, rnd_seed=0)
    if strategy == "fully_randomized":
        return RandomizedChainDataset(datasets, rnd_seed=random.Random(rank).randint(0, 30000))
    raise ValueError(f"bucketing_strategy is {strategy!r}; expected one of {BUCKETING_STRATEGIES}.")

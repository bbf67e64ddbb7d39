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

import inspect
import itertools
import math
import random
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch
from nemo.utils import logging
from torch.utils.data import ChainDataset, DistributedSampler, IterableDataset, Sampler

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
    The order depends only on the seeds and the epoch, so it is the same in every process. The epoch is the
    ``sampler``'s when one is given (Lightning sets it), else the last ``set_epoch``, advanced by each pass.

    Distributed training: each process takes every ``num_replicas``-th batch of the epoch's list, which
    is padded by repeating its first batches so that every process gets as many batches (DDP waits for
    all processes at every step). Shares are disjoint apart from those at most ``num_replicas - 1``
    repeated batches. The process count, rank, shuffle seed and epoch come from, first, a
    ``DistributedSampler`` given as ``sampler``; else from ``num_replicas``/``rank``; else from
    ``torch.distributed`` when it is initialised at iteration time; else one process.

    Under Lightning (``use_distributed_sampler=True``, the default), Lightning gives a DataLoader's batch
    sampler its ``DistributedSampler`` by calling ``type(batch_sampler)(sampler, batch_size=...,
    drop_last=...)``. Build the sampler with :meth:`accepting_lightning_sampler` (as
    ``get_audio_to_text_dataloader`` does) so that this call rebuilds the same buckets, sharded by
    Lightning's sampler.

    Args:
        durations: (N,) duration of each dataset item, in seconds.
        batch_size: batch size used when ``bucketing_batch_size`` is ``None``.
        num_buckets: number of duration buckets.
        bucketing_batch_size: see :func:`bucket_batch_sizes`.
        shuffle: shuffle within buckets and across batches; ``False`` gives shortest-first batches.
        seed: shuffling seed (config key ``bucketing_seed``).
        drop_last: drop each bucket's last, incomplete batch.
        num_replicas: number of processes, if not taken from ``sampler`` or ``torch.distributed``.
        rank: this process's rank, if not taken from ``sampler`` or ``torch.distributed``.
        sampler: a ``DistributedSampler`` whose ``num_replicas``, ``rank``, ``seed`` and ``epoch`` shard
            the batches (its own ``shuffle`` and ``drop_last`` are not used).
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
        sampler: DistributedSampler | None = None,
    ) -> None:
        if isinstance(durations, Sampler):
            raise TypeError(
                f"DurationBucketingBatchSampler got a {type(durations).__name__} instead of durations: Lightning is "
                "injecting a distributed sampler into a sampler that was not built to accept it. Build it with "
                "DurationBucketingBatchSampler.accepting_lightning_sampler(...) (get_audio_to_text_dataloader "
                "does), or create the Trainer with use_distributed_sampler=False."
            )
        if sampler is not None and not isinstance(sampler, DistributedSampler):
            raise TypeError(
                f"sampler is a {type(sampler).__name__}; expected a torch.utils.data.DistributedSampler (the one "
                "Lightning injects), whose rank and number of replicas shard the batches."
            )
        durations = np.asarray(durations, dtype=np.float64)
        if num_buckets < 1 or len(durations) < num_buckets:
            raise ValueError(
                f"num_buckets is {num_buckets} for {len(durations)} utterances; expected 1 <= num_buckets <= "
                "the number of utterances (config key num_buckets)."
            )
        if num_replicas is not None and (rank is None or not 0 <= rank < num_replicas):
            raise ValueError(
                f"rank is {rank} for num_replicas={num_replicas}; expected 0 <= rank < num_replicas. Pass both "
                "or neither (then they come from torch.distributed)."
            )
        self.buckets = np.array_split(np.argsort(durations, kind="stable"), num_buckets)
        self.batch_sizes = bucket_batch_sizes(bucketing_batch_size, batch_size, num_buckets)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.drop_last = drop_last
        self.sampler = sampler
        self._num_replicas = num_replicas
        self._rank = rank
        self.epoch = 0

    @classmethod
    def accepting_lightning_sampler(cls, *args: Any, **kwargs: Any) -> DurationBucketingBatchSampler:
        """A sampler (same arguments as the constructor) that Lightning can give its ``DistributedSampler``.

        Lightning rebuilds a custom batch sampler as ``type(batch_sampler)(sampler, batch_size=...,
        drop_last=...)``, which would lose the bucket settings. The returned sampler's class is a subclass
        bound to these arguments: called that way, it builds the same buckets with ``sampler`` sharding them.
        """
        settings = inspect.signature(cls).bind(*args, **kwargs).arguments
        return _lightning_rebuildable(cls, settings, settings.pop("sampler", None))

    def set_epoch(self, epoch: int) -> None:
        """Use the shuffle of ``epoch`` on the next pass (also sets the epoch of ``sampler``)."""
        self.epoch = epoch
        if self.sampler is not None:
            self.sampler.set_epoch(epoch)

    @property
    def num_replicas(self) -> int:
        """Number of processes the batches are split across."""
        if self.sampler is not None:
            return self.sampler.num_replicas
        if self._num_replicas is not None:
            return self._num_replicas
        return torch.distributed.get_world_size() if _distributed() else 1

    @property
    def rank(self) -> int:
        """This process's share: every ``num_replicas``-th batch from this index on."""
        if self.sampler is not None:
            return self.sampler.rank
        if self._rank is not None:
            return self._rank
        return torch.distributed.get_rank() if _distributed() else 0

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
        if self.sampler is None:
            seeds = [self.seed, self.epoch]
            self.epoch += 1
        else:
            seeds = [self.seed, self.sampler.seed, self.sampler.epoch]
        batches = self._all_batches(np.random.default_rng(seeds))
        num_replicas = self.num_replicas
        total = self._batches_per_replica(len(batches)) * num_replicas
        padded = list(itertools.islice(itertools.cycle(batches), total))
        return iter(padded[self.rank :: num_replicas])

    def __len__(self) -> int:
        if self.drop_last:
            total = sum(len(bucket) // size for bucket, size in zip(self.buckets, self.batch_sizes))
        else:
            total = sum(math.ceil(len(bucket) / size) for bucket, size in zip(self.buckets, self.batch_sizes))
        return self._batches_per_replica(total)


def _distributed() -> bool:
    return torch.distributed.is_available() and torch.distributed.is_initialized()


def _lightning_rebuildable(
    base: type[DurationBucketingBatchSampler], settings: dict[str, Any], sampler: DistributedSampler | None
) -> DurationBucketingBatchSampler:
    """An instance of a ``base`` subclass whose constructor takes Lightning's ``(sampler, batch_size, drop_last)``.

    ``batch_size`` and ``drop_last`` are ignored: Lightning passes back this sampler's own values.
    Instances pickle (``ddp_spawn`` pickles the model with its loaders) by rebuilding through this function.
    """

    class LightningDurationBucketingBatchSampler(base):
        def __init__(
            self, sampler: DistributedSampler | None = None, batch_size: Any = None, drop_last: Any = None
        ) -> None:
            super().__init__(**settings, sampler=sampler)

        def __reduce__(self) -> tuple[Any, ...]:
            return _lightning_rebuildable, (base, settings, self.sampler)

    return LightningDurationBucketingBatchSampler(sampler)


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

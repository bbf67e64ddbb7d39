"""Evaluation across the processes of a distributed run (DDP, DDP-spawn, FSDP; one node or many).

Two pieces make a validation or test metric of an N-process run equal to the one-process result on the same
data:

- :func:`shard_for_evaluation` gives each process a disjoint share of an evaluation set with nothing repeated.
  (Lightning's default ``DistributedSampler`` pads the set to a multiple of N by repeating its first items, so
  those are counted twice.)
- :func:`sum_over_processes` adds each process's totals (errors and words, weighted losses and their weights);
  the metric is computed from the sums, never as a mean of per-process ratios.

Both do nothing outside a distributed run. Nothing here imports Lightning until a loader is sharded.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from nemo.utils import logging
from torch.utils.data import BatchSampler, DataLoader, IterableDataset, SequentialSampler

__all__ = [
    "is_distributed",
    "ratio_over_processes",
    "shard_for_evaluation",
    "sum_over_processes",
    "sum_steps_over_processes",
    "weighted_mean_over_processes",
]


def is_distributed() -> bool:
    """True inside an initialized ``torch.distributed`` process group of more than one process."""
    return (
        torch.distributed.is_available()
        and torch.distributed.is_initialized()
        and torch.distributed.get_world_size() > 1
    )


def sum_over_processes(values: torch.Tensor) -> torch.Tensor:
    """The element-wise sum of ``values`` over all processes (a copy; ``values`` itself is not changed).

    Every process must call it, with a tensor of the same shape, the same number of times. Outside a
    distributed run it returns a copy of ``values``.

    Args:
        values: any shape, on the device the process group communicates on (CPU for gloo, CUDA for NCCL).
            Counts are exact in float64 up to 2**53.

    Returns:
        Same shape and dtype as ``values``.
    """
    total = values.detach().clone()
    if is_distributed():
        torch.distributed.all_reduce(total, op=torch.distributed.ReduceOp.SUM)
    return total


def sum_steps_over_processes(
    steps: Sequence[torch.Tensor | float], shape: Sequence[int] = (), device: torch.device | None = None
) -> torch.Tensor:
    """The float64 sum of this process's step values (each of ``shape``), then over every process.

    Every process must call it (see :func:`sum_over_processes`); a process with no steps adds zeros. Counts are
    exact up to 2**53.

    Args:
        steps: one value per step of this process, scalars or tensors of ``shape`` (may be empty).
        shape: the shape of each value.
        device: where to add them (default: the device of the first tensor, else the one the process group
            communicates on).
    """
    device = device or _device_of(steps)
    local = torch.zeros(tuple(shape), dtype=torch.float64, device=device)
    for step in steps:
        local += _float64(step, device)
    return sum_over_processes(local)


def weighted_mean_over_processes(
    values: Sequence[torch.Tensor | float], weights: Sequence[torch.Tensor | float]
) -> torch.Tensor:
    """``sum(value * weight) / sum(weight)`` over the steps of every process (a float32 scalar).

    Use it for a loss that each step reports as a mean: weighted by what the step averaged over (its
    utterances, tokens or frames), the result is the mean over the whole evaluation set whatever the batching
    and the number of processes. Every process must call it (see :func:`sum_over_processes`).

    Args:
        values: one scalar per step of this process (may be empty).
        weights: what each value is a mean over, same length as ``values``.

    Returns:
        The weighted mean, or NaN when every weight is 0.
    """
    device = _device_of([*values, *weights])
    steps = [
        torch.stack([_float64(value, device) * _float64(weight, device), _float64(weight, device)])
        for value, weight in zip(values, weights)
    ]
    weighted_sum, weight_sum = sum_steps_over_processes(steps, (2,), device)
    return (weighted_sum / weight_sum).float()


def ratio_over_processes(
    numerators: Sequence[torch.Tensor | float], denominators: Sequence[torch.Tensor | float]
) -> torch.Tensor:
    """``sum(numerators) / max(sum(denominators), 1)`` over every process's steps (e.g. WER: errors / words).

    Every process must call it (see :func:`sum_over_processes`).

    Returns:
        A float32 scalar.
    """
    device = _device_of([*numerators, *denominators])
    steps = [
        torch.stack([_float64(numerator, device), _float64(denominator, device)])
        for numerator, denominator in zip(numerators, denominators)
    ]
    numerator_sum, denominator_sum = sum_steps_over_processes(steps, (2,), device)
    return (numerator_sum / denominator_sum.clamp(min=1)).float()


def _float64(value: torch.Tensor | float, device: torch.device) -> torch.Tensor:
    return torch.as_tensor(value, dtype=torch.float64, device=device).detach()


def _device_of(values: Sequence[torch.Tensor | float]) -> torch.device:
    """The device of the first tensor among ``values`` (the one the process group communicates on)."""
    for value in values:
        if isinstance(value, torch.Tensor):
            return value.device
    return _communication_device()


def _communication_device() -> torch.device:
    """Where a process with no tensors of its own puts its sums: CUDA for NCCL, else CPU."""
    if is_distributed() and torch.distributed.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def shard_for_evaluation(dataloader: Any, use_distributed_sampler: bool = True) -> Any:
    """The evaluation ``dataloader`` restricted to this process's share of its dataset, when distributed.

    Process ``r`` of ``N`` reads items ``r, r + N, r + 2N, ...`` in order (Lightning's
    ``UnrepeatedDistributedSampler``): every item is read by exactly one process and none twice, and the
    processes' item counts differ by at most one. Lightning keeps a loader whose sampler is already a
    ``DistributedSampler``, so it does not add its padding sampler on top.

    Only a plain ``DataLoader`` over a map-style dataset read in order (``shuffle=False``, batches of
    ``batch_size``) is resharded. Anything else is returned unchanged: lists and dicts of loaders are handled
    item by item, iterable datasets (tarred data) shard themselves, and custom samplers are left to Lightning.
    A set with fewer items than processes is returned unchanged too, with a warning (Lightning's sampler then
    repeats items, so that every process has one).

    Args:
        dataloader: a ``DataLoader``, a list or dict of them, or anything Lightning accepts as one.
        use_distributed_sampler: the trainer's ``use_distributed_sampler``; False leaves every loader as it is.

    Returns:
        The sharded loader (a new ``DataLoader`` with the same dataset, batch size, workers and collate
        function), or ``dataloader`` itself.
    """
    if not use_distributed_sampler or not is_distributed():
        return dataloader
    if isinstance(dataloader, (list, tuple)):
        return type(dataloader)(shard_for_evaluation(item) for item in dataloader)
    if isinstance(dataloader, dict):
        return {key: shard_for_evaluation(item) for key, item in dataloader.items()}
    if not _reads_in_order(dataloader):
        return dataloader
    world_size = torch.distributed.get_world_size()
    if len(dataloader.dataset) < world_size:
        logging.warning(
            f"The evaluation set has {len(dataloader.dataset)} item(s) for {world_size} processes: a process without "
            "an item would stall the others, so Lightning's sampler repeats items and metrics count them twice. "
            "Evaluate on at least as many items as processes."
        )
        return dataloader
    from pytorch_lightning.overrides.distributed import UnrepeatedDistributedSampler

    sampler = UnrepeatedDistributedSampler(
        dataloader.dataset, num_replicas=world_size, rank=torch.distributed.get_rank(), shuffle=False
    )
    workers = dataloader.num_workers
    return DataLoader(
        dataloader.dataset,
        batch_size=dataloader.batch_size,
        sampler=sampler,
        num_workers=workers,
        collate_fn=dataloader.collate_fn,
        pin_memory=dataloader.pin_memory,
        drop_last=dataloader.drop_last,
        timeout=dataloader.timeout,
        worker_init_fn=dataloader.worker_init_fn,
        multiprocessing_context=dataloader.multiprocessing_context,
        generator=dataloader.generator,
        prefetch_factor=dataloader.prefetch_factor if workers > 0 else None,
        persistent_workers=dataloader.persistent_workers if workers > 0 else False,
    )


def _reads_in_order(dataloader: Any) -> bool:
    """A plain DataLoader over a sized map-style dataset, batching a SequentialSampler by ``batch_size``."""
    return (
        type(dataloader) is DataLoader
        and not isinstance(dataloader.dataset, IterableDataset)
        and hasattr(dataloader.dataset, "__len__")
        and dataloader.batch_size is not None
        and type(dataloader.sampler) is SequentialSampler
        and type(dataloader.batch_sampler) is BatchSampler
    )

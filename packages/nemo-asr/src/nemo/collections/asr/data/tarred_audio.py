"""Tarred audio shards: shard path patterns, shard assignment, streaming tar reads, shuffle buffers.

A tarred ASR dataset is a set of uncompressed tar shards (WebDataset layout: members
``<key>.wav``/``.flac``) plus one manifest whose ``audio_filepath`` names each utterance's member.
Shards are given as a brace pattern, config key ``tarred_audio_filepaths``::

    tarred_audio_filepaths: /data/audio_{0..63}.tar      # also audio__OP_0..63_CL_.tar (NeMo's escape)

Members are streamed with :mod:`tarfile` (no extraction to disk) and decoded by soundfile.
"""

from __future__ import annotations

import io
import os
import random
import re
import tarfile
from collections.abc import Iterable, Iterator, Sequence
from typing import TypeVar

from nemo.utils import logging

__all__ = [
    "SHARD_STRATEGIES",
    "expand_braces",
    "expand_sharded_filepaths",
    "iter_tar_members",
    "open_member",
    "shuffle_buffer",
]

SHARD_STRATEGIES = ("scatter", "replicate")
_BRACE_ALIASES = (
    ("_OP_", "{"),
    ("_CL_", "}"),
    ("(", "{"),
    (")", "}"),
    ("[", "{"),
    ("]", "}"),
    ("<", "{"),
    (">", "}"),
)
_RANGE = re.compile(r"(-?\d+)\.\.(-?\d+)(?:\.\.(-?\d+))?")
_T = TypeVar("_T")


def _matching_brace(pattern: str, start: int) -> int:
    depth = 0
    for index in range(start, len(pattern)):
        depth += {"{": 1, "}": -1}.get(pattern[index], 0)
        if depth == 0:
            return index
    return -1


def _split_top_level_commas(text: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for index, char in enumerate(text):
        depth += {"{": 1, "}": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(text[start:index])
            start = index + 1
    return [*parts, text[start:]]


def _range_values(match: re.Match) -> list[str]:
    first, last, step = match.group(1), match.group(2), match.group(3)
    start, stop, increment = int(first), int(last), abs(int(step or 1)) or 1
    direction = 1 if stop >= start else -1
    width = (
        max(len(first), len(last))
        if first.lstrip("-").startswith("0") or last.lstrip("-").startswith("0")
        else 0
    )
    return [str(value).zfill(width) for value in range(start, stop + direction, direction * increment)]


def expand_braces(pattern: str) -> list[str]:
    """Bash-style brace expansion: ``a_{0..3}.tar``, ``{00..10}`` (zero-padded), ``{x,y}``, nested groups.

    A group that is neither a range nor a comma list (``{x}``) stays literal.

    Example:
        >>> expand_braces("shard_{0..2}_{a,b}.tar")[:3]
        ['shard_0_a.tar', 'shard_0_b.tar', 'shard_1_a.tar']
    """
    start = pattern.find("{")
    while start != -1:
        end = _matching_brace(pattern, start)
        if end == -1:
            return [pattern]
        body = pattern[start + 1 : end]
        numeric = _RANGE.fullmatch(body)
        alternatives = _range_values(numeric) if numeric else _split_top_level_commas(body)
        if numeric or len(alternatives) > 1:
            prefix, suffixes = pattern[:start], expand_braces(pattern[end + 1 :])
            return [
                prefix + head + tail
                for alt in alternatives
                for head in expand_braces(alt)
                for tail in suffixes
            ]
        start = pattern.find("{", end + 1)
    return [pattern]


def expand_sharded_filepaths(
    sharded_filepaths: str | Sequence[str], shard_strategy: str, world_size: int, global_rank: int
) -> list[str]:
    """Expand a shard pattern and pick this process's shards (NeMo's function).

    Args:
        sharded_filepaths: a brace pattern (``(``/``[``/``<``/``_OP_`` may stand for ``{``, and
            ``)``/``]``/``>``/``_CL_`` for ``}``), or a list of paths or patterns.
        shard_strategy: ``"scatter"``: each of the ``world_size`` processes takes its own contiguous
            ``len // world_size`` shards (a remainder is left out, with a warning); ``"replicate"``:
            every process reads every shard.
        world_size: number of processes.
        global_rank: this process's rank.

    Returns:
        The shard paths this process reads.
    """
    if shard_strategy not in SHARD_STRATEGIES:
        raise ValueError(f"shard_strategy is {shard_strategy!r}; expected one of {SHARD_STRATEGIES}.")
    patterns = [sharded_filepaths] if isinstance(sharded_filepaths, str) else list(sharded_filepaths)
    shards = []
    for pattern in patterns:
        pattern = os.fspath(pattern)
        for alias, brace in _BRACE_ALIASES:
            pattern = pattern.replace(alias, brace)
        shards.extend(expand_braces(pattern))
    if world_size > 1 and shard_strategy == "scatter":
        if len(shards) % world_size:
            logging.warning(
                f"Number of shards in tarred dataset ({len(shards)}) is not divisible by number of distributed "
                f"workers ({world_size}); {len(shards) % world_size} shards will not be read."
            )
        per_rank = len(shards) // world_size
        begin = per_rank * global_rank
        shards = shards[begin : begin + per_rank]
        logging.info(
            f"Partitioning tarred dataset: process ({global_rank}) taking shards [{begin}, {begin + per_rank})"
        )
    return shards


def iter_tar_members(shard_path: str) -> Iterator[tuple[str, bytes]]:
    """Stream ``(member basename, bytes)`` for every regular file of a tar shard, in archive order.

    Nothing is written to disk, so member names cannot escape anywhere; links and other special
    members are skipped.
    """
    try:
        with tarfile.open(shard_path, mode="r|*") as tar:
            for member in tar:
                if member.isfile():
                    yield os.path.basename(member.name), tar.extractfile(member).read()
    except FileNotFoundError as err:
        raise FileNotFoundError(
            f"Tarred audio shard {shard_path!r} does not exist. Check the config key 'tarred_audio_filepaths'."
        ) from err
    except tarfile.TarError as err:
        raise RuntimeError(
            f"Tarred audio shard {shard_path!r} is not a readable tar archive: {err}."
        ) from err


def open_member(data: bytes, name: str) -> io.BytesIO:
    """A named in-memory file over a member's bytes (soundfile reads it; errors show the name)."""
    buffer = io.BytesIO(data)
    buffer.name = name
    return buffer


def shuffle_buffer(items: Iterable[_T], size: int, rng: random.Random) -> Iterator[_T]:
    """Approximately shuffle a stream with a buffer of ``size`` items (``size <= 1``: no shuffling)."""
    if size <= 1:
        yield from items
        return
    buffer: list[_T] = []
    for item in items:
        if len(buffer) < size:
            buffer.append(item)
            continue
        slot = rng.randrange(size)
        yield buffer[slot]
        buffer[slot] = item
    rng.shuffle(buffer)
    yield from buffer


def worker_shards_and_seed(shards: Sequence[str], shuffle_n: int) -> tuple[list[str], int]:
    """This DataLoader worker's shards and the seed of its shuffle buffer, new each epoch.

    In a worker the seed derives from the DataLoader's per-epoch base seed, shared by all workers of the epoch;
    in the main process it is drawn from torch's default generator, so ``torch.manual_seed`` makes either
    reproducible. With ``shuffle_n > 0`` the shard order is shuffled with that seed before the shards are dealt
    out to the workers in turn; each worker's buffer seed is the epoch seed plus 1 plus its id.
    """
    import torch
    from torch.utils.data import get_worker_info

    worker = get_worker_info()
    if worker is None:
        seed, worker_id, num_workers = int(torch.empty((), dtype=torch.int64).random_()), 0, 1
    else:
        seed, worker_id, num_workers = worker.seed - worker.id, worker.id, worker.num_workers
    ordered = list(shards)
    if shuffle_n > 0:
        random.Random(seed).shuffle(ordered)
    mine = ordered[worker_id::num_workers]
    if not mine:
        logging.warning(
            f"DataLoader worker {worker_id} of {num_workers} has no tar shard to read ({len(ordered)} shards); "
            "use at most as many workers as shards."
        )
    return mine, seed + 1 + worker_id

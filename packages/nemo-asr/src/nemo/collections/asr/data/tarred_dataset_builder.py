"""Write tarred audio shards from a manifest (NeMo's ``convert_to_tarred_audio_dataset``, as a function).

Command line::

    python -m nemo.collections.asr.data.tarred_dataset_builder \\
        --manifest_path train.json --target_dir tarred/ --num_shards 8 [--max_duration 20] [--shuffle]

Writes ``audio_0.tar`` ... ``audio_<N-1>.tar`` (uncompressed; audio files copied as they are, named by
their basename, ``-<n>`` added before the extension when two different files share a name in a shard)
and ``tarred_audio_manifest.json``, whose entries keep every key of the source manifest, with
``audio_filepath`` set to the member name and ``shard_id`` added. Utterances that share an audio
file (different ``offset``\\ s) in one shard share one member. Read the result with
``tarred_audio_filepaths: <target_dir>/audio_{0..N-1}.tar``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tarfile
from collections.abc import Sequence
from pathlib import Path

from nemo.collections.asr.data.manifest import load_audio_text_manifests
from nemo.utils import logging

__all__ = ["convert_to_tarred_audio_dataset", "main"]

TARRED_MANIFEST_NAME = "tarred_audio_manifest.json"


def _member_name(source: str, taken: dict[str, str]) -> str:
    """A member name for ``source`` unique within its shard (``taken``: member name -> source)."""
    stem, extension = os.path.splitext(os.path.basename(source))
    name, counter = f"{stem}{extension}", 1
    while taken.get(name, source) != source:
        name, counter = f"{stem}-{counter}{extension}", counter + 1
    taken[name] = source
    return name


def convert_to_tarred_audio_dataset(
    manifest_path: str | Sequence[str],
    target_dir: str,
    num_shards: int,
    max_duration: float | None = None,
    min_duration: float | None = None,
    shuffle: bool = False,
    shuffle_seed: int | None = None,
    sort_in_shards: bool = False,
) -> tuple[str, list[str]]:
    """Split a manifest's utterances into ``num_shards`` tar shards.

    Args:
        manifest_path: source manifest(s) (comma-separated or list).
        target_dir: output folder (created).
        num_shards: number of shards; utterances are spread as evenly as possible (none dropped).
        max_duration: leave out longer utterances (seconds).
        min_duration: leave out shorter utterances (seconds).
        shuffle: shuffle utterances before sharding.
        shuffle_seed: seed for ``shuffle``.
        sort_in_shards: sort each shard's utterances by duration.

    Returns:
        ``(tarred manifest path, shard paths)``.
    """
    entries = load_audio_text_manifests(manifest_path, min_duration=min_duration, max_duration=max_duration)
    if not 1 <= num_shards <= len(entries):
        raise ValueError(
            f"num_shards is {num_shards} for {len(entries)} utterances; expected 1 <= num_shards <= utterances."
        )
    if shuffle:
        random.Random(shuffle_seed).shuffle(entries)
    target = Path(target_dir)
    target.mkdir(parents=True, exist_ok=True)
    base, extra = divmod(len(entries), num_shards)
    manifest_lines, shard_paths, start = [], [], 0
    for shard_id in range(num_shards):
        shard_entries = entries[start : start + base + (shard_id < extra)]
        start += len(shard_entries)
        if sort_in_shards:
            shard_entries.sort(key=lambda entry: entry.duration)
        shard_path = target / f"audio_{shard_id}.tar"
        taken: dict[str, str] = {}
        added: set[str] = set()
        with tarfile.open(shard_path, "w") as tar:
            for entry in shard_entries:
                member = _member_name(entry.audio_filepath, taken)
                if member not in added:
                    tar.add(entry.audio_filepath, arcname=member)
                    added.add(member)
                manifest_lines.append(
                    json.dumps({**entry.to_json(audio_filepath=member), "shard_id": shard_id})
                )
        shard_paths.append(str(shard_path))
    manifest_out = target / TARRED_MANIFEST_NAME
    manifest_out.write_text("".join(f"{line}\n" for line in manifest_lines), encoding="utf-8")
    logging.info(f"Wrote {len(entries)} utterances into {num_shards} shards in {target}")
    return str(manifest_out), shard_paths


def main(argv: Sequence[str] | None = None) -> None:
    """Command-line entry point (see the module docstring)."""
    parser = argparse.ArgumentParser(description="Convert an ASR manifest and its audio into tarred shards.")
    parser.add_argument("--manifest_path", required=True, help="source manifest(s), comma-separated")
    parser.add_argument("--target_dir", required=True, help="output folder")
    parser.add_argument("--num_shards", type=int, required=True, help="number of tar shards")
    parser.add_argument("--max_duration", type=float, default=None, help="leave out longer utterances (s)")
    parser.add_argument("--min_duration", type=float, default=None, help="leave out shorter utterances (s)")
    parser.add_argument("--shuffle", action="store_true", help="shuffle utterances before sharding")
    parser.add_argument("--shuffle_seed", type=int, default=None, help="seed for --shuffle")
    parser.add_argument("--sort_in_shards", action="store_true", help="sort each shard by duration")
    args = parser.parse_args(argv)
    convert_to_tarred_audio_dataset(
        args.manifest_path,
        args.target_dir,
        args.num_shards,
        max_duration=args.max_duration,
        min_duration=args.min_duration,
        shuffle=args.shuffle,
        shuffle_seed=args.shuffle_seed,
        sort_in_shards=args.sort_in_shards,
    )


if __name__ == "__main__":
    main()

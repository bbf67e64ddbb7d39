"""NeMo TTS manifests: JSON lines naming an audio file, its transcript, duration and speaker.

One line per utterance::

    {"audio_filepath": "wavs/a.wav", "text": "Dr. Smith", "normalized_text": "doctor smith",
     "duration": 1.9, "speaker": 3}

- ``audio_filepath`` and ``duration`` (seconds) are required; a relative ``audio_filepath`` (and
  ``mel_filepath``) is resolved against the manifest's folder. Lines are parsed by nemo-asr's manifest
  reader (:mod:`nemo.collections.asr.data.manifest`), so a bad line is a ``ManifestError`` naming the file
  and line.
- ``normalized_text`` (or NeMo's older ``text_normalized``) is optional: without it, the dataset normalises
  ``text`` with its ``text_normalizer``.
- ``speaker`` (an integer index) and ``mel_filepath`` (a precomputed log mel, ``.pt`` or ``.npy``) are
  optional.
- The file is read as nemo-asr's manifests are: UTF-8, ``"\\n"`` (or ``"\\r\\n"``) line endings, a leading
  byte-order mark ignored, blank lines skipped; a line that is not UTF-8 is a ``ManifestError`` naming it.
"""

from __future__ import annotations

import json
import os
import pickle
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from nemo.collections.asr.data.manifest import ManifestError, parse_manifest_line, split_manifest_paths
from nemo.collections.common.parts.preprocessing.manifest import iter_text_lines
from nemo.utils import logging

__all__ = ["TTSManifestEntry", "filter_entries", "read_tts_manifests"]


@dataclass(slots=True)
class TTSManifestEntry:
    """One utterance of a TTS manifest.

    Attributes:
        audio_filepath: resolved audio path.
        text: the transcript as written in the manifest.
        normalized_text: the manifest's normalised transcript, ``None`` when the line has none.
        duration: length in seconds.
        speaker: speaker index, ``None`` when the line has none.
        mel_filepath: resolved path of a precomputed log mel, ``None`` when the line has none.
        where: ``"<manifest>:<line>"`` for error messages.
    """

    audio_filepath: str
    text: str
    normalized_text: str | None
    duration: float
    speaker: int | None
    mel_filepath: str | None
    where: str


def _resolve(path: str, manifest_filepath: str) -> str:
    if os.path.isabs(path):
        return path
    return os.path.join(os.path.dirname(os.path.abspath(manifest_filepath)), path)


def _normalized_text(item: dict, where: str) -> str | None:
    key = "normalized_text" if "normalized_text" in item else "text_normalized"
    value = item.get(key)
    if value is not None and not isinstance(value, str):
        raise ManifestError(
            f"{where}: {key!r} must be a string, got {type(value).__name__} {repr(value)[:200]}. Write it as a "
            "JSON string, or remove it to normalise 'text' with the dataset's text_normalizer."
        )
    return value


def _speaker(extra: dict, where: str) -> int | None:
    speaker = extra.get("speaker")
    if speaker is None:
        return None
    if isinstance(speaker, bool) or not isinstance(speaker, int) or speaker < 0:
        raise ManifestError(
            f"{where}: 'speaker' must be a non-negative integer index, got {repr(speaker)[:200]}. "
            "Map speaker names to 0, 1, 2, ... in the manifest."
        )
    return speaker


def _mel_filepath(extra: dict, manifest_filepath: str, where: str) -> str | None:
    mel_filepath = extra.get("mel_filepath")
    if mel_filepath is None or mel_filepath == "":
        return None
    if not isinstance(mel_filepath, str):
        raise ManifestError(
            f"{where}: 'mel_filepath' must be a path string, got {type(mel_filepath).__name__} "
            f"{repr(mel_filepath)[:200]}. Fix it or remove the key."
        )
    return _resolve(mel_filepath, manifest_filepath)


def _parse(line: str, manifest_filepath: str, line_number: int) -> TTSManifestEntry:
    entry = parse_manifest_line(line, manifest_filepath, line_number)
    item = json.loads(line)  # parse_manifest_line accepted it: one JSON object
    where = entry.where
    return TTSManifestEntry(
        audio_filepath=entry.audio_filepath,
        text=entry.text,
        normalized_text=_normalized_text(item, where),
        duration=entry.duration,
        speaker=_speaker(entry.extra, where),
        mel_filepath=_mel_filepath(entry.extra, manifest_filepath, where),
        where=where,
    )


def read_tts_manifests(
    manifest_filepath: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    check_audio_files: bool = True,
) -> list[TTSManifestEntry]:
    """Read one or more TTS manifests (a path, comma-separated paths, or a list).

    Args:
        manifest_filepath: the manifest(s); config key ``manifest_filepath``.
        check_audio_files: raise when an audio file is missing.

    Returns:
        The entries, in manifest order.

    Raises:
        FileNotFoundError: a manifest, or an audio file, is missing (naming the manifest line).
        ManifestError: a line is malformed or not UTF-8 (naming the file and line).
    """
    entries = []
    for path in split_manifest_paths(manifest_filepath):
        path = os.path.expanduser(path)
        if not os.path.isfile(path):
            raise FileNotFoundError(
                f"Manifest {path!r} does not exist. Check the dataset config key 'manifest_filepath'."
            )
        logging.info(f"Loading dataset from {path}.")
        for line_number, line in iter_text_lines(path, ManifestError, "manifest"):
            if not line.strip():
                continue
            entry = _parse(line, path, line_number)
            if check_audio_files and not os.path.isfile(entry.audio_filepath):
                raise FileNotFoundError(
                    f"{entry.where}: audio file {entry.audio_filepath!r} does not exist. Fix 'audio_filepath' "
                    "on that line (a relative path is read from the manifest's folder) or remove the line."
                )
            entries.append(entry)
    return entries


def filter_entries(
    entries: list[TTSManifestEntry],
    ignore_file: str | os.PathLike[str] | None = None,
    min_duration: float | None = None,
    max_duration: float | None = None,
) -> list[TTSManifestEntry]:
    """Drop entries outside [min_duration, max_duration] and those listed in ``ignore_file``; log what went.

    Args:
        entries: manifest entries.
        ignore_file: a pickled list of audio paths to drop (NeMo's format); an absolute path matches the
            entry's resolved audio path, a relative one (as written in the manifest) matches its end.
        min_duration: drop entries shorter than this (seconds).
        max_duration: drop entries longer than this (seconds).

    Returns:
        The kept entries.
    """
    ignored: set[str] = set()
    ignored_tails: tuple[str, ...] = ()
    if ignore_file:
        logging.info(f"Using {ignore_file} to prune dataset.")
        with open(Path(ignore_file).expanduser(), "rb") as handle:
            paths = [os.path.normpath(str(path)) for path in pickle.load(handle)]
        ignored = {path for path in paths if os.path.isabs(path)}
        ignored_tails = tuple(os.sep + path for path in paths if not os.path.isabs(path))
    kept = []
    pruned, pruned_seconds, total_seconds = 0, 0.0, 0.0
    for entry in entries:
        total_seconds += entry.duration
        too_short = min_duration is not None and entry.duration < min_duration
        too_long = max_duration is not None and entry.duration > max_duration
        audio = os.path.normpath(entry.audio_filepath)
        if too_short or too_long or audio in ignored or (ignored_tails and audio.endswith(ignored_tails)):
            pruned += 1
            pruned_seconds += entry.duration
            continue
        kept.append(entry)
    logging.info(
        f"Pruned {pruned} files ({pruned_seconds / 3600:.2f} hours). Final dataset contains {len(kept)} files "
        f"({(total_seconds - pruned_seconds) / 3600:.2f} hours)."
    )
    return kept

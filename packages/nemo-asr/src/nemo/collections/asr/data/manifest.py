"""ASR manifests: JSON lines naming an audio file, its duration and its transcript.

One line per utterance::

    {"audio_filepath": "wavs/a.wav", "duration": 2.4, "text": "hello world", "offset": 0.0}

- ``audio_filepath`` (or NeMo's older ``audio_file``) and ``duration`` (seconds) are required.
- ``text`` is the transcript; ``normalized_text``, or ``text_filepath`` (a file holding the transcript),
  are used when ``text`` is absent; an utterance without any of them has the empty transcript.
- ``offset`` (seconds into the file) is optional; every other key (``pred_text``, ``lang``, ...) is kept
  in :attr:`ManifestEntry.extra`.
- A relative ``audio_filepath`` is resolved against the manifest's folder (falling back to the working
  directory when the file is only found there, as NeMo does).
- Several manifests can be given as one comma-separated string or as a list.
- A manifest is UTF-8 text; lines end at ``"\\n"`` (``"\\r\\n"`` too), a leading byte-order mark is ignored
  and blank lines are skipped. Any bad line (not UTF-8, not one JSON object, a missing or mistyped key, a
  ``text_filepath`` that is not a readable UTF-8 file) is a :class:`ManifestError` naming the manifest and
  the 1-based line, and saying what to fix.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from nemo.collections.common.parts.preprocessing.manifest import iter_text_lines
from nemo.utils import logging

__all__ = [
    "ManifestEntry",
    "ManifestError",
    "load_audio_text_manifests",
    "parse_json_object",
    "parse_manifest_line",
    "read_manifest_entries",
    "split_manifest_paths",
]

_AUDIO_KEYS = ("audio_filepath", "audio_file")
_KNOWN_KEYS = frozenset({*_AUDIO_KEYS, "duration", "text", "normalized_text", "text_filepath", "offset"})
_EXCERPT = 200


class ManifestError(ValueError):
    """A manifest line could not be used; the message names the file and 1-based line."""


@dataclass(slots=True)
class ManifestEntry:
    """One utterance of a manifest.

    Attributes:
        audio_filepath: resolved audio path (for tarred manifests: the tar member name, unresolved).
        duration: length in seconds.
        text: the transcript.
        offset: seconds into the audio file where the utterance starts (``None``: from the start).
        manifest_filepath: the manifest the line came from.
        line_number: 1-based line in that manifest.
        extra: the line's other keys.
    """

    audio_filepath: str
    duration: float
    text: str
    offset: float | None
    manifest_filepath: str
    line_number: int
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def where(self) -> str:
        """``"<manifest>:<line>"``, for error messages."""
        return f"{self.manifest_filepath}:{self.line_number}"

    def to_json(self, audio_filepath: str | None = None, text: str | None = None) -> dict[str, Any]:
        """The entry as a manifest line's JSON object, optionally with another ``audio_filepath`` or ``text``.

        Keys: ``audio_filepath``, ``duration``, ``text``, ``offset`` (when set), then the line's other keys.
        """
        item: dict[str, Any] = {
            "audio_filepath": self.audio_filepath if audio_filepath is None else audio_filepath,
            "duration": self.duration,
            "text": self.text if text is None else text,
        }
        if self.offset is not None:
            item["offset"] = self.offset
        return {**item, **self.extra}


def split_manifest_paths(manifest_filepath: str | Sequence[str]) -> list[str]:
    """Manifest paths from a comma-separated string or a list (config key ``manifest_filepath``)."""
    if isinstance(manifest_filepath, (str, os.PathLike)):
        paths = os.fspath(manifest_filepath).split(",")
    else:
        paths = [os.fspath(path) for path in manifest_filepath]
    paths = [path.strip() for path in paths if path.strip()]
    if not paths:
        raise ManifestError(
            f"manifest_filepath is empty ({manifest_filepath!r}); give one or more manifest paths."
        )
    return paths


def _resolve_audio_path(audio_filepath: str, manifest_dir: str) -> str:
    if os.path.isabs(audio_filepath):
        return audio_filepath
    beside_manifest = os.path.join(manifest_dir, audio_filepath)
    if not os.path.exists(beside_manifest) and os.path.exists(audio_filepath):
        return audio_filepath
    return beside_manifest


def _excerpt(text: str) -> str:
    """``text`` cut to its first characters, for error messages (a bad line can be megabytes long)."""
    text = text.strip()
    return text if len(text) <= _EXCERPT else f"{text[:_EXCERPT]}... ({len(text)} characters)"


def _number(item: dict[str, Any], key: str, where: str, line: str, required: bool) -> float | None:
    value = item.get(key)
    if value is None:
        if required:
            raise ManifestError(
                f"{where}: missing key {key!r}; every line needs {key!r} (seconds). Line: {_excerpt(line)}"
            )
        return None
    seconds = math.nan
    if not isinstance(value, bool) and isinstance(value, (int, float)):
        try:
            seconds = float(value)
        except OverflowError:  # an integer too large for a float
            seconds = math.inf
    if not math.isfinite(seconds) or seconds < 0:
        raise ManifestError(
            f"{where}: {key!r} must be a non-negative number of seconds, got {_excerpt(repr(value))}; write a "
            f"finite JSON number such as 1.25 on that line. Line: {_excerpt(line)}"
        )
    return seconds


def _read_text_file(value: object, manifest_dir: str, where: str) -> str:
    """The stripped contents of the transcript file a ``text_filepath`` names."""
    if not isinstance(value, str) or not value:
        raise ManifestError(
            f"{where}: 'text_filepath' must be a non-empty path string, got {_excerpt(repr(value))}. Fix the "
            "value, or give the transcript as 'text'."
        )
    text_path = _resolve_audio_path(value, manifest_dir)
    # Only a regular file is opened: a FIFO or device would block or never end.
    if not os.path.isfile(text_path):
        raise ManifestError(
            f"{where}: text_filepath {text_path!r} is not a file. Fix the path (a relative one is read from the "
            "manifest's folder), or give the transcript as 'text'."
        )
    try:
        with open(text_path, encoding="utf-8") as text_file:
            return text_file.read().strip()
    except (OSError, UnicodeDecodeError) as err:
        raise ManifestError(
            f"{where}: cannot read text_filepath {text_path!r} as UTF-8 text ({err}). Fix the file or the path."
        ) from err


def parse_json_object(line: str, where: str) -> dict[str, Any]:
    """The JSON object of one manifest line (read with ``iter_text_lines``), for readers of any manifest keys.

    Args:
        line: the line, without its line ending.
        where: ``"<manifest>:<line number>"``, the start of every error message.

    Raises:
        ManifestError: the line is not JSON, not usable JSON (huge numbers, deep nesting) or not an object.
    """
    try:
        item = json.loads(line)
    except json.JSONDecodeError as err:
        raise ManifestError(
            f"{where}: not valid JSON ({err.msg} at column {err.colno}); each line must be one JSON object, e.g. "
            f'{{"audio_filepath": "a.wav", "duration": 1.2, "text": "hi"}}. Line: {_excerpt(line)}'
        ) from err
    except (ValueError, RecursionError) as err:  # an integer of over 4300 digits; nesting too deep
        raise ManifestError(
            f"{where}: not usable JSON ({type(err).__name__}: {_excerpt(str(err))}); each line must be one flat "
            f"JSON object with ordinary numbers. Line: {_excerpt(line)}"
        ) from None
    if not isinstance(item, dict):
        raise ManifestError(
            f"{where}: expected a JSON object per line, got {type(item).__name__}; write the line as "
            f'{{"audio_filepath": ..., "duration": ...}}. Line: {_excerpt(line)}'
        )
    return item


def parse_manifest_line(
    line: str, manifest_filepath: str, line_number: int, resolve_audio_paths: bool = True
) -> ManifestEntry:
    """Parse one manifest line.

    Args:
        line: the JSON text of the line.
        manifest_filepath: the manifest, for relative paths and error messages.
        line_number: 1-based line number, for error messages.
        resolve_audio_paths: resolve a relative ``audio_filepath`` against the manifest's folder.

    Returns:
        The entry.

    Raises:
        ManifestError: bad JSON, not an object, a missing key, or a bad ``duration``/``offset``/``text`` or
            ``text_filepath`` (the message names ``<manifest>:<line>``).
    """
    where = f"{manifest_filepath}:{line_number}"
    item = parse_json_object(line, where)
    audio_key = next((key for key in _AUDIO_KEYS if key in item), None)
    if audio_key is None:
        raise ManifestError(
            f"{where}: missing key 'audio_filepath' (the audio file path); add it. Line: {_excerpt(line)}"
        )
    if not isinstance(item[audio_key], str) or not item[audio_key]:
        raise ManifestError(
            f"{where}: {audio_key!r} must be a non-empty path string, got {_excerpt(repr(item[audio_key]))}. "
            f"Fix the value on that line. Line: {_excerpt(line)}"
        )
    duration = _number(item, "duration", where, line, required=True)
    offset = _number(item, "offset", where, line, required=False)
    manifest_dir = os.path.dirname(os.path.abspath(manifest_filepath))
    text_key = next((key for key in ("text", "normalized_text") if key in item), None)
    if text_key is not None:
        text = item[text_key]
        if not isinstance(text, str):
            raise ManifestError(
                f"{where}: {text_key!r} must be a string, got {type(text).__name__} {_excerpt(repr(text))}. "
                "Write the transcript as a JSON string."
            )
    elif "text_filepath" in item:
        text = _read_text_file(item["text_filepath"], manifest_dir, where)
    else:
        text = ""
    audio_filepath = item[audio_key]
    if resolve_audio_paths:
        audio_filepath = _resolve_audio_path(audio_filepath, manifest_dir)
    extra = {key: value for key, value in item.items() if key not in _KNOWN_KEYS}
    return ManifestEntry(audio_filepath, duration, text, offset, manifest_filepath, line_number, extra)


def read_manifest_entries(
    manifest_filepath: str, resolve_audio_paths: bool = True
) -> Iterator[ManifestEntry]:
    """Yield the entries of one manifest, skipping blank lines.

    Lines are read as the module docstring says (UTF-8, ``"\\n"`` endings, a byte-order mark ignored).

    Raises:
        FileNotFoundError: the manifest does not exist.
        ManifestError: a line is malformed or not UTF-8 (the message names the file and line).
    """
    if not os.path.isfile(manifest_filepath):
        raise FileNotFoundError(
            f"Manifest {manifest_filepath!r} does not exist. Check the config key 'manifest_filepath'."
        )
    for line_number, line in iter_text_lines(manifest_filepath, ManifestError, "manifest"):
        if line.strip():
            yield parse_manifest_line(line, manifest_filepath, line_number, resolve_audio_paths)


def load_audio_text_manifests(
    manifest_filepath: str | Sequence[str],
    min_duration: float | None = None,
    max_duration: float | None = None,
    max_utts: int = 0,
    skip_missing_audio: bool = False,
    check_audio_files: bool = True,
) -> list[ManifestEntry]:
    """Read, check and filter one or more manifests.

    Args:
        manifest_filepath: a path, comma-separated paths, or a list of paths.
        min_duration: drop utterances shorter than this (seconds).
        max_duration: drop utterances longer than this (seconds).
        max_utts: keep at most this many utterances (0: all).
        skip_missing_audio: drop utterances whose audio file is missing or unreadable (one warning with the
            count) instead of raising.
        check_audio_files: check that audio files exist and are readable; off for tarred manifests, whose
            ``audio_filepath`` names a tar member (and is not resolved).

    Returns:
        The kept entries, in manifest order.

    Raises:
        FileNotFoundError: a manifest, or (without ``skip_missing_audio``) an audio file, is missing.
        ManifestError: a line is malformed.
    """
    entries: list[ManifestEntry] = []
    filtered, filtered_seconds = 0, 0.0
    missing: list[ManifestEntry] = []
    for path in split_manifest_paths(manifest_filepath):
        for entry in read_manifest_entries(path, resolve_audio_paths=check_audio_files):
            if (min_duration is not None and entry.duration < min_duration) or (
                max_duration is not None and entry.duration > max_duration
            ):
                filtered += 1
                filtered_seconds += entry.duration
                continue
            if check_audio_files and not (
                os.path.isfile(entry.audio_filepath) and os.access(entry.audio_filepath, os.R_OK)
            ):
                if not skip_missing_audio:
                    raise FileNotFoundError(
                        f"{entry.where}: audio file {entry.audio_filepath!r} is missing or unreadable. Fix the path, "
                        "or set skip_missing_audio: true in the dataset config to skip such lines."
                    )
                missing.append(entry)
                continue
            entries.append(entry)
            if max_utts and len(entries) == max_utts:
                break
        if max_utts and len(entries) == max_utts:
            break
    if missing:
        examples = ", ".join(f"{e.audio_filepath!r} ({e.where})" for e in missing[:3])
        logging.warning(
            f"Skipped {len(missing)} utterances whose audio file is missing or unreadable "
            f"(skip_missing_audio=true), e.g. {examples}."
        )
    total_hours = sum(entry.duration for entry in entries) / 3600
    logging.info(f"Dataset loaded with {len(entries)} files totalling {total_hours:.2f} hours")
    logging.info(f"{filtered} files were filtered totalling {filtered_seconds / 3600:.2f} hours")
    return entries

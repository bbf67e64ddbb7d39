"""Where the files named by a manifest line are: NeMo's ``get_full_path`` and ``is_tarred_dataset``.

A manifest line names its audio (or RTTM, feature, video) file by a path that is absolute, relative to the
working directory, or relative to the manifest's folder (or a data folder). :func:`get_full_path` turns such a
path into the one to open, by NeMo 1.23's rules:

1. A path in a tarred manifest (a bare member name such as ``"_file_1.wav"``) is returned unchanged.
2. A relative path that names no file from the working directory, and is shorter than
   ``audio_file_len_limit``, is joined to the manifest's folder (or ``data_dir``); an ``ais://`` result maps
   to its place in the local data-store cache. When that names a file, its absolute path is returned.
3. Otherwise the path is returned with ``~`` expanded (a missing file is left for the reader to report).

:func:`iter_text_lines` reads the lines of a manifest or any other line-based data file the same way for
every collection: UTF-8, lines ended by ``"\\n"`` (or ``"\\r\\n"``), a leading byte-order mark ignored, and a
line that is not UTF-8 reported by file and line.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

from nemo.utils import logging
from nemo.utils.data_utils import datastore_path_to_local_path, is_datastore_path
from nemo.utils.nemo_logging import LogMode

__all__ = ["decode_text_line", "get_full_path", "is_tarred_dataset", "iter_text_lines"]

_TARRED_MANIFEST_NAME = "tarred_audio_manifest.json"
_BOM = b"\xef\xbb\xbf"
_SHARDED_MANIFEST_NAME = re.compile(r"manifest_\d+\.json")


def is_tarred_dataset(audio_file: str, manifest_file: str | None = None) -> bool:
    """Whether ``audio_file`` is a member name from the manifest of a tarred dataset.

    Tar members have no ``/`` in their names, and a tarred dataset's manifest is named
    ``tarred_audio_manifest.json`` or is a shard ``.../sharded_manifests/manifest_<N>.json``. Without a
    manifest the answer is ``False``.
    """
    if manifest_file is None or "/" in audio_file:
        return False
    manifest_name = os.path.basename(manifest_file)
    if manifest_name == _TARRED_MANIFEST_NAME:
        return True
    return (
        "/sharded_manifests/" in manifest_file and _SHARDED_MANIFEST_NAME.fullmatch(manifest_name) is not None
    )


def get_full_path(
    audio_file: str | list[str],
    manifest_file: str | None = None,
    data_dir: str | None = None,
    audio_file_len_limit: int = 255,
) -> str | list[str]:
    """The path to open for ``audio_file`` (or each path of a list), resolved as the module docstring says.

    Args:
        audio_file: A path from a manifest line, or a list of them.
        manifest_file: The manifest the path comes from; relative paths are tried against its folder.
        data_dir: The folder to try relative paths against instead (give either this or ``manifest_file``).
        audio_file_len_limit: Paths of this length or longer are never joined to a folder (they are taken
            to be complete, e.g. generated names that would exceed file-name limits when joined).

    Returns:
        A path, or a list of paths in the order given.

    Raises:
        ValueError: ``audio_file`` is neither a string nor a list of strings, or holds a NUL character (no file
            has such a name); or a relative path that names no file needs a folder and neither or both of
            ``manifest_file`` and ``data_dir`` were given.
    """
    if isinstance(audio_file, list):
        return [_full_path(path, manifest_file, data_dir, audio_file_len_limit) for path in audio_file]
    return _full_path(audio_file, manifest_file, data_dir, audio_file_len_limit)


def _full_path(audio_file: object, manifest_file: str | None, data_dir: str | None, len_limit: int) -> str:
    if not isinstance(audio_file, str):
        raise ValueError(
            f"Unexpected audio_file type {type(audio_file).__name__}, audio_file {audio_file!r}: "
            "get_full_path takes a path string or a list of path strings."
        )
    if "\x00" in audio_file:
        # No file name holds NUL; os.path.expanduser would fail on "~\x00..." with a bare "embedded null byte".
        raise ValueError(
            f"Audio path {audio_file!r} contains a NUL character, so it names no file. Fix the path in the manifest."
        )
    if is_tarred_dataset(audio_file, manifest_file):
        logging.warning(
            f"Manifest file `{manifest_file}` looks like the manifest of a tarred dataset (its name is "
            f"`{_TARRED_MANIFEST_NAME}` or it is under `/sharded_manifests/`), so its paths are used unresolved. "
            "Rename the manifest if it is not tarred.",
            mode=LogMode.ONCE,
        )
        return audio_file
    if len(audio_file) >= len_limit or os.path.isabs(audio_file) or os.path.isfile(audio_file):
        return os.path.expanduser(audio_file)

    if manifest_file is None and data_dir is None:
        raise ValueError(
            f"Use either manifest_file or data_dir to specify the data directory: {audio_file!r} is a relative "
            "path that names no file from the working directory."
        )
    if manifest_file is not None and data_dir is not None:
        raise ValueError(
            "Parameters manifest_file and data_dir cannot be used simultaneously. Currently manifest_file is "
            f"{manifest_file!r} and data_dir is {data_dir!r}; pass only one."
        )
    folder = data_dir if data_dir is not None else os.path.dirname(manifest_file)
    candidate = os.path.join(folder, audio_file)
    if is_datastore_path(candidate):
        candidate = datastore_path_to_local_path(candidate)
    if os.path.isfile(candidate):
        return os.path.abspath(candidate)
    return os.path.expanduser(audio_file)


def iter_text_lines(
    path: str | os.PathLike[str], error: type[ValueError] = ValueError, what: str = "file"
) -> Iterator[tuple[int, str]]:
    """``(line_number, line)`` for each line of a UTF-8 text file, numbered from 1, without line endings.

    Lines end at ``"\\n"`` only, as ``wc -l`` and editors count them: a ``"\\r"`` before it is dropped with it,
    and any other ``"\\r"`` stays in the line (Python's text mode would start a new line there, shifting every
    later line number). A UTF-8 byte-order mark at the start of the file is dropped. The file is read one line
    at a time.

    Args:
        path: the file (the caller checks that it exists).
        error: the exception raised for a line that is not UTF-8 (a ``ValueError`` subclass, e.g. the
            caller's manifest error).
        what: what the file is, for the message (``"manifest"``, ``"labels file"``, ...).

    Yields:
        ``(line_number, line)``; a final line without ``"\\n"`` is yielded too, an empty end of file is not.

    Raises:
        error: a line is not valid UTF-8; the message names the file, the line and the byte.
    """
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if number == 1 and raw == _BOM:  # the file is only a byte-order mark: no lines
                return
            yield number, decode_text_line(raw, number, path, error, what)


def decode_text_line(
    raw: bytes,
    number: int,
    path: str | os.PathLike[str],
    error: type[ValueError] = ValueError,
    what: str = "file",
) -> str:
    """Line ``number`` of ``path`` as read in binary (``raw``, ending included), decoded as
    :func:`iter_text_lines` yields it: a byte-order mark dropped from line 1, ``"\n"`` or ``"\r\n"`` dropped.

    For readers that seek to a byte offset and cannot use :func:`iter_text_lines` itself.

    Raises:
        error: the line is not valid UTF-8; the message names the file, the line and the byte.
    """
    if number == 1 and raw.startswith(_BOM):
        raw = raw[len(_BOM) :]
    if raw.endswith(b"\n"):
        raw = raw[:-2] if raw.endswith(b"\r\n") else raw[:-1]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise error(
            f"{os.fspath(path)}:{number}: this line of the {what} is not UTF-8 (byte {err.start + 1} is "
            f"{raw[err.start : err.start + 1]!r}: {err.reason}). Save the {what} as UTF-8 "
            "(e.g. iconv -f latin1 -t utf-8), or fix that line."
        ) from None

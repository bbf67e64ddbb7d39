"""Property tests of the shared manifest helpers with bad input in bulk (issue 16).

``iter_text_lines`` reads every line-based data file of the collections (ASR and TTS manifests, NLP text,
label and label-id files). Any bytes at all are written to a file; the lines it yields must equal an
independent split of those bytes (``bytes.split(b"\\n")``, a leading UTF-8 byte-order mark and the ``"\\r"``
of CRLF endings dropped), or, from the first line that is not UTF-8 on, it must raise the given error naming
the file and that 1-based line after yielding every line before it.

``get_full_path`` resolves the audio path of a manifest line; for any path string (unicode, NUL characters,
``~``, ``..``, very long) it returns the path the module docstring's rules give, computed here from the file
layout the test built, and for any other value it raises the documented ``ValueError``.

An audit hook fails any example that writes outside pytest's temporary folder, and an alarm fails any call
that hangs.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nemo.collections.common.parts.preprocessing.manifest import get_full_path, iter_text_lines
from nemo.utils import io_guard

# Examples per property; the file must stay well under 20 s on one core.
EXAMPLES = 200
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
TIME_LIMIT_S = 10  # reading a few hundred bytes takes microseconds; longer means it hangs
BOM = b"\xef\xbb\xbf"


# ------------------------------------------------------- nothing written outside the temp folder, no hang


def guarded(root: Path) -> contextlib.AbstractContextManager[None]:
    """Fail if the block writes a file outside ``root``, or runs longer than ``TIME_LIMIT_S`` (a hang)."""
    return io_guard.guarded(root, TIME_LIMIT_S)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("core_manifest_properties")


_numbers = itertools.count()


# ------------------------------------------------------------------------------------------ iter_text_lines


class CustomError(ValueError):
    """The error a caller asks ``iter_text_lines`` to raise (as nemo-asr passes its ``ManifestError``)."""


def reference_lines(data: bytes) -> tuple[list[str], int | None]:
    """The decoded lines of ``data`` up to the first one that is not UTF-8, and that line's number (or None)."""
    if data.startswith(BOM):
        data = data[len(BOM) :]
    pieces = data.split(b"\n")
    if pieces[-1] == b"":  # the text after the last "\n": empty, so not a line
        pieces.pop()
    else:
        pieces[-1] += b"\n"  # mark it as unended, so that a final "\r" stays
    lines = []
    for number, piece in enumerate(pieces, start=1):
        piece = piece[:-1] if piece.endswith(b"\n") else piece.removesuffix(b"\r")
        try:
            lines.append(piece.decode("utf-8"))
        except UnicodeDecodeError:
            return lines, number
    return lines, None


line_bytes = st.one_of(
    st.binary(max_size=12),
    st.text(max_size=12).map(str.encode),
    st.sampled_from([b"", b"\r", b"\r\r", b"\xef\xbb\xbf", b"\xff", b"\xc3", b"\xed\xa0\x80", "é".encode()]),
)
file_bytes = st.builds(
    lambda bom, lines, ending: (BOM if bom else b"") + b"\n".join(lines) + ending,
    st.booleans(),
    st.lists(line_bytes, max_size=6).map(lambda lines: [line.replace(b"\r", b"\r\n", 1) for line in lines]),
    st.sampled_from([b"", b"\n", b"\r\n", b"\r"]),
) | st.binary(max_size=60)


@SETTINGS
@given(data=file_bytes, what=st.sampled_from(["manifest", "labels file"]))
def test_iter_text_lines_splits_like_bytes_split_or_names_the_first_line_not_utf8(folder, data, what):
    """The yielded ``(number, line)`` pairs equal the reference split, numbered from 1; a line that is not UTF-8
    raises the given error, naming ``<file>:<line>`` and the file kind, after every earlier line was yielded."""
    path = folder / f"{next(_numbers)}.txt"
    path.write_bytes(data)
    expected, bad_line = reference_lines(data)
    got = []
    with guarded(folder):
        if bad_line is None:
            got = list(iter_text_lines(path, CustomError, what))
        else:
            with pytest.raises(CustomError) as caught:
                for pair in iter_text_lines(path, CustomError, what):
                    got.append(pair)
    assert got == list(enumerate(expected, start=1))
    if bad_line is not None:
        message = str(caught.value)
        assert re.search(re.escape(f"{path}:{bad_line}") + r"(?!\d)", message) and what in message, message


# ------------------------------------------------------------------------------------------- get_full_path


BESIDE = ("a.wav", "wavs/b.wav", "x y.wav", "ü.wav", "sharded_manifests/a.wav")  # in the data folder
IN_CWD = ("cwd.wav", "wavs/b.wav")  # files in the working directory ("wavs/b.wav" is in both)
existing_names = st.sampled_from(sorted({*BESIDE, *IN_CWD}))
path_strings = st.one_of(
    existing_names,
    existing_names,
    st.sampled_from(["missing.wav", "", ".", "..", "../a.wav", "~/a.wav", "a.wav/"]),
    # Names of existing files that are not normalised: the result must be.
    st.sampled_from(["./a.wav", "wavs/../a.wav", "wavs//b.wav", "wavs/./b.wav", "../data/a.wav", ".//ü.wav"]),
    st.text(max_size=20),
    st.text(st.sampled_from("ab/.~\x00 "), max_size=12),
    st.integers(250, 300).map(lambda n: "a" * n),
)


def expected_path(audio: str, folder: Path, limit: int, tarred: bool) -> str | type[ValueError]:
    """The module docstring's rules (``ValueError`` for a path with NUL, which names no file); whether a path
    names a file is asked of the operating system (run in the working directory)."""
    if "\x00" in audio:
        return ValueError
    if tarred and "/" not in audio:
        return audio
    if len(audio) >= limit or os.path.isabs(audio) or os.path.isfile(audio):
        return os.path.expanduser(audio)
    if os.path.isfile(os.path.join(folder, audio)):
        return os.path.abspath(os.path.join(folder, audio))
    return os.path.expanduser(audio)


@pytest.fixture(scope="module")
def layout(folder: Path) -> tuple[Path, Path]:
    """``(data folder, working directory)`` holding the BESIDE and IN_CWD files."""
    data, cwd = folder / "data", folder / "cwd"
    for root, names in ((data, BESIDE), (cwd, IN_CWD)):
        for name in names:
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).touch()
    return data, cwd


@SETTINGS
@given(
    audio=path_strings | st.lists(path_strings, max_size=3),
    manifest_name=st.sampled_from(
        [
            "train.json",
            "tarred_audio_manifest.json",
            "sharded_manifests/manifest_3.json",
            "sharded_manifests/manifest_x.json",
        ]
    ),
    use_data_dir=st.booleans(),
    limit=st.sampled_from([255, 5, 10]),  # 5 and 10: the lengths of "a.wav" and "wavs/b.wav"
)
def test_get_full_path_follows_the_documented_rules_for_any_path(
    layout, audio, manifest_name, use_data_dir, limit
):
    """Any path string (or list of them) resolves as the documented rules say: tar member names unchanged, a
    relative path beside the manifest (or in ``data_dir``) made absolute unless the working directory has it,
    everything else returned with ``~`` expanded; a path holding NUL is a ValueError naming it; never another
    error."""
    data, cwd = layout
    manifest = data / manifest_name
    tarred = not use_data_dir and manifest_name in (
        "tarred_audio_manifest.json",
        "sharded_manifests/manifest_3.json",
    )
    paths = audio if isinstance(audio, list) else [audio]
    kwargs = {"data_dir": str(data)} if use_data_dir else {"manifest_file": str(manifest)}
    with contextlib.chdir(cwd):
        folder = data if use_data_dir else manifest.parent
        expected = [expected_path(path, folder, limit, tarred) for path in paths]
        with guarded(data.parent):
            if ValueError in expected:
                bad = paths[expected.index(ValueError)]
                with pytest.raises(ValueError, match=re.escape(repr(bad))):
                    get_full_path(audio, audio_file_len_limit=limit, **kwargs)
                return
            got = get_full_path(audio, audio_file_len_limit=limit, **kwargs)
    assert got == (expected if isinstance(audio, list) else expected[0])


@SETTINGS
@given(
    value=st.none()
    | st.integers()
    | st.floats()
    | st.binary(max_size=4)
    | st.dictionaries(st.text(), st.text())
)
def test_get_full_path_refuses_non_strings_with_the_documented_error(layout, value):
    """A value that is neither a string nor a list of strings is a ValueError that names its type."""
    data, _ = layout
    with guarded(data.parent), pytest.raises(ValueError, match=re.escape(type(value).__name__)):
        get_full_path(value, manifest_file=str(data / "train.json"))
    with guarded(data.parent), pytest.raises(ValueError, match=re.escape(type(value).__name__)):
        get_full_path(["a.wav", value], manifest_file=str(data / "train.json"))

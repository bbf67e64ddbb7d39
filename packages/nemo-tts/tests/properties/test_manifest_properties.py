"""Property tests of the TTS manifest reader with bad input in bulk (issue 16).

Each example writes one or two TTS manifests whose lines mix valid utterances (real wav files written with
soundfile; ``text``, ``normalized_text`` or NeMo's older ``text_normalized``, ``speaker``, ``mel_filepath``,
unknown keys, unicode or empty transcripts) with mutations: broken JSON, JSON that is not an object, a missing
or mistyped ``audio_filepath``/``duration`` (a string, negative, NaN, too large for a float), a ``speaker``
that is not a non-negative integer, a ``normalized_text`` or ``mel_filepath`` of the wrong type, bytes that
are not UTF-8, audio files that do not exist, blank lines, a byte-order mark and CRLF endings.

The expected outcome comes from how each line was built and from ``json.loads`` of the valid lines, never from
the code under test: ``read_tts_manifests`` either returns exactly those entries or raises the documented
error (``ManifestError``, or ``FileNotFoundError`` for missing audio) naming the manifest and the 1-based line
of the first bad line. ``filter_entries`` keeps exactly the entries inside the duration bounds and not listed
in the ignore file. An audit hook fails any example that writes outside pytest's temporary folder, and an
alarm fails any read that hangs.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import pickle
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nemo.collections.asr.data.manifest import ManifestError
from nemo.collections.tts.data.manifest import filter_entries, read_tts_manifests
from nemo.utils import io_guard

# Examples per property; the file must stay well under 20 s on one core.
EXAMPLES = 60
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

AUDIO = ("a.wav", "b.wav")
MISSING_AUDIO = ("missing.wav",)
KNOWN_KEYS = {
    "audio_filepath",
    "audio_file",
    "duration",
    "text",
    "normalized_text",
    "text_filepath",
    "offset",
}
TTS_KEYS = {"speaker", "mel_filepath", "text_normalized"}
PLACEHOLDER = "@@RAW@@"
TIME_LIMIT_S = 10  # one read of a small manifest takes milliseconds; longer means it hangs
BAD_NUMBERS = ('"1.5"', "-1", "true", "[1.0]", "NaN", "Infinity", "1e400", "1" + "0" * 400, "1" + "0" * 5000)
BAD_SPEAKERS = (-1, 1.5, 2.0, "3", True, [0], {"id": 1}, "")
BAD_STRINGS = (5, 1.5, True, [], {"a": "b"})
BROKEN_JSON = (
    "{",
    "null",
    "1",
    '["a.wav", 1.0]',
    '{"audio_filepath": "a.wav", "duration": 1,}',
    '{"audio_filepath": "a.wav",\r"duration": 1}\r{}',
    "[" * 50_000,
)
# Raw lines: no line break, and no U+FEFF (at the start of a file it is read as a byte-order mark).
RAW_CHARACTERS = st.characters(blacklist_characters="\n\ufeff")
BLANKS = ("", " ", "\t", "\r", "\x0c", "\u3000")
INVALID_UTF8 = (b"\xff", b"\xc3", b"\xed\xa0\x80")


# ------------------------------------------------------- nothing written outside the temp folder, no hang


def guarded(root: Path) -> contextlib.AbstractContextManager[None]:
    """Fail if the block writes a file outside ``root``, or runs longer than ``TIME_LIMIT_S`` (a hang)."""
    return io_guard.guarded(root, TIME_LIMIT_S)


# ------------------------------------------------------------------------------------------------ the data


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with real wav files; the examples write their manifests here too."""
    root = tmp_path_factory.mktemp("tts_manifest_properties")
    t = np.arange(2205) / 22050
    for index, name in enumerate(AUDIO):
        sf.write(root / name, 0.1 * np.sin(2 * np.pi * 220 * (index + 1) * t), 22050)
    return root


_manifest_numbers = itertools.count()


@dataclass(frozen=True)
class Line:
    """One generated line (no line ending); ``kind``: ``entry``, ``no_audio``, ``blank`` or ``bad``."""

    data: bytes
    kind: str


json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(10**20), 10**20)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)
seconds = st.floats(0, 1e6, allow_nan=False) | st.integers(0, 10**30)
extra_keys = st.dictionaries(
    st.text(max_size=8).filter(lambda k: k not in KNOWN_KEYS | TTS_KEYS), json_values, max_size=2
)


@st.composite
def valid_items(draw: st.DrawFn, root: Path, audio: tuple[str, ...] = AUDIO) -> dict:
    """A TTS manifest object every documented rule accepts."""
    name = draw(st.sampled_from(audio))
    item: dict = {
        "audio_filepath": str(root / name) if draw(st.booleans()) else name,
        "duration": draw(seconds),
    }
    for key in ("text", "normalized_text", "text_normalized"):
        if draw(st.booleans()):
            # Without "text", "normalized_text" is the transcript and must be a string; otherwise null is none.
            may_be_null = key == "text_normalized" or (key == "normalized_text" and "text" in item)
            item[key] = draw(st.text(max_size=20) | (st.none() if may_be_null else st.nothing()))
    if draw(st.booleans()):
        item["speaker"] = draw(st.none() | st.integers(0, 10**30))
    if draw(st.booleans()):
        mel = draw(st.sampled_from(["", "mels/a.pt", "a.npy", str(root / "mels" / "b.pt"), None]))
        item["mel_filepath"] = mel
    item.update(draw(extra_keys))
    return item


def dumps(draw: st.DrawFn, item: dict) -> str:
    """``item`` as one JSON line, ASCII-escaped or not, maybe padded with JSON whitespace."""
    return draw(st.sampled_from(["", " "])) + json.dumps(item, ensure_ascii=draw(st.booleans()))


@st.composite
def mutated_items(draw: st.DrawFn, root: Path) -> str:
    """A line that is a JSON object but breaks one documented rule."""
    item = draw(valid_items(root))
    mutation = draw(
        st.sampled_from(["audio", "duration", "speaker", "normalized_text", "text_normalized", "text", "mel"])
    )
    raw = None
    if mutation == "audio":
        item["audio_filepath"] = draw(st.sampled_from([None, 5, "", ["a.wav"]]))
        if item["audio_filepath"] is None:
            del item["audio_filepath"]
    elif mutation == "duration":
        item["duration"] = PLACEHOLDER
        raw = draw(st.sampled_from(BAD_NUMBERS))
    elif mutation == "speaker":
        item["speaker"] = draw(st.sampled_from(BAD_SPEAKERS))
    elif mutation == "normalized_text":
        item["normalized_text"] = draw(st.sampled_from(BAD_STRINGS))
    elif mutation == "text_normalized":
        item.pop("normalized_text", None)
        item["text_normalized"] = draw(st.sampled_from(BAD_STRINGS))
    elif mutation == "text":
        item["text"] = draw(st.sampled_from((None, *BAD_STRINGS)))
    else:
        item["mel_filepath"] = draw(st.sampled_from((0, False, *BAD_STRINGS)))
    text = dumps(draw, item)
    return text.replace(json.dumps(PLACEHOLDER), raw) if raw is not None else text


@st.composite
def lines(draw: st.DrawFn, root: Path) -> Line:
    """One manifest line of any kind."""
    kind = draw(
        st.sampled_from(["entry", "entry", "no_audio", "blank", "mutated", "mutated", "raw", "bytes"])
    )
    if kind == "entry":
        return Line(dumps(draw, draw(valid_items(root))).encode(), "entry")
    if kind == "no_audio":
        return Line(dumps(draw, draw(valid_items(root, MISSING_AUDIO))).encode(), "no_audio")
    if kind == "blank":
        return Line(draw(st.sampled_from(BLANKS)).encode(), "blank")
    if kind == "mutated":
        return Line(draw(mutated_items(root)).encode(), "bad")
    if kind == "raw":
        text = draw(st.sampled_from(BROKEN_JSON) | st.text(RAW_CHARACTERS, min_size=1, max_size=30))
        return Line(text.encode(), "bad" if text.strip() else "blank")
    data = dumps(draw, draw(valid_items(root))).encode()
    cut = draw(st.integers(0, len(data)))
    return Line(data[:cut] + draw(st.sampled_from(INVALID_UTF8)) + data[cut:], "bad")


@st.composite
def manifests(draw: st.DrawFn, root: Path, max_lines: int = 6) -> tuple[Path, list[Line]]:
    """A manifest in ``root``: lines ended by LF or CRLF (the last maybe not), maybe after a BOM."""
    content = draw(st.lists(lines(root), max_size=max_lines))
    data = b"\xef\xbb\xbf" if draw(st.booleans()) else b""
    for index, line in enumerate(content):
        last = index == len(content) - 1
        data += line.data + (b"" if last and draw(st.booleans()) else draw(st.sampled_from([b"\n", b"\r\n"])))
    path = root / f"tts_manifest_{next(_manifest_numbers)}.json"
    path.write_bytes(data)
    return path, content


# ------------------------------------------------------------------------------------ the expected outcome


def _resolved(path: str, manifest: Path) -> str:
    return path if os.path.isabs(path) else os.path.join(manifest.parent, path)


def expected_entry(text: str, manifest: Path, number: int) -> tuple:
    """An entry as the documented rules read it from ``json.loads`` of its line."""
    item = json.loads(text)
    transcript = item["text"] if "text" in item else item.get("normalized_text", "")
    normalized = item["normalized_text"] if "normalized_text" in item else item.get("text_normalized")
    mel = item.get("mel_filepath") or None
    return (
        _resolved(item["audio_filepath"], manifest),
        transcript,
        normalized,
        float(item["duration"]),
        item.get("speaker"),
        None if mel is None else _resolved(mel, manifest),
        f"{manifest}:{number}",
    )


def as_tuple(entry) -> tuple:
    return (
        entry.audio_filepath,
        entry.text,
        entry.normalized_text,
        entry.duration,
        entry.speaker,
        entry.mel_filepath,
        entry.where,
    )


def expect(files: list[tuple[Path, list[Line]]]) -> tuple[list[tuple], type[Exception] | None, str | None]:
    """``(entries, error type, "<manifest>:<line>")`` of reading ``files`` in order with the audio check."""
    entries = []
    for manifest, content in files:
        for number, line in enumerate(content, start=1):
            if line.kind == "bad":
                return entries, ManifestError, f"{manifest}:{number}"
            if line.kind == "no_audio":
                return entries, FileNotFoundError, f"{manifest}:{number}"
            if line.kind == "entry":
                entries.append(expected_entry(line.data.decode(), manifest, number))
    return entries, None, None


# ---------------------------------------------------------------------------------------------- properties


@SETTINGS
@given(data=st.data(), as_list=st.booleans())
def test_read_tts_manifests_gives_the_valid_lines_or_names_the_first_bad_one(folder, data, as_list):
    """``read_tts_manifests`` over one or two manifests: the entries json.loads reads, or ``ManifestError`` /
    ``FileNotFoundError`` (missing audio) naming the manifest and line of the first bad line."""
    files = data.draw(st.lists(manifests(folder), min_size=1, max_size=2))
    paths = [str(path) for path, _ in files]
    entries, error, where = expect(files)
    with guarded(folder):
        if error is None:
            got = [as_tuple(e) for e in read_tts_manifests(paths if as_list else ",".join(paths))]
        else:
            with pytest.raises(error) as caught:
                read_tts_manifests(paths if as_list else ",".join(paths))
    if error is None:
        assert got == entries
    else:
        assert re.search(re.escape(where) + r"(?!\d)", str(caught.value)), f"{where!r} not in: {caught.value}"


# Lines that once crashed the reader or were misread (found by the property above or by reading the code).
PINNED = (
    ('{"audio_filepath": "a.wav", "duration": 1, "mel_filepath": 5}', ManifestError),
    ('{"audio_filepath": "a.wav", "duration": 1, "mel_filepath": false}', ManifestError),
    ('{"audio_filepath": "a.wav", "duration": 1, "normalized\\u005ftext": "escaped key"}', None),
    ('{"audio_filepath": "a.wav", "duration": 1, "text": "says \\"normalized_text\\""}', None),
    ('{"audio_filepath": "a.wav", "duration": 1' + "0" * 400 + "}", ManifestError),
)


@pytest.mark.parametrize(("line", "outcome"), PINNED)
def test_pinned_tts_lines(folder, line, outcome):
    """Each pinned line (after a valid first line) is read as json.loads reads it, or is a ManifestError
    naming line 2."""
    manifest = folder / f"tts_manifest_{next(_manifest_numbers)}.json"
    manifest.write_text('{"audio_filepath": "a.wav", "duration": 1}\n' + line + "\n", encoding="utf-8")
    with guarded(folder):
        if outcome is ManifestError:
            with pytest.raises(ManifestError, match=re.escape(f"{manifest}:2") + r"(?!\d)"):
                read_tts_manifests(str(manifest))
            return
        entries = read_tts_manifests(str(manifest))
    assert as_tuple(entries[1]) == expected_entry(line, manifest, 2)


@SETTINGS
@given(
    data=st.data(),
    low=st.none() | st.floats(0, 2e6),
    high=st.none() | st.floats(0, 2e6),
    ignored=st.lists(st.sampled_from(["a.wav", "b.wav", "ABS:a.wav", "ABS:b.wav", "other.wav"]), max_size=2),
)
def test_filter_entries_keeps_the_entries_in_bounds_and_not_ignored(folder, data, low, high, ignored):
    """``filter_entries``: kept are the entries with ``min_duration <= duration <= max_duration`` whose audio
    path is not in the ignore file (absolute paths match exactly, relative ones match the path's end)."""
    content = data.draw(st.lists(valid_items(folder).map(json.dumps), max_size=6))
    manifest = folder / f"tts_manifest_{next(_manifest_numbers)}.json"
    manifest.write_text("".join(line + "\n" for line in content), encoding="utf-8")
    names = [str(folder / name[4:]) if name.startswith("ABS:") else name for name in ignored]
    ignore_file = folder / f"ignore_{next(_manifest_numbers)}.pkl"
    ignore_file.write_bytes(pickle.dumps(names))
    every = [expected_entry(line, manifest, number) for number, line in enumerate(content, start=1)]
    expected = [
        entry
        for entry in every
        if (low is None or entry[3] >= low)
        and (high is None or entry[3] <= high)
        and os.path.basename(entry[0]) not in {os.path.basename(name) for name in names}
    ]
    with guarded(folder):
        kept = filter_entries(read_tts_manifests(str(manifest)), ignore_file, low, high)
    assert [as_tuple(e) for e in kept] == expected

"""manifest_utils: NeMo's read_manifest / write_manifest on JSON-lines files."""

import json

import pytest
from nemo.collections.asr.data.manifest import ManifestError
from nemo.collections.asr.parts.utils.manifest_utils import read_manifest, write_manifest

ITEMS = [
    {"audio_filepath": "a.wav", "duration": 1.5, "text": "héllo"},
    {"audio_filepath": "b.wav", "duration": 2.0, "text": "world", "speaker": 3},
]


def test_write_then_read_gives_the_same_dicts_and_escapes_non_ascii_by_default(tmp_path):
    path = tmp_path / "m.json"
    write_manifest(path, ITEMS)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines == [json.dumps(item) for item in ITEMS]  # json's default ensure_ascii, as NeMo writes
    assert "\\u00e9" in lines[0]
    assert read_manifest(str(path)) == ITEMS


def test_ensure_ascii_false_keeps_characters(tmp_path):
    path = tmp_path / "m.json"
    write_manifest(path, ITEMS, ensure_ascii=False)
    assert '"héllo"' in path.read_text(encoding="utf-8")
    assert read_manifest(path) == ITEMS


def test_blank_lines_are_skipped(tmp_path):
    path = tmp_path / "m.json"
    path.write_text(json.dumps(ITEMS[0]) + "\n\n" + json.dumps(ITEMS[1]) + "\n\n", encoding="utf-8")
    assert read_manifest(path) == ITEMS


def test_a_bad_line_names_the_file_and_line(tmp_path):
    path = tmp_path / "m.json"
    path.write_text(json.dumps(ITEMS[0]) + "\n{not json\n", encoding="utf-8")
    with pytest.raises(ManifestError, match=r"m\.json:2: not valid JSON"):
        read_manifest(path)
    path.write_text("[1, 2]\n", encoding="utf-8")
    with pytest.raises(ManifestError, match=r"m\.json:1: a JSON list, not an object"):
        read_manifest(path)


def test_a_missing_manifest_says_so(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.json"):
        read_manifest(tmp_path / "nope.json")

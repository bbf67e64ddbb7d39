import pickle

import numpy as np
import pytest
from nemo.collections.asr.data.manifest import ManifestError
from nemo.collections.tts.data.manifest import filter_entries, read_tts_manifests


@pytest.fixture
def folder(tmp_path, write_wav):
    for name in ("a", "b", "c"):
        write_wav(tmp_path / "wavs" / f"{name}.wav", np.zeros(1600, np.float32), 16000)
    return tmp_path


def test_relative_paths_resolve_beside_the_manifest_and_optional_keys_are_read(folder, write_manifest):
    lines = [
        {
            "audio_filepath": "wavs/a.wav",
            "text": "Dr. A",
            "normalized_text": "doctor a",
            "duration": 0.1,
            "speaker": 2,
        },
        {
            "audio_filepath": "wavs/b.wav",
            "text": "b",
            "text_normalized": "bee",
            "duration": 0.1,
            "mel_filepath": "m.pt",
        },
        {"audio_filepath": str(folder / "wavs" / "c.wav"), "text": "c", "duration": 0.1},
    ]
    manifest = write_manifest(folder / "m.json", lines)
    first, second, third = read_tts_manifests(str(manifest))
    assert first.audio_filepath == str(folder / "wavs" / "a.wav")
    assert (first.text, first.normalized_text, first.speaker) == ("Dr. A", "doctor a", 2)
    assert (second.normalized_text, second.speaker, second.mel_filepath) == (
        "bee",
        None,
        str(folder / "m.pt"),
    )
    assert (third.normalized_text, third.where) == (None, f"{manifest}:3")


def test_several_manifests_as_a_list_or_comma_separated(folder, write_manifest):
    one = write_manifest(folder / "1.json", [{"audio_filepath": "wavs/a.wav", "text": "a", "duration": 0.1}])
    two = write_manifest(folder / "2.json", [{"audio_filepath": "wavs/b.wav", "text": "b", "duration": 0.1}])
    assert [e.text for e in read_tts_manifests([one, two])] == ["a", "b"]
    assert [e.text for e in read_tts_manifests(f"{one},{two}")] == ["a", "b"]


@pytest.mark.parametrize(
    "line, message",
    [
        ('{"audio_filepath": "wavs/a.wav", "text": "a"', r"m.json:2: not valid JSON"),
        ('{"text": "a", "duration": 1}', r"m.json:2: missing key 'audio_filepath'"),
        ('{"audio_filepath": "wavs/a.wav", "text": "a"}', r"m.json:2: missing key 'duration'"),
        (
            '{"audio_filepath": "wavs/a.wav", "text": "a", "duration": 1, "speaker": "bob"}',
            r"m.json:2: 'speaker' must be",
        ),
        (
            '{"audio_filepath": "wavs/a.wav", "text": "a", "duration": 1, "normalized_text": 3}',
            r"m.json:2: 'normalized_text'",
        ),
    ],
)
def test_a_bad_line_names_the_file_and_line(folder, line, message):
    manifest = folder / "m.json"
    manifest.write_text('{"audio_filepath": "wavs/a.wav", "text": "a", "duration": 1}\n' + line + "\n")
    with pytest.raises(ManifestError, match=message):
        read_tts_manifests(str(manifest))


def test_missing_audio_names_the_line(folder, write_manifest):
    manifest = write_manifest(
        folder / "m.json", [{"audio_filepath": "wavs/nope.wav", "text": "a", "duration": 1}]
    )
    with pytest.raises(FileNotFoundError, match=r"m.json:1: audio file .*nope.wav' does not exist"):
        read_tts_manifests(str(manifest))


def test_duration_and_ignore_file_filtering_is_logged(folder, write_manifest, nemo_log):
    lines = [
        {"audio_filepath": "wavs/a.wav", "text": "a", "duration": 0.5},
        {"audio_filepath": "wavs/b.wav", "text": "b", "duration": 5.0},
        {"audio_filepath": "wavs/c.wav", "text": "c", "duration": 2.0},
        {"audio_filepath": "wavs/a.wav", "text": "d", "duration": 2.0},
    ]
    entries = read_tts_manifests(str(write_manifest(folder / "m.json", lines)))
    ignore = folder / "ignore.pkl"
    ignore.write_bytes(pickle.dumps(["wavs/c.wav"]))
    kept = filter_entries(entries, ignore_file=ignore, min_duration=1.0, max_duration=4.0)
    assert [e.text for e in kept] == ["d"]
    assert "Pruned 3 files" in nemo_log.text
    ignore.write_bytes(pickle.dumps([str(folder / "wavs" / "a.wav")]))
    assert [e.text for e in filter_entries(entries, ignore_file=ignore)] == ["b", "c"]

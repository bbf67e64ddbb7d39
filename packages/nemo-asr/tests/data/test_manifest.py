import os

import pytest
from nemo.collections.asr.data.manifest import (
    ManifestError,
    load_audio_text_manifests,
    read_manifest_entries,
    split_manifest_paths,
)


def test_entries_resolve_relative_paths_and_keep_extra_keys(make_corpus, write_manifest):
    corpus = make_corpus(["hello", "world"])
    lines = [
        {**corpus.lines[0], "offset": 0.01, "pred_text": "hullo", "lang": "en"},
        {"audio_file": corpus.lines[1]["audio_filepath"], "duration": 0.15, "normalized_text": "world"},
        {"audio_filepath": str(corpus.folder / corpus.lines[0]["audio_filepath"]), "duration": 1},
    ]
    manifest = write_manifest(corpus.folder / "extra.json", lines)
    first, second, third = read_manifest_entries(str(manifest))
    assert first.audio_filepath == os.path.join(corpus.folder, "audio/utt0.wav")
    assert (first.text, first.offset, first.extra) == ("hello", 0.01, {"pred_text": "hullo", "lang": "en"})
    assert (second.text, second.offset, second.duration) == ("world", None, 0.15)
    assert third.audio_filepath == str(corpus.folder / "audio/utt0.wav") and third.text == ""
    assert (first.line_number, third.where) == (1, f"{manifest}:3")


def test_text_filepath_is_read_beside_the_manifest(make_corpus, write_manifest):
    corpus = make_corpus(["x"])
    (corpus.folder / "t.txt").write_text("from a file\n", encoding="utf-8")
    line = {"audio_filepath": corpus.lines[0]["audio_filepath"], "duration": 0.1, "text_filepath": "t.txt"}
    manifest = write_manifest(corpus.folder / "m.json", [line])
    assert next(read_manifest_entries(str(manifest))).text == "from a file"


def test_non_string_text_is_refused(tmp_path, write_manifest):
    manifest = write_manifest(tmp_path / "m.json", [{"audio_filepath": "a.wav", "duration": 1, "text": 5}])
    with pytest.raises(ManifestError, match=r"m.json:1: 'text' must be a string, got int 5"):
        list(read_manifest_entries(str(manifest)))


def test_several_manifests_as_string_or_list(make_corpus, write_manifest):
    corpus = make_corpus(["a", "b", "c"])
    first = write_manifest(corpus.folder / "first.json", corpus.lines[:1])
    second = write_manifest(corpus.folder / "second.json", corpus.lines[1:])
    assert split_manifest_paths(f"{first}, {second}") == [str(first), str(second)]
    from_string = load_audio_text_manifests(f"{first},{second}")
    from_list = load_audio_text_manifests([first, second])
    assert [e.text for e in from_string] == [e.text for e in from_list] == ["a", "b", "c"]


@pytest.mark.parametrize(
    ("bad_line", "message"),
    [
        ('{"audio_filepath": "a.wav", "duration": 1', r"bad.json:2: not valid JSON"),
        ('["a.wav", 1]', r"bad.json:2: expected a JSON object per line, got list"),
        ('{"duration": 1, "text": "x"}', r"bad.json:2: missing key 'audio_filepath'"),
        ('{"audio_filepath": "a.wav", "text": "x"}', r"bad.json:2: missing key 'duration'"),
        (
            '{"audio_filepath": "a.wav", "duration": "long"}',
            r"bad.json:2: 'duration' must be a non-negative number of seconds, got 'long'",
        ),
        (
            '{"audio_filepath": "a.wav", "duration": -1}',
            r"bad.json:2: 'duration' must be a non-negative number",
        ),
        ('{"audio_filepath": "a.wav", "duration": 1, "offset": "x"}', r"bad.json:2: 'offset' must be"),
    ],
)
def test_malformed_lines_name_file_and_line(tmp_path, bad_line, message):
    manifest = tmp_path / "bad.json"
    manifest.write_text('{"audio_filepath": "a.wav", "duration": 1}\n' + bad_line + "\n", encoding="utf-8")
    with pytest.raises(ManifestError, match=message):
        list(read_manifest_entries(str(manifest)))


def test_missing_manifest_names_it_and_the_config_key(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nope.json.*'manifest_filepath'"):
        load_audio_text_manifests(str(tmp_path / "nope.json"))


def test_missing_audio_raises_or_is_skipped_with_one_warning(make_corpus, write_manifest, nemo_log):
    corpus = make_corpus(["a", "b", "c"])
    lines = corpus.lines + [{"audio_filepath": "audio/gone.wav", "duration": 1.0, "text": "x"}] * 2
    manifest = write_manifest(corpus.folder / "m.json", lines)
    with pytest.raises(FileNotFoundError, match=r"m.json:4: audio file .*gone.wav.*skip_missing_audio: true"):
        load_audio_text_manifests(str(manifest))
    kept = load_audio_text_manifests(str(manifest), skip_missing_audio=True)
    assert [e.text for e in kept] == ["a", "b", "c"]
    warnings = [r.getMessage() for r in nemo_log.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and "Skipped 2 utterances" in warnings[0] and "gone.wav" in warnings[0]


def test_duration_filters_max_utts_and_log_line(make_corpus, nemo_log):
    corpus = make_corpus(list("abcdef"), durations=[0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
    kept = load_audio_text_manifests(str(corpus.manifest), min_duration=0.15, max_duration=0.45)
    assert [e.text for e in kept] == ["b", "c", "d"]
    assert "3 files were filtered totalling 0.00 hours" in nemo_log.text
    assert "Dataset loaded with 3 files" in nemo_log.text
    assert [e.text for e in load_audio_text_manifests(str(corpus.manifest), max_utts=2)] == ["a", "b"]


def test_tarred_manifests_are_not_resolved_or_checked(tmp_path, write_manifest):
    manifest = write_manifest(
        tmp_path / "tarred.json", [{"audio_filepath": "utt0.wav", "duration": 1.0, "text": "a"}]
    )
    (entry,) = load_audio_text_manifests(str(manifest), check_audio_files=False)
    assert entry.audio_filepath == "utt0.wav"

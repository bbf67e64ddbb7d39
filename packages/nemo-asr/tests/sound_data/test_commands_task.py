"""data/commands and scripts/prepare_commands_task.py: the spoken digits and letters."""

import json
import random
import re
import string

import numpy as np
import pytest
import soundfile as sf
from nemo.collections.asr.data.manifest import read_manifest_entries

DIGITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
VOICE = re.compile(r"^audio/(?P<word>[a-z]+)/(?P<voice>(flite|espeak)-[a-z0-9-]+)_(?P<take>\d+)\.opus$")


def _lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_labels_list_the_digits_then_the_letters_with_their_group(scripts):
    lines = (scripts.data / "commands" / "labels.txt").read_text().splitlines()

    assert [line.split() for line in lines] == [[word, "digits"] for word in DIGITS] + [
        [letter, "letters"] for letter in string.ascii_lowercase
    ]


@pytest.mark.parametrize("split", ["train", "dev", "test"])
def test_committed_manifests_are_valid_nemo_label_manifests(scripts, split):
    folder = scripts.data / "commands"
    labels = [line.split()[0] for line in (folder / "labels.txt").read_text().splitlines()]
    manifest = folder / f"{split}_manifest.json"

    raw = _lines(manifest)
    entries = list(read_manifest_entries(str(manifest)))

    assert all(list(line) == ["audio_filepath", "duration", "label", "offset"] for line in raw)
    assert all(line["offset"] == 0.0 and line["label"] in labels for line in raw)
    assert all(entry.extra["label"] in labels for entry in entries)
    assert set(line["label"] for line in raw) == set(labels)  # every word in every split
    missing = [entry.audio_filepath for entry in entries if not (folder / entry.audio_filepath).exists()]
    assert not missing, missing[:3]
    for entry in random.Random(0).sample(entries, 12):  # the durations are the audio's
        info = sf.info(entry.audio_filepath)
        assert info.samplerate == 16000 and info.channels == 1
        assert abs(info.frames / 16000 - entry.duration) < 1e-3


def test_dev_voices_are_held_out_of_train_and_test_is_the_real_voice_alone(scripts):
    folder = scripts.data / "commands"
    voices = {}
    for split in ("train", "dev"):
        matches = [VOICE.match(line["audio_filepath"]) for line in _lines(folder / f"{split}_manifest.json")]
        assert all(matches), [
            line for line, match in zip(_lines(folder / f"{split}_manifest.json"), matches)
        ][:3]
        assert all(
            match["word"] == line["label"]
            for match, line in zip(matches, _lines(folder / f"{split}_manifest.json"))
        )
        voices[split] = {match["voice"] for match in matches}
    test = _lines(folder / "test_manifest.json")

    assert not voices["train"] & voices["dev"]
    assert {voice for voice in voices["train"] if voice.startswith("flite")} == {
        "flite-awb",
        "flite-kal16",
        "flite-rms",
        "flite-slt",
    }
    assert len(voices["train"]) == 4 + 7 * 11 and len(voices["dev"]) == 7 * 2
    assert len(test) == 36
    assert all(line["audio_filepath"].startswith("../asterisk/audio/") for line in test)
    asterisk = {
        line["audio_filepath"]: line["text"]
        for split in ("train", "dev", "test")
        for line in _lines(scripts.data / "asterisk" / f"{split}_manifest.json")
    }
    assert all(
        asterisk[line["audio_filepath"].removeprefix("../asterisk/")] == line["label"] for line in test
    )


def test_real_prompt_names_the_asterisk_file_and_refuses_other_words(scripts):
    assert scripts.commands.real_prompt("seven") == "audio/digits__7.opus"
    assert scripts.commands.real_prompt("q") == "audio/letters__q.opus"
    with pytest.raises(ValueError, match=r"'yes' is not a command word; expected one of zero, one"):
        scripts.commands.real_prompt("yes")


def test_held_out_voices_take_as_many_per_accent_and_refuse_to_empty_an_accent(scripts):
    voices = [voice for voice in scripts.shared.synthetic_voices()]
    held_out = scripts.commands.held_out_voices(voices, 2, random.Random(3))

    assert all(voice.engine == "espeak-ng" for voice in held_out)
    accents = [voice.accent for voice in held_out]
    assert sorted(set(accents)) == sorted({voice.accent for voice in voices if voice.engine == "espeak-ng"})
    assert all(accents.count(accent) == 2 for accent in accents)
    assert held_out == scripts.commands.held_out_voices(voices, 2, random.Random(3))
    with pytest.raises(ValueError, match=r"accent en-us has 2 voices, so holding out 2 leaves none"):
        scripts.commands.held_out_voices(voices[4:6], 2, random.Random(0))


def _decoded(folder, entries):
    return [sf.read(folder / entry["audio_filepath"], dtype="float32")[0] for entry in entries]


def test_a_tiny_run_is_deterministic_and_consistent(scripts, engines, tmp_path):
    Voice = scripts.shared.SyntheticVoice
    voices = [Voice("flite", "slt"), Voice("espeak-ng", "en-us+m1"), Voice("espeak-ng", "en-us+f2")]
    runs = []
    for name in ("first", "second"):
        out = tmp_path / name
        splits = scripts.commands.make_commands(out, voices, ["three", "b"], 7, 2, 1, 1)
        runs.append((out, splits))

    (first, splits), (second, again) = runs
    assert splits == again
    for split in ("train", "dev"):
        for a, b in zip(_decoded(first, splits[split]), _decoded(second, again[split])):
            np.testing.assert_array_equal(a, b)
    assert (first / "labels.txt").read_text() == "three digits\nb letters\n"
    assert [line["label"] for line in splits["test"]] == ["three", "b"]
    assert (first / splits["test"][0]["audio_filepath"]).resolve() == (
        scripts.data / "asterisk" / "audio" / "digits__3.opus"
    )
    dev_voices = {VOICE.match(line["audio_filepath"])["voice"] for line in splits["dev"]}
    train_voices = {VOICE.match(line["audio_filepath"])["voice"] for line in splits["train"]}
    assert len(dev_voices) == 1 and dev_voices < {"espeak-en-us-m1", "espeak-en-us-f2"}
    assert train_voices == {"flite-slt"} | ({"espeak-en-us-m1", "espeak-en-us-f2"} - dev_voices)
    assert len(splits["train"]) == 2 * 2 + 2 and len(splits["dev"]) == 2
    for line, audio in zip(splits["train"], _decoded(first, splits["train"])):
        assert abs(len(audio) / 16000 - line["duration"]) < 1e-3
        assert 0.2 < line["duration"] < 1.5
        assert 0.5 < np.abs(audio).max() < 1.0  # peak-normalized to 0.8 before Opus
    for name in ("train", "dev", "test"):
        assert _lines(first / f"{name}_manifest.json") == splits[name]

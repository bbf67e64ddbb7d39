"""data/speakers and scripts/prepare_speakers_task.py: speakers to train on, held-out speakers to verify."""

import json
import random
from collections import Counter
from itertools import combinations

import numpy as np
import pytest
import soundfile as sf

SPLITS = ("train", "validation", "dev", "test")


def _lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def _trials(path):
    return [
        (int(label), first, second) for label, first, second in map(str.split, path.read_text().splitlines())
    ]


@pytest.fixture(scope="module")
def committed(scripts):
    folder = scripts.data / "speakers"
    return folder, {split: _lines(folder / f"{split}_manifest.json") for split in SPLITS}


def test_committed_manifests_are_valid_and_their_audio_exists(committed):
    folder, manifests = committed
    for split, lines in manifests.items():
        assert all(list(line) == ["audio_filepath", "duration", "label", "offset"] for line in lines), split
        assert all(line["duration"] >= 1.0 and line["offset"] == 0.0 for line in lines), split
        missing = [line["audio_filepath"] for line in lines if not (folder / line["audio_filepath"]).exists()]
        assert not missing, missing[:3]
        for line in random.Random(split).sample(lines, 5):
            assert abs(sf.info(folder / line["audio_filepath"]).duration - line["duration"]) < 1e-3


def test_held_out_speakers_are_disjoint_and_the_real_voice_is_a_test_speaker(committed):
    _, manifests = committed
    speakers = {split: {line["label"] for line in lines} for split, lines in manifests.items()}

    assert speakers["validation"] == speakers["train"]
    assert not speakers["train"] & speakers["dev"]
    assert not speakers["train"] & speakers["test"]
    assert not speakers["dev"] & speakers["test"]
    assert len(speakers["dev"]) == 17 and len(speakers["test"]) == 18 and len(speakers["train"]) == 96 - 35
    assert "asterisk-allison" in speakers["test"]
    assert all(
        sum(speaker.startswith("flite-") for speaker in speakers[split]) == 1 for split in ("dev", "test")
    )
    paths = {split: {line["audio_filepath"] for line in lines} for split, lines in manifests.items()}
    assert not paths["train"] & paths["validation"]
    for split in ("dev", "test"):
        assert set(Counter(line["label"] for line in manifests[split]).values()) == {16}


def test_utterances_are_of_the_voice_their_label_names(committed):
    _, manifests = committed
    for lines in manifests.values():
        for line in lines:
            path = line["audio_filepath"]
            if line["label"] == "asterisk-allison":
                assert path.startswith("../asterisk/audio/")
            elif path.startswith("../synthetic/"):
                assert path.endswith(f"_{line['label']}.opus")
            else:
                assert path.startswith(f"audio/{line['label']}/")


def _check_trials(path, lines):
    """Every same-speaker pair of ``lines`` once (label 1) and as many different-speaker pairs (label 0)."""
    trials = _trials(path)
    speaker_of = {line["audio_filepath"]: line["label"] for line in lines}

    assert all(first in speaker_of and second in speaker_of for _, first, second in trials)
    assert all(label == int(speaker_of[first] == speaker_of[second]) for label, first, second in trials)
    same = {frozenset((first, second)) for label, first, second in trials if label == 1}
    expected_same = {
        frozenset(pair) for pair in combinations(speaker_of, 2) if speaker_of[pair[0]] == speaker_of[pair[1]]
    }
    assert same == expected_same
    assert Counter(label for label, _, _ in trials) == {1: len(expected_same), 0: len(expected_same)}
    assert len({frozenset((first, second)) for _, first, second in trials}) == len(trials)


@pytest.mark.parametrize("split", ["dev", "test"])
def test_committed_trials_pair_every_same_speaker_couple_with_as_many_different(committed, split):
    folder, manifests = committed
    _check_trials(folder / f"{split}_trials.txt", manifests[split])


def test_split_speakers_needs_three_flite_voices(scripts):
    Voice = scripts.shared.SyntheticVoice
    voices = [Voice("flite", "slt"), Voice("flite", "awb"), Voice("espeak-ng", "en-us+m1")]

    with pytest.raises(ValueError, match=r"2 flite voices given; dev, test and train need one at least"):
        scripts.speakers.split_speakers(voices, 0, random.Random(0))


def test_a_tiny_run_is_deterministic_and_renders_only_what_is_missing(scripts, engines, tmp_path):
    Voice = scripts.shared.SyntheticVoice
    voices = [Voice("flite", name) for name in ("awb", "rms", "slt")] + [
        Voice("espeak-ng", name) for name in ("en-gb-x-rp+f1", "en-us+m1", "en-029+f1")
    ]
    existing = scripts.speakers.existing_utterances(scripts.data / "speakers")
    assert len(existing["espeak-en-gb-x-rp-f1"]) < 6  # so the run has to render some
    runs = []
    for name in ("first", "second"):
        out = tmp_path / "data" / name
        out.mkdir(parents=True)
        runs.append((out, scripts.speakers.make_speakers(out, voices, 11, 6, 1, 8, 2)))

    (first, manifests), (second, again) = runs
    assert manifests == again
    assert (first / "test_trials.txt").read_text() == (second / "test_trials.txt").read_text()
    rendered = sorted(path.relative_to(first).as_posix() for path in (first / "audio").rglob("*.opus"))
    assert rendered == sorted(
        path.relative_to(second).as_posix() for path in (second / "audio").rglob("*.opus")
    )
    assert rendered and all(path.split("/")[1].startswith("espeak-") for path in rendered)
    for path in rendered:
        np.testing.assert_array_equal(sf.read(first / path)[0], sf.read(second / path)[0])
    counts = Counter(line["label"] for split in SPLITS for line in manifests[split])
    assert all(count >= 6 for count in counts.values())
    speakers = {split: {line["label"] for line in manifests[split]} for split in SPLITS}
    assert len(speakers["dev"]) == 2 and len(speakers["test"]) == 3 and len(speakers["train"]) == 2
    assert speakers["validation"] == speakers["train"]
    assert not (speakers["train"] & speakers["dev"] or speakers["train"] & speakers["test"])
    assert not speakers["dev"] & speakers["test"]
    assert "asterisk-allison" in speakers["test"]
    assert Counter(line["label"] for line in manifests["validation"]) == {
        speaker: 2 for speaker in {line["label"] for line in manifests["train"]}
    }
    assert all(
        count <= 8 - 2 for count in Counter(line["label"] for line in manifests["train"]).values()
    )  # --max-train-utterances 8, 2 of them kept for validation
    for line in manifests["test"] + manifests["train"]:
        assert (first / line["audio_filepath"]).exists()
    for split in ("dev", "test"):
        assert _lines(first / f"{split}_manifest.json") == manifests[split]
        _check_trials(first / f"{split}_trials.txt", manifests[split])

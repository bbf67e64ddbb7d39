"""Phone targets written through a lexicon, and the training audio decoded once into WAV copies."""

import json
from pathlib import Path

import pytest
import soundfile as sf
from nemo.collections.asr.data.decoded_audio import decode_audio_once
from nemo.collections.asr.data.manifest import ManifestError
from nemo.collections.asr.data.phone_manifest import read_pronunciations, write_phone_manifest

ASTERISK_TEST = Path(__file__).resolve().parents[4] / "data" / "asterisk" / "test_manifest.json"


def test_phone_targets_come_from_the_lexicon_and_unknown_words_name_the_line(tmp_path):
    lexicon = tmp_path / "words.lex"
    lexicon.write_text("press\tp r ɛ s\npound\tp á n d\npound\tp á n\nkey\tk i\n", encoding="utf-8")
    pronunciations = read_pronunciations(lexicon)
    assert pronunciations == {"press": "prɛs", "pound": "pánd", "key": "ki"}

    audio = tmp_path / "a.wav"
    audio.touch()
    source = tmp_path / "source.json"
    lines = [{"audio_filepath": "a.wav", "duration": 1.0, "text": "press pound", "speaker": 3}]
    lines.append({"audio_filepath": "a.wav", "duration": 1.0, "text": "press the key"})
    source.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")

    target = tmp_path / "phones.json"
    assert write_phone_manifest([source], target, pronunciations, skip_unknown=True) == 1
    (written,) = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    assert written == {
        "speaker": 3,
        "audio_filepath": str(audio.resolve()),
        "duration": 1.0,
        "text": "prɛs pánd",
    }

    with pytest.raises(ManifestError, match=r"source\.json:2: no pronunciation for \['the'\]"):
        write_phone_manifest([source], target, pronunciations, skip_unknown=False)


def test_decode_audio_once_writes_each_clip_once_as_wav(tmp_path):
    first_two = ASTERISK_TEST.read_text().splitlines()[:2]
    twice = tmp_path / "twice.json"
    twice.write_text("\n".join(first_two + first_two) + "\n")
    for line in first_two:  # relative paths resolve against the manifest's folder: copy the audio beside it
        relative = json.loads(line)["audio_filepath"]
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_bytes((ASTERISK_TEST.parent / relative).read_bytes())
    scratch = tmp_path / "scratch"
    scratch.mkdir()

    copied = [json.loads(line) for line in decode_audio_once([twice], scratch).read_text().splitlines()]

    assert [line["text"] for line in copied] == [json.loads(line)["text"] for line in first_two + first_two]
    copies = {
        tmp_path / json.loads(source)["audio_filepath"]: line["audio_filepath"]
        for source, line in zip(first_two, copied[:2])
    }
    assert len(copies) == 2 and len(list(scratch.glob("*.wav"))) == 2
    assert [line["audio_filepath"] for line in copied[2:]] == list(copies.values())
    for source, copy in copies.items():
        original, rate = sf.read(source, dtype="float32")
        decoded, copy_rate = sf.read(copy, dtype="float32")
        assert copy_rate == rate and decoded.shape == original.shape
        assert abs(decoded - original).max() <= 1.0 / 2**15

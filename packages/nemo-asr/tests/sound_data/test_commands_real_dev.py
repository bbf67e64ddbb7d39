"""data/commands/dev_real_manifest.json and scripts/prepare_commands_real_dev.py: real-voice dev digits."""

import json

import numpy as np
import soundfile as sf
from nemo.collections.asr.data.manifest import read_manifest_entries

DIGITS = {"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"}


def _entries(path):
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_the_committed_set_is_what_the_script_makes(scripts):
    commands = scripts.data / "commands"
    entries = scripts.commands_real_dev.digit_entries(scripts.data / "asterisk", commands, margin=0.03)

    assert entries == _entries(commands / "dev_real_manifest.json")


def test_it_shares_no_recording_with_the_test_split(scripts):
    commands = scripts.data / "commands"
    test_audio = {
        entry.audio_filepath for entry in read_manifest_entries(str(commands / "test_manifest.json"))
    }
    dev_real = list(read_manifest_entries(str(commands / "dev_real_manifest.json")))

    assert len(dev_real) >= 60
    assert {entry.extra["label"] for entry in dev_real} == DIGITS
    assert not test_audio & {entry.audio_filepath for entry in dev_real}


def test_each_word_lies_inside_its_prompt_and_holds_speech(scripts):
    for entry in read_manifest_entries(str(scripts.data / "commands" / "dev_real_manifest.json")):
        info = sf.info(entry.audio_filepath)
        assert 0 <= entry.offset and entry.offset + entry.duration <= info.duration + 1e-3
        assert 0.1 < entry.duration < 1.2, entry
        start = round(entry.offset * info.samplerate)
        samples, _ = sf.read(
            entry.audio_filepath, start=start, stop=start + round(entry.duration * info.samplerate)
        )
        assert np.sqrt(np.mean(samples**2)) > 0.01, entry  # a word, not a pause


def test_a_prompt_with_a_digit_word_is_found_and_test_clips_are_not(scripts):
    asterisk = scripts.data / "asterisk"
    excluded = scripts.commands_real_dev.test_clips(scripts.data / "commands")
    found = dict(scripts.commands_real_dev.prompts_with_digits(asterisk, excluded))

    assert not excluded & set(found)
    assert any(text.split()[:2] == ["press", "two"] for text in found.values())
    assert all(set(text.split()) & DIGITS for text in found.values())


def test_forced_alignment_puts_the_words_of_a_prompt_in_order_within_it(scripts):
    from pocketsphinx import Decoder

    prompt = scripts.data / "asterisk" / "audio" / "vm-calldiffnum.opus"
    entry = next(
        json.loads(line)
        for split in ("train", "dev", "test")
        for line in (scripts.data / "asterisk" / f"{split}_manifest.json").read_text().splitlines()
        if json.loads(line)["audio_filepath"] == f"audio/{prompt.name}"
    )
    decoder = Decoder(samprate=16000, loglevel="FATAL")
    words = scripts.commands_real_dev.aligned_words(decoder, prompt, entry["text"])

    assert [word for word, _, _ in words] == entry["text"].split()
    ends = [0.0] + [end for _, _, end in words]
    assert all(start >= previous_end - 1e-9 for (_, start, _), previous_end in zip(words, ends, strict=False))
    assert all(end > start for _, start, end in words)
    assert ends[-1] <= sf.info(str(prompt)).duration + 0.01

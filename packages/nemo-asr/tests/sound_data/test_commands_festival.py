"""scripts/measure_commands_festival.py: festival's voices rendered as the commands task renders flite's."""

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest


@pytest.fixture
def festival() -> None:
    if shutil.which("text2wave") is None:
        pytest.skip("festival not installed (apt-get install festival festvox-kallpc16k festvox-us-slt-hts)")


def test_a_diphone_voice_says_a_word_at_the_drawn_tempo_trimmed_and_normalized(scripts, festival, tmp_path):
    speak = scripts.commands_festival.speak
    slow = speak("kal_diphone", "seven", tempo=0.85, pitch=100, workdir=tmp_path)
    fast = speak("kal_diphone", "seven", tempo=1.2, pitch=100, workdir=tmp_path)
    for samples in (slow, fast):
        assert samples.dtype == np.float32 and samples.ndim == 1
        assert np.abs(samples).max() == pytest.approx(0.8, abs=1e-3)  # the committed clips' peak
        assert 0.3 < len(samples) / 16000 < 1.5  # one word and 0.15 s of silence at each end, at 16 kHz
    speech = [len(samples) - 2 * int(0.15 * 16000) for samples in (slow, fast)]
    assert speech[0] / speech[1] == pytest.approx(1.2 / 0.85, rel=0.15)  # Duration_Stretch is 1 / tempo


def _festival_phones(text: str) -> list[str]:
    """The phones festival's kal_diphone voice says for ``text`` (its own front end, pauses dropped)."""
    script = (
        f'(voice_kal_diphone) (set! u (utt.synth (Utterance Text "{text}"))) '
        "(print (mapcar (lambda (s) (item.name s)) (utt.relation.items u 'Segment)))"
    )
    run = subprocess.run(["festival", "--pipe"], input=script, capture_output=True, text=True, check=True)
    return [
        phone for phone in run.stdout.split("(")[-1].split(")")[0].replace('"', "").split() if phone != "pau"
    ]


@pytest.mark.parametrize(("letter", "phones"), [("a", ["ey"]), ("b", ["b", "iy"]), ("z", ["z", "iy"])])
def test_a_letter_is_said_as_its_name(scripts, festival, letter, phones):
    # Festival reads a lone "a" or "A" as the article (ax): the script writes "ay" for it.
    assert _festival_phones(scripts.commands_festival.festival_text(letter)) == phones
    assert scripts.commands_festival.festival_text("seven") == "seven"


def test_task_manifests_point_at_the_committed_audio(scripts):
    commands = scripts.data / "commands"
    for split in ("train", "dev_real"):
        entries = scripts.shared.read_manifest(commands / f"{split}_manifest.json")
        resolved = scripts.commands_festival.absolute(entries, commands)
        assert len(resolved) == len(entries)
        assert all(entry["audio_filepath"].startswith("/") for entry in resolved)
        assert all(Path(entry["audio_filepath"]).is_file() for entry in resolved[:20])
        assert [entry.get("offset") for entry in resolved] == [entry.get("offset") for entry in entries]

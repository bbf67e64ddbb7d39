"""Measure whether festival's voices, the third engine the commands task could train on, help the real voice.

    apt-get install festival festvox-us-slt-hts festvox-kallpc16k festvox-kdlpc16k   # this measurement only
    python scripts/measure_commands_festival.py --out runs/commands_festival
    python examples/asr/speech_commands.py --dev-only --data-dir runs/commands_festival --run-dir runs/cmd_festival

The first command renders the 36 command words (``prepare_commands_task.LABELS``) with festival's three English
voices (``cmu_us_slt_arctic_hts``, ``kal_diphone``, ``ked_diphone``) into ``OUT/audio`` and writes a task folder
beside them: ``train_manifest.json`` is ``data/commands``'s training clips plus the festival clips;
``dev_manifest.json``, ``dev_real_manifest.json`` and ``labels.txt`` are ``data/commands``'s (paths made absolute).
No test manifest is written: the comparison is made on dev only. The committed task does not use festival
(docs/asr.md gives the runs), so nothing here is needed by a fresh clone.

Each diphone-voice take has its own seeded tempo and mean pitch, as ``prepare_commands_task`` draws them for flite;
festival's HTS voice ignores both settings, so it says each word once. Clips are trimmed and peak-normalized as the
committed ones are (``prepare_synthetic_speech.trim_and_normalize``).
"""

from __future__ import annotations

import argparse
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from prepare_commands_task import LABELS  # noqa: E402
from prepare_sound_tasks import DATA, read_manifest, write_manifest, write_opus  # noqa: E402
from prepare_synthetic_speech import read_engine_wav, trim_and_normalize  # noqa: E402

FESTIVAL_VOICES = {"cmu_us_slt_arctic_hts": None, "kal_diphone": (90, 130), "ked_diphone": (90, 130)}
"""festival voice -> range of its mean pitch (Hz) to draw from; None: an HTS voice, which takes no tempo or pitch."""


def voice_tag(voice: str) -> str:
    """The file-name tag of a festival voice: ``festival-slt-hts``, ``festival-kal``, ``festival-ked``."""
    return "festival-slt-hts" if voice.endswith("_hts") else f"festival-{voice.split('_')[0]}"


def festival_setup(voice: str, tempo: float, pitch: int | None) -> str:
    """The Scheme that selects ``voice`` and sets its tempo (> 1 is faster) and mean pitch (Hz) for text2wave."""
    setup = f"(voice_{voice}) (Parameter.set 'Duration_Stretch {1 / tempo:.3f})"
    if pitch is not None:
        setup += (
            f" (set! int_lr_params '((target_f0_mean {pitch}) (target_f0_std {pitch * 0.15:.1f})"
            " (model_f0_mean 170) (model_f0_std 34)))"
        )
    return f"(begin {setup})"


LETTER_A = "ay"
"""How the letter "a" is written for festival, which reads both "a" and "A" as the article (phone ``ax``); "ay" is
the letter's name, ``ey``. Every other letter, written in capitals, is read as its name ("B": ``b iy``)."""


def festival_text(word: str) -> str:
    """The text festival is given for a command word: the letter's name for a letter, the word itself otherwise."""
    if word == "a":
        return LETTER_A
    return word.upper() if len(word) == 1 else word


def speak(voice: str, word: str, tempo: float, pitch: int | None, workdir: Path) -> np.ndarray:
    """``word`` said by a festival voice: (T,) float32 at 16 kHz, trimmed and peak-normalized."""
    wav = workdir / "clip.wav"
    text = festival_text(word)
    command = ["text2wave", "-o", str(wav), "-eval", festival_setup(voice, tempo, pitch)]
    subprocess.run(command, input=text.encode(), check=True, capture_output=True)
    silence = f"festival voice {voice} said nothing for {word!r}: apt-get install its festvox package."
    return trim_and_normalize(read_engine_wav(wav, silence))


def render_festival(out: Path, takes: int, seed: int) -> list[dict]:
    """Render every word with every festival voice into ``out/audio``; returns their manifest lines (absolute
    paths). Diphone voices say each word ``takes`` times, the HTS voice once."""
    rng = random.Random(seed)
    entries = []
    with tempfile.TemporaryDirectory() as workdir:
        for voice, pitch_range in FESTIVAL_VOICES.items():
            for word in LABELS:
                for take in range(takes if pitch_range is not None else 1):
                    tempo = round(rng.uniform(0.85, 1.2), 2)
                    pitch = None if pitch_range is None else rng.randint(*pitch_range)
                    path = out / "audio" / word / f"{voice_tag(voice)}_{take}.opus"
                    duration = write_opus(path, speak(voice, word, tempo, pitch, Path(workdir)))
                    entries.append(
                        {
                            "audio_filepath": str(path.resolve()),
                            "duration": duration,
                            "label": word,
                            "offset": 0.0,
                        }
                    )
    return entries


def absolute(entries: list[dict], folder: Path) -> list[dict]:
    """Manifest lines with ``audio_filepath`` resolved against the manifest's ``folder``."""
    return [
        dict(entry, audio_filepath=str((folder / entry["audio_filepath"]).resolve())) for entry in entries
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="the task folder to write")
    parser.add_argument("--takes", type=int, default=12, help="clips per word per diphone voice (default 12)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if shutil.which("text2wave") is None:
        raise SystemExit(
            "festival is missing: apt-get install festival festvox-us-slt-hts festvox-kallpc16k festvox-kdlpc16k"
        )
    commands = DATA / "commands"
    festival = render_festival(args.out, args.takes, args.seed)
    train = absolute(read_manifest(commands / "train_manifest.json"), commands)
    write_manifest(args.out / "train_manifest.json", train + festival)
    for split in ("dev", "dev_real"):
        write_manifest(
            args.out / f"{split}_manifest.json",
            absolute(read_manifest(commands / f"{split}_manifest.json"), commands),
        )
    shutil.copyfile(commands / "labels.txt", args.out / "labels.txt")
    minutes = sum(entry["duration"] for entry in festival) / 60
    print(
        f"{len(festival)} festival clips ({minutes:.1f} min) beside {len(train)} of data/commands in {args.out}"
    )


if __name__ == "__main__":
    main()

"""Make the spoken-commands task (digits and letters): synthetic voices to train on, the real voice to test.

The result is committed under ``data/commands/``; this script is how it was made, and how to make it again
(the output depends only on ``--seed`` and the installed engines):

    apt-get install espeak-ng flite
    python scripts/prepare_commands_task.py --out data/commands

Every word of ``labels.txt`` (the digits "zero" to "nine", then the letters "a" to "z") is spoken by every
synthetic voice of ``prepare_sound_tasks.synthetic_voices``: each flite voice ``--flite-takes`` times and each
espeak-ng accent + variant pair ``--espeak-takes`` times, every take with its own random tempo and pitch.
``--dev-per-accent`` variants of each espeak-ng accent, drawn with ``--seed``, are held out of training and
make ``dev_manifest.json``; the other voices make ``train_manifest.json``. ``test_manifest.json`` lists the
real voice of ``data/asterisk`` (Allison Smith) saying the same words, a voice no training clip has.
Manifests are NeMo JSON lines (``audio_filepath`` relative to the manifest's folder, ``duration``,
``label``, ``offset``).
"""

from __future__ import annotations

import argparse
import random
import shutil
import string
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from prepare_sound_tasks import (  # noqa: E402
    DATA,
    SyntheticVoice,
    read_manifest,
    relative_path,
    render,
    seeded_sample,
    synthetic_voices,
    write_manifest,
    write_opus,
)

DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
LETTERS = tuple(string.ascii_lowercase)
WORD_GROUPS = {"digits": DIGITS, "letters": LETTERS}
"""Each label's group, in the fixed label order of ``labels.txt``."""
LABELS = DIGITS + LETTERS


def real_prompt(word: str) -> str:
    """The Asterisk prompt of ``data/asterisk`` that says ``word`` (``"audio/digits__7.opus"``)."""
    if word in DIGITS:
        return f"audio/digits__{DIGITS.index(word)}.opus"
    if word in LETTERS:
        return f"audio/letters__{word}.opus"
    raise ValueError(f"{word!r} is not a command word; expected one of {', '.join(LABELS)}.")


def real_voice_entries(asterisk: Path, words: Sequence[str], out: Path) -> list[dict]:
    """Manifest lines of the real voice saying ``words``, with paths relative to ``out``.

    Raises:
        ValueError: a prompt is missing from the Asterisk manifests, or its transcript is not the word.
    """
    prompts = {
        entry["audio_filepath"]: entry
        for split in ("train", "dev", "test")
        for entry in read_manifest(asterisk / f"{split}_manifest.json")
    }
    relative = Path(relative_path(asterisk, out))
    entries = []
    for word in words:
        prompt = prompts.get(real_prompt(word))
        if prompt is None:
            raise ValueError(
                f"{asterisk}: no manifest line has audio_filepath {real_prompt(word)!r} (the word {word!r}); "
                "rebuild data/asterisk with scripts/prepare_asterisk_data.py."
            )
        if prompt["text"] != word:
            raise ValueError(
                f"{asterisk}: {prompt['audio_filepath']} says {prompt['text']!r}, expected {word!r}."
            )
        entries.append(
            {
                "audio_filepath": (relative / prompt["audio_filepath"]).as_posix(),
                "duration": prompt["duration"],
                "label": word,
                "offset": 0.0,
            }
        )
    return entries


def held_out_voices(
    voices: Sequence[SyntheticVoice], per_accent: int, rng: random.Random
) -> set[SyntheticVoice]:
    """``per_accent`` espeak-ng voices of each accent, drawn with ``rng``; flite voices are never held out."""
    held_out: set[SyntheticVoice] = set()
    for accent in sorted({voice.accent for voice in voices if voice.engine == "espeak-ng"}):
        candidates = [voice for voice in voices if voice.engine == "espeak-ng" and voice.accent == accent]
        if len(candidates) <= per_accent:
            raise ValueError(
                f"accent {accent} has {len(candidates)} voices, so holding out {per_accent} leaves none to "
                "train on; lower --dev-per-accent."
            )
        held_out.update(seeded_sample(candidates, per_accent, rng))
    return held_out


def make_commands(
    out: Path,
    voices: Sequence[SyntheticVoice],
    words: Sequence[str],
    seed: int,
    flite_takes: int,
    espeak_takes: int,
    dev_per_accent: int,
    asterisk: Path = DATA / "asterisk",
) -> dict[str, list[dict]]:
    """Render the clips into ``out/audio`` and write the manifests and ``labels.txt``.

    Returns:
        The manifest lines per split (``"train"``, ``"dev"``, ``"test"``).
    """
    rng = random.Random(seed)
    dev_voices = held_out_voices(voices, dev_per_accent, rng)
    audio_dir = out / "audio"
    if audio_dir.exists():
        shutil.rmtree(audio_dir)
    splits: dict[str, list[dict]] = {"train": [], "dev": [], "test": real_voice_entries(asterisk, words, out)}
    with tempfile.TemporaryDirectory() as workdir:
        for voice in voices:
            takes = flite_takes if voice.engine == "flite" else espeak_takes
            for word in words:
                for take in range(takes):
                    name = f"audio/{word}/{voice.tag}_{take}.opus"
                    duration = write_opus(out / name, render(voice.styled(rng), word, Path(workdir)))
                    entry = {"audio_filepath": name, "duration": duration, "label": word, "offset": 0.0}
                    splits["dev" if voice in dev_voices else "train"].append(entry)
    for split, entries in splits.items():
        write_manifest(out / f"{split}_manifest.json", entries)
    groups = {word: group for group, members in WORD_GROUPS.items() for word in members}
    (out / "labels.txt").write_text("".join(f"{word} {groups[word]}\n" for word in words))
    return splits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DATA / "commands")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--flite-takes", type=int, default=6, help="clips per word per flite voice")
    parser.add_argument("--espeak-takes", type=int, default=1, help="clips per word per espeak-ng voice")
    parser.add_argument(
        "--dev-per-accent", type=int, default=2, help="espeak-ng variants held out per accent"
    )
    args = parser.parse_args()
    for tool in ("espeak-ng", "flite"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is missing: apt-get install espeak-ng flite")
    splits = make_commands(
        args.out,
        synthetic_voices(),
        LABELS,
        args.seed,
        args.flite_takes,
        args.espeak_takes,
        args.dev_per_accent,
    )
    for split, entries in splits.items():
        minutes = sum(entry["duration"] for entry in entries) / 60
        print(f"{split}: {len(entries)} clips, {minutes:.1f} min")
    megabytes = sum(path.stat().st_size for path in (args.out / "audio").rglob("*.opus")) / 2**20
    print(f"{megabytes:.1f} MiB of audio in {args.out / 'audio'}")


if __name__ == "__main__":
    main()

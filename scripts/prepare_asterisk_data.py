"""Prepare the bundled speech corpus from Debian's Asterisk English prompts (CC-BY-SA-3.0).

The result is committed under ``data/asterisk/``, so running the demo or the tests needs no apt step.
This script is how that folder was made, and how to make it again:

    apt-get install asterisk-core-sounds-en asterisk-core-sounds-en-g722 ffmpeg
    python scripts/prepare_asterisk_data.py --out data/asterisk

It reads the G.722 (16 kHz) prompts and their transcripts, normalizes the text to NeMo's character set
(lower-case a-z, space, apostrophe; digits, ``#`` and ``*`` spelled out), drops tones and prompts whose
numbers can be read several ways, encodes each prompt as 16 kHz mono Ogg/Opus, and writes NeMo JSON-lines
manifests with paths relative to the manifest, split by a stable hash of the prompt name (``split_of``):
``test_manifest.json`` (10% held out: read once, for the final score), ``dev_manifest.json`` (the next 10%:
every choice of recipe, steps and decoding weights is made on it) and ``train_manifest.json`` (the rest).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import soundfile as sf

SOUNDS = Path("/usr/share/asterisk/sounds/en_US_f_Allison")
TRANSCRIPTS = Path("/usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz")
COPYRIGHT = Path("/usr/share/doc/asterisk-core-sounds-en/copyright")
SAMPLE_RATE = 16000
TEST_PERCENT = 10
DEV_PERCENT = 10

_ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen".split()
)
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_SYMBOLS = {"#": " pound ", "*": " star ", "&": " and ", "%": " percent "}


def number_to_words(number: int) -> str:
    """Spell 0-99 the way the prompts read them ("42" -> "forty two")."""
    if number < 20:
        return _ONES[number]
    tens, ones = divmod(number, 10)
    return _TENS[tens] + ("" if ones == 0 else " " + _ONES[ones])


def normalize(text: str) -> str | None:
    """Map a transcript to NeMo's character set, or None when it can't be read one way only."""
    if text.startswith("[") or re.search(r"\d{3,}|\d[.,]\d", text):
        return None
    for symbol, spoken in _SYMBOLS.items():
        text = text.replace(symbol, spoken)
    text = re.sub(r"(\d+)", lambda match: f" {number_to_words(int(match.group(1)))} ", text)
    text = text.lower().replace("-", " ")
    text = re.sub(r"[^a-z' ]", " ", text)
    text = re.sub(r"\s+", " ", text).strip()
    return text or None


def read_transcripts(path: Path) -> dict[str, str]:
    prompts = {}
    for line in gzip.open(path, "rt", encoding="utf-8"):
        if line.startswith(";") or ":" not in line:
            continue
        key, text = line.split(":", 1)
        prompts[key.strip()] = text.strip()
    return prompts


def decode_g722(path: Path) -> np.ndarray:
    """(T,) float32 waveform at 16 kHz."""
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-f", "f32le", "-ac", "1", "-ar", str(SAMPLE_RATE), "-"],
        check=True,
        capture_output=True,
    ).stdout
    return np.frombuffer(raw, dtype=np.float32)


def split_of(key: str) -> str:
    """``"test"``, ``"dev"`` or ``"train"`` for a prompt name, from a stable hash of it (same split on every run)."""
    bucket = int(hashlib.sha1(key.encode()).hexdigest(), 16) % 100
    if bucket < TEST_PERCENT:
        return "test"
    return "dev" if bucket < TEST_PERCENT + DEV_PERCENT else "train"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("data/asterisk"))
    parser.add_argument("--max-duration", type=float, default=16.0, help="drop longer prompts (seconds)")
    args = parser.parse_args()
    for needed in (SOUNDS, TRANSCRIPTS):
        if not needed.exists():
            raise SystemExit(
                f"{needed} is missing: apt-get install asterisk-core-sounds-en "
                "asterisk-core-sounds-en-g722 ffmpeg"
            )
    audio_dir = args.out / "audio"
    if audio_dir.exists():
        shutil.rmtree(audio_dir)
    audio_dir.mkdir(parents=True)
    manifests: dict[str, list[dict]] = {"train": [], "dev": [], "test": []}
    skipped = {"no audio": 0, "ambiguous text": 0, "too long": 0}
    for key, text in sorted(read_transcripts(TRANSCRIPTS).items()):
        source = SOUNDS / f"{key}.g722"
        normalized = normalize(text)
        if not source.exists():
            skipped["no audio"] += 1
            continue
        if normalized is None:
            skipped["ambiguous text"] += 1
            continue
        audio = decode_g722(source)
        duration = len(audio) / SAMPLE_RATE
        if duration > args.max_duration:
            skipped["too long"] += 1
            continue
        name = key.replace("/", "__") + ".opus"
        sf.write(audio_dir / name, audio, SAMPLE_RATE, format="OGG", subtype="OPUS")
        manifests[split_of(key)].append(
            {"audio_filepath": f"audio/{name}", "duration": round(duration, 3), "text": normalized}
        )
    for split, entries in manifests.items():
        with open(args.out / f"{split}_manifest.json", "w") as manifest:
            manifest.writelines(json.dumps(entry) + "\n" for entry in entries)
        hours = sum(entry["duration"] for entry in entries) / 60
        print(f"{split}: {len(entries)} prompts, {hours:.1f} min")
    print("skipped:", skipped)
    shutil.copy(COPYRIGHT, args.out / "COPYRIGHT.debian")


if __name__ == "__main__":
    main()

"""Make a small synthetic English speech corpus with espeak-ng and flite, from the training transcripts only.

The result is committed under ``data/synthetic/``, so the demo needs no text-to-speech engine. This script
is how that folder was made, and how to make it again (the output depends only on ``--seed`` and the
installed engines):

    apt-get install espeak-ng flite
    python scripts/prepare_synthetic_speech.py --out data/synthetic

Every text of ``data/asterisk/train_manifest.json`` (never the held-out ``test_manifest.json``) is read by
``--readings`` different voices, alternating between flite (kal16, awb, rms, slt with random tempo and
pitch) and espeak-ng (several English accents and voice variants with random speed and pitch), plus
``--phrases`` generated digit and letter sequences ("four two seven", "b q z", "extension one nine").
Each clip is trimmed of leading and trailing silence, resampled to 16 kHz mono with torchaudio, peak-normalized
and encoded as Ogg/Opus; ``train_manifest.json`` is a NeMo JSON-lines manifest whose ``audio_filepath`` is
relative to it and whose text uses the normalization of ``scripts/prepare_asterisk_data.py``.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
import torchaudio.functional

sys.path.insert(0, str(Path(__file__).resolve().parent))
from prepare_asterisk_data import normalize  # noqa: E402

SAMPLE_RATE = 16000
PEAK = 0.8
TRIM_MARGIN_S = 0.15
TRIM_RELATIVE_THRESHOLD = 0.02

ESPEAK_VOICES = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-us-nyc", "en-gb-x-gbcwmd")
ESPEAK_VARIANTS = ("m1", "m2", "m3", "m4", "m5", "m7", "f1", "f2", "f3", "f4", "f5", "klatt", "klatt4")
FLITE_VOICES = {"kal16": (90, 130), "awb": (100, 150), "rms": (85, 125), "slt": (160, 230)}
"""flite voice -> range of its mean pitch (Hz) to draw from."""

DIGITS = "zero one two three four five six seven eight nine".split()
LETTERS = list("abcdefghijklmnopqrstuvwxyz")
LETTER_SPOKEN = {"a": "eigh"}
"""What to feed the engines so a lone letter is read as its name (both read a bare "a" as the article)."""


@dataclass(frozen=True)
class Voice:
    """One engine setting: ``engine`` is ``"espeak-ng"`` or ``"flite"``; ``tempo`` > 1 is faster."""

    engine: str
    name: str
    tempo: float
    pitch: int

    @property
    def tag(self) -> str:
        return f"{self.engine.split('-')[0]}-{self.name.replace('+', '-')}"


def draw_voice(rng: random.Random, engine: str) -> Voice:
    if engine == "flite":
        name = rng.choice(sorted(FLITE_VOICES))
        low, high = FLITE_VOICES[name]
        return Voice("flite", name, round(rng.uniform(0.85, 1.2), 2), rng.randint(low, high))
    name = f"{rng.choice(ESPEAK_VOICES)}+{rng.choice(ESPEAK_VARIANTS)}"
    return Voice("espeak-ng", name, round(rng.uniform(0.8, 1.15), 2), rng.randint(25, 75))


def synthesize(voice: Voice, text: str, workdir: Path) -> np.ndarray:
    """Speak ``text``; returns (T,) float32 samples at ``SAMPLE_RATE``."""
    wav = workdir / "clip.wav"
    if voice.engine == "flite":
        command = [
            "flite",
            "-voice",
            voice.name,
            "--setf",
            f"duration_stretch={1 / voice.tempo:.3f}",
            "--setf",
            f"int_f0_target_mean={voice.pitch}",
            "-t",
            text,
            "-o",
            str(wav),
        ]
    else:
        words_per_minute = str(round(175 * voice.tempo))
        command = [
            "espeak-ng",
            "-v",
            voice.name,
            "-s",
            words_per_minute,
            "-p",
            str(voice.pitch),
            "-w",
            str(wav),
            text,
        ]
    subprocess.run(command, check=True, capture_output=True)
    samples, rate = sf.read(wav, dtype="float32", always_2d=True)
    if not samples.any():
        raise RuntimeError(f"{voice} produced silence for {text!r}; check that this voice is installed.")
    mono = torch.from_numpy(samples.mean(axis=1))
    return torchaudio.functional.resample(mono, rate, SAMPLE_RATE).numpy()


def trim_and_normalize(samples: np.ndarray) -> np.ndarray:
    """Cut silence beyond ``TRIM_MARGIN_S`` at both ends and scale the peak to ``PEAK``."""
    peak = float(np.abs(samples).max())
    loud = np.flatnonzero(np.abs(samples) > TRIM_RELATIVE_THRESHOLD * peak)
    margin = int(TRIM_MARGIN_S * SAMPLE_RATE)
    start, end = max(0, loud[0] - margin), min(len(samples), loud[-1] + 1 + margin)
    return (samples[start:end] * (PEAK / peak)).astype(np.float32)


def digit_and_letter_phrases(rng: random.Random, count: int) -> list[tuple[str, str]]:
    """``count`` (spoken text, transcript) pairs of digit, letter and mixed sequences."""
    phrases = []
    for _ in range(count):
        digits = [rng.choice(DIGITS) for _ in range(rng.randint(2, 7))]
        letters = [rng.choice(LETTERS) for _ in range(rng.randint(2, 5))]
        kind = rng.choice(("digits", "letters", "mixed", "extension", "press"))
        words = {
            "digits": digits,
            "letters": letters,
            "mixed": letters[:2] + digits[:4],
            "extension": ["extension", *digits[:4]],
            "press": ["press", digits[0], "for", "extension", *digits[1:4]],
        }[kind]
        spoken = " ".join(LETTER_SPOKEN.get(word, word) for word in words)
        phrases.append((spoken, " ".join(words)))
    return phrases


def read_training_texts(manifest: Path) -> list[str]:
    """Unique texts of the training manifest, in file order."""
    texts = [json.loads(line)["text"] for line in manifest.read_text().splitlines() if line.strip()]
    return list(dict.fromkeys(texts))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("data/synthetic"))
    parser.add_argument("--train-manifest", type=Path, default=Path("data/asterisk/train_manifest.json"))
    parser.add_argument("--readings", type=int, default=2, help="voices per training text")
    parser.add_argument("--phrases", type=int, default=300, help="digit and letter phrases to add")
    parser.add_argument(
        "--compression-level", type=float, default=0.96, help="Opus: 0 best quality, 1 smallest"
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.train_manifest.name != "train_manifest.json":
        raise SystemExit(f"--train-manifest must be a training manifest, got {args.train_manifest}.")
    for tool in ("espeak-ng", "flite"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is missing: apt-get install espeak-ng flite")
    rng = random.Random(args.seed)
    items = []
    for text in read_training_texts(args.train_manifest):
        first = rng.randrange(2)
        items += [(text, text, ("flite", "espeak-ng")[(first + k) % 2]) for k in range(args.readings)]
    items += [
        (spoken, text, rng.choice(("flite", "espeak-ng")))
        for spoken, text in digit_and_letter_phrases(rng, args.phrases)
    ]

    audio_dir = args.out / "audio"
    if audio_dir.exists():
        shutil.rmtree(audio_dir)
    audio_dir.mkdir(parents=True)
    entries = []
    with tempfile.TemporaryDirectory() as workdir:
        for index, (spoken, text, engine) in enumerate(items):
            transcript = normalize(text)
            if transcript != text:
                raise SystemExit(f"Text {text!r} is not normalized (normalize() gives {transcript!r}).")
            voice = draw_voice(rng, engine)
            samples = trim_and_normalize(synthesize(voice, spoken, Path(workdir)))
            name = f"{index:04d}_{voice.tag}.opus"
            sf.write(
                audio_dir / name,
                samples,
                SAMPLE_RATE,
                format="OGG",
                subtype="OPUS",
                compression_level=args.compression_level,
            )
            duration = len(samples) / SAMPLE_RATE
            entries.append(
                {"audio_filepath": f"audio/{name}", "duration": round(duration, 3), "text": transcript}
            )
    with open(args.out / "train_manifest.json", "w") as manifest:
        manifest.writelines(json.dumps(entry) + "\n" for entry in entries)
    minutes = sum(entry["duration"] for entry in entries) / 60
    megabytes = sum(path.stat().st_size for path in audio_dir.iterdir()) / 2**20
    print(f"{len(entries)} clips, {minutes:.1f} min, {megabytes:.1f} MiB of audio in {audio_dir}")


if __name__ == "__main__":
    main()

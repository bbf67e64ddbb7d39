"""Make a synthetic English speech corpus with espeak-ng and flite: new sentences, never held-out text.

The result is committed under ``data/synthetic/``, so the demo needs no text-to-speech engine. This script
is how that folder was made, and how to make it again (the output depends only on ``--seed`` and the
installed engines and word lists):

    apt-get install espeak-ng flite
    pip install wordfreq
    python scripts/prepare_synthetic_speech.py --out data/synthetic

``--sentences`` texts are generated, half of each kind:

- **recombined prompts**: random walks over the word bigrams of ``data/asterisk/train_manifest.json``
  (never the held-out ``test_manifest.json``), kept only when they are not a training text, so the voices
  say the prompts' words in new orders ("you entered did not send a new extension");
- **common words**: 3 to 9 words drawn from wordfreq's most frequent English words that the lexicon of
  ``data/lexicon`` can spell, half of them with a training-prompt word spliced in, so the phone model
  hears words and phone sequences the 497 prompts lack.

Each is read by one voice, alternating at random between flite (kal16, awb, rms, slt with random tempo and
pitch) and espeak-ng (several English accents and voice variants with random speed and pitch). Each clip is
trimmed of leading and trailing silence, resampled to 16 kHz mono with torchaudio, peak-normalized and
encoded as Ogg/Opus; ``train_manifest.json`` is a NeMo JSON-lines manifest whose ``audio_filepath`` is
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
from collections import defaultdict
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
        return styled_voice(rng, engine, rng.choice(sorted(FLITE_VOICES)))
    return styled_voice(rng, engine, f"{rng.choice(ESPEAK_VOICES)}+{rng.choice(ESPEAK_VARIANTS)}")


def styled_voice(rng: random.Random, engine: str, name: str) -> Voice:
    """The voice ``name`` of ``engine`` with a random tempo and mean pitch (ranges per engine and voice)."""
    if engine == "flite":
        low, high = FLITE_VOICES[name]
        return Voice("flite", name, round(rng.uniform(0.85, 1.2), 2), rng.randint(low, high))
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
    return read_engine_wav(wav, f"{voice} produced silence for {text!r}; check that this voice is installed.")


def read_engine_wav(wav: Path, silence_error: str) -> np.ndarray:
    """A speech engine's output file as (T,) float32 mono samples at ``SAMPLE_RATE``.

    Raises:
        RuntimeError: ``silence_error``, where the file holds only zeros (a voice that is not installed).
    """
    samples, rate = sf.read(wav, dtype="float32", always_2d=True)
    if not samples.any():
        raise RuntimeError(silence_error)
    mono = torch.from_numpy(samples.mean(axis=1))
    return torchaudio.functional.resample(mono, rate, SAMPLE_RATE).numpy()


def trim_and_normalize(samples: np.ndarray) -> np.ndarray:
    """Cut silence beyond ``TRIM_MARGIN_S`` at both ends and scale the peak to ``PEAK``."""
    peak = float(np.abs(samples).max())
    loud = np.flatnonzero(np.abs(samples) > TRIM_RELATIVE_THRESHOLD * peak)
    margin = int(TRIM_MARGIN_S * SAMPLE_RATE)
    start, end = max(0, loud[0] - margin), min(len(samples), loud[-1] + 1 + margin)
    return (samples[start:end] * (PEAK / peak)).astype(np.float32)


def read_training_texts(manifest: Path) -> list[str]:
    """Unique texts of the training manifest, in file order."""
    from nemo.collections.asr.parts.lm.text_corpus import manifest_texts

    return list(dict.fromkeys(manifest_texts([manifest])))


def common_words(ranked: list[str], spellable: set[str], count: int) -> list[str]:
    """The first ``count`` words of ``ranked`` (most frequent first) that ``spellable`` holds, letters only.

    Single letters other than "a" and "i" are left out (a lone letter is read as its name).
    """
    words = [word for word in ranked if word in spellable and word.isalpha()]
    return [word for word in words if len(word) > 1 or word in ("a", "i")][:count]


class SentenceMaker:
    """Draws new sentences: walks over the training prompts' word bigrams, or sequences of common words.

    Args:
        prompts: the training transcripts (the only text that is recombined).
        words: common English words to draw sequences from.
        rng: the source of every random choice.
    """

    MAX_WALK_WORDS = 18

    def __init__(self, prompts: list[str], words: list[str], rng: random.Random) -> None:
        self.prompts = prompts
        self.words = words
        self.rng = rng
        self.known = set(prompts)
        self.successors: dict[str, list[str]] = defaultdict(list)
        for prompt in prompts:
            tokens = ["<s>", *prompt.split(), "</s>"]
            for word, successor in zip(tokens, tokens[1:]):
                self.successors[word].append(successor)

    def recombined_prompt(self) -> str:
        """A walk over the prompts' bigrams, at least two words, that is not itself a training prompt."""
        while True:
            word, sentence = "<s>", []
            while len(sentence) <= self.MAX_WALK_WORDS:
                word = self.rng.choice(self.successors[word])
                if word == "</s>":
                    break
                sentence.append(word)
            text = " ".join(sentence)
            if len(sentence) >= 2 and text not in self.known:
                return text

    def common_word_sequence(self) -> str:
        """3 to 9 common words; half the time a word of a random training prompt is spliced in."""
        count = self.rng.randint(3, 9)
        sentence = [self.rng.choice(self.words) for _ in range(count)]
        if self.rng.random() < 0.5:
            sentence.insert(self.rng.randrange(count), self.rng.choice(self.rng.choice(self.prompts).split()))
        return " ".join(sentence)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("data/synthetic"))
    parser.add_argument("--train-manifest", type=Path, default=Path("data/asterisk/train_manifest.json"))
    parser.add_argument("--lexicon", type=Path, default=Path("data/lexicon/cmudict_phones.lex.gz"))
    parser.add_argument("--sentences", type=int, default=1600, help="clips to make, half of each kind")
    parser.add_argument("--common-words", type=int, default=4000, help="how many frequent words to draw from")
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
    from nemo.collections.asr.parts.lm.lexicon import read_lexicon
    from wordfreq import top_n_list

    rng = random.Random(args.seed)
    maker = SentenceMaker(
        read_training_texts(args.train_manifest),
        common_words(
            top_n_list("en", 3 * args.common_words),
            {entry.word for entry in read_lexicon(args.lexicon)},
            args.common_words,
        ),
        rng,
    )
    texts = [
        maker.recombined_prompt() if index % 2 == 0 else maker.common_word_sequence()
        for index in range(args.sentences)
    ]

    audio_dir = args.out / "audio"
    if audio_dir.exists():
        shutil.rmtree(audio_dir)
    audio_dir.mkdir(parents=True)
    entries = []
    with tempfile.TemporaryDirectory() as workdir:
        for index, text in enumerate(texts):
            transcript = normalize(text)
            if transcript != text:
                raise SystemExit(f"Text {text!r} is not normalized (normalize() gives {transcript!r}).")
            voice = draw_voice(rng, rng.choice(("flite", "espeak-ng")))
            samples = trim_and_normalize(synthesize(voice, text, Path(workdir)))
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

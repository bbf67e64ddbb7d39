"""Make the voice-activity task: speech prompts at random places in clips of silence and of noise.

Two steps. ``plan`` writes the small recipes committed under ``data/vad/`` (which prompts go where, at what
level, over which noise, and the 20 ms frame labels); ``build`` turns them into audio, deterministically,
in a run folder, with numpy and soundfile alone (the mixtures are not committed: they would take about
a hundred times the room):

    python scripts/prepare_vad_task.py plan --out data/vad          # how data/vad was made (--seed 0)
    python scripts/prepare_vad_task.py build --out outputs/vad      # before training or scoring

Speech comes from ``data/asterisk`` (its train, dev and test prompts make the VAD train, dev and test clips)
and, for training only, from ``data/synthetic``. A clip is 1 or 2 prompts with 0.4-2.5 s of background
before, between and after them (one clip in ten is 2-6 s of background alone). The background is a faint
white floor at -80 dBFS ("clean") or white, pink or brown noise at 20, 10, 5 or 0 dB SNR (speech level: the
RMS of the prompts' speech frames, drawn per clip between -32 and -18 dBFS, lowered where the mixture would
peak above 0.98). Training clips draw one condition each; dev and test clips are written in all five
conditions, so scores can be read per SNR.

Speech frames of a prompt are found on the clean prompt: 20 ms frames within 40 dB of its loudest frame,
pauses shorter than 0.3 s filled, islands shorter than 60 ms dropped. A clip's ``label`` has one 0/1 per
20 ms frame (NeMo's ``get_frame_labels`` rule: frame i is speech when i * 0.02 s lies in a speech segment),
space-separated, as NeMo's frame-VAD manifests (``marblenet_3x2x64_20ms``) have it.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent))
from prepare_sound_tasks import (  # noqa: E402
    DATA,
    ROOT,
    SAMPLE_RATE,
    read_audio,
    read_manifest,
    relative_path,
    seeded_sample,
    write_manifest,
)

FRAME_LENGTH = 0.02
FRAME_SAMPLES = round(FRAME_LENGTH * SAMPLE_RATE)
CONDITIONS = {"clean": None, "snr20": 20.0, "snr10": 10.0, "snr5": 5.0, "snr0": 0.0}
"""Condition name -> SNR in dB (``None``: the -80 dBFS floor alone)."""
NOISES = ("white", "pink", "brown")
CLEAN_FLOOR_DBFS = -80.0
SPEECH_WITHIN_DB = 40.0
FILL_PAUSE_S = 0.3
MIN_SPEECH_S = 0.06
GAP_S = (0.4, 2.5)
BACKGROUND_ONLY_S = (2.0, 6.0)
LEVEL_DBFS = (-32.0, -18.0)
BACKGROUND_ONLY_EVERY = 10
MAX_PEAK = 0.98
SPLITS = ("train", "dev", "test")


def speech_frames(samples: np.ndarray) -> np.ndarray:
    """Which 20 ms frames of a clean prompt hold speech.

    Args:
        samples: (T,) the prompt.

    Returns:
        (ceil(T / 320),) bool: within ``SPEECH_WITHIN_DB`` of the loudest frame, pauses shorter than
        ``FILL_PAUSE_S`` filled, runs shorter than ``MIN_SPEECH_S`` dropped.
    """
    count = math.ceil(len(samples) / FRAME_SAMPLES)
    padded = np.zeros(count * FRAME_SAMPLES, dtype=np.float64)
    padded[: len(samples)] = samples
    rms = np.sqrt(np.mean(padded.reshape(count, FRAME_SAMPLES) ** 2, axis=1))
    speech = rms >= rms.max() * 10 ** (-SPEECH_WITHIN_DB / 20)
    for start, end in _runs(speech, False):
        if start > 0 and end < count and (end - start) * FRAME_LENGTH < FILL_PAUSE_S:
            speech[start:end] = True
    for start, end in _runs(speech, True):
        if (end - start) * FRAME_LENGTH < MIN_SPEECH_S:
            speech[start:end] = False
    return speech


def _runs(flags: np.ndarray, value: bool) -> list[tuple[int, int]]:
    """[start, end) index ranges where ``flags`` equals ``value``."""
    runs, start = [], None
    for index, flag in enumerate([*flags.tolist(), not value]):
        if flag == value and start is None:
            start = index
        elif flag != value and start is not None:
            runs.append((start, index))
            start = None
    return runs


def frame_labels(segments: Sequence[Sequence[float]], duration: float) -> list[int]:
    """0/1 per 20 ms frame of a clip: NeMo's ``get_frame_labels`` rule (frame i is speech when
    ``i * 0.02`` lies in a segment, ends included, a segment ending at 0 meaning none;
    ``ceil(duration / 0.02)`` frames).

    Args:
        segments: sorted, disjoint ``[start, end]`` speech intervals in seconds.
        duration: the clip's length in seconds.
    """
    labels = []
    for index in range(int(np.ceil(duration / FRAME_LENGTH))):
        time = index * FRAME_LENGTH
        labels.append(int(any(start <= time <= end and end != 0 for start, end in segments)))
    return labels


def colored_noise(kind: str, length: int, seed: int) -> np.ndarray:
    """(length,) float64 noise of unit RMS: ``white``, ``pink`` (power ~ 1/f) or ``brown`` (~ 1/f^2).

    The spectrum is shaped above 20 Hz and flat below it. Same ``seed``, same noise.
    """
    white = np.random.default_rng(seed).standard_normal(length)
    if kind == "white":
        shaped = white
    elif kind in ("pink", "brown"):
        exponent = 0.5 if kind == "pink" else 1.0
        frequencies = np.maximum(np.fft.rfftfreq(length, 1 / SAMPLE_RATE), 20.0)
        shaped = np.fft.irfft(np.fft.rfft(white) / frequencies**exponent, length)
    else:
        raise ValueError(f"noise {kind!r} is unknown; expected one of {', '.join(NOISES)}.")
    return shaped / np.sqrt(np.mean(shaped**2))


@lru_cache(maxsize=16)
def _prompt(path: Path) -> np.ndarray:
    return read_audio(path)


def mix(recipe: dict, data_dir: Path) -> np.ndarray:
    """The audio of one recipe: (T,) float64, T = ``duration`` x 16 kHz.

    Args:
        recipe: a line of ``data/vad/<split>_recipes.json``.
        data_dir: the folder the recipe's ``audio_filepath`` entries are relative to.

    Raises:
        ValueError: a prompt does not fit in the clip (its decoded length differs from the planned one).
    """
    length = round(recipe["duration"] * SAMPLE_RATE)
    clip = colored_noise(recipe["noise"], length, recipe["noise_seed"]) * 10 ** (recipe["noise_dbfs"] / 20)
    for item in recipe["speech"]:
        speech = _prompt(data_dir / item["audio_filepath"])
        start = round(item["start"] * SAMPLE_RATE)
        if start + len(speech) > length or len(speech) != item["samples"]:
            raise ValueError(
                f"recipe {recipe['name']}: {item['audio_filepath']} decodes to {len(speech)} samples, "
                f"expected {item['samples']}; the audio changed since data/vad was planned: plan it again."
            )
        clip[start : start + len(speech)] += speech * 10 ** (item["gain_db"] / 20)
    return clip


def _level_db(samples: np.ndarray) -> float:
    return 20 * math.log10(max(float(np.sqrt(np.mean(samples.astype(np.float64) ** 2))), 1e-10))


def plan_clip(
    name: str,
    prompts: Sequence[str],
    condition: str,
    noise: str,
    level_dbfs: float,
    gaps: Sequence[float],
    noise_seed: int,
    data_dir: Path,
) -> dict:
    """The recipe of one clip.

    Args:
        name: the clip's name (its file name without extension).
        prompts: audio paths relative to ``data_dir``, in order (none for background alone).
        condition: a key of ``CONDITIONS``.
        noise: one of ``NOISES`` (ignored for ``clean``, which uses white noise at ``CLEAN_FLOOR_DBFS``).
        level_dbfs: the RMS of every prompt's speech frames after scaling (lowered until the mixture's peak
            is at most ``MAX_PEAK``).
        gaps: seconds of background before, between and after the prompts (``len(prompts) + 1`` values);
            the last grows to end the clip on a whole 20 ms frame.
        noise_seed: the noise generator's seed.
        data_dir: the folder the prompt paths are relative to.
    """
    for _ in range(20):
        speech, segments, position = [], [], 0
        for gap, path in zip(gaps, prompts):
            samples = _prompt(data_dir / path)
            frames = speech_frames(samples)
            position += round(gap * SAMPLE_RATE)
            active = np.repeat(frames, FRAME_SAMPLES)[: len(samples)]
            gain_db = level_dbfs - _level_db(samples[active])
            speech.append(
                {
                    "audio_filepath": path,
                    "start": position / SAMPLE_RATE,
                    "samples": len(samples),
                    "gain_db": round(gain_db, 3),
                }
            )
            for start, end in _runs(frames, True):
                segments.append(
                    [
                        (position + start * FRAME_SAMPLES) / SAMPLE_RATE,
                        (position + min(end * FRAME_SAMPLES, len(samples))) / SAMPLE_RATE,
                    ]
                )
            position += len(samples)
        position += round(gaps[-1] * SAMPLE_RATE)
        length = math.ceil(position / FRAME_SAMPLES) * FRAME_SAMPLES
        snr_db = CONDITIONS[condition]
        recipe = {
            "name": name,
            "duration": length / SAMPLE_RATE,
            "condition": condition,
            "noise": "white" if snr_db is None else noise,
            "snr_db": snr_db,
            "noise_dbfs": CLEAN_FLOOR_DBFS if snr_db is None else round(level_dbfs - snr_db, 3),
            "noise_seed": noise_seed,
            "speech": speech,
            "segments": segments,
        }
        peak = float(np.abs(mix(recipe, data_dir)).max())
        if peak <= MAX_PEAK:
            recipe["label"] = " ".join(map(str, frame_labels(segments, recipe["duration"])))
            return recipe
        level_dbfs -= 20 * math.log10(peak / MAX_PEAK) + 0.5
    raise RuntimeError(f"clip {name}: could not keep its peak under {MAX_PEAK} (last peak {peak:.2f}).")


def group_prompts(prompts: Sequence[str], rng: random.Random) -> list[list[str]]:
    """Shuffled prompts in groups of 1 or 2, with an empty group (background alone) every tenth clip."""
    order = seeded_sample(prompts, len(prompts), rng)
    groups: list[list[str]] = []
    while order:
        if len(groups) % BACKGROUND_ONLY_EVERY == BACKGROUND_ONLY_EVERY - 1:
            groups.append([])
        size = min(rng.choice((1, 2)), len(order))
        groups.append(order[:size])
        order = order[size:]
    return groups


def plan_split(split: str, prompts: Sequence[str], rng: random.Random, data_dir: Path) -> list[dict]:
    """Recipes of one split: one random condition per clip for ``train``, all five for ``dev``/``test``."""
    recipes = []
    for index, group in enumerate(group_prompts(prompts, rng)):
        if group:
            gaps = [round(rng.uniform(*GAP_S), 3) for _ in range(len(group) + 1)]
        else:
            gaps = [round(rng.uniform(*BACKGROUND_ONLY_S), 3)]
        level = round(rng.uniform(*LEVEL_DBFS), 2)
        noise = rng.choice(NOISES)
        seed = rng.randrange(2**31)
        conditions = [rng.choice(sorted(CONDITIONS))] if split == "train" else list(CONDITIONS)
        for condition in conditions:
            name = f"{split}_{index:04d}_{condition}"
            recipes.append(plan_clip(name, group, condition, noise, level, gaps, seed, data_dir))
    return recipes


def split_prompts(data_dir: Path, synthetic_count: int, rng: random.Random) -> dict[str, list[str]]:
    """Audio paths (relative to ``data_dir``) per split: Asterisk's splits, plus synthetic clips in train."""
    asterisk, synthetic = DATA / "asterisk", DATA / "synthetic"
    prompts = {
        split: [
            f"{relative_path(asterisk, data_dir)}/{entry['audio_filepath']}"
            for entry in read_manifest(asterisk / f"{split}_manifest.json")
        ]
        for split in SPLITS
    }
    synthetic_paths = [
        f"{relative_path(synthetic, data_dir)}/{entry['audio_filepath']}"
        for entry in read_manifest(synthetic / "train_manifest.json")
    ]
    prompts["train"] += seeded_sample(synthetic_paths, synthetic_count, rng)
    return prompts


def plan(out: Path, seed: int, synthetic_count: int, prompts: dict[str, list[str]] | None = None) -> dict:
    """Write ``out/<split>_recipes.json`` for every split of ``prompts`` (default: ``split_prompts``).

    Returns:
        The recipes per split.
    """
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    if prompts is None:
        prompts = split_prompts(out, synthetic_count, rng)
    recipes = {split: plan_split(split, paths, rng, out) for split, paths in prompts.items()}
    for split, entries in recipes.items():
        write_manifest(out / f"{split}_recipes.json", entries)
    return recipes


def rttm_lines(recipe: dict) -> list[str]:
    """NeMo's RTTM lines of a clip's speech segments (speaker ``speech``)."""
    return [
        f"SPEAKER {recipe['name']} 1 {start:.3f} {end - start:.3f} <NA> <NA> speech <NA> <NA>\n"
        for start, end in recipe["segments"]
    ]


def build(data_dir: Path, out: Path, splits: Sequence[str] = SPLITS) -> dict[str, Path]:
    """Render the recipes of ``data_dir`` into ``out``: FLAC clips, manifests and RTTM files.

    Writes ``out/audio/<name>.flac``, ``out/rttm/<name>.rttm``, ``out/<split>_manifest.json`` (every clip
    of the split) and ``out/<split>_<condition>_manifest.json`` (one per condition). Manifest lines have
    ``audio_filepath`` (relative to ``out``), ``duration``, ``offset`` and ``label``.

    Returns:
        The path of each split's full manifest.
    """
    from tqdm import tqdm

    manifests = {}
    for split in splits:
        recipes = read_manifest(data_dir / f"{split}_recipes.json")
        by_condition: dict[str, list[dict]] = {condition: [] for condition in CONDITIONS}
        for recipe in tqdm(recipes, desc=f"vad {split}", unit="clip"):
            audio = Path("audio") / f"{recipe['name']}.flac"
            (out / "audio").mkdir(parents=True, exist_ok=True)
            sf.write(out / audio, mix(recipe, data_dir), SAMPLE_RATE, subtype="PCM_16")
            (out / "rttm").mkdir(exist_ok=True)
            (out / "rttm" / f"{recipe['name']}.rttm").write_text("".join(rttm_lines(recipe)))
            entry = {
                "audio_filepath": audio.as_posix(),
                "duration": recipe["duration"],
                "offset": 0.0,
                "label": recipe["label"],
            }
            by_condition[recipe["condition"]].append(entry)
        manifests[split] = out / f"{split}_manifest.json"
        write_manifest(manifests[split], (entry for entries in by_condition.values() for entry in entries))
        for condition, entries in by_condition.items():
            if entries:
                write_manifest(out / f"{split}_{condition}_manifest.json", entries)
    return manifests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    plan_parser = commands.add_parser("plan", help="write the recipes (how data/vad was made)")
    plan_parser.add_argument("--out", type=Path, default=DATA / "vad")
    plan_parser.add_argument("--seed", type=int, default=0)
    plan_parser.add_argument(
        "--synthetic-prompts", type=int, default=445, help="data/synthetic clips added to train"
    )
    build_parser = commands.add_parser("build", help="render the recipes into a run folder")
    build_parser.add_argument("--data", type=Path, default=DATA / "vad")
    build_parser.add_argument("--out", type=Path, default=ROOT / "outputs" / "vad")
    build_parser.add_argument("--splits", nargs="+", default=list(SPLITS), choices=SPLITS)
    args = parser.parse_args()
    if args.command == "plan":
        for split, recipes in plan(args.out, args.seed, args.synthetic_prompts).items():
            minutes = sum(recipe["duration"] for recipe in recipes) / 60
            speech = sum(recipe["label"].count("1") for recipe in recipes) * FRAME_LENGTH / 60
            print(f"{split}: {len(recipes)} clips, {minutes:.1f} min, {speech:.1f} min of speech frames")
    else:
        for split, manifest in build(args.data, args.out, args.splits).items():
            print(f"{split}: {manifest}")


if __name__ == "__main__":
    main()

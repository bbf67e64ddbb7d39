"""Make the speaker-verification task: every synthetic voice and the real Asterisk voice is a speaker.

The result is committed under ``data/speakers/``; this script is how it was made, and how to make it again
(the output depends only on ``--seed``, the committed ``data/asterisk`` and ``data/synthetic`` and the
installed engines):

    apt-get install espeak-ng flite
    python scripts/prepare_speakers_task.py --out data/speakers

Speakers are the voices of ``prepare_sound_tasks.synthetic_voices`` (4 flite voices, 91 espeak-ng accent +
variant pairs) and the real voice of ``data/asterisk`` (Allison Smith). Utterances of at least 1 s come from
``data/synthetic`` (its file names give the voice) and, for the real voice, from the Asterisk test prompts;
a synthetic speaker with fewer than ``--utterances`` of them gets new sentences (random walks over the
Asterisk training prompts' word bigrams, as ``data/synthetic``'s) rendered into ``audio/``, each with its own
tempo and pitch. Speakers are split with ``--seed``: dev and test each hold out one flite voice and
``--held-out-espeak`` espeak-ng voices, test also the real voice; the rest train. Held-out speakers keep
``--utterances`` utterances each; their trial lists pair every two utterances of one speaker (label 1) with
as many pairs of different speakers (label 0), in NeMo's VoxCeleb trial format (``1 path1 path2``).
"""

from __future__ import annotations

import argparse
import itertools
import random
import re
import shutil
import sys
import tempfile
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from prepare_sound_tasks import (  # noqa: E402
    DATA,
    SAMPLE_RATE,
    SyntheticVoice,
    read_manifest,
    relative_path,
    render,
    seeded_sample,
    synthetic_voices,
    write_manifest,
    write_opus,
)
from prepare_synthetic_speech import SentenceMaker, read_training_texts  # noqa: E402

REAL_SPEAKER = "asterisk-allison"
MIN_DURATION = 1.0
SYNTHETIC_NAME = re.compile(r"^audio/\d+_(?P<tag>.+)\.opus$")


def split_speakers(
    voices: Sequence[SyntheticVoice], held_out_espeak: int, rng: random.Random
) -> dict[str, list[str]]:
    """Speaker tags per split: dev and test each get one flite voice and ``held_out_espeak`` espeak-ng
    voices, test also the real voice; the other voices train."""
    flite = [voice.tag for voice in voices if voice.engine == "flite"]
    if len(flite) < 3:
        raise ValueError(f"{len(flite)} flite voices given; dev, test and train need one at least.")
    flite = seeded_sample(flite, len(flite), rng)
    espeak = [voice.tag for voice in voices if voice.engine == "espeak-ng"]
    espeak = seeded_sample(espeak, len(espeak), rng)
    return {
        "dev": [flite[0], *espeak[:held_out_espeak]],
        "test": [flite[1], *espeak[held_out_espeak : 2 * held_out_espeak], REAL_SPEAKER],
        "train": [*flite[2:], *espeak[2 * held_out_espeak :]],
    }


def existing_utterances(out: Path) -> dict[str, list[dict]]:
    """Utterances of at least ``MIN_DURATION`` per speaker tag, from ``data/synthetic`` and the real voice's
    Asterisk test prompts, as manifest lines with paths relative to ``out``."""
    utterances: dict[str, list[dict]] = defaultdict(list)
    sources = [(DATA / "synthetic", "train_manifest.json"), (DATA / "asterisk", "test_manifest.json")]
    for folder, manifest in sources:
        for entry in read_manifest(folder / manifest):
            if entry["duration"] < MIN_DURATION:
                continue
            if folder.name == "asterisk":
                speaker = REAL_SPEAKER
            else:
                match = SYNTHETIC_NAME.match(entry["audio_filepath"])
                if match is None:
                    raise ValueError(
                        f"{folder / manifest}: {entry['audio_filepath']} does not name its voice; "
                        "expected audio/<number>_<voice>.opus."
                    )
                speaker = match["tag"]
            utterances[speaker].append(
                {
                    "audio_filepath": f"{relative_path(folder, out)}/{entry['audio_filepath']}",
                    "duration": entry["duration"],
                    "label": speaker,
                    "offset": 0.0,
                }
            )
    return utterances


def render_missing(
    out: Path,
    voices: Sequence[SyntheticVoice],
    utterances: dict[str, list[dict]],
    minimum: int,
    rng: random.Random,
) -> int:
    """Render new sentences into ``out/audio/<tag>/`` until every voice has ``minimum`` utterances of at
    least ``MIN_DURATION``; returns how many were rendered."""
    maker = SentenceMaker(read_training_texts(DATA / "asterisk" / "train_manifest.json"), [], rng)
    audio_dir = out / "audio"
    if audio_dir.exists():
        shutil.rmtree(audio_dir)
    rendered = 0
    with tempfile.TemporaryDirectory() as workdir:
        for voice in voices:
            while len(utterances[voice.tag]) < minimum:
                samples = render(voice.styled(rng), maker.recombined_prompt(), Path(workdir))
                name = f"audio/{voice.tag}/{len(utterances[voice.tag]):02d}.opus"
                if len(samples) < MIN_DURATION * SAMPLE_RATE:
                    continue
                duration = write_opus(out / name, samples)
                utterances[voice.tag].append(
                    {"audio_filepath": name, "duration": duration, "label": voice.tag, "offset": 0.0}
                )
                rendered += 1
    return rendered


def trials(entries: Sequence[dict], rng: random.Random) -> list[tuple[int, str, str]]:
    """Every same-speaker pair (label 1) and as many different-speaker pairs (label 0), shuffled."""
    pairs = list(itertools.combinations(entries, 2))
    same = [(1, a["audio_filepath"], b["audio_filepath"]) for a, b in pairs if a["label"] == b["label"]]
    different = [(0, a["audio_filepath"], b["audio_filepath"]) for a, b in pairs if a["label"] != b["label"]]
    chosen = same + rng.sample(different, min(len(same), len(different)))
    rng.shuffle(chosen)
    return chosen


def make_speakers(
    out: Path,
    voices: Sequence[SyntheticVoice],
    seed: int,
    utterances_per_speaker: int,
    held_out_espeak: int,
    max_train_utterances: int,
    validation_per_speaker: int,
) -> dict[str, list[dict]]:
    """Write ``out/{train,validation,dev,test}_manifest.json`` and ``out/{dev,test}_trials.txt``.

    ``validation_manifest.json`` holds ``validation_per_speaker`` utterances of each training speaker (for
    the classification accuracy NeMo's speaker recipes validate on); ``train_manifest.json`` the rest of
    theirs, at most ``max_train_utterances`` per speaker.

    Returns:
        The manifest lines per split.
    """
    rng = random.Random(seed)
    speakers = split_speakers(voices, held_out_espeak, rng)
    utterances = existing_utterances(out)
    render_missing(out, voices, utterances, utterances_per_speaker, rng)
    manifests: dict[str, list[dict]] = {"train": [], "validation": [], "dev": [], "test": []}
    for speaker in speakers["train"]:
        kept = seeded_sample(utterances[speaker], min(max_train_utterances, len(utterances[speaker])), rng)
        manifests["validation"] += kept[:validation_per_speaker]
        manifests["train"] += kept[validation_per_speaker:]
    for split in ("dev", "test"):
        for speaker in speakers[split]:
            manifests[split] += seeded_sample(utterances[speaker], utterances_per_speaker, rng)
        lines = [f"{label} {first} {second}\n" for label, first, second in trials(manifests[split], rng)]
        (out / f"{split}_trials.txt").write_text("".join(lines))
    for split, entries in manifests.items():
        entries.sort(key=lambda entry: (entry["label"], entry["audio_filepath"]))
        write_manifest(out / f"{split}_manifest.json", entries)
    return manifests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DATA / "speakers")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--utterances", type=int, default=16, help="per held-out speaker; minimum per voice")
    parser.add_argument(
        "--held-out-espeak", type=int, default=16, help="espeak-ng voices in dev, and in test"
    )
    parser.add_argument("--max-train-utterances", type=int, default=40, help="per training speaker")
    parser.add_argument("--validation-utterances", type=int, default=2, help="per training speaker")
    args = parser.parse_args()
    for tool in ("espeak-ng", "flite"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is missing: apt-get install espeak-ng flite")
    manifests = make_speakers(
        args.out,
        synthetic_voices(),
        args.seed,
        args.utterances,
        args.held_out_espeak,
        args.max_train_utterances,
        args.validation_utterances,
    )
    for split, entries in manifests.items():
        minutes = sum(entry["duration"] for entry in entries) / 60
        speakers = len({entry["label"] for entry in entries})
        print(f"{split}: {speakers} speakers, {len(entries)} utterances, {minutes:.1f} min")
    megabytes = sum(path.stat().st_size for path in (args.out / "audio").rglob("*.opus")) / 2**20
    print(f"{megabytes:.1f} MiB of new audio in {args.out / 'audio'}")


if __name__ == "__main__":
    main()

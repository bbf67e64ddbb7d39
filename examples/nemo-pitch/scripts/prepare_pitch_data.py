"""Reference F0 tracks for the bundled speech corpus, written under ``examples/nemo-pitch/data/``.

A dev-time tool: it needs nemo-tts (for ``estimate_pitch``, WORLD's DIO + StoneMask through pyworld); the
``nemo_pitch`` package itself does not. The committed result makes a fresh clone trainable without it:

    python examples/nemo-pitch/scripts/prepare_pitch_data.py

For each prompt of ``data/asterisk/{train,dev,test}_manifest.json`` (the corpus's own seeded split, kept as
it is) it reads the 16 kHz audio with soundfile, computes F0 every 10 ms (hop 160 samples; frame ``k`` centred
on sample ``k * 160``, ``1 + T // 160`` frames) with NeMo TTS's default search range C2-C7 (65.4-2093 Hz), and
writes:

- ``f0_dio_stonemask.npz``: one float16 array of Hz per prompt, keyed by the prompt's name (the audio file's
  stem), 0 where DIO calls the frame unvoiced;
- ``{train,dev,test}_manifest.json``: JSON lines with ``audio_filepath`` (relative to the manifest),
  ``duration``, ``f0_filepath`` (the ``.npz``, relative to the manifest) and ``f0_key``.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np
import soundfile as sf
from nemo.collections.tts.parts.preprocessing.pitch import estimate_pitch

REPO = Path(__file__).resolve().parents[3]
SPLITS = ("train", "dev", "test")
SAMPLE_RATE = 16000
HOP_LENGTH = 160
WIN_LENGTH = 1024
FMIN_HZ = 65.4  # C2, NeMo TTS's pitch_fmin
FMAX_HZ = 2093.0  # C7, NeMo TTS's pitch_fmax
TRACKS_FILE = "f0_dio_stonemask.npz"


def read_corpus_manifest(path: Path) -> list[dict]:
    """The JSON lines of one corpus manifest, each with ``audio_filepath`` made absolute."""
    entries = []
    for line_number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        entry = json.loads(line)
        audio = Path(entry["audio_filepath"])
        entry["audio_filepath"] = audio if audio.is_absolute() else path.parent / audio
        if not entry["audio_filepath"].is_file():
            raise FileNotFoundError(f"{path}:{line_number}: audio file {entry['audio_filepath']} is missing.")
        entries.append(entry)
    return entries


def reference_f0(audio_path: Path) -> tuple[np.ndarray, float]:
    """(1 + T // 160,) float16 F0 in Hz (0 = unvoiced) of one 16 kHz file, and its duration in seconds."""
    audio, sample_rate = sf.read(str(audio_path), dtype="float32", always_2d=False)
    if sample_rate != SAMPLE_RATE or audio.ndim != 1:
        raise ValueError(
            f"{audio_path}: expected mono {SAMPLE_RATE} Hz, got {sample_rate} Hz, shape {audio.shape}."
        )
    f0 = estimate_pitch(audio, SAMPLE_RATE, HOP_LENGTH, WIN_LENGTH, FMIN_HZ, FMAX_HZ).numpy()
    return f0.astype(np.float16), audio.shape[0] / SAMPLE_RATE


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--corpus", type=Path, default=REPO / "data" / "asterisk", help="folder of the manifests"
    )
    parser.add_argument("--out", type=Path, default=REPO / "examples" / "nemo-pitch" / "data")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    tracks: dict[str, np.ndarray] = {}
    for split in SPLITS:
        lines = []
        for entry in read_corpus_manifest(args.corpus / f"{split}_manifest.json"):
            key = entry["audio_filepath"].stem
            if key in tracks:
                raise ValueError(f"two prompts are named {key!r}; track keys must be unique.")
            tracks[key], duration = reference_f0(entry["audio_filepath"])
            audio = os.path.relpath(entry["audio_filepath"].resolve(), args.out.resolve())
            line = {
                "audio_filepath": audio,
                "duration": round(duration, 4),
                "f0_filepath": TRACKS_FILE,
                "f0_key": key,
            }
            lines.append(json.dumps(line))
        (args.out / f"{split}_manifest.json").write_text("\n".join(lines) + "\n", encoding="utf-8")
        print(f"{split}: {len(lines)} prompts")
    np.savez_compressed(args.out / TRACKS_FILE, **tracks)
    frames = np.concatenate(list(tracks.values())).astype(np.float32)
    voiced = frames[frames > 0]
    print(
        f"{len(tracks)} tracks, {frames.size} frames, {voiced.size / frames.size:.1%} voiced, "
        f"F0 {voiced.min():.1f}-{voiced.max():.1f} Hz (median {np.median(voiced):.1f}) -> {args.out / TRACKS_FILE}"
    )


if __name__ == "__main__":
    main()

"""Pitch trackers measured against ``librosa.pyin`` (what NeMo 1.23's TTSDataset uses) on the bundled speech.

Every candidate runs on the same clips of ``data/asterisk`` (resampled to 22050 Hz) on NeMo's frame grid
(hop 256, frame 1024, frames centred at ``k * hop``) with NeMo's range fmin = C2 (65.4 Hz), fmax = C7
(2093 Hz). Figures per candidate:

- ``<name>_rtf``: seconds of compute per second of audio (lower is faster);
- ``<name>_voicing_agreement``: share of frames where it and pyin make the same voiced/unvoiced call;
- ``<name>_median_cents``: median absolute F0 difference to pyin, in cents, on frames both call voiced;
- ``<name>_gross_error_rate``: share of those frames more than 50 cents off.

Candidates: ``pyin`` (the reference against itself: its timing), ``world_harvest`` and ``world_dio``
(pyworld, with StoneMask refinement), ``praat_ac`` (parselmouth's autocorrelation pitch), ``crepe_tiny``
(torchcrepe, weighted-argmax decoding: its Viterbi decoder returns fmax everywhere with
librosa 0.11; periodicity threshold 0.21) and ``ours`` (``estimate_pitch`` of
``nemo.collections.tts.parts.preprocessing.pitch``, the chosen tracker as the dataset calls it). Needs
librosa; a candidate that is not installed is skipped (measurement only: only pyworld, the chosen tracker, is
a dependency of the package):

    python benchmarks/bench_tts_pitch.py [--clips 36] [--table]   # prints one JSON line (or a table)
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torchaudio.functional
from nemo.collections.asr.data.manifest import read_manifest_entries
from nemo.collections.asr.parts.preprocessing.segment import AudioSegment

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT / "data" / "asterisk" / "train_manifest.json"
SAMPLE_RATE = 22050
HOP = 256
FRAME = 1024
FMIN = 65.40639132514966  # librosa.note_to_hz("C2")
FMAX = 2093.004522404789  # librosa.note_to_hz("C7")

Tracker = Callable[[np.ndarray], np.ndarray]


def load_clips(count: int) -> list[np.ndarray]:
    """The first ``count`` clips of the train manifest longer than 1 s, as float32 at 22050 Hz."""
    clips = []
    for entry in read_manifest_entries(str(MANIFEST)):
        if entry.duration < 1.0:
            continue
        segment = AudioSegment.from_file(entry.audio_filepath)
        audio = torchaudio.functional.resample(
            torch.from_numpy(segment.samples), segment.sample_rate, SAMPLE_RATE
        )
        clips.append(audio.numpy())
        if len(clips) == count:
            break
    return clips


def on_grid(times: np.ndarray, f0: np.ndarray, n_frames: int) -> np.ndarray:
    """F0 sampled at NeMo's frame centres ``k * HOP / SAMPLE_RATE`` (nearest frame; 0 outside)."""
    grid = np.arange(n_frames) * HOP / SAMPLE_RATE
    if times.size == 0:
        return np.zeros(n_frames)
    step = times[1] - times[0] if times.size > 1 else 1.0
    index = np.rint((grid - times[0]) / step).astype(int)
    inside = (index >= 0) & (index < times.size)
    out = np.zeros(n_frames)
    out[inside] = f0[index[inside]]
    return out


def n_frames_of(audio: np.ndarray) -> int:
    return 1 + audio.shape[0] // HOP


def pyin(audio: np.ndarray) -> np.ndarray:
    import librosa

    f0, _, _ = librosa.pyin(audio, fmin=FMIN, fmax=FMAX, frame_length=FRAME, sr=SAMPLE_RATE, fill_na=0.0)
    return f0


def world(method: str) -> Tracker:
    def track(audio: np.ndarray) -> np.ndarray:
        import pyworld

        x = audio.astype(np.float64)
        period_ms = 1000.0 * HOP / SAMPLE_RATE
        extract = pyworld.harvest if method == "harvest" else pyworld.dio
        f0, times = extract(x, SAMPLE_RATE, f0_floor=FMIN, f0_ceil=FMAX, frame_period=period_ms)
        f0 = pyworld.stonemask(x, f0, times, SAMPLE_RATE)
        return on_grid(times, f0, n_frames_of(audio))

    return track


def praat_ac(audio: np.ndarray) -> np.ndarray:
    import parselmouth

    pitch = parselmouth.Sound(audio.astype(np.float64), SAMPLE_RATE).to_pitch_ac(
        time_step=HOP / SAMPLE_RATE, pitch_floor=FMIN, pitch_ceiling=FMAX
    )
    return on_grid(pitch.xs(), pitch.selected_array["frequency"], n_frames_of(audio))


def crepe_tiny(audio: np.ndarray) -> np.ndarray:
    import torchcrepe

    f0, periodicity = torchcrepe.predict(
        torch.from_numpy(audio)[None],
        SAMPLE_RATE,
        hop_length=HOP,
        fmin=FMIN,
        fmax=min(FMAX, 2006.0),
        model="tiny",
        decoder=torchcrepe.decode.weighted_argmax,
        return_periodicity=True,
        batch_size=512,
    )
    f0 = torch.where(periodicity > 0.21, f0, torch.zeros_like(f0))[0].numpy()
    times = np.arange(f0.shape[0]) * HOP / SAMPLE_RATE
    return on_grid(times, f0, n_frames_of(audio))


def ours(audio: np.ndarray) -> np.ndarray:
    from nemo.collections.tts.parts.preprocessing.pitch import estimate_pitch

    return estimate_pitch(torch.from_numpy(audio), SAMPLE_RATE, HOP, FRAME, FMIN, FMAX).numpy()


CANDIDATES: dict[str, Tracker] = {
    "pyin": pyin,
    "world_harvest": world("harvest"),
    "world_dio": world("dio"),
    "praat_ac": praat_ac,
    "crepe_tiny": crepe_tiny,
    "ours": ours,
}


def agreement(reference: list[np.ndarray], tracked: list[np.ndarray]) -> dict[str, float]:
    """Voicing agreement, median cents error and gross error rate of ``tracked`` against ``reference``."""
    ref = np.concatenate(reference)
    got = np.concatenate([t[: r.shape[0]] for r, t in zip(reference, tracked, strict=True)])
    if got.shape != ref.shape:
        raise ValueError(f"frame counts differ: reference {ref.shape}, candidate {got.shape}")
    ref_voiced, got_voiced = ref > 0, got > 0
    both = ref_voiced & got_voiced
    cents = np.abs(1200.0 * np.log2(got[both] / ref[both]))
    return {
        "voicing_agreement": round(float(np.mean(ref_voiced == got_voiced)), 4),
        "median_cents": round(float(np.median(cents)), 2),
        "gross_error_rate": round(float(np.mean(cents > 50.0)), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clips", type=int, default=36)
    parser.add_argument("--only", nargs="*", default=list(CANDIDATES), help=f"candidates: {list(CANDIDATES)}")
    parser.add_argument("--table", action="store_true", help="print a Markdown table instead of JSON")
    args = parser.parse_args()
    torch.set_num_threads(1)
    try:
        import librosa  # noqa: F401
    except ImportError:
        sys.exit("bench_tts_pitch needs librosa (the reference, librosa.pyin): pip install librosa")
    clips = load_clips(args.clips)
    audio_seconds = sum(clip.shape[0] for clip in clips) / SAMPLE_RATE
    reference = [pyin(clip) for clip in clips]
    figures: dict[str, object] = {"clips": len(clips), "audio_seconds": round(audio_seconds, 1)}
    measured = []
    for name in args.only:
        track = CANDIDATES[name]
        try:
            track(clips[0])
        except ImportError as err:
            print(f"skipping {name}: {err}", file=sys.stderr)
            continue
        measured.append(name)
        start = time.perf_counter()
        tracked = [track(clip) for clip in clips]
        figures[f"{name}_rtf"] = round((time.perf_counter() - start) / audio_seconds, 4)
        figures.update({f"{name}_{key}": value for key, value in agreement(reference, tracked).items()})
    if not args.table:
        print(json.dumps(figures))
        return
    print(f"{len(clips)} clips, {audio_seconds:.1f} s of audio, one thread\n")
    print("| tracker | real-time factor | voicing agreement | median cents | gross error rate (> 50 cents) |")
    print("|---|---|---|---|---|")
    for name in measured:
        cells = [
            figures[f"{name}_{key}"]
            for key in ("rtf", "voicing_agreement", "median_cents", "gross_error_rate")
        ]
        print(f"| {name} | " + " | ".join(str(cell) for cell in cells) + " |")


if __name__ == "__main__":
    main()

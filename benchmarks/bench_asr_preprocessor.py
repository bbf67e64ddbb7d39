"""Throughput of AudioToMelSpectrogramPreprocessor: 80 mel, n_fft 512, batch 16 x 10 s of 16 kHz audio.

Eval-mode forward (no dither) on random audio, NeMo's other defaults (20 ms window, 10 ms hop,
per-feature normalisation, pad_to 16). Each timed batch gives one sample of ``batch_s`` and one of
``mel_audio_seconds_per_second`` (seconds of audio processed per second of wall time).

Uses only NeMo 1.23's public names, so the same script runs under NeMo 1.23 for comparison:

    python benchmarks/bench_asr_preprocessor.py [--repeats 20] [--device cpu]   # prints one JSON line
"""

from __future__ import annotations

import argparse
import json

import torch
from nemo.collections.asr.modules import AudioToMelSpectrogramPreprocessor
from spread import rounded
from timing import time_calls

SAMPLE_RATE = 16000
BATCH = 16
SECONDS = 10.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    device = torch.device(args.device)

    generator = torch.Generator().manual_seed(0)
    samples = int(SECONDS * SAMPLE_RATE)
    audio = (0.1 * torch.randn(BATCH, samples, generator=generator)).to(device)
    lengths = torch.full((BATCH,), samples, dtype=torch.long, device=device)
    preprocessor = AudioToMelSpectrogramPreprocessor(sample_rate=SAMPLE_RATE, features=80, n_fft=512)
    preprocessor = preprocessor.to(device).eval()

    def step() -> None:
        preprocessor(input_signal=audio, length=lengths)

    batch_seconds = time_calls(step, args.repeats, args.warmup, device)
    audio_seconds = BATCH * SECONDS
    print(
        json.dumps(
            {
                "mel_audio_seconds_per_second": rounded((audio_seconds / s for s in batch_seconds), 1),
                "batch_s": rounded(batch_seconds, 4),
            }
        )
    )


if __name__ == "__main__":
    main()

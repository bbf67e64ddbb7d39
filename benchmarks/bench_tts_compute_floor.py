"""The operations of the TTS benchmarks' work, and this machine's fp32 matrix-product and convolution rate.

Counts the floating-point operations of ``bench_tts_fastpitch``'s and ``bench_tts_hifigan``'s four figures
(the same configs, seeds, inputs and calls: their ``workload`` functions) with ``bench_asr_compute_floor``'s
counter (``torch.utils.flop_counter.FlopCounterMode``: matrix products, convolutions, transposed and grouped
ones included, and attention; elementwise ops, normalizations, the STFT and the optimizer are not counted), and
times fp32 matrix products of a large square shape and the models' own fp32 convolutions (torch runs those with
oneDNN, not the BLAS: on some CPUs, AMD's among them, they run faster than any matrix product). ``gemm_gflops``
holds the rates of the shape that ran fastest, one sample per timed call. ``run_all.py`` divides each
``*_gflop`` by the highest rate measured: the time the counted operations alone would take if every one ran at
that rate (the "floor"), which it sets beside the two scripts' times.

    python benchmarks/bench_tts_compute_floor.py [--repeats 10]   # prints one JSON line
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import bench_tts_fastpitch
import bench_tts_hifigan
import torch
import torch.nn.functional as F
from bench_asr_compute_floor import count_gflop, gemm_gflops
from spread import rounded

# (M, K, N) of the matrix products timed for the rate: a large square one, and FastPitch's decoder feed-forward
# convolution (4 x ~700 frames, 384 channels x kernel 3 in, 1536 out) as the product it lowers to.
PEAK_SHAPES = ((2048, 2048, 2048), (2800, 1152, 1536))
# (batch, channels in, channels out, kernel, frames) of the convolutions timed for the rate: FastPitch's decoder
# feed-forward and HiFi-GAN's second-stage residual convolution.
CONV_SHAPES = ((4, 384, 1536, 3, 700), (1, 128, 128, 11, 16384))


def conv_gflops(repeats: int) -> list[float]:
    """The rates of the fastest of ``CONV_SHAPES``: GFLOP/s of each of its ``repeats`` timed fp32 convolutions.

    Every shape gets 3 untimed calls first; the fastest is the one with the highest median rate. Torch's
    default thread count.
    """
    rates_per_shape = []
    for batch, c_in, c_out, kernel, frames in CONV_SHAPES:
        x, w = torch.randn(batch, c_in, frames), torch.randn(c_out, c_in, kernel)
        for _ in range(3):
            F.conv1d(x, w, padding=kernel // 2)
        rates = []
        for _ in range(repeats):
            start = time.perf_counter()
            F.conv1d(x, w, padding=kernel // 2)
            rates.append(2 * batch * c_out * c_in * kernel * frames / (time.perf_counter() - start) / 1e9)
        rates_per_shape.append(rates)
    return max(rates_per_shape, key=statistics.median)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=10, help="timed calls per shape")
    args = parser.parse_args()
    cpu = torch.device("cpu")

    fastpitch = bench_tts_fastpitch.build_model(cpu)
    generate, fastpitch_train = bench_tts_fastpitch.workload(fastpitch, cpu)
    generate_gflop = count_gflop(generate)
    fastpitch.train()
    fastpitch_train_gflop = count_gflop(fastpitch_train)

    hifigan = bench_tts_hifigan.build_model(cpu)
    convert, hifigan_train = bench_tts_hifigan.workload(hifigan, cpu)
    hifigan.eval()
    convert_gflop = count_gflop(convert)
    hifigan.train()
    hifigan_train_gflop = count_gflop(hifigan_train)
    gemm, convolution = gemm_gflops(args.repeats, PEAK_SHAPES), conv_gflops(args.repeats)
    print(
        json.dumps(
            {
                "gemm_gflops": rounded(max(gemm, convolution, key=statistics.median), 1),
                "fastpitch_generate_spectrogram_gflop": round(generate_gflop, 2),
                "fastpitch_train_step_gflop": round(fastpitch_train_gflop, 2),
                "hifigan_convert_spectrogram_to_audio_gflop": round(convert_gflop, 2),
                "hifigan_train_step_gflop": round(hifigan_train_gflop, 2),
            }
        )
    )


if __name__ == "__main__":
    main()

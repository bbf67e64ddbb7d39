"""The operations of ``bench_asr_model``'s work, and this machine's fp32 matrix-multiply rate.

Counts the floating-point operations of the Conformer-small model (the same config, batches and calls as
``bench_asr_model.py``) with ``torch.utils.flop_counter.FlopCounterMode`` (matrix products, convolutions and
attention; elementwise ops, normalizations and the FFT are not counted), and times fp32 matrix products of a
large square shape and of the model's own feed-forward shapes. ``gemm_gflops`` holds the rates of the shape
that ran fastest, one sample per timed product. ``run_all.py`` divides each ``*_gflop`` by the highest rate
measured: the time the counted operations alone would take if every one ran at that rate (the "floor"),
which it sets beside ``bench_asr_model``'s times.

    python benchmarks/bench_asr_compute_floor.py [--repeats 10]   # prints one JSON line
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable

import torch
from bench_asr_model import LABELS, MODEL_CONFIG, SAMPLE_RATE
from omegaconf import OmegaConf
from spread import rounded
from torch.utils.flop_counter import FlopCounterMode, conv_flop_count

# (M, K, N) of the GEMMs timed for the rate: a large square one and the Conformer-small FF shapes.
PEAK_SHAPES = ((2048, 2048, 2048), (2008, 176, 704), (2008, 704, 176))


def attention_flops(query_shape, key_shape, value_shape, *args, out_shape=None, **kwargs) -> int:
    """``q k^T`` and ``probs v`` of scaled dot-product attention: 2 * 2 * B * H * T1 * T2 * d."""
    *batch, t1, d = query_shape
    t2 = key_shape[-2]
    return 4 * int(torch.tensor(batch).prod()) * t1 * t2 * d


def attention_backward_flops(grad_out_shape, query_shape, key_shape, *args, out_shape=None, **kwargs) -> int:
    """The backward pass: the scores again, then four products (dV, dP, dQ, dK), 3x the forward's."""
    return 3 * attention_flops(query_shape, key_shape, key_shape)


def convolution_backward_flops(grad_out_shape, x_shape, w_shape, *args, out_shape=None, **kwargs) -> int:
    """The input gradient and the weight gradient each cost the forward convolution's operations.

    torch's own formula counts a grouped convolution's weight gradient as if it were not grouped (``groups``
    times too many: 176x for the Conformer's depthwise convolution); the weight shape already holds the groups.
    """
    _bias, _stride, _padding, _dilation, transposed, _output_padding, _groups, output_mask = args
    forward = conv_flop_count(x_shape, w_shape, grad_out_shape, transposed=transposed)
    return forward * (int(output_mask[0]) + int(output_mask[1]))


def count_gflop(step: Callable[[], object]) -> float:
    """Floating-point operations of one ``step()``, in units of 1e9."""
    aten = torch.ops.aten
    mapping = {aten.convolution_backward: convolution_backward_flops}
    for name, formula in (
        ("_scaled_dot_product_flash_attention_for_cpu", attention_flops),
        ("_scaled_dot_product_flash_attention_for_cpu_backward", attention_backward_flops),
    ):
        if hasattr(aten, name):
            mapping[getattr(aten, name)] = formula
    with FlopCounterMode(display=False, custom_mapping=mapping) as counter:
        step()
    return counter.get_total_flops() / 1e9


def gemm_gflops(repeats: int, shapes: tuple[tuple[int, int, int], ...] = PEAK_SHAPES) -> list[float]:
    """The rates of the fastest of ``shapes``: GFLOP/s of each of its ``repeats`` timed fp32 products.

    Every shape gets 3 untimed products first; the fastest is the one with the highest median rate. Torch's
    default thread count.
    """
    rates_per_shape = []
    for m, k, n in shapes:
        a, b = torch.randn(m, k), torch.randn(k, n)
        for _ in range(3):
            a @ b
        rates = []
        for _ in range(repeats):
            start = time.perf_counter()
            a @ b
            rates.append(2 * m * k * n / (time.perf_counter() - start) / 1e9)
        rates_per_shape.append(rates)
    return max(rates_per_shape, key=statistics.median)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=10, help="timed products per shape")
    args = parser.parse_args()
    from nemo.collections.asr.models import EncDecCTCModel
    from nemo.utils import logging

    logging.setLevel(logging.WARNING)
    torch.manual_seed(0)
    model = EncDecCTCModel(cfg=OmegaConf.create(MODEL_CONFIG))
    generator = torch.Generator().manual_seed(0)

    def forward(batch: int, seconds: float) -> torch.Tensor:
        signal = torch.randn(batch, int(seconds * SAMPLE_RATE), generator=generator)
        length = torch.full((batch,), signal.size(1), dtype=torch.int64)
        return model.forward(input_signal=signal, input_signal_length=length)

    def train_step() -> None:
        log_probs, encoded_len, _ = forward(4, 8.0)
        targets = torch.randint(0, len(LABELS), (4, 60), generator=generator)
        loss = model.loss(
            log_probs=log_probs,
            targets=targets,
            input_lengths=encoded_len,
            target_lengths=torch.tensor([60, 55, 50, 45]),
        )
        loss.backward()

    model.train()
    train_gflop = count_gflop(train_step)
    model.eval()
    with torch.no_grad():
        inference_gflop = count_gflop(lambda: forward(8, 10.0))
        # transcribe(16 files x 5 s, batch_size=4): four forward calls on (4, 5 s) batches.
        transcribe_gflop = 4 * count_gflop(lambda: forward(4, 5.0))
    print(
        json.dumps(
            {
                "gemm_gflops": rounded(gemm_gflops(args.repeats), 1),
                "train_step_gflop": round(train_gflop, 2),
                "inference_forward_gflop": round(inference_gflop, 2),
                "transcribe_16x5s_gflop": round(transcribe_gflop, 2),
            }
        )
    )


if __name__ == "__main__":
    main()

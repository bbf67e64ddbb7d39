"""bench_asr_compute_floor.count_gflop: a convolution's backward costs twice its forward, grouped or not."""

import pytest
import torch
from bench_asr_compute_floor import count_gflop


def forward_flops(conv: torch.nn.Module, shape: tuple[int, ...]) -> int:
    """2 * B * C_out * (C_in / groups) * kernel * output positions: the forward convolution's operations."""
    with torch.no_grad():
        out = conv(torch.zeros(shape))
    c_out, c_in_per_group, *kernel = conv.weight.shape
    if isinstance(conv, torch.nn.ConvTranspose1d):  # weight (C_in, C_out / groups, k), one product per input
        c_out, c_in_per_group = c_in_per_group, c_out
        return 2 * shape[0] * c_out * c_in_per_group * kernel[0] * shape[2]
    return 2 * out.shape[0] * c_out * c_in_per_group * int(torch.tensor(kernel).prod()) * out[0, 0].numel()


@pytest.mark.parametrize(
    ("conv", "shape"),
    [
        (torch.nn.Conv1d(64, 96, 5, padding=2), (2, 64, 100)),
        (torch.nn.Conv1d(64, 96, 41, padding=20, groups=16), (2, 64, 100)),
        (torch.nn.Conv1d(64, 64, 31, padding=15, groups=64), (2, 64, 100)),
        (torch.nn.ConvTranspose1d(64, 32, 16, 8, padding=4), (2, 64, 50)),
        (torch.nn.Conv2d(32, 64, (5, 1), (3, 1), padding=(2, 0)), (2, 32, 60, 3)),
    ],
    ids=["plain", "grouped", "depthwise", "transposed", "2d"],
)
def test_backward_counts_the_input_and_weight_gradients_at_the_forward_cost(conv, shape) -> None:
    forward = forward_flops(conv, shape)
    needs_input_grad = torch.randn(shape, requires_grad=True)
    assert count_gflop(lambda: conv(needs_input_grad).sum().backward()) * 1e9 == pytest.approx(3 * forward)
    weights_only = torch.randn(shape)
    assert count_gflop(lambda: conv(weights_only).sum().backward()) * 1e9 == pytest.approx(2 * forward)

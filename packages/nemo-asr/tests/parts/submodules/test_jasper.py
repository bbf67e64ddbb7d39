"""Jasper building blocks: masked convolutions, squeeze-excite, channel shuffle, initialisation."""

from __future__ import annotations

import pytest
import torch
from nemo.collections.asr.parts.submodules.jasper import (
    GroupShuffle,
    JasperBlock,
    MaskedConv1d,
    SqueezeExcite,
    compute_new_kernel_size,
    get_asymtric_padding,
    get_same_padding,
    init_weights,
    tds_normal_,
    tds_uniform_,
)


@pytest.mark.parametrize(
    ("kernel", "factor", "expected"), [(11, 1.0, 11), (4, 1.5, 7), (13, 0.25, 3), (2, 0.1, 1)]
)
def test_compute_new_kernel_size_rounds_up_to_odd(kernel: int, factor: float, expected: int) -> None:
    assert compute_new_kernel_size(kernel, factor) == expected


def test_padding_helpers() -> None:
    assert get_same_padding(11, 1, 1) == 5
    assert get_same_padding(3, 1, 4) == 4
    assert get_asymtric_padding(5, 1, 1, future_context=1) == (3, 1)
    assert get_asymtric_padding(3, 1, 1, future_context=5) == 1
    # Dilated: NeMo 1.23's left side, dilation * (kernel - future) - 1, so NeMo models keep their lengths.
    assert get_asymtric_padding(5, 1, 2, future_context=1) == (7, 2)
    with pytest.raises(ValueError, match="stride=2 and dilation=2"):
        get_same_padding(3, 2, 2)
    with pytest.raises(ValueError, match="stride=2 and dilation=3"):
        get_asymtric_padding(5, 2, 3, future_context=1)


def test_masked_conv_zeroes_padding_before_convolving() -> None:
    conv = MaskedConv1d(2, 3, kernel_size=3, stride=2, padding=1)
    x = torch.randn(2, 2, 9)
    lengths = torch.tensor([9, 5])

    out, out_lengths = conv(x, lengths)

    masked = x.clone()
    masked[1, :, 5:] = 0
    torch.testing.assert_close(out, torch.nn.functional.conv1d(masked, conv.conv.weight, stride=2, padding=1))
    # floor((n + 2 - 2 - 1) / 2) + 1
    assert out_lengths.tolist() == [5, 3]


def test_masked_conv_asymmetric_padding_keeps_lengths_and_sees_limited_future() -> None:
    conv = MaskedConv1d(1, 1, kernel_size=5, padding=(3, 1))
    x = torch.zeros(1, 1, 10)
    x[0, 0, 6] = 1.0

    out, out_lengths = conv(x, torch.tensor([10]))

    assert out_lengths.tolist() == [10]
    assert out.shape == (1, 1, 10)
    # Frame t sees inputs t-3 .. t+1: the impulse at 6 reaches outputs 5 .. 9 only.
    assert torch.nonzero(out[0, 0]).flatten().tolist() == [5, 6, 7, 8, 9]


def test_masked_conv_heads_share_depthwise_weights() -> None:
    conv = MaskedConv1d(4, 4, kernel_size=3, padding=1, groups=4, heads=2)
    x = torch.randn(1, 4, 6)

    out, _ = conv(x, torch.tensor([6]))

    weight = conv.conv.weight.repeat(2, 1, 1)
    torch.testing.assert_close(out, torch.nn.functional.conv1d(x, weight, padding=1, groups=4))
    with pytest.raises(ValueError, match="depthwise"):
        MaskedConv1d(4, 4, kernel_size=3, groups=1, heads=2)


def test_squeeze_excite_uses_masked_time_mean() -> None:
    se = SqueezeExcite(channels=4, reduction_ratio=2).eval()
    x = torch.randn(2, 4, 6)
    lengths = torch.tensor([6, 3])

    out, out_lengths = se(x, lengths)

    mask = torch.tensor([[1.0] * 6, [1.0] * 3 + [0.0] * 3]).unsqueeze(1)
    mean = (x * mask).sum(-1) / mask.sum(-1)
    gate = torch.sigmoid(torch.relu(mean @ se.fc[0].weight.T) @ se.fc[2].weight.T)
    torch.testing.assert_close(out, x * mask * gate.unsqueeze(-1))
    assert out_lengths is lengths


def test_squeeze_excite_context_window_averages_a_window_in_training() -> None:
    se = SqueezeExcite(channels=2, reduction_ratio=1, context_window=3).train()
    # Constant per item: any window (or the whole utterance) has the same mean.
    x = torch.tensor([[1.0], [-2.0]]).expand(2, 8).unsqueeze(0).clone()
    out, _ = se(x, torch.tensor([8]))
    gate = torch.sigmoid(torch.relu(x[:, :, 0] @ se.fc[0].weight.T) @ se.fc[2].weight.T)
    torch.testing.assert_close(out, x * gate.unsqueeze(-1), atol=1e-6, rtol=1e-6)


def test_group_shuffle_interleaves_groups() -> None:
    x = torch.arange(6.0).view(1, 6, 1)
    assert GroupShuffle(groups=2, channels=6)(x).flatten().tolist() == [0, 3, 1, 4, 2, 5]


def test_grouped_block_appends_channel_shuffle() -> None:
    block = JasperBlock(4, 4, repeat=1, kernel_size=[3], stride=[1], dilation=[1], groups=2, residual=False)
    assert isinstance(block.mconv[2], GroupShuffle)


@pytest.mark.parametrize(
    "mode",
    ["xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal", "tds_uniform", "tds_normal"],
)
def test_init_weights_modes(mode: str) -> None:
    conv = torch.nn.Conv1d(8, 8, 3)
    torch.nn.init.zeros_(conv.weight)
    init_weights(conv, mode)
    assert conv.weight.abs().sum() > 0


def test_tds_initialisations_scale_with_fan_in() -> None:
    torch.manual_seed(0)
    weight = torch.nn.Parameter(torch.empty(256, 32, 5))
    scale = (4.0 / (32 * 5)) ** 0.5
    assert tds_uniform_(weight) is weight
    largest = weight.detach().abs().max().item()
    assert 0.99 * scale < largest <= scale
    tds_normal_(weight)
    torch.testing.assert_close(weight.detach().std().item(), scale, rtol=0.02, atol=0.0)
    torch.testing.assert_close(weight.detach().mean().item(), 0.0, rtol=0.0, atol=0.01 * scale)
    tds_uniform_(weight, mode="fan_out")
    assert weight.detach().abs().max().item() <= (4.0 / (256 * 5)) ** 0.5


def test_init_weights_resets_batch_norm_and_rejects_unknown_modes() -> None:
    norm = torch.nn.BatchNorm1d(3)
    norm.running_mean.fill_(2.0)
    norm.weight.data.fill_(5.0)
    init_weights(norm)
    assert torch.equal(norm.running_mean, torch.zeros(3))
    assert torch.equal(norm.weight.data, torch.ones(3))
    with pytest.raises(ValueError, match="init_mode='orthogonal'"):
        init_weights(torch.nn.Linear(2, 2), "orthogonal")


def test_applying_init_weights_draws_a_masked_convolution_twice_as_nemo_does() -> None:
    # NeMo 1.23's init_weights re-initialises a MaskedConv1d's conv when apply() reaches the wrapper, after
    # the conv itself: the kept weights are the second xavier draw and the next layer starts after both.
    torch.manual_seed(0)
    masked = MaskedConv1d(4, 6, 3)
    after = torch.nn.Linear(6, 2)
    torch.nn.Sequential(masked, after).apply(lambda module: init_weights(module))
    torch.manual_seed(0)
    expected_masked = torch.nn.Conv1d(4, 6, 3, bias=False)
    expected_after = torch.nn.Linear(6, 2)
    for _ in range(2):
        torch.nn.init.xavier_uniform_(expected_masked.weight)
    torch.nn.init.xavier_uniform_(expected_after.weight)
    torch.testing.assert_close(masked.conv.weight, expected_masked.weight)
    torch.testing.assert_close(after.weight, expected_after.weight)


@pytest.mark.parametrize(
    ("kernel", "dilation", "padding", "bias", "stride"),
    [
        (13, 1, 6, False, 1),
        (29, 1, 14, True, 1),
        (11, 2, 10, False, 1),
        (5, 1, 2, True, 2),
        (4, 1, (3, 0), False, 1),
    ],
)
def test_depthwise_convolution_padded_first_equals_the_padding_kernel(
    kernel, dilation, padding, bias, stride
) -> None:
    """On the CPU a depthwise convolution zero-pads with F.pad and runs unpadded: same outputs and gradients."""
    torch.manual_seed(0)
    conv = MaskedConv1d(
        16, 16, kernel, stride=stride, dilation=dilation, padding=padding, groups=16, bias=bias
    )
    x, lens = torch.randn(3, 16, 40, requires_grad=True), torch.tensor([40, 31, 9])
    masked = x * (torch.arange(40)[None, :] < lens[:, None]).unsqueeze(1)
    if isinstance(padding, tuple):
        masked = torch.nn.functional.pad(masked, padding)
        padding = 0
    reference = torch.nn.functional.conv1d(
        masked, conv.conv.weight, conv.conv.bias, stride=stride, padding=padding, dilation=dilation, groups=16
    )
    reference_grads = torch.autograd.grad(reference.square().sum(), [x, conv.conv.weight])

    out, out_lens = conv(x, lens)
    grads = torch.autograd.grad(out.square().sum(), [x, conv.conv.weight])
    with torch.inference_mode():
        inferred, _ = conv(x.detach(), lens)

    torch.testing.assert_close(out, reference, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(inferred, reference.detach(), atol=1e-5, rtol=1e-5)
    for found, want in zip(grads, reference_grads, strict=True):
        torch.testing.assert_close(found, want, atol=1e-4, rtol=1e-4)
    assert out_lens.tolist() == conv.get_seq_len(lens).tolist()
    assert conv._depthwise_padded is (padding != 0)  # the CPU pads these first
    assert MaskedConv1d(16, 16, 3, padding=1)._depthwise_padded is False  # not depthwise

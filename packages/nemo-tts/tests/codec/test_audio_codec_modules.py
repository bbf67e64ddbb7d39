"""Codec building blocks: padding helpers, masked weight-norm convolutions, Snake, FSQ and residual VQ.

References: torch's own ``weight_norm`` convolutions, the Snake formula, hand-enumerated FSQ codebooks, and
values computed once with NeMo 1.23 (/tmp/nemo-ref venv) where stated.
"""

import pytest
import torch
from nemo.collections.tts.modules.audio_codec_modules import (
    CodecActivation,
    Conv1dNorm,
    Conv2dNorm,
    ConvTranspose1dNorm,
    FiniteScalarQuantizer,
    GroupFiniteScalarQuantizer,
    get_down_sample_padding,
    get_up_sample_padding,
)
from nemo.collections.tts.modules.encodec_modules import GroupResidualVectorQuantizer, ResidualVectorQuantizer
from torch import nn


@pytest.mark.parametrize("kernel_size,stride", [(3, 2), (4, 2), (7, 3), (16, 8)])
def test_down_and_up_sample_paddings_give_exact_length_ratios(kernel_size, stride):
    frames = 12 * stride
    down = nn.Conv1d(1, 1, kernel_size, stride=stride, padding=get_down_sample_padding(kernel_size, stride))
    assert down(torch.zeros(1, 1, frames)).shape[-1] == frames // stride
    padding, output_padding = get_up_sample_padding(kernel_size, stride)
    up = nn.ConvTranspose1d(1, 1, kernel_size, stride=stride, padding=padding, output_padding=output_padding)
    assert up(torch.zeros(1, 1, 12)).shape[-1] == 12 * stride


def _torch_weight_norm_twin(ours: nn.Module, reference: nn.Module) -> nn.Module:
    """``reference`` wrapped in torch.nn.utils.weight_norm, loaded with ``ours``' conv.* state dict."""
    twin = nn.utils.weight_norm(reference)
    twin.load_state_dict({key.removeprefix("conv."): value for key, value in ours.state_dict().items()})
    return twin


def test_conv1d_norm_matches_torch_weight_norm_reflect_conv_and_masks():
    torch.manual_seed(0)
    conv = Conv1dNorm(in_channels=3, out_channels=5, kernel_size=5)
    assert sorted(conv.state_dict()) == ["conv.bias", "conv.weight_g", "conv.weight_v"]
    twin = _torch_weight_norm_twin(conv, nn.Conv1d(3, 5, 5, padding=2, padding_mode="reflect"))
    x = torch.randn(2, 3, 9)
    lengths = torch.tensor([9, 4])
    out = conv(inputs=x, input_len=lengths)
    expected = twin(x)
    torch.testing.assert_close(out[0], expected[0])
    torch.testing.assert_close(out[1, :, :4], expected[1, :, :4])
    assert torch.all(out[1, :, 4:] == 0)

    conv.remove_weight_norm()
    assert sorted(conv.state_dict()) == ["conv.bias", "conv.weight"]
    torch.testing.assert_close(conv(inputs=x, input_len=lengths), out)


def test_conv_transpose1d_norm_matches_torch_and_upsamples():
    torch.manual_seed(1)
    conv = ConvTranspose1dNorm(in_channels=4, out_channels=2, kernel_size=5, stride=2)
    padding, output_padding = get_up_sample_padding(5, 2)
    twin = _torch_weight_norm_twin(
        conv, nn.ConvTranspose1d(4, 2, 5, stride=2, padding=padding, output_padding=output_padding)
    )
    x = torch.randn(1, 4, 6)
    out = conv(inputs=x, input_len=torch.tensor([12]))
    assert out.shape == (1, 2, 12)
    torch.testing.assert_close(out, twin(x))


def test_conv2d_norm_matches_torch_reflect_conv():
    torch.manual_seed(2)
    conv = Conv2dNorm(in_channels=2, out_channels=3, kernel_size=(3, 5), dilation=(2, 1))
    twin = _torch_weight_norm_twin(
        conv, nn.Conv2d(2, 3, (3, 5), dilation=(2, 1), padding=(2, 2), padding_mode="reflect")
    )
    x = torch.randn(1, 2, 6, 8)
    torch.testing.assert_close(conv(inputs=x), twin(x))


def test_conv1d_requires_keyword_arguments():
    conv = Conv1dNorm(in_channels=1, out_channels=1, kernel_size=3)
    with pytest.raises(TypeError):
        conv(torch.zeros(1, 1, 4), torch.tensor([4]))


def test_snake_activation_formula_and_elu():
    x = torch.linspace(-3, 3, 24).view(2, 3, 4)
    snake = CodecActivation("Snake", channels=3)
    with torch.no_grad():
        snake.activation.alpha.copy_(torch.tensor([0.5, 1.0, 2.0]).view(1, 3, 1))
    alpha = torch.tensor([0.5, 1.0, 2.0]).view(1, 3, 1)
    torch.testing.assert_close(snake(x), x + torch.sin(alpha * x) ** 2 / alpha)
    assert list(snake.state_dict()) == ["activation.alpha"]
    torch.testing.assert_close(CodecActivation("elu")(x), torch.nn.functional.elu(x))
    with pytest.raises(ValueError, match="relu"):
        CodecActivation("relu")


def test_fsq_codebook_enumerates_levels_in_mixed_radix_order():
    fsq = FiniteScalarQuantizer(num_levels=[3, 4])
    assert fsq.codebook_size == 12 and fsq.dim == 2
    # Level values: 3 levels -> (-1, 0, 1); 4 levels -> (-1, -0.5, 0, 0.5); element 0 is the fastest digit.
    expected = torch.tensor([[a, b] for b in (-1.0, -0.5, 0.0, 0.5) for a in (-1.0, 0.0, 1.0)])
    torch.testing.assert_close(fsq.codes, expected)
    # Each quantized vector is the codebook entry its index points to.
    dequantized, indices = fsq(inputs=torch.randn(3, 2, 7), input_len=None)
    torch.testing.assert_close(dequantized, expected[indices[0].long()].permute(0, 2, 1))


def test_fsq_matches_nemo_values_and_masks():
    # Values computed once with NeMo 1.23 (/tmp/nemo-ref/bin/python), FiniteScalarQuantizer([5, 4, 3]).
    fsq = FiniteScalarQuantizer(num_levels=[5, 4, 3])
    x = torch.linspace(-2.0, 2.0, 24).reshape(2, 3, 4) * torch.tensor([1.0, -0.7, 1.3]).view(1, 3, 1)
    dequantized, indices = fsq(inputs=x, input_len=torch.tensor([4, 3]))
    expected_dq = torch.tensor(
        [
            [[-1.0, -1.0, -1.0, -1.0], [0.5, 0.5, 0.5, 0.5], [-1.0, -1.0, 0.0, 0.0]],
            [[0.0, 0.5, 0.5, 0.0], [-0.5, -0.5, -0.5, 0.0], [1.0, 1.0, 1.0, 0.0]],
        ]
    )
    torch.testing.assert_close(dequantized, expected_dq)
    torch.testing.assert_close(
        indices, torch.tensor([[[15, 15, 35, 35], [47, 48, 48, 0]]], dtype=torch.int32)
    )
    torch.testing.assert_close(fsq.decode(indices=indices, input_len=torch.tensor([4, 3])), dequantized)


def test_fsq_gradient_passes_straight_through_rounding():
    fsq = FiniteScalarQuantizer(num_levels=[7])
    x = torch.zeros(1, 1, 3, requires_grad=True)
    dequantized, _ = fsq(inputs=x, input_len=None)
    dequantized.sum().backward()
    # d/dx [h * tanh(x) / (L // 2)] at 0 with h = 3 * (1 - 1e-3): rounding contributes 1.
    torch.testing.assert_close(x.grad, torch.full((1, 1, 3), 3 * (1 - 1e-3) / 3))


def test_group_fsq_concatenates_groups():
    gfsq = GroupFiniteScalarQuantizer(num_groups=2, num_levels_per_group=[4, 3])
    assert gfsq.codebook_dim == 4 and gfsq.codebook_size == 144
    x = torch.randn(2, 4, 5)
    lengths = torch.tensor([5, 2])
    dequantized, indices = gfsq(inputs=x, input_len=lengths)
    assert indices.shape == (2, 2, 5)
    for group in range(2):
        dq_g, idx_g = gfsq.fsqs[group](inputs=x[:, 2 * group : 2 * group + 2], input_len=lengths)
        torch.testing.assert_close(dequantized[:, 2 * group : 2 * group + 2], dq_g)
        torch.testing.assert_close(indices[group : group + 1], idx_g)
    torch.testing.assert_close(gfsq.decode(indices=indices, input_len=lengths), dequantized)


def _rvq_with_fixed_codes() -> ResidualVectorQuantizer:
    rvq = ResidualVectorQuantizer(
        num_codebooks=2,
        codebook_size=4,
        codebook_dim=3,
        kmeans_iters=None,
        threshold_ema_dead_code=0,
        decay=0.9,
    )
    codes0 = torch.tensor([[0.0, 0.0, 0.0], [1.0, 0.5, -0.5], [-1.0, 0.2, 0.3], [0.3, -0.8, 0.9]])
    codes1 = 0.25 * torch.tensor([[1.0, -1.0, 0.0], [0.0, 1.0, 1.0], [-1.0, 0.0, 0.5], [0.5, 0.5, -1.0]])
    state = rvq.state_dict()
    state.update(
        {
            "codebooks.0.codes": codes0,
            "codebooks.0.codes_avg": codes0.clone(),
            "codebooks.1.codes": codes1,
            "codebooks.1.codes_avg": codes1.clone(),
            "codebooks.0.cluster_size": torch.ones(4),
            "codebooks.1.cluster_size": torch.tensor([2.0, 0.0, 1.0, 3.0]),
        }
    )
    rvq.load_state_dict(state)
    return rvq


_RVQ_INPUT = torch.tensor(
    [
        [[0.9, -1.1, 0.2, 0.35, 0.0], [0.4, 0.1, -0.7, -0.75, 0.0], [-0.6, 0.2, 0.8, 1.0, 0.0]],
        [[0.1, 1.2, -0.9, 0.0, 0.0], [0.0, 0.6, 0.3, 0.0, 0.0], [0.05, -0.4, 0.2, 0.0, 0.0]],
    ]
)
_RVQ_LEN = torch.tensor([5, 3])


def test_rvq_training_step_matches_nemo():
    # Every expected number below was computed once with NeMo 1.23 (/tmp/nemo-ref/bin/python) on the same
    # codes, input and decay=0.9 (one training forward).
    rvq = _rvq_with_fixed_codes().train()
    dequantized, indices, commit_loss = rvq(inputs=_RVQ_INPUT, input_len=_RVQ_LEN)
    torch.testing.assert_close(
        indices, torch.tensor([[[1, 2, 3, 3, 0], [0, 1, 2, 0, 0]], [[2, 2, 3, 1, 2], [0, 1, 3, 0, 0]]])
    )
    expected_dq = torch.tensor(
        [
            [
                [0.75, -1.25, 0.425, 0.3, -0.25],
                [0.5, 0.2, -0.675, -0.55, 0.0],
                [-0.375, 0.425, 0.65, 1.15, 0.125],
            ],
            [[0.25, 1.0, -0.875, 0.0, 0.0], [-0.25, 0.75, 0.325, 0.0, 0.0], [0.0, -0.25, 0.05, 0.0, 0.0]],
        ]
    )
    torch.testing.assert_close(dequantized, expected_dq)
    assert commit_loss.item() == pytest.approx(0.03286805748939514, rel=1e-5)
    state = rvq.state_dict()
    torch.testing.assert_close(state["codebooks.0.cluster_size"], torch.tensor([1.3, 1.1, 1.1, 1.1]))
    torch.testing.assert_close(state["codebooks.1.cluster_size"], torch.tensor([1.9, 0.2, 1.4, 2.9]))
    torch.testing.assert_close(
        state["codebooks.1.codes"],
        torch.tensor(
            [
                [0.12368433, -0.11842116, 0.00263158],
                [0.12499456, 1.19994760, 1.22494650],
                [-0.17499985, -0.01428570, 0.06607136],
                [0.03879321, 0.04568979, -0.08448300],
            ]
        ),
    )
    torch.testing.assert_close(state["codebooks.0.codes_avg"][1], torch.tensor([1.11, 0.55, -0.55]))


def test_rvq_eval_leaves_codes_alone_and_gradients_pass_in_training():
    rvq = _rvq_with_fixed_codes().eval()
    before = {k: v.clone() for k, v in rvq.state_dict().items()}
    dequantized, indices, commit_loss = rvq(inputs=_RVQ_INPUT, input_len=_RVQ_LEN)
    assert commit_loss == 0.0
    for key, value in rvq.state_dict().items():
        torch.testing.assert_close(value, before[key])
    torch.testing.assert_close(rvq.encode(inputs=_RVQ_INPUT, input_len=_RVQ_LEN), indices)
    torch.testing.assert_close(rvq.decode(indices=indices, input_len=_RVQ_LEN), dequantized)

    x = _RVQ_INPUT.clone().requires_grad_(True)
    out, _, loss = _rvq_with_fixed_codes().train()(inputs=x, input_len=_RVQ_LEN)
    (out.sum() + 0 * loss).backward()
    # Straight-through, as in NeMo: each codebook's output carries the gradient of its residual (d/dx = 1),
    # so with 2 codebooks d(sum of dequantized)/d(input) is 2 everywhere (masked frames included).
    torch.testing.assert_close(x.grad, torch.full_like(x, 2.0))


def test_rvq_kmeans_initialisation_fits_clustered_data():
    torch.manual_seed(0)
    centres = torch.tensor([[5.0, 0.0], [-5.0, 0.0], [0.0, 5.0]])
    points = centres.repeat_interleave(20, dim=0) + 0.01 * torch.randn(60, 2)
    rvq = ResidualVectorQuantizer(num_codebooks=1, codebook_size=3, codebook_dim=2, kmeans_iters=20)
    rvq.eval()
    inputs = points.t().unsqueeze(0)
    dequantized, _, _ = rvq(inputs=inputs, input_len=torch.tensor([60]))
    assert rvq.codebooks[0].initialized.item() == 1.0
    # k-means may land in a local optimum for an unlucky draw; with this seed every point is within 0.1.
    assert (dequantized - inputs).abs().max() < 0.1


def test_group_rvq_validates_divisibility():
    with pytest.raises(ValueError, match="num_codebooks"):
        GroupResidualVectorQuantizer(num_codebooks=3, num_groups=2, codebook_dim=4)
    with pytest.raises(ValueError, match="codebook_dim"):
        GroupResidualVectorQuantizer(num_codebooks=4, num_groups=2, codebook_dim=5)
    grvq = GroupResidualVectorQuantizer(num_codebooks=4, num_groups=2, codebook_dim=6, codebook_size=8)
    assert [len(r.codebooks) for r in grvq.rvqs] == [2, 2]
    assert grvq.rvqs[0].codebook_dim == 3

"""ParallelBlock: towers summed (or tower-dropped) plus a residual, checked against the towers run by hand."""

from __future__ import annotations

import pytest
import torch
from nemo.collections.asr.parts.submodules.jasper import JasperBlock, ParallelBlock


def _tower(inplanes: int, planes: int, kernel: int, stride: int = 1) -> JasperBlock:
    return JasperBlock(
        inplanes, planes, repeat=1, kernel_size=[kernel], stride=[stride], dilation=[1], residual=False
    ).eval()


def test_sum_of_towers_plus_input() -> None:
    torch.manual_seed(0)
    towers = [_tower(6, 6, 3), _tower(6, 6, 5)]
    block = ParallelBlock(towers).eval()
    x, lengths = torch.randn(2, 6, 20), torch.tensor([20, 13])
    with torch.no_grad():
        (y,), out_lengths = block(([x], lengths))
        expected = towers[0](([x], lengths))[0][-1] + towers[1](([x], lengths))[0][-1] + x
    torch.testing.assert_close(y, expected)
    assert torch.equal(out_lengths, lengths)


def test_conv_residual_projects_the_input_with_a_masked_pointwise_conv() -> None:
    torch.manual_seed(1)
    towers = [_tower(4, 8, 3), _tower(4, 8, 3)]
    block = ParallelBlock(towers, residual_mode="conv", in_filters=4, out_filters=8).eval()
    assert set(block.state_dict()) >= {"res_conv.conv.weight"}
    x, lengths = torch.randn(2, 4, 10), torch.tensor([10, 6])
    with torch.no_grad():
        (y,), _ = block(([x], lengths))
        masked = x * (torch.arange(10) < lengths[:, None]).unsqueeze(1)
        residual = torch.einsum("oi,bit->bot", block.res_conv.conv.weight[..., 0], masked)
        expected = towers[0](([x], lengths))[0][-1] + towers[1](([x], lengths))[0][-1] + residual
    torch.testing.assert_close(y, expected)


class _ShorteningTower(torch.nn.Module):
    """A tower that scales its input and reports ``lengths - shorten`` (like a strided block would)."""

    def __init__(self, scale: float, shorten: int) -> None:
        super().__init__()
        self.scale, self.shorten = scale, shorten

    def forward(self, x: tuple[list[torch.Tensor], torch.Tensor]) -> tuple[list[torch.Tensor], torch.Tensor]:
        return [x[0][-1] * self.scale], x[1] - self.shorten


def test_output_lengths_are_the_towers_elementwise_maximum() -> None:
    block = ParallelBlock([_ShorteningTower(2.0, 3), _ShorteningTower(-0.5, 1), _ShorteningTower(1.0, 2)])
    x, lengths = torch.randn(2, 3, 8), torch.tensor([8, 5])
    (y,), out_lengths = block(([x], lengths))
    assert out_lengths.tolist() == [7, 4]
    torch.testing.assert_close(y, x * (2.0 - 0.5 + 1.0) + x)


def test_tower_dropout_one_keeps_only_the_residual_and_eval_keeps_all() -> None:
    torch.manual_seed(3)
    towers = [_tower(4, 4, 3), _tower(4, 4, 3)]
    block = ParallelBlock(towers, aggregation_mode="dropout", block_dropout_prob=1.0)
    x, lengths = torch.randn(1, 4, 12), torch.tensor([12])
    block.train()
    torch.testing.assert_close(block(([x], lengths))[0][0], x)
    block.eval()
    with torch.no_grad():
        expected = towers[0](([x], lengths))[0][-1] + towers[1](([x], lengths))[0][-1] + x
        torch.testing.assert_close(block(([x], lengths))[0][0], expected)


def test_tower_dropout_never_drops_every_tower_below_one() -> None:
    block = ParallelBlock(
        [_tower(2, 2, 1) for _ in range(3)], aggregation_mode="dropout", block_dropout_prob=0.9
    )
    block.train()
    for _ in range(30):
        weights = block.get_dropout_mask()
        assert weights.sum() > 0
        assert all(value == 0.0 or value == pytest.approx(10.0) for value in weights.tolist())


def test_single_tower_is_returned_as_is() -> None:
    tower = _tower(4, 8, 3)
    x, lengths = torch.randn(1, 4, 7), torch.tensor([7])
    with torch.no_grad():
        torch.testing.assert_close(
            ParallelBlock([tower]).eval()(([x], lengths))[0][0], tower(([x], lengths))[0][-1]
        )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"aggregation_mode": "mean"}, "aggregation_mode='mean'"),
        ({"residual_mode": "max"}, "residual_mode='max'"),
        ({"residual_mode": "conv"}, "in_filters and out_filters"),
    ],
)
def test_invalid_options_are_named(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ParallelBlock([_tower(2, 2, 1)], **kwargs)

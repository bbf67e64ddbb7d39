"""RandDropout: nn.Dropout's behaviour with a mask drawn by torch.rand on the CPU."""

from __future__ import annotations

import pytest
import torch
from nemo.collections.asr.parts.submodules.rand_dropout import RandDropout, dropout_mask


def test_mask_drops_the_requested_fraction_and_rescales_the_rest() -> None:
    torch.manual_seed(0)
    p = 0.3
    mask = dropout_mask(torch.empty(200_000), p)
    assert mask.unique().tolist() == [0.0, pytest.approx(1.0 / (1.0 - p))]
    # 200k Bernoulli(0.3) draws: the dropped fraction is within 5 standard deviations (0.005) of p.
    assert abs((mask == 0).float().mean().item() - p) < 0.005
    assert not mask.requires_grad


def test_training_output_is_input_times_mask_and_gradient_follows_it() -> None:
    dropout = RandDropout(p=0.25).train()
    x = torch.randn(4, 50, 8, requires_grad=True)
    torch.manual_seed(1)
    out = dropout(x)
    torch.manual_seed(1)
    mask = dropout_mask(x.detach(), 0.25)
    torch.testing.assert_close(out, x * mask)
    out.sum().backward()
    torch.testing.assert_close(x.grad, mask)


def test_inplace_training_multiplies_the_input() -> None:
    dropout = RandDropout(p=0.5, inplace=True).train()
    x = torch.randn(1000)
    original = x.clone()
    out = dropout(x)
    assert out.data_ptr() == x.data_ptr()
    kept = out != 0
    torch.testing.assert_close(out[kept], original[kept] * 2.0)


@pytest.mark.parametrize(("p", "training"), [(0.2, False), (0.0, True)])
def test_eval_mode_and_zero_probability_return_the_input_unchanged(p: float, training: bool) -> None:
    x = torch.randn(3, 7)
    assert RandDropout(p=p).train(training)(x) is x


def test_probability_one_drops_everything_like_nn_dropout() -> None:
    x = torch.randn(5, 5)
    torch.testing.assert_close(RandDropout(p=1.0).train()(x), torch.zeros_like(x))

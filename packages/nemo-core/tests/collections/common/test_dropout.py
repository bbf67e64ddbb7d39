"""``nemo.collections.common.parts.dropout.Dropout`` against ``torch.nn.Dropout``'s definition."""

import pytest
import torch
from nemo.collections.common.parts.dropout import Dropout


def test_training_mask_keeps_one_minus_p_and_scales_the_kept_elements():
    torch.manual_seed(0)
    x = torch.rand(200, 500) + 0.5
    y = Dropout(p=0.3).train()(x)
    kept = y != 0
    assert abs(kept.float().mean().item() - 0.7) < 0.005  # 100k draws: 3 sigma is 0.0043
    torch.testing.assert_close(y[kept], x[kept] / 0.7)


def test_gradient_is_the_same_mask_and_scale():
    torch.manual_seed(1)
    x = torch.randn(64, 33, requires_grad=True)
    y = Dropout(p=0.25).train()(x)
    upstream = torch.randn_like(y)
    (grad,) = torch.autograd.grad(y, x, upstream)
    expected = torch.where(y != 0, upstream / 0.75, torch.zeros_like(upstream))
    torch.testing.assert_close(grad, expected)


def test_masks_differ_between_calls_and_follow_the_seed():
    x = torch.ones(1000)
    drop = Dropout(p=0.5).train()
    torch.manual_seed(3)
    first, second = drop(x), drop(x)
    torch.manual_seed(3)
    assert not torch.equal(first, second)
    assert torch.equal(drop(x), first)


@pytest.mark.parametrize("p", [0.0, 1.0])
def test_edge_probabilities_match_torch(p):
    x = torch.randn(10, 10)
    torch.testing.assert_close(Dropout(p=p).train()(x), torch.nn.Dropout(p=p).train()(x))


def test_eval_mode_is_the_identity_and_the_module_is_a_torch_dropout():
    x = torch.randn(7, 9)
    drop = Dropout(p=0.4).eval()
    assert torch.equal(drop(x), x)
    assert isinstance(drop, torch.nn.Dropout) and drop.state_dict() == {}
    assert repr(drop) == repr(torch.nn.Dropout(p=0.4))

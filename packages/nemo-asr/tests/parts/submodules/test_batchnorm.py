"""FusedBatchNorm1d and the BatchNorm1d replacement helpers, against torch's own BatchNorm1d in eval mode."""

from __future__ import annotations

from collections import OrderedDict

import pytest
import torch
from nemo.collections.asr.parts.submodules.batchnorm import (
    FusedBatchNorm1d,
    replace_bn_with_fused_bn,
    replace_bn_with_fused_bn_all,
)
from torch import nn


def _trained_bn(num_features: int, dtype: torch.dtype = torch.float32, affine: bool = True) -> nn.BatchNorm1d:
    """A BatchNorm1d with non-trivial running statistics and affine parameters."""
    gen = torch.Generator().manual_seed(3)
    bn = nn.BatchNorm1d(num_features, affine=affine).to(dtype)
    bn.train()
    for _ in range(5):
        bn(torch.randn(8, num_features, 4, generator=gen, dtype=dtype) * 3 + 1.5)
    if affine:
        with torch.no_grad():
            bn.weight.copy_(torch.rand(num_features, generator=gen, dtype=dtype) + 0.5)
            bn.bias.copy_(torch.randn(num_features, generator=gen, dtype=dtype))
    return bn.eval()


@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("shape", [(4, 6), (4, 6, 7)])
def test_fused_equals_batchnorm_in_eval(affine: bool, shape: tuple[int, ...]) -> None:
    bn = _trained_bn(6, affine=affine)
    fused = FusedBatchNorm1d.from_batchnorm(bn)
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(5)) * 2
    torch.testing.assert_close(fused(x), bn(x), rtol=1e-5, atol=1e-6)


def test_fused_keeps_double_precision() -> None:
    bn = _trained_bn(3, dtype=torch.float64)
    fused = FusedBatchNorm1d.from_batchnorm(bn)
    assert fused.weight.dtype == torch.float64
    x = torch.randn(2, 3, 5, dtype=torch.float64)
    torch.testing.assert_close(fused(x), bn(x), rtol=1e-12, atol=1e-12)


def test_fresh_layer_is_identity_with_nemo_keys() -> None:
    fused = FusedBatchNorm1d(4)
    assert sorted(fused.state_dict()) == ["bias", "weight"]
    x = torch.randn(2, 4, 3)
    torch.testing.assert_close(fused(x), x)
    with pytest.raises(ValueError, match=r"\(B, C\) or \(B, C, T\)"):
        fused(torch.randn(2, 4, 3, 1))


def _model() -> nn.Sequential:
    return nn.Sequential(
        OrderedDict(
            [
                ("linear1", nn.Linear(3, 5)),
                ("bn1", _trained_bn(5)),
                (
                    "block",
                    nn.Sequential(OrderedDict([("linear2", nn.Linear(5, 4)), ("bn2", _trained_bn(4))])),
                ),
            ]
        )
    ).eval()


def test_replace_all_keeps_eval_output() -> None:
    model = _model()
    x = torch.randn(6, 3)
    expected = model(x)
    assert replace_bn_with_fused_bn_all(model) == ["bn1", "block.bn2"]
    assert isinstance(model.bn1, FusedBatchNorm1d) and isinstance(model.block.bn2, FusedBatchNorm1d)
    torch.testing.assert_close(model(x), expected, rtol=1e-5, atol=1e-6)


def test_replace_one_by_name() -> None:
    model = _model()
    replace_bn_with_fused_bn(model, "block.bn2")
    assert isinstance(model.bn1, nn.BatchNorm1d)
    assert isinstance(model.block.bn2, FusedBatchNorm1d)
    with pytest.raises(TypeError, match="'linear1' is a Linear"):
        replace_bn_with_fused_bn(model, "linear1")
    with pytest.raises(AttributeError, match="no submodule 'missing'"):
        replace_bn_with_fused_bn(model, "block.missing")

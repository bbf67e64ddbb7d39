"""ConvSubsampling's CPU paths against the plain nn.Sequential computation: chunking and gradients."""

from __future__ import annotations

import torch
from nemo.collections.asr.parts.submodules.subsampling import ConvSubsampling
from torch import nn


def _reference(module: ConvSubsampling, x: torch.Tensor) -> torch.Tensor:
    """``out(conv(x))`` in NeMo's layout: (B, C, T', F') -> (B, T', C * F')."""
    h = module.conv(x.unsqueeze(1))
    b, c, t, f = h.shape
    return module.out(h.transpose(1, 2).reshape(b, t, c * f))


def test_cpu_splits_large_batches_into_cache_sized_chunks_with_the_same_result() -> None:
    torch.manual_seed(0)
    # The Conformer-small front end on 4 x 8 s: the first conv output has 4 * 176 * 401 * 40 elements.
    module = ConvSubsampling("striding", 4, 80, 176, 176, activation=nn.ReLU(True)).eval()
    x, lengths = torch.randn(4, 801, 80), torch.full((4,), 801)
    assert module._batch_chunks(x.unsqueeze(1)) == 2
    with torch.no_grad():
        auto, _ = module(x, lengths)
        module.change_subsampling_conv_chunking_factor(-1)
        assert module._batch_chunks(x.unsqueeze(1)) == 1
        whole, _ = module(x, lengths)
        expected = _reference(module, x)
    torch.testing.assert_close(auto, expected, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(whole, expected, atol=1e-5, rtol=1e-5)


def test_in_place_activation_gives_the_reference_gradients() -> None:
    torch.manual_seed(1)
    module = ConvSubsampling("striding", 4, 24, 16, 8, activation=nn.ReLU(True))
    x, lengths = torch.randn(3, 40, 24), torch.tensor([40, 31, 20])
    weights = torch.randn(3, 10, 16)

    (module(x, lengths)[0] * weights).sum().backward()
    got = {name: param.grad.clone() for name, param in module.named_parameters()}
    module.zero_grad()
    (_reference(module, x) * weights).sum().backward()
    for name, param in module.named_parameters():
        torch.testing.assert_close(got[name], param.grad, atol=1e-5, rtol=1e-5, msg=name)

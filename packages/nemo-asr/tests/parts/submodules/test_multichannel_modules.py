"""Multichannel building blocks against numpy references written from the formulas (tiny inputs)."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
from nemo.collections.asr.parts.submodules.multichannel_modules import (
    ChannelAttentionPool,
    ChannelAugment,
    ChannelAveragePool,
    ParametricMultichannelWienerFilter,
    TransformAttendConcatenate,
    TransformAverageConcatenate,
)

EPS = 1e-8


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy().astype(np.float64 if not t.is_complex() else np.complex128)


def _relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0.0)


# ---------------------------------------------------------------------------------------------- channel augment


def test_channel_augment_draws_count_then_permutation_from_its_generator() -> None:
    x = torch.arange(2 * 5 * 3, dtype=torch.float32).reshape(2, 5, 3)
    uut = ChannelAugment(num_channels_min=2, num_channels_max=4, seed=11)
    reference = random.Random(11)
    for _ in range(10):
        keep = reference.randint(2, 4)
        order = list(range(5))
        reference.shuffle(order)
        torch.testing.assert_close(uut(input=x), x[:, order[:keep], :])


def test_channel_augment_errors() -> None:
    with pytest.raises(ValueError, match="num_channels_min=3 is larger than num_channels_max=2"):
        ChannelAugment(num_channels_min=3, num_channels_max=2)
    with pytest.raises(RuntimeError, match="has 2 channels, fewer than num_channels_min=3"):
        ChannelAugment(num_channels_min=3)(input=torch.zeros(1, 2, 4))


# ---------------------------------------------------------------------------------------------- TAC and pooling


def test_transform_average_concatenate_matches_formula() -> None:
    torch.manual_seed(0)
    uut = TransformAverageConcatenate(in_features=5, out_features=6)
    x = torch.randn(2, 3, 5, 4)
    w_c = _np(uut.transform_channel[0].weight)
    w_a = _np(uut.transform_average[0].weight)
    frames = _np(x).transpose(0, 3, 1, 2)  # (B, T, C, D)
    own = _relu(frames @ w_c.T)
    shared = np.broadcast_to(_relu(frames @ w_a.T).mean(axis=2, keepdims=True), own.shape)
    expected = np.concatenate([own, shared], axis=-1).transpose(0, 2, 3, 1)
    np.testing.assert_allclose(_np(uut(input=x)), expected, rtol=1e-5, atol=1e-6)
    assert sorted(uut.state_dict()) == ["transform_average.0.weight", "transform_channel.0.weight"]
    with pytest.raises(ValueError, match="out_features=5 must be even"):
        TransformAverageConcatenate(in_features=4, out_features=5)


def _np_single_head_attention(mha: torch.nn.Module, x: np.ndarray) -> np.ndarray:
    """Self-attention with one head over axis -2 of ``x`` (..., N, D)."""

    def lin(layer: torch.nn.Linear, v: np.ndarray) -> np.ndarray:
        return v @ _np(layer.weight).T + _np(layer.bias)

    q, k, v = lin(mha.linear_q, x), lin(mha.linear_k, x), lin(mha.linear_v, x)
    scores = q @ np.swapaxes(k, -1, -2) / np.sqrt(x.shape[-1])
    probs = np.exp(scores - scores.max(axis=-1, keepdims=True))
    probs /= probs.sum(axis=-1, keepdims=True)
    return lin(mha.linear_out, probs @ v)


def test_channel_attention_pool_matches_formula() -> None:
    torch.manual_seed(1)
    uut = ChannelAttentionPool(in_features=4, n_head=1).eval()
    x = torch.randn(2, 3, 4, 5)
    frames = _np(x).transpose(0, 3, 1, 2)  # (B, T, C, D)
    expected = _np_single_head_attention(uut.attention, frames).mean(axis=2).transpose(0, 2, 1)
    np.testing.assert_allclose(_np(uut(input=x)), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(_np(ChannelAveragePool()(input=x)), _np(x).mean(axis=1), rtol=1e-6)


def test_transform_attend_concatenate_matches_formula() -> None:
    torch.manual_seed(2)
    uut = TransformAttendConcatenate(in_features=3, out_features=4, n_head=1).eval()
    x = torch.randn(1, 3, 3, 2)
    frames = _np(x).transpose(0, 3, 1, 2)
    own = _relu(frames @ _np(uut.transform_channel[0].weight).T)
    attended = _np_single_head_attention(uut.attention, _relu(frames @ _np(uut.transform_attend[0].weight).T))
    expected = np.concatenate([own, attended], axis=-1).transpose(0, 2, 3, 1)
    np.testing.assert_allclose(_np(uut(input=x)), expected, rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------------------------------- Wiener filter


def _tiny_problem(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    rng = np.random.default_rng(seed)
    b, c, f, t = 2, 3, 2, 12
    x = rng.normal(size=(b, c, f, t)) + 1j * rng.normal(size=(b, c, f, t))
    mask_s = rng.uniform(size=(b, f, t))
    return torch.tensor(x), torch.tensor(mask_s), torch.tensor(1 - mask_s)


def _np_psd(x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mask-weighted covariance per subband: x (C, F, T), mask (F, T) -> (F, C, C)."""
    weight = mask / (mask.sum(axis=-1, keepdims=True) + 1e-15)
    return np.einsum("ft,cft,dft->fcd", weight, x, x.conj())


def _np_load(psd: np.ndarray, diag_reg: float) -> np.ndarray:
    c = psd.shape[-1]
    return psd + (diag_reg * np.trace(psd, axis1=-2, axis2=-1).real + EPS)[:, None, None] * np.eye(c)


def _np_pmwf_filters(x: np.ndarray, ms: np.ndarray, mn: np.ndarray, beta: float, rank: str, diag_reg: float):
    """Per-example MIMO filter (F, C, C) and the noise covariance it used (Souden et al. 2010)."""
    phi_s, phi_n = _np_psd(x, ms), _np_psd(x, mn)
    if rank == "one":
        phi_n = _np_load(phi_n, diag_reg)
        w = np.linalg.solve(phi_n, phi_s)
        w = w / (beta + np.trace(w, axis1=-2, axis2=-1).real + EPS)[:, None, None]
    else:
        w = np.linalg.solve(_np_load(phi_s + beta * phi_n, diag_reg), phi_s)
    return w, phi_s, phi_n


def _np_apply(w: np.ndarray, x: np.ndarray) -> np.ndarray:
    """y_m[f, t] = w_m[f]^H x[:, f, t]: w (F, C, M), x (C, F, T) -> (M, F, T)."""
    return np.einsum("fcm,cft->mft", w.conj(), x)


@pytest.mark.parametrize(("beta", "rank"), [(0.0, "one"), (1.0, "one"), (0.5, "full")])
def test_pmwf_fixed_reference_matches_numpy(beta: float, rank: str) -> None:
    x, ms, mn = _tiny_problem()
    uut = ParametricMultichannelWienerFilter(beta=beta, rank=rank, ref_channel=1, diag_reg=1e-3)
    out = _np(uut(input=x, mask_s=ms, mask_n=mn))
    for b in range(x.shape[0]):
        w, _, _ = _np_pmwf_filters(_np(x[b]), _np(ms[b]), _np(mn[b]), beta, rank, 1e-3)
        np.testing.assert_allclose(out[b], _np_apply(w[..., 1:2], _np(x[b])), rtol=1e-9, atol=1e-12)


def test_pmwf_mimo_with_ban_matches_numpy() -> None:
    x, ms, mn = _tiny_problem(1)
    uut = ParametricMultichannelWienerFilter(beta=1.0, ref_channel=None, postfilter="ban")
    out = _np(uut(input=x, mask_s=ms, mask_n=mn))
    assert out.shape == (2, 3, 2, 12)
    for b in range(x.shape[0]):
        w, _, phi_n = _np_pmwf_filters(_np(x[b]), _np(ms[b]), _np(mn[b]), 1.0, "one", 1e-6)
        numerator = np.sqrt(np.abs(np.einsum("fcm,fcd,fde,fem->mf", w.conj(), phi_n, phi_n, w)) / 3)
        denominator = np.abs(np.einsum("fcm,fcd,fdm->mf", w.conj(), phi_n, w))
        expected = _np_apply(w, _np(x[b])) * (numerator / (denominator + EPS))[..., None]
        np.testing.assert_allclose(out[b], expected, rtol=1e-9, atol=1e-12)


def test_pmwf_soft_max_snr_reference_matches_numpy() -> None:
    x, ms, mn = _tiny_problem(2)
    uut = ParametricMultichannelWienerFilter(beta=1.0, ref_channel="max_snr", ref_hard=False)
    out = _np(uut(input=x, mask_s=ms, mask_n=mn))
    for b in range(x.shape[0]):
        w, phi_s, phi_n = _np_pmwf_filters(_np(x[b]), _np(ms[b]), _np(mn[b]), 1.0, "one", 1e-6)
        power_s = np.abs(np.einsum("fcm,fcd,fdm->m", w.conj(), phi_s, w))
        power_n = np.abs(np.einsum("fcm,fcd,fdm->m", w.conj(), phi_n, w))
        snr = 10 * np.log10(power_s / (power_n + EPS) + EPS)
        reference = np.exp(snr - snr.max()) / np.exp(snr - snr.max()).sum()
        np.testing.assert_allclose(
            out[b], _np_apply(w @ reference[:, None], _np(x[b])), rtol=1e-9, atol=1e-12
        )


def test_pmwf_hard_reference_picks_one_column_and_has_nemo_keys() -> None:
    x, ms, mn = _tiny_problem(3)
    hard = ParametricMultichannelWienerFilter(
        ref_channel="max_snr", ref_subband_weighting=True, num_subbands=2, ref_hard=True
    )
    # state-dict keys of NeMo 1.23's ParametricMultichannelWienerFilter with subband weighting
    assert sorted(hard.state_dict()) == ["ref_estimator.weight_n", "ref_estimator.weight_s"]
    out = hard(input=x, mask_s=ms, mask_n=mn)
    columns = [
        ParametricMultichannelWienerFilter(ref_channel=c)(input=x, mask_s=ms, mask_n=mn) for c in range(3)
    ]
    for b in range(2):
        assert any(torch.allclose(out[b], col[b]) for col in columns)


def test_pmwf_rejects_bad_options() -> None:
    with pytest.raises(ValueError, match="rank='full' needs beta > 0"):
        ParametricMultichannelWienerFilter(beta=0, rank="full")
    with pytest.raises(ValueError, match="postfilter='gev'"):
        ParametricMultichannelWienerFilter(postfilter="gev")
    with pytest.raises(ValueError, match="ref_channel='best'"):
        ParametricMultichannelWienerFilter(ref_channel="best")
    with pytest.raises(ValueError, match="needs num_subbands"):
        ParametricMultichannelWienerFilter(ref_channel="max_snr", ref_subband_weighting=True)

"""Multichannel enhancement modules: numpy references on tiny inputs, and values from NeMo 1.23.

Values marked "NeMo 1.23" were computed once by running NeMo 1.23 (its own venv) on the deterministic
inputs and parameters built by ``_det_spec`` / ``_det_params`` below, and written down here.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from nemo.collections.asr.modules import MaskBasedBeamformer, MaskEstimatorFlexChannels, MaskEstimatorRNN
from nemo.collections.asr.modules.audio_modules import (
    MaskBasedDereverbWPE,
    MaskEstimatorGSS,
    MaskReferenceChannel,
    MixtureConsistencyProjection,
    SpectrogramToMultichannelFeatures,
    WPEFilter,
)

EPS = 1e-8


def _det_spec(b: int, c: int, f: int, t: int) -> torch.Tensor:
    k = torch.arange(b * c * f * t, dtype=torch.float64)
    return (torch.sin(0.37 * k) + 1j * torch.cos(0.71 * k + 0.2 * torch.sin(0.05 * k))).reshape(b, c, f, t)


def _det_params(module: torch.nn.Module) -> None:
    with torch.no_grad():
        for i, (_, p) in enumerate(sorted(module.named_parameters())):
            k = torch.arange(p.numel(), dtype=torch.float64)
            p.copy_((0.3 * torch.sin(0.61 * k + i)).reshape(p.shape))


def _random_spec(seed: int, shape: tuple[int, ...]) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.normal(size=shape) + 1j * rng.normal(size=shape)


# ---------------------------------------------------------------------------------------------- features


def _np_normalize(x: np.ndarray, lengths: np.ndarray, with_std: bool) -> np.ndarray:
    """Mean (and std) over valid frames, then channels, per example and subband; x (B, C, F, T)."""
    out = np.empty_like(x)
    for b, n in enumerate(lengths):
        valid = x[b, :, :, :n]
        mean = valid.mean(axis=(0, 2), keepdims=True)
        out[b] = x[b] - mean
        if with_std:
            out[b] /= np.sqrt(((valid - mean) ** 2).mean(axis=(0, 2), keepdims=True))
    return out


def test_features_rms_power_ipd_with_normalization() -> None:
    spec = _random_spec(0, (2, 3, 4, 9))
    lengths = np.array([9, 5])
    uut = SpectrogramToMultichannelFeatures(
        num_subbands=4,
        num_input_channels=3,
        mag_reduction="rms",
        mag_power=0.5,
        use_ipd=True,
        mag_normalization="mean_var",
        ipd_normalization="mean",
    )
    features, out_lengths = uut(input=torch.tensor(spec), input_length=torch.tensor(lengths))
    magnitude = np.sqrt(np.mean(np.abs(spec) ** 2, axis=1, keepdims=True)) ** 0.5
    ipd = np.angle(spec) - np.angle(spec.mean(axis=1, keepdims=True))
    ipd = np.mod(ipd + np.pi, 2 * np.pi) - np.pi
    expected = np.concatenate(
        [
            np.broadcast_to(_np_normalize(magnitude, lengths, True), ipd.shape),
            _np_normalize(ipd, lengths, False),
        ],
        axis=2,
    )
    assert uut.num_features == 8 and uut.num_channels == 3
    np.testing.assert_allclose(features.numpy(), expected, atol=1e-9)
    assert out_lengths.tolist() == [9, 5]


def test_features_reject_unknown_options() -> None:
    with pytest.raises(ValueError, match="mag_reduction='max'"):
        SpectrogramToMultichannelFeatures(num_subbands=4, mag_reduction="max")
    with pytest.raises(NotImplementedError, match="mag_normalization='std'"):
        SpectrogramToMultichannelFeatures(num_subbands=4, mag_normalization="std")
    with pytest.raises(ValueError, match="pass num_input_channels"):
        _ = SpectrogramToMultichannelFeatures(num_subbands=4).num_channels


# ---------------------------------------------------------------------------------------------- mask estimators


def test_mask_estimator_rnn_matches_nemo() -> None:
    uut = MaskEstimatorRNN(
        num_outputs=2, num_subbands=5, num_features=6, num_layers=2, num_input_channels=3, use_ipd=True
    ).eval()
    # state-dict keys of NeMo 1.23's MaskEstimatorRNN with this configuration
    assert sorted(uut.state_dict()) == sorted(
        [
            "fc.bias",
            "fc.weight",
            "input_projection.bias",
            "input_projection.weight",
            "norm.bias",
            "norm.weight",
        ]
        + [f"output_projections.{i}.{p}" for i in (0, 1) for p in ("bias", "weight")]
        + [
            f"rnn.{kind}_{part}_l{layer}{rev}"
            for kind in ("bias", "weight")
            for part in ("hh", "ih")
            for layer in (0, 1)
            for rev in ("", "_reverse")
        ]
    )
    _det_params(uut)
    with torch.no_grad():
        masks, lengths = uut(input=_det_spec(2, 3, 5, 8).to(torch.cfloat), input_length=torch.tensor([8, 6]))
    assert masks.shape == (2, 2, 5, 8) and lengths.tolist() == [8, 6]
    # NeMo 1.23
    nemo_b0_m1_t2 = [
        0.21225403249263763,
        0.6269370317459106,
        0.7588897347450256,
        0.09070858359336853,
        0.9211722612380981,
    ]
    nemo_b1_m0_f3 = [
        0.9592398405075073,
        0.94351726770401,
        0.8511669039726257,
        0.927162230014801,
        0.7947269082069397,
        0.9417735934257507,
        0.0,
        0.0,
    ]
    torch.testing.assert_close(masks[0, 1, :, 2], torch.tensor(nemo_b0_m1_t2), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(masks[1, 0, 3, :], torch.tensor(nemo_b1_m0_f3), rtol=1e-5, atol=1e-6)


def test_mask_estimator_flex_channels_matches_nemo() -> None:
    uut = MaskEstimatorFlexChannels(
        num_outputs=1,
        num_subbands=5,
        num_blocks=2,
        channel_reduction_position=1,
        temporal_block_num_layers=1,
        temporal_block_dimension=8,
        temporal_block_num_heads=2,
    ).eval()
    state = uut.state_dict()
    # NeMo 1.23: 146 tensors, 6880 values, under these submodules
    assert (len(state), sum(v.numel() for v in state.values())) == (146, 6880)
    assert sorted({".".join(k.split(".")[:2]) for k in state}) == [
        "channel_blocks.0",
        "channel_reduction.attention",
        "output_layers.0",
        "temporal_blocks.0",
        "temporal_blocks.1",
    ]
    _det_params(uut)
    with torch.no_grad():
        masks, lengths = uut(input=_det_spec(2, 3, 5, 8).to(torch.cfloat), input_length=torch.tensor([8, 6]))
    assert masks.shape == (2, 1, 5, 8) and lengths.tolist() == [8, 6]
    # NeMo 1.23
    nemo_b0_t3 = [
        0.3942171335220337,
        0.37754207849502563,
        0.4867001473903656,
        0.5880253314971924,
        0.5697121620178223,
    ]
    nemo_b1_f2 = [
        0.4869723320007324,
        0.486825555562973,
        0.48667067289352417,
        0.48655515909194946,
        0.48652738332748413,
        0.48659196496009827,
        0.48815473914146423,
        0.488300085067749,
    ]
    torch.testing.assert_close(masks[0, 0, :, 3], torch.tensor(nemo_b0_t3), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(masks[1, 0, 2, :], torch.tensor(nemo_b1_f2), rtol=1e-5, atol=1e-6)


def test_mask_estimator_gss_matches_nemo() -> None:
    activity = torch.tensor([[[1.0, 1, 0, 0, 1, 1], [0, 1, 1, 1, 1, 0]]], dtype=torch.float64)
    masks = MaskEstimatorGSS(num_iterations=2)(input=_det_spec(1, 2, 3, 6), activity=activity)
    assert masks.shape == (1, 2, 3, 6)
    torch.testing.assert_close(masks.sum(dim=1), torch.ones(1, 3, 6, dtype=torch.float64))
    # NeMo 1.23, first source
    nemo = [
        [0.9999999811260439, 0.5257410178914721, 0.0, 0.0, 0.8057841515165189, 0.9999999811260439],
        [0.9999999772905367, 0.7558015879071344, 0.0, 0.0, 0.04318343601966992, 0.9999999772905367],
        [0.9999999815226392, 0.6863759796341314, 0.0, 0.0, 0.7124453768102533, 0.9999999815226392],
    ]
    torch.testing.assert_close(masks[0, 0], torch.tensor(nemo, dtype=torch.float64), rtol=1e-10, atol=1e-12)
    with pytest.raises(ValueError, match="at least two sources"):
        MaskEstimatorGSS()(input=_det_spec(1, 2, 3, 6), activity=activity[:, :1])


# ---------------------------------------------------------------------------------------------- mask processing


def test_mask_reference_channel_clips_and_applies() -> None:
    spec = torch.tensor(_random_spec(1, (2, 3, 4, 5)))
    mask = torch.tensor(np.random.default_rng(2).uniform(-0.5, 1.5, size=(2, 2, 4, 5)))
    out, _ = MaskReferenceChannel(ref_channel=2, mask_min_db=-6)(
        input=spec, input_length=torch.tensor([5, 5]), mask=mask
    )
    clipped = np.clip(mask.numpy(), 10 ** (-6 / 20), 1.0)
    np.testing.assert_allclose(out.numpy(), clipped * spec.numpy()[:, 2:3], rtol=1e-12)


def _np_mvdr_souden(
    x: np.ndarray, ms: np.ndarray, mn: np.ndarray, ref: int, diag_reg: float = 1e-6
) -> np.ndarray:
    """MVDR (Souden): x (C, F, T), masks (F, T) -> (F, T) output at the reference channel."""
    out = np.zeros(x.shape[1:], dtype=complex)
    for f in range(x.shape[1]):
        xf = x[:, f]
        phi_s = (ms[f] / (ms[f].sum() + 1e-15) * xf) @ xf.conj().T
        phi_n = (mn[f] / (mn[f].sum() + 1e-15) * xf) @ xf.conj().T
        phi_n = phi_n + (diag_reg * np.trace(phi_n).real + EPS) * np.eye(len(xf))
        w = np.linalg.solve(phi_n, phi_s)
        w = w / (np.trace(w).real + EPS)
        out[f] = w[:, ref].conj() @ xf
    return out


def test_mask_based_beamformer_single_mask_with_lengths_matches_numpy() -> None:
    spec = _random_spec(3, (2, 3, 2, 10))
    mask = np.random.default_rng(4).uniform(size=(2, 1, 2, 10))
    lengths = [10, 7]
    out, out_lengths = MaskBasedBeamformer(ref_channel=2)(
        input=torch.tensor(spec), mask=torch.tensor(mask), input_length=torch.tensor(lengths)
    )
    assert out.shape == (2, 1, 2, 10) and out_lengths.tolist() == lengths
    for b, n in enumerate(lengths):
        ms = np.clip(mask[b, 0], 1e-10, 1.0)
        mn = np.clip(1 - mask[b, 0], 1e-10, 1.0)
        ms[:, n:] = mn[:, n:] = 0
        expected = _np_mvdr_souden(spec[b], ms, mn, ref=2)
        expected[:, n:] = 0
        np.testing.assert_allclose(out[b, 0].numpy(), expected, rtol=1e-9, atol=1e-12)


def test_mask_based_beamformer_two_masks_use_the_other_as_noise() -> None:
    spec = _random_spec(5, (1, 2, 2, 8))
    mask = np.random.default_rng(6).uniform(size=(1, 2, 2, 8))
    out, _ = MaskBasedBeamformer(ref_channel=0)(input=torch.tensor(spec), mask=torch.tensor(mask))
    assert out.shape == (1, 2, 2, 8)
    for m in range(2):
        expected = _np_mvdr_souden(spec[0], mask[0, m], mask[0, 1 - m], ref=0)
        np.testing.assert_allclose(out[0, m].numpy(), expected, rtol=1e-9, atol=1e-12)
    with pytest.raises(ValueError, match="mask_min_db=0 must be smaller than mask_max_db=0"):
        MaskBasedBeamformer(mask_min_db=0)


def _np_wpe(x: np.ndarray, power: np.ndarray, taps: int, delay: int, n: int, diag_reg: float) -> np.ndarray:
    """WPE for one example: x, power (C, F, T); frames >= n are ignored in the statistics and zeroed."""
    channels, subbands, frames = x.shape
    out = np.zeros_like(x)
    for f in range(subbands):
        weight = 1 / (power[:, f].mean(axis=0) + EPS)
        weight[n:] = 0
        # stacked past frames: row t holds x[c, f, t - delay - k] for k = 0..taps-1, every channel
        past = np.zeros((frames, channels * taps), dtype=complex)
        for t in range(frames):
            for c in range(channels):
                for k in range(taps):
                    if t - delay - k >= 0:
                        past[t, c * taps + k] = x[c, f, t - delay - k]
        q = past.conj().T @ (weight[:, None] * past)
        r = past.conj().T @ (weight[:, None] * x[:, f].T)
        if diag_reg:
            q = q + (diag_reg * np.trace(q).real + EPS) * np.eye(len(q))
        out[:, f] = x[:, f] - (past @ np.linalg.solve(q, r)).T
    out[..., n:] = 0
    return out


@pytest.mark.parametrize(("taps", "delay"), [(2, 0), (3, 2)])
def test_wpe_filter_matches_numpy(taps: int, delay: int) -> None:
    spec = _random_spec(7, (2, 2, 3, 12))
    power = np.abs(_random_spec(8, spec.shape)) ** 2 + 0.1
    lengths = [12, 9]
    out, out_lengths = WPEFilter(filter_length=taps, prediction_delay=delay, diag_reg=1e-4)(
        input=torch.tensor(spec), power=torch.tensor(power), input_length=torch.tensor(lengths)
    )
    assert out_lengths.tolist() == lengths
    for b, n in enumerate(lengths):
        np.testing.assert_allclose(
            out[b].numpy(), _np_wpe(spec[b], power[b], taps, delay, n, 1e-4), atol=1e-10
        )


def test_wpe_convtensor_layout() -> None:
    x = torch.arange(1, 7, dtype=torch.float64).reshape(1, 1, 1, 6)
    tilde = WPEFilter.convtensor(x, filter_length=3, delay=1)
    assert tilde.shape == (1, 1, 1, 6, 3)
    # frame 4 (value 5) sees values at frames 1, 2, 3 (oldest first)
    assert tilde[0, 0, 0, 4].tolist() == [2.0, 3.0, 4.0]
    assert tilde[0, 0, 0, 1].tolist() == [0.0, 0.0, 1.0]
    assert WPEFilter.permute_convtensor(tilde)[0, 0, 4].tolist() == [4.0, 3.0, 2.0]


def test_mask_based_dereverb_iterates_wpe_with_masked_power() -> None:
    spec = _random_spec(9, (1, 2, 2, 10))
    mask = np.random.default_rng(10).uniform(size=(1, 1, 2, 10))
    out, out_lengths = MaskBasedDereverbWPE(filter_length=2, prediction_delay=1, num_iterations=2)(
        input=torch.tensor(spec).to(torch.cfloat), mask=torch.tensor(mask)
    )
    assert out.dtype == torch.cfloat and out_lengths is None
    x = spec[0].astype(np.complex64).astype(complex)
    first = _np_wpe(x, (np.abs(x) * np.clip(mask[0], 1e-10, 1.0)) ** 2, 2, 1, 10, 1e-6)
    second = _np_wpe(first, np.abs(first) ** 2, 2, 1, 10, 1e-6)
    np.testing.assert_allclose(out[0].numpy(), second, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("weighting", [None, "power"])
def test_mixture_consistency_projection(weighting: str | None) -> None:
    mixture = torch.tensor(_random_spec(11, (2, 1, 3, 4)))
    estimate = torch.tensor(_random_spec(12, (2, 3, 3, 4)))
    out = MixtureConsistencyProjection(weighting=weighting)(mixture=mixture, estimate=estimate)
    torch.testing.assert_close(out.sum(dim=1, keepdim=True), mixture, rtol=1e-6, atol=1e-6)
    residual = (mixture - estimate.sum(dim=1, keepdim=True)).numpy()
    if weighting is None:
        weight = 1 / 3
    else:
        power = np.abs(estimate.numpy()) ** 2
        weight = power / (power.sum(axis=1, keepdims=True) + EPS)
    np.testing.assert_allclose(out.numpy(), estimate.numpy() + weight * residual, rtol=1e-12)

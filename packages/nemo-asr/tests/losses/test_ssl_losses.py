"""Self-supervised losses, quantizer and reconstruction decoder against values computed once with NeMo 1.23.

Every expected number below was produced by running the same construction (seeded weights, inputs and
negative sampling) with NeMo 1.23's classes in its own venv (same torch version, same random streams).
"""

from __future__ import annotations

import pytest
import torch
from nemo.collections.asr.losses import ContrastiveLoss, MLMLoss
from nemo.collections.asr.modules import ConvASRDecoderReconstruction
from nemo.collections.asr.parts.submodules.ssl_quantizers import GumbelVectorQuantizer

B, D, T = 2, 8, 12


def _inputs() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Generator]:
    generator = torch.Generator().manual_seed(1)
    spec = torch.randn(B, D, T, generator=generator)
    masks = torch.zeros(B, D, T)
    masks[0, :, [1, 2, 5, 6, 9]] = 1
    masks[1, :, [0, 3, 4, 7, 8]] = 1
    pair_masks = torch.zeros(B, D, T)
    pair_masks[:, :, [0, 1, 4, 5]] = 1
    return spec, masks, pair_masks, generator


def _contrastive(**kwargs) -> tuple[float, ContrastiveLoss]:
    spec, masks, pair_masks, _ = _inputs()
    torch.manual_seed(5)
    loss = ContrastiveLoss(in_dim=D, proj_dim=6, num_negatives=3, **kwargs).eval()
    generator = torch.Generator().manual_seed(2)
    with torch.no_grad():
        for _, param in sorted(loss.named_parameters()):
            param.copy_(torch.randn(param.shape, generator=generator))
    steps = T // kwargs.get("combine_time_steps", 1)
    outputs = torch.randn(B, steps, 6, generator=generator)
    torch.manual_seed(11)  # negative sampling
    mask = pair_masks if kwargs.get("combine_time_steps", 1) == 2 else masks
    return loss(spectrograms=spec, spec_masks=mask, decoder_outputs=outputs).item(), loss


_IDS = [[19, 14, 1, 5, 7, 6, 14, 2, 19, 14, 17, 0], [21, 20, 22, 9, 0, 9, 12, 2, 17, 2, 17, 20]]
_QUANTIZED = dict(quantized_targets=True, codebook_size=5, num_groups=2)
_ANY_STEP = dict(sample_from_same_utterance_only=False)


@pytest.mark.parametrize(
    ("kwargs", "expected", "ids"),
    [
        (_QUANTIZED, 253.5112762451172, _IDS),
        (dict(quantized_targets=False), 289.1345520019531, None),
        (
            {**_QUANTIZED, **_ANY_STEP, "sample_from_non_masked": True, "combine_time_steps": 2},
            114.18822479248047,
            [[22, 3, 2, 7, 20, 13], [10, 22, 2, 9, 18, 20]],
        ),
        ({**_QUANTIZED, **_ANY_STEP, "sample_from_non_masked": True}, 207.8427734375, _IDS),
        ({**_QUANTIZED, **_ANY_STEP, "sample_from_codebook": True}, 288.40521240234375, _IDS),
    ],
    ids=[
        "quantized",
        "projected",
        "combined-steps-any-utterance",
        "non-masked-negatives",
        "codebook-negatives",
    ],
)
def test_contrastive_loss_matches_nemo(kwargs: dict, expected: float, ids: list | None) -> None:
    value, loss = _contrastive(**kwargs)
    assert value == pytest.approx(expected, rel=1e-5)
    if ids is not None:
        assert loss.target_ids.tolist() == ids and loss.target_lengths is None


def test_reduced_ids_collapse_runs_as_nemo() -> None:
    value, loss = _contrastive(quantized_targets=True, codebook_size=3, num_groups=1, reduce_ids=True)
    assert value == pytest.approx(187.82742309570312, rel=1e-5)
    assert loss.target_ids.tolist() == [[1, 0, 1, 2, 1, 2, 1, 2], [2, 1, 2, 0, 1, 0, 1, 2]]
    assert loss.target_lengths.tolist() == [8, 8]


def test_mlm_loss_matches_nemo_and_a_direct_nll() -> None:
    spec, masks, _, generator = _inputs()
    log_probs = torch.log_softmax(torch.randn(B, T, 7, generator=generator), -1)
    targets = torch.randint(0, 7, (B, T - 2), generator=generator)
    value = MLMLoss()(spec_masks=masks, decoder_outputs=log_probs, targets=targets)
    assert float(value) == pytest.approx(2.0765933990478516, rel=1e-6)  # NeMo 1.23
    padded = torch.nn.functional.pad(targets, (0, 2))
    picked = [-log_probs[b, t, padded[b, t]] for b in range(B) for t in range(T) if masks[b, 0, t] > 0]
    assert float(value) == pytest.approx(float(torch.stack(picked).mean()), rel=1e-6)


def test_reconstruction_decoder_matches_nemo_layout_and_values() -> None:
    spec, *_ = _inputs()
    torch.manual_seed(3)
    decoder = ConvASRDecoderReconstruction(
        feat_in=D, feat_out=5, feat_hidden=4, stride_layers=1, non_stride_layers=1, kernel_size=3
    ).eval()
    assert sorted(decoder.state_dict())[:4] == [
        "decoder_layers.0.bias",
        "decoder_layers.0.weight",
        "decoder_layers.10.bias",
        "decoder_layers.10.weight",
    ]
    generator = torch.Generator().manual_seed(4)
    with torch.no_grad():
        for _, param in sorted(decoder.named_parameters()):
            param.copy_(torch.randn(param.shape, generator=generator))
        out = decoder(encoder_output=spec)
    assert out.shape == (2, 24, 5)  # the transposed strided layer doubles time
    torch.testing.assert_close(
        out[0, 0], torch.tensor([6.541598320007324, 15.802486419677734, -1.9396791458129883, 9.653023719787598,
                                 -5.092674732208252]), rtol=1e-5, atol=1e-4,
    )  # fmt: skip
    assert float(out.sum()) == pytest.approx(2309.5673828125, rel=1e-4)


def test_quantizer_ids_codebook_and_temperature() -> None:
    torch.manual_seed(0)
    quantizer = GumbelVectorQuantizer(
        dim=4, num_vars=3, temp=(2.0, 0.5, 0.5), groups=2, combine_groups=False, vq_dim=6, time_first=True
    ).eval()
    x = torch.randn(2, 5, 4)
    quantized, diversity, _, ids = quantizer(x, return_ids=True)
    logits = quantizer.weight_proj(x).view(2, 5, 2, 3)
    expected_ids = logits.argmax(-1)
    assert torch.equal(ids, expected_ids[..., 0] * 3 + expected_ids[..., 1])
    codebook = quantizer.vars[0].view(2, 3, 3)
    expected = torch.cat([codebook[0][expected_ids[..., 0]], codebook[1][expected_ids[..., 1]]], dim=-1)
    torch.testing.assert_close(quantized, expected)
    assert 0.0 <= float(diversity.detach()) < 1.0
    quantizer.set_num_updates(1)
    assert quantizer.curr_temp == 1.0
    quantizer.set_num_updates(10)
    assert quantizer.curr_temp == 0.5


def test_unsupported_options_are_refused() -> None:
    with pytest.raises(ValueError, match="group_loss"):
        ContrastiveLoss(
            in_dim=4, quantized_targets=True, group_loss=True, sample_from_same_utterance_only=False
        )
    with pytest.raises(ValueError, match="sample_from_codebook=True needs quantized_targets"):
        ContrastiveLoss(in_dim=4, sample_from_codebook=True, sample_from_same_utterance_only=False)

"""ConvASREncoder / ConvASRDecoder / ConvASRDecoderClassification against NeMo 1.23 and first principles."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest
import torch
from nemo.collections.asr.modules import ConvASRDecoder, ConvASRDecoderClassification, ConvASREncoder
from omegaconf import OmegaConf

FIXTURES = Path(__file__).resolve().parents[4] / "tests" / "data" / "nemo-1.23"


def _read_archive(name: str) -> tuple[dict, dict[str, torch.Tensor]]:
    """Config (as a dict) and weights of a NeMo 1.23 fixture archive, read straight from the tar."""
    with tarfile.open(FIXTURES / f"{name}.nemo") as tar:
        config = OmegaConf.to_container(
            OmegaConf.create(tar.extractfile("./model_config.yaml").read().decode())
        )
        weights = torch.load(io.BytesIO(tar.extractfile("./model_weights.ckpt").read()), weights_only=True)
    return config, weights


def _module_kwargs(section: dict) -> dict:
    return {key: value for key, value in section.items() if key != "_target_"}


def _subset(weights: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {key[len(prefix) :]: value for key, value in weights.items() if key.startswith(prefix)}


QUARTZNET_BLOCKS = [
    {"filters": 16, "repeat": 1, "kernel": [11], "stride": [2], "dilation": [1], "dropout": 0.0,
     "residual": False, "separable": True},
    {"filters": 16, "repeat": 2, "kernel": [7], "stride": [1], "dilation": [1], "dropout": 0.0,
     "residual": True, "separable": True},
    {"filters": 24, "repeat": 1, "kernel": [1], "stride": [1], "dilation": [1], "dropout": 0.0,
     "residual": False},
]  # fmt: skip

CITRINET_BLOCKS = [
    {"filters": 16, "repeat": 1, "kernel": [5], "stride": [1], "dilation": [1], "dropout": 0.0,
     "residual": False, "separable": True, "se": True, "se_context_size": -1},
    {"filters": 16, "repeat": 2, "kernel": [4], "stride": [2], "dilation": [1], "dropout": 0.1,
     "residual": True, "separable": True, "se": True, "se_context_size": -1, "se_reduction_ratio": 4,
     "residual_mode": "stride_add", "stride_last": True, "kernel_size_factor": 1.5},
    {"filters": 24, "repeat": 1, "kernel": [3], "stride": [2], "dilation": [1], "dropout": 0.0,
     "residual": True, "separable": True, "se": True, "residual_mode": "stride_add"},
]  # fmt: skip


def test_quartznet_fixture_matches_nemo_outputs() -> None:
    config, weights = _read_archive("quartznet_ctc_char_tiny")
    encoder = ConvASREncoder(**_module_kwargs(config["encoder"]))
    decoder = ConvASRDecoder(**_module_kwargs(config["decoder"]))
    encoder.load_state_dict(_subset(weights, "encoder."), strict=True)
    decoder.load_state_dict(_subset(weights, "decoder."), strict=True)
    encoder.eval()
    decoder.eval()
    reference = torch.load(FIXTURES / "quartznet_ctc_char_tiny.io.pt", weights_only=True)

    with torch.no_grad():
        encoded, encoded_len = encoder(audio_signal=reference["mel"], length=reference["mel_len"])
        log_probs = decoder(encoder_output=encoded)

    assert torch.equal(encoded_len, reference["encoded_len"])
    assert log_probs.shape == reference["log_probs"].shape
    torch.testing.assert_close(log_probs, reference["log_probs"], atol=1e-4, rtol=0)
    assert decoder.vocabulary == config["decoder"]["vocabulary"]
    assert decoder.num_classes_with_blank == len(config["labels"]) + 1


def test_conv_decoder_loads_conformer_fixture_decoder_weights() -> None:
    config, weights = _read_archive("conformer_ctc_char_tiny")
    decoder = ConvASRDecoder(**_module_kwargs(config["decoder"]))
    decoder.load_state_dict(_subset(weights, "decoder."), strict=True)
    encoded = torch.randn(2, config["decoder"]["feat_in"], 9)

    expected = torch.log_softmax(
        torch.nn.functional.conv1d(
            encoded, weights["decoder.decoder_layers.0.weight"], weights["decoder.decoder_layers.0.bias"]
        ),
        dim=1,
    ).transpose(1, 2)
    torch.testing.assert_close(decoder(encoder_output=encoded), expected)


def _strided_length(length: int, kernel: int, stride: int) -> int:
    padding = (kernel - 1) // 2
    return (length + 2 * padding - (kernel - 1) - 1) // stride + 1


def test_encoded_lengths_follow_the_conv_length_formula() -> None:
    encoder = ConvASREncoder(jasper=CITRINET_BLOCKS, activation="swish", feat_in=8).eval()
    lengths = [40, 33, 17]
    # Citrinet blocks: kernel 4 * 1.5 = 6 -> 7 (odd), stride 2 once (stride_last); then kernel 3, stride 2.
    expected = [_strided_length(_strided_length(n, 7, 2), 3, 2) for n in lengths]

    with torch.no_grad():
        encoded, encoded_len = encoder(audio_signal=torch.randn(3, 8, 40), length=torch.tensor(lengths))

    assert encoded_len.tolist() == expected
    assert encoded.shape == (3, 24, expected[0])


@pytest.mark.parametrize("blocks", [QUARTZNET_BLOCKS, CITRINET_BLOCKS], ids=["quartznet", "citrinet"])
def test_outputs_of_valid_frames_ignore_padding(blocks: list[dict]) -> None:
    torch.manual_seed(0)
    encoder = ConvASREncoder(jasper=blocks, activation="relu", feat_in=8)
    # Non-trivial running statistics so that eval-mode batch norm is not the identity.
    encoder.train()
    with torch.no_grad():
        encoder(audio_signal=torch.randn(4, 8, 50) * 3 + 1, length=torch.full((4,), 50))
    encoder.eval()
    short = torch.randn(1, 8, 29)
    padded = torch.cat([short, torch.full((1, 8, 21), 1e3)], dim=2)
    batch = torch.cat([torch.randn(1, 8, 50), padded])

    with torch.no_grad():
        alone, alone_len = encoder(audio_signal=short, length=torch.tensor([29]))
        batched, batched_len = encoder(audio_signal=batch, length=torch.tensor([50, 29]))

    assert batched_len[1] == alone_len[0]
    valid = int(alone_len[0])
    torch.testing.assert_close(batched[1:, :, :valid], alone[:, :, :valid], atol=1e-5, rtol=1e-5)


def test_citrinet_state_dict_layout() -> None:
    encoder = ConvASREncoder(jasper=CITRINET_BLOCKS, activation="relu", feat_in=8)
    keys = set(encoder.state_dict())
    # Block 1 (repeat 2, separable, SE): dw, pw, bn, act, dropout, dw, pw, bn, se.
    assert encoder.encoder[1].mconv[0].conv.weight.shape == (16, 1, 7)
    assert {"encoder.1.mconv.8.fc.0.weight", "encoder.1.mconv.8.fc.2.weight"} <= keys
    assert encoder.encoder[1].mconv[8].fc[0].weight.shape == (4, 16)
    assert "encoder.1.res.0.0.conv.weight" in keys
    assert encoder.encoder[1].res[0][0].conv.stride == (2,)
    assert encoder.encoder[1].mconv[0].conv.stride == (1,)
    assert encoder.encoder[1].mconv[5].conv.stride == (2,)


def test_encoder_trains() -> None:
    encoder = ConvASREncoder(jasper=CITRINET_BLOCKS, activation="relu", feat_in=8).train()
    encoded, _ = encoder(audio_signal=torch.randn(2, 8, 30), length=torch.tensor([30, 21]))
    encoded.square().mean().backward()
    grads = [p.grad for p in encoder.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert encoder.encoder[0].mconv[0].conv.weight.grad.abs().sum() > 0


def test_unmasked_encoder_uses_plain_convolutions() -> None:
    encoder = ConvASREncoder(jasper=QUARTZNET_BLOCKS, activation="relu", feat_in=8, conv_mask=False)
    assert "encoder.0.mconv.0.weight" in encoder.state_dict()
    assert isinstance(encoder.encoder[0].mconv[0], torch.nn.Conv1d)


def test_dense_residual_adds_one_branch_per_earlier_output() -> None:
    blocks = [dict(block, stride=[1], residual=True, residual_dense=True) for block in QUARTZNET_BLOCKS[:2]]
    encoder = ConvASREncoder(jasper=blocks, activation="relu", feat_in=8)
    assert [branch[0].conv.in_channels for branch in encoder.encoder[1].res] == [8, 16]
    encoded, _ = encoder(audio_signal=torch.randn(2, 8, 20), length=torch.tensor([20, 20]))
    assert encoded.shape == (2, 16, 20)


def test_encoder_rejects_unknown_activation() -> None:
    with pytest.raises(ValueError, match=r"encoder\.activation"):
        ConvASREncoder(jasper=QUARTZNET_BLOCKS, activation="tanhshrink", feat_in=8)


def test_encoder_reports_missing_block_keys() -> None:
    block = {key: value for key, value in QUARTZNET_BLOCKS[0].items() if key != "kernel"}
    with pytest.raises(ValueError, match=r"jasper\[0\].*kernel"):
        ConvASREncoder(jasper=[block], activation="relu", feat_in=8)


def test_decoder_takes_num_classes_from_vocabulary_and_checks_it() -> None:
    decoder = ConvASRDecoder(feat_in=4, num_classes=-1, vocabulary=["a", "b", "c"])
    assert decoder.num_classes_with_blank == 4
    assert ConvASRDecoder(feat_in=4, num_classes=3, add_blank=False).num_classes_with_blank == 3
    with pytest.raises(ValueError, match="num_classes=2"):
        ConvASRDecoder(feat_in=4, num_classes=2, vocabulary=["a", "b", "c"])


def test_decoder_temperature_scales_logits() -> None:
    decoder = ConvASRDecoder(feat_in=4, num_classes=3)
    encoded = torch.randn(2, 4, 5)
    conv = decoder.decoder_layers[0]
    decoder.temperature = 2.0
    expected = torch.log_softmax(torch.nn.functional.conv1d(encoded, conv.weight, conv.bias) / 2.0, dim=1)
    torch.testing.assert_close(decoder(encoder_output=encoded), expected.transpose(1, 2))


@pytest.mark.parametrize("pooling_type", ["avg", "max"])
def test_classification_decoder_pools_then_projects(pooling_type: str) -> None:
    decoder = ConvASRDecoderClassification(feat_in=4, num_classes=3, pooling_type=pooling_type)
    encoded = torch.randn(2, 4, 7)
    pooled = encoded.mean(dim=2) if pooling_type == "avg" else encoded.amax(dim=2)
    linear = decoder.decoder_layers[0]
    expected = pooled @ linear.weight.T + linear.bias

    torch.testing.assert_close(decoder(encoder_output=encoded), expected)
    assert decoder.num_classes == 3

    probabilities = ConvASRDecoderClassification(
        feat_in=4, num_classes=3, return_logits=False, pooling_type=pooling_type
    )
    probabilities.load_state_dict(decoder.state_dict())
    torch.testing.assert_close(probabilities(encoder_output=encoded), expected.softmax(dim=-1))


@pytest.mark.filterwarnings("ignore:`torch.jit:DeprecationWarning")
def test_encoder_and_decoder_export_to_torchscript(tmp_path: Path) -> None:
    encoder = ConvASREncoder(jasper=CITRINET_BLOCKS, activation="relu", feat_in=8).eval()
    decoder = ConvASRDecoder(feat_in=24, num_classes=3).eval()
    features = torch.randn(2, 8, 30)
    lengths = torch.tensor([30, 30])

    encoder.export(str(tmp_path / "encoder.ts"), input_example=(features, lengths))
    decoder.export(str(tmp_path / "decoder.ts"), input_example=(torch.randn(1, 24, 5),))

    with torch.no_grad():
        expected, expected_len = encoder(audio_signal=features, length=lengths)
        expected_log_probs = decoder(encoder_output=expected)
    exported_encoder = torch.jit.load(str(tmp_path / "encoder.ts"))
    exported_decoder = torch.jit.load(str(tmp_path / "decoder.ts"))
    encoded, encoded_len = exported_encoder(features, lengths)
    torch.testing.assert_close(encoded, expected)
    assert torch.equal(encoded_len, expected_len)
    torch.testing.assert_close(exported_decoder(encoded), expected_log_probs)
    assert all(m.use_mask for m in encoder.modules() if type(m).__name__ == "MaskedConv1d")

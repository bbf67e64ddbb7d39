"""NeMo 1.23's HiFi-GAN archives restore with HifiGanModel.restore_from and reproduce NeMo's tensors.

``data/hifigan_tiny.*`` is the shared fixture (``/work/shared/fixtures/nemo-1.23``, README there): generator v1
shape (resblock 1, upsample 8-8-2-2) at 22050 Hz, its discriminators saved as constant stride-0 tensors.
``data/hifigan_v3_16k_tiny.*`` comes from ``data/make_hifigan_v3_fixture.py`` (NeMo 1.23 in its own venv): the
v3 generator (resblock 2, upsample 8-8-4) at 16 kHz, hop 256, with NeMo's seeded random weights.
"""

from pathlib import Path

import pytest
import torch
from nemo.collections.tts.models import HifiGanModel

DATA = Path(__file__).parent / "data"
FIXTURES = ["hifigan_tiny", "hifigan_v3_16k_tiny"]


@pytest.fixture(scope="module", params=FIXTURES)
def restored(request: pytest.FixtureRequest) -> tuple[HifiGanModel, dict]:
    model = HifiGanModel.restore_from(DATA / f"{request.param}.nemo", map_location="cpu").eval()
    expected = torch.load(DATA / f"{request.param}.io.pt", weights_only=True)
    return model, expected


def test_generator_reproduces_nemo_audio(restored: tuple[HifiGanModel, dict]) -> None:
    model, expected = restored
    with torch.inference_mode():
        audio = model.convert_spectrogram_to_audio(spec=expected["spec"])
        half = model.convert_spectrogram_to_audio(spec=expected["spec_0_half"])
    assert audio.shape == expected["audio"].shape
    torch.testing.assert_close(audio, expected["audio"], atol=1e-4, rtol=0)
    torch.testing.assert_close(half, expected["audio_0_half"], atol=1e-4, rtol=0)


def test_preprocessor_reproduces_nemo_mel(restored: tuple[HifiGanModel, dict]) -> None:
    model, expected = restored
    with torch.inference_mode():
        mel, mel_len = model.audio_to_melspec_precessor(expected["signal"], expected["signal_len"])
    torch.testing.assert_close(mel, expected["mel"], atol=1e-4, rtol=0)
    assert torch.equal(mel_len, expected["mel_len"])
    assert model.sample_rate == expected["sample_rate"]
    assert int(torch.prod(torch.tensor(model.cfg.generator.upsample_rates))) == expected["hop_length"]


def test_forward_matches_convert_and_keeps_the_channel_axis(restored: tuple[HifiGanModel, dict]) -> None:
    model, expected = restored
    with torch.inference_mode():
        audio = model(spec=expected["spec"])
    assert audio.shape == (expected["spec"].shape[0], 1, expected["audio"].shape[1])
    torch.testing.assert_close(audio.squeeze(1), expected["audio"], atol=1e-4, rtol=0)


def test_stride_zero_discriminators_fill_full_size_weights(restored: tuple[HifiGanModel, dict]) -> None:
    model, _ = restored
    weight_v = model.mpd.discriminators[0].convs[4].weight_v
    assert weight_v.shape == (1024, 1024, 5, 1)
    # The archive stores one constant per tensor with stride 0; the restored parameter owns full storage.
    assert weight_v.is_contiguous() and weight_v.untyped_storage().nbytes() == weight_v.numel() * 4
    assert torch.all(weight_v == 0.01)
    assert model.msd.discriminators[0].convs[6].weight_orig.shape == (1024, 1024, 5)
    assert sum(p.numel() for p in [*model.mpd.parameters(), *model.msd.parameters()]) > 70_000_000


def test_typechecked_calls_take_keywords_only(restored: tuple[HifiGanModel, dict]) -> None:
    model, expected = restored
    with pytest.raises(TypeError, match="keyword"):
        model.convert_spectrogram_to_audio(expected["spec"])


def test_old_flat_resblock_keys_load(restored: tuple[HifiGanModel, dict]) -> None:
    """Older checkpoints number the residual blocks flat (``resblocks.{stage * kernels + kernel}``)."""
    model, expected = restored
    kernels = len(model.cfg.generator.resblock_kernel_sizes)
    state = model.state_dict()
    flat = {}
    for key, value in state.items():
        parts = key.split(".")
        if key.startswith("generator.resblocks."):
            parts[2:4] = [str(int(parts[2]) * kernels + int(parts[3]))]
        flat[".".join(parts)] = value
    assert (
        "generator.resblocks.4.convs.0.weight_v" in flat or "generator.resblocks.4.convs1.0.weight_v" in flat
    )
    fresh = HifiGanModel(cfg=model.cfg).eval()
    fresh.load_state_dict(flat)
    with torch.inference_mode():
        audio = fresh.convert_spectrogram_to_audio(spec=expected["spec"])
    torch.testing.assert_close(audio, expected["audio"], atol=1e-4, rtol=0)


def test_a_seed_gives_nemos_initial_generator_weights() -> None:
    """``make_hifigan_v3_fixture.py`` saved NeMo's generator as ``torch.manual_seed(seed); HifiGanModel(cfg)``
    left it; the same two calls here give the same tensors (NeMo draws its layers in a fixed order)."""
    nemo_model = HifiGanModel.restore_from(DATA / "hifigan_v3_16k_tiny.nemo", map_location="cpu")
    seed = torch.load(DATA / "hifigan_v3_16k_tiny.io.pt", weights_only=True)["seed"]

    torch.manual_seed(seed)
    ours = HifiGanModel(cfg=nemo_model.cfg)

    expected = nemo_model.generator.state_dict()
    got = ours.generator.state_dict()
    assert list(got) == list(expected)
    for key, tensor in expected.items():
        assert torch.equal(got[key], tensor), key

"""AudioToMelSpectrogramPreprocessor / AudioToMFCCPreprocessor against NeMo 1.23's outputs and first principles."""

from __future__ import annotations

import io
import math
import random
import tarfile
from pathlib import Path

import pytest
import torch
import torchaudio
from nemo.collections.asr.modules.audio_preprocessing import (
    AudioToMelSpectrogramPreprocessor,
    AudioToMFCCPreprocessor,
)
from nemo.collections.asr.parts.preprocessing.features import (
    FilterbankFeatures,
    mel_filterbank,
    normalize_batch,
)
from nemo.core.neural_types import AudioSignal, LengthsType, MelSpectrogramType, MFCCSpectrogramType
from omegaconf import OmegaConf

FIXTURES = Path(__file__).resolve().parents[4] / "tests" / "data" / "nemo-1.23"
FIXTURE_NAMES = ["conformer_ctc_char_tiny", "quartznet_ctc_char_tiny"]


def _read_archive(name: str) -> tuple[dict, dict[str, torch.Tensor]]:
    """Config and weights of a NeMo 1.23 fixture archive, read straight from the tar."""
    with tarfile.open(FIXTURES / f"{name}.nemo") as tar:
        config = OmegaConf.to_container(
            OmegaConf.create(tar.extractfile("./model_config.yaml").read().decode())
        )
        weights = torch.load(io.BytesIO(tar.extractfile("./model_weights.ckpt").read()), weights_only=True)
    return config, weights


def _preprocessor_kwargs(config: dict) -> dict:
    return {key: value for key, value in config["preprocessor"].items() if key != "_target_"}


def _subset(weights: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {key[len(prefix) :]: value for key, value in weights.items() if key.startswith(prefix)}


def _reference_features(
    signal: torch.Tensor,
    length: torch.Tensor,
    *,
    win_length: int,
    hop: int,
    n_fft: int,
    fb: torch.Tensor,
    window: torch.Tensor,
    preemph: float | None = 0.97,
    mag_power: float = 2.0,
    guard: float = 2**-24,
    guard_type: str = "add",
    normalize: str | None = "per_feature",
    exact_pad: bool = False,
    pad_value: float = 0.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """NeMo 1.23's recipe written plainly with ``torch.stft`` (per-item loop for the statistics)."""
    x = signal.clone()
    if exact_pad:
        pad = (n_fft - hop) // 2
        x = torch.nn.functional.pad(x.unsqueeze(1), (pad, pad), "reflect").squeeze(1)
        frames = (length + 2 * pad - n_fft) // hop + 1
    else:
        frames = (length + 2 * (n_fft // 2) - n_fft) // hop + 1
    if preemph is not None:
        x = torch.cat((x[:, :1], x[:, 1:] - preemph * x[:, :-1]), dim=1)
    spec = torch.stft(
        x,
        n_fft,
        hop_length=hop,
        win_length=win_length,
        window=window,
        center=not exact_pad,
        return_complex=True,
    )
    magnitude = torch.sqrt(torch.view_as_real(spec).pow(2).sum(-1))
    mel = torch.matmul(fb, magnitude.pow(mag_power))
    mel = torch.log(mel + guard) if guard_type == "add" else torch.log(torch.clamp(mel, min=guard))
    out = mel.clone()
    for b in range(mel.shape[0]):
        valid = mel[b, :, : frames[b]]
        if normalize == "per_feature":
            out[b] = (mel[b] - valid.mean(dim=1, keepdim=True)) / (valid.std(dim=1, keepdim=True) + 1e-5)
        elif normalize == "all_features":
            out[b] = (mel[b] - valid.mean()) / (valid.std() + 1e-5)
        out[b, :, frames[b] :] = pad_value
    return out, frames


@pytest.fixture(scope="module")
def batch() -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    signal = 0.3 * torch.randn(3, 5000, generator=generator)
    length = torch.tensor([5000, 3210, 1601])
    return signal, length


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_fixture_preprocessor_matches_nemo(name: str) -> None:
    config, weights = _read_archive(name)
    expected = torch.load(FIXTURES / f"{name}.io.pt", weights_only=True)
    preprocessor = AudioToMelSpectrogramPreprocessor(**_preprocessor_kwargs(config)).eval()
    preprocessor.load_state_dict(_subset(weights, "preprocessor."), strict=True)

    mel, mel_len = preprocessor(input_signal=expected["input_signal"], length=expected["input_signal_length"])

    assert torch.equal(mel_len, expected["mel_len"])
    assert mel.shape == expected["mel"].shape
    torch.testing.assert_close(mel, expected["mel"], atol=1e-4, rtol=0)


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_fresh_preprocessor_equals_fixture_buffers_and_outputs(name: str) -> None:
    config, weights = _read_archive(name)
    expected = torch.load(FIXTURES / f"{name}.io.pt", weights_only=True)
    preprocessor = AudioToMelSpectrogramPreprocessor(**_preprocessor_kwargs(config)).eval()

    stored = _subset(weights, "preprocessor.")
    state = preprocessor.state_dict()
    assert {key: value.shape for key, value in state.items()} == {
        key: value.shape for key, value in stored.items()
    }
    torch.testing.assert_close(state["featurizer.fb"], stored["featurizer.fb"], atol=1e-9, rtol=0)
    torch.testing.assert_close(state["featurizer.window"], stored["featurizer.window"], atol=0, rtol=0)

    mel, mel_len = preprocessor(input_signal=expected["input_signal"], length=expected["input_signal_length"])
    assert torch.equal(mel_len, expected["mel_len"])
    torch.testing.assert_close(mel, expected["mel"], atol=1e-4, rtol=0)


@pytest.mark.parametrize(
    ("sample_rate", "n_fft", "n_mels", "fmin", "fmax"),
    [(16000, 512, 80, 0.0, 8000.0), (16000, 512, 64, 300.0, 7000.0), (22050, 1024, 80, 0.0, 11025.0)],
)
@pytest.mark.parametrize("norm", ["slaney", None])
def test_mel_filterbank_matches_torchaudio(
    sample_rate: int, n_fft: int, n_mels: int, fmin: float, fmax: float, norm: str | None
) -> None:
    expected = torchaudio.functional.melscale_fbanks(
        n_fft // 2 + 1, fmin, fmax, n_mels, sample_rate, norm=norm, mel_scale="slaney"
    ).T
    fb = mel_filterbank(sample_rate, n_fft, n_mels, fmin, fmax, norm)
    assert fb.shape == (n_mels, n_fft // 2 + 1)
    # torchaudio works in float32: agreement to float32 rounding of the band edges.
    torch.testing.assert_close(fb, expected, atol=2e-5 if norm is None else 2e-7, rtol=0)


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"window": "hamming", "preemph": None, "mag_power": 1.0},
        {"normalize": "all_features", "log_zero_guard_type": "clamp", "log_zero_guard_value": 1e-6},
        {"exact_pad": True, "normalize": None, "pad_value": -3.0},
    ],
    ids=["default", "hamming-no-preemph-magnitude", "all-features-clamp", "exact-pad-unnormalized"],
)
def test_features_match_plain_stft_recipe(batch: tuple[torch.Tensor, torch.Tensor], options: dict) -> None:
    signal, length = batch
    kwargs = {
        "window": "hann",
        "preemph": 0.97,
        "mag_power": 2.0,
        "normalize": "per_feature",
        "log_zero_guard_type": "add",
        "log_zero_guard_value": 2**-24,
        "exact_pad": False,
        "pad_value": 0.0,
        **options,
    }
    preprocessor = AudioToMelSpectrogramPreprocessor(
        n_window_size=400, n_window_stride=160, window_size=None, window_stride=None, n_fft=512, features=40,
        dither=0.0, pad_to=0, **kwargs,
    ).eval()  # fmt: skip
    mel, mel_len = preprocessor(input_signal=signal, length=length)

    window_fn = {"hann": torch.hann_window, "hamming": torch.hamming_window}[kwargs["window"]]
    expected, expected_len = _reference_features(
        signal, length, win_length=400, hop=160, n_fft=512, fb=preprocessor.filter_banks,
        window=window_fn(400, periodic=False), preemph=kwargs["preemph"], mag_power=kwargs["mag_power"],
        guard=kwargs["log_zero_guard_value"], guard_type=kwargs["log_zero_guard_type"],
        normalize=kwargs["normalize"], exact_pad=kwargs["exact_pad"], pad_value=kwargs["pad_value"],
    )  # fmt: skip
    assert torch.equal(mel_len, expected_len)
    torch.testing.assert_close(mel, expected, atol=1e-4, rtol=1e-5)


def test_lengths_masking_and_pad_to(batch: tuple[torch.Tensor, torch.Tensor]) -> None:
    signal, length = batch
    preprocessor = AudioToMelSpectrogramPreprocessor(
        features=32, dither=0.0, pad_to=16, pad_value=-5.0
    ).eval()
    mel, mel_len = preprocessor(input_signal=signal, length=length)

    hop, n_fft = 160, 512
    expected_len = [math.floor((n + 2 * (n_fft // 2) - n_fft) / hop) + 1 for n in length.tolist()]
    assert mel_len.tolist() == expected_len
    longest = max(expected_len)
    assert mel.shape == (3, 32, math.ceil(longest / 16) * 16)
    for item, frames in enumerate(expected_len):
        assert torch.all(mel[item, :, frames:] == -5.0)
        assert torch.all(mel[item, :, :frames] != -5.0)


def test_pad_to_max_uses_max_duration(batch: tuple[torch.Tensor, torch.Tensor]) -> None:
    signal, length = batch
    featurizer = FilterbankFeatures(
        n_window_size=320, n_window_stride=160, dither=0.0, pad_to="max", max_duration=1.0
    )
    mel, _ = featurizer(signal, length)
    assert mel.shape[-1] == 16000 // 160 + 1
    with pytest.raises(ValueError, match="max_duration"):
        FilterbankFeatures(pad_to="max", max_duration=0.1)(signal, length)


def test_dither_only_in_training(batch: tuple[torch.Tensor, torch.Tensor]) -> None:
    signal, length = batch
    preprocessor = AudioToMelSpectrogramPreprocessor(features=32, dither=1e-3)
    train_a, _ = preprocessor(input_signal=signal, length=length)
    train_b, _ = preprocessor(input_signal=signal, length=length)
    assert not torch.equal(train_a, train_b)
    preprocessor.eval()
    eval_a, _ = preprocessor(input_signal=signal, length=length)
    eval_b, _ = preprocessor(input_signal=signal, length=length)
    assert torch.equal(eval_a, eval_b)
    assert torch.equal(signal, batch[0])


def test_ports_types_and_keyword_only_calls(batch: tuple[torch.Tensor, torch.Tensor]) -> None:
    signal, length = batch
    preprocessor = AudioToMelSpectrogramPreprocessor(sample_rate=8000, features=16, dither=0.0).eval()
    assert list(preprocessor.input_types) == ["input_signal", "length"]
    assert list(preprocessor.output_types) == ["processed_signal", "processed_length"]
    assert preprocessor.input_types["input_signal"].elements_type.type_parameters == {"freq": 8000}
    assert isinstance(preprocessor.input_types["length"].elements_type, LengthsType)
    assert isinstance(preprocessor.input_types["input_signal"].elements_type, AudioSignal)

    mel, mel_len = preprocessor(input_signal=signal, length=length)
    assert isinstance(mel.neural_type.elements_type, MelSpectrogramType)
    assert isinstance(mel_len.neural_type.elements_type, LengthsType)
    with pytest.raises(TypeError):
        preprocessor(signal, length)


def test_no_gradients_and_module_dtype(batch: tuple[torch.Tensor, torch.Tensor]) -> None:
    signal, length = batch
    preprocessor = AudioToMelSpectrogramPreprocessor(features=16, dither=0.0).eval()
    needs_grad = signal.clone().requires_grad_(True)
    mel, _ = preprocessor(input_signal=needs_grad, length=length)
    assert not mel.requires_grad

    reference, _ = preprocessor(input_signal=signal, length=length)
    preprocessor.to(torch.bfloat16)
    assert preprocessor.featurizer.fb.dtype == torch.bfloat16
    low_precision, _ = preprocessor(input_signal=signal.to(torch.bfloat16), length=length)
    assert low_precision.dtype == torch.bfloat16
    torch.testing.assert_close(low_precision.float(), reference, atol=0.1, rtol=0.05)


def test_use_grads_lets_gradients_flow(batch: tuple[torch.Tensor, torch.Tensor]) -> None:
    signal, length = batch
    featurizer = FilterbankFeatures(nfilt=16, dither=0.0, use_grads=True)
    needs_grad = signal.clone().requires_grad_(True)
    mel, _ = featurizer(needs_grad, length)
    mel.sum().backward()
    assert needs_grad.grad is not None and torch.isfinite(needs_grad.grad).all()


def test_frame_splicing_stacks_copies_like_nemo(batch: tuple[torch.Tensor, torch.Tensor]) -> None:
    signal, length = batch
    single = FilterbankFeatures(nfilt=16, dither=0.0, normalize=None).eval()
    spliced = FilterbankFeatures(nfilt=16, dither=0.0, normalize=None, frame_splicing=3).eval()
    mel, _ = single(signal, length)
    mel3, _ = spliced(signal, length)
    assert mel3.shape == (3, 48, mel.shape[-1])
    torch.testing.assert_close(mel3, torch.cat([mel, mel, mel], dim=1))


def test_narrowband_augmentation_zeroes_high_bins_in_training(
    batch: tuple[torch.Tensor, torch.Tensor],
) -> None:
    signal, length = batch
    featurizer = FilterbankFeatures(
        n_fft=512, dither=0.0, nb_augmentation_prob=1.0, nb_max_freq=4000, rng=random.Random(0)
    )
    spec, _ = featurizer(signal, length, linear_spec=True)
    cut = int(4000 / 16000 * 512)
    assert spec.shape[1] == 257
    assert torch.all(spec[:, cut:, :] == 0)
    assert torch.all(spec[:, :cut, :].sum(dim=(1, 2)) > 0)
    featurizer.eval()
    spec_eval, _ = featurizer(signal, length, linear_spec=True)
    assert torch.all(spec_eval[:, cut:, :].sum(dim=(1, 2)) > 0)


def test_normalize_batch_per_feature_statistics() -> None:
    generator = torch.Generator().manual_seed(1)
    x = torch.randn(2, 4, 10, generator=generator) * 3 + 1
    seq_len = torch.tensor([10, 6])
    normalized, mean, std = normalize_batch(x, seq_len, "per_feature")
    torch.testing.assert_close(mean[1], x[1, :, :6].mean(dim=1))
    torch.testing.assert_close(std[1], x[1, :, :6].std(dim=1) + 1e-5)
    torch.testing.assert_close(normalized[1], (x[1] - mean[1, :, None]) / std[1, :, None])

    fixed = {"fixed_mean": [1.0, 2.0, 3.0, 4.0], "fixed_std": [2.0, 2.0, 2.0, 2.0]}
    normalized, _, _ = normalize_batch(x, seq_len, fixed)
    torch.testing.assert_close(normalized[:, 2], (x[:, 2] - 3.0) / 2.0)

    with pytest.raises(ValueError, match="length 1"):
        normalize_batch(x, torch.tensor([10, 1]), "per_feature")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"window_size": 0.02, "n_window_size": 320}, "both window_size"),
        ({"window_stride": 0.01, "n_window_stride": 160}, "both window_stride"),
        ({"window": "kaiser"}, "Unknown window"),
        ({"log_zero_guard_type": "floor"}, "log_zero_guard_type"),
        ({"pad_to": -1}, "pad_to"),
        ({"mel_norm": "l2"}, "mel_norm"),
        ({"window_size": None}, "n_window_size"),
    ],
)
def test_config_errors_name_the_key(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        AudioToMelSpectrogramPreprocessor(**kwargs)


def test_too_short_audio_is_explained() -> None:
    preprocessor = AudioToMelSpectrogramPreprocessor(n_fft=512).eval()
    with pytest.raises(ValueError, match="reflect padding of 256"):
        preprocessor(input_signal=torch.zeros(1, 200), length=torch.tensor([200]))


def test_input_example_runs() -> None:
    preprocessor = AudioToMelSpectrogramPreprocessor(features=16).eval()
    signals, lengths = preprocessor.input_example(max_batch=4, max_dim=4000)
    assert signals.shape[0] == lengths.shape[0] and int(lengths[0]) == signals.shape[1]
    mel, mel_len = preprocessor(input_signal=signals, length=lengths)
    assert mel.shape[:2] == (signals.shape[0], 16)
    assert int(mel_len.max()) <= mel.shape[-1]


@pytest.mark.parametrize("log", [True, False], ids=["log-mel", "dB-mel"])
def test_mfcc_matches_torchaudio_and_nemo_state_dict(
    batch: tuple[torch.Tensor, torch.Tensor], log: bool
) -> None:
    signal, length = batch
    preprocessor = AudioToMFCCPreprocessor(
        window_size=0.025, window_stride=0.01, n_mels=40, n_mfcc=13, log=log
    ).eval()
    assert set(preprocessor.state_dict()) == {
        "featurizer.dct_mat",
        "featurizer.MelSpectrogram.spectrogram.window",
        "featurizer.MelSpectrogram.mel_scale.fb",
    }
    mfcc, mfcc_len = preprocessor(input_signal=signal, length=length)
    expected = torchaudio.transforms.MFCC(
        sample_rate=16000, n_mfcc=13, log_mels=log,
        melkwargs={"n_fft": 512, "win_length": 400, "hop_length": 160, "n_mels": 40, "window_fn": torch.hann_window,
                   "f_min": 0.0, "f_max": None},
    )(signal)  # fmt: skip
    torch.testing.assert_close(mfcc, expected)
    assert mfcc_len.tolist() == [math.ceil(n / 160) for n in length.tolist()]
    assert isinstance(mfcc.neural_type.elements_type, MFCCSpectrogramType)
    with pytest.raises(ValueError, match="window"):
        AudioToMFCCPreprocessor(window="kaiser")


def test_mfcc_ports_and_window_keys() -> None:
    preprocessor = AudioToMFCCPreprocessor(
        sample_rate=8000, window_size=None, window_stride=None, n_window_size=200, n_window_stride=80
    )
    assert (preprocessor.win_length, preprocessor.hop_length) == (200, 80)
    assert list(preprocessor.input_types) == ["input_signal", "length"]
    assert preprocessor.input_types["input_signal"].elements_type.type_parameters == {"freq": 8000}
    assert isinstance(preprocessor.output_types["processed_signal"].elements_type, MFCCSpectrogramType)
    assert isinstance(preprocessor.output_types["processed_length"].elements_type, LengthsType)
    with pytest.raises(ValueError, match="AudioToMFCCPreprocessor received both window_stride"):
        AudioToMFCCPreprocessor(window_stride=0.01, n_window_stride=160)


def test_torchscript_export_matches_eager(tmp_path: Path) -> None:
    preprocessor = AudioToMelSpectrogramPreprocessor(features=16, pad_to=0).eval()
    example = (torch.randn(2, 8000), torch.tensor([8000, 5000]))
    preprocessor.export(str(tmp_path / "preprocessor.ts"), input_example=example)
    exported = torch.jit.load(str(tmp_path / "preprocessor.ts"))

    signal, length = torch.randn(3, 12000), torch.tensor([12000, 5000, 7000])
    mel, mel_len = exported(signal, length)
    expected, expected_len = preprocessor(input_signal=signal, length=length)
    assert torch.equal(mel_len, expected_len)
    torch.testing.assert_close(mel, expected)

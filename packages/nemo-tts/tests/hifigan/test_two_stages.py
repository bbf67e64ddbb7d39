"""Griffin-Lim, the mel pseudo-inverse and the two-stage vocoder on real signals, checked against independent
references: torchaudio's slaney filterbank, the spectral convergence of the reconstructed audio, and the pitch of
a sine that goes through mel and back."""

import json
from pathlib import Path

import pytest
import soundfile as sf
import torch
import torchaudio
from nemo.collections.tts.models import GriffinLimModel, MelPsuedoInverseModel, TwoStagesModel

REPO_ROOT = Path(__file__).resolve().parents[4]
ASTERISK = REPO_ROOT / "data" / "asterisk"
N_FFT = 1024
MEL_CFG = {"sampling_rate": 16000, "n_fft": N_FFT, "mel_fmin": 0, "mel_fmax": 8000, "mel_freq": 80}


def magnitudes(audio: torch.Tensor) -> torch.Tensor:
    """|STFT| (B, 513, T) with librosa's defaults (hann 1024, hop 256, centred, zero padding)."""
    window = torch.hann_window(N_FFT)
    return torch.stft(
        audio, N_FFT, N_FFT // 4, window=window, center=True, pad_mode="constant", return_complex=True
    ).abs()


def spectral_convergence(audio: torch.Tensor, target: torch.Tensor) -> float:
    got = magnitudes(audio)[..., : target.shape[-1]]
    return float(torch.linalg.norm(got - target) / torch.linalg.norm(target))


@pytest.fixture(scope="module")
def speech() -> torch.Tensor:
    first = json.loads((ASTERISK / "train_manifest.json").read_text().splitlines()[0])
    audio, rate = sf.read(ASTERISK / first["audio_filepath"], dtype="float32")
    assert rate == 16000
    return torch.from_numpy(audio[: 16000 - 16000 % 256]).unsqueeze(0)


def test_griffin_lim_reconstructs_speech_magnitudes(speech: torch.Tensor) -> None:
    target = magnitudes(speech)
    torch.manual_seed(0)
    vocoder = GriffinLimModel({"n_iters": 32, "n_fft": N_FFT, "l_hop": N_FFT // 4})
    audio = vocoder.convert_spectrogram_to_audio(spec=target)
    assert audio.shape == (1, (target.shape[-1] - 1) * 256)
    torch.manual_seed(0)
    random_phase = GriffinLimModel({"n_iters": 0, "n_fft": N_FFT, "l_hop": N_FFT // 4})
    start = spectral_convergence(random_phase.convert_spectrogram_to_audio(spec=target), target)
    end = spectral_convergence(audio, target)
    assert end < 0.25 and end < start / 2


def test_griffin_lim_handles_items_of_different_lengths(speech: torch.Tensor) -> None:
    target = magnitudes(torch.cat([speech, speech]))
    frames = target.shape[-1]
    vocoder = GriffinLimModel({"n_iters": 4, "n_fft": N_FFT, "l_hop": N_FFT // 4})
    audio = vocoder.convert_spectrogram_to_audio(spec=target, Ts=[frames, frames - 20])
    assert audio.shape == (2, (frames - 1) * 256)
    assert torch.all(audio[1, (frames - 21) * 256 :] == 0) and audio[1].abs().sum() > 0


def test_mel_pseudo_inverse_is_the_transposed_slaney_filterbank() -> None:
    model = MelPsuedoInverseModel(MEL_CFG)
    reference = torchaudio.functional.melscale_fbanks(
        513, 0.0, 8000.0, 80, 16000, norm="slaney", mel_scale="slaney"
    )
    torch.testing.assert_close(model.mel_pseudo_inverse, reference.T, atol=1e-6, rtol=1e-4)
    mel = torch.rand(2, 80, 7)
    linear = model.convert_mel_spectrogram_to_linear(mel)
    assert linear.shape == (2, 513, 7)
    torch.testing.assert_close(linear, torch.einsum("bmt,fm->bft", mel, reference), atol=1e-5, rtol=1e-4)
    assert "mel_pseudo_inverse" not in model.state_dict()


def test_two_stages_keeps_the_pitch_of_a_sine() -> None:
    time = torch.arange(16000) / 16000
    sine = 0.5 * torch.sin(2 * torch.pi * 440.0 * time).unsqueeze(0)
    mel = torch.einsum("bft,fm->bmt", magnitudes(sine), MelPsuedoInverseModel(MEL_CFG).mel_pseudo_inverse.T)
    model = TwoStagesModel(
        {
            "mel2spec": {
                "_target_": "nemo.collections.tts.models.two_stages.MelPsuedoInverseModel",
                "cfg": MEL_CFG,
            },
            "linvocoder": {
                "_target_": "nemo.collections.tts.models.two_stages.GriffinLimModel",
                "cfg": {"n_iters": 16, "n_fft": N_FFT, "l_hop": 256},
            },
        }
    )
    torch.manual_seed(0)
    audio = model.convert_spectrogram_to_audio(spec=torch.log(mel.clamp_min(1e-5)))
    assert audio.shape == (1, (mel.shape[-1] - 1) * 256)
    spectrum = torch.fft.rfft(audio[0] * torch.hann_window(audio.shape[-1]))
    peak_hz = float(spectrum.abs().argmax()) * 16000 / audio.shape[-1]
    assert abs(peak_hz - 440.0) < 16000 / N_FFT


def test_two_stages_without_stages_says_what_to_set() -> None:
    model = TwoStagesModel({"mel2spec": {}, "linvocoder": {}})
    with pytest.raises(ValueError, match="set_mel_to_spec_model"):
        model.convert_spectrogram_to_audio(spec=torch.zeros(1, 80, 3))
    model.set_mel_to_spec_model(MelPsuedoInverseModel(MEL_CFG))
    model.set_linear_vocoder(GriffinLimModel({"n_iters": 1, "n_fft": N_FFT, "l_hop": 256}))
    assert model.convert_spectrogram_to_audio(spec=torch.zeros(1, 80, 3)).shape == (1, 512)


def test_griffin_lim_equals_the_torch_istft_loop_it_replaces(speech: torch.Tensor) -> None:
    """The framed STFT / overlap-add loop gives what NeMo's torch.stft / torch.istft loop gives."""
    from nemo.collections.tts.models.two_stages import griffin_lim

    target = magnitudes(torch.cat([speech, 0.5 * speech]))
    window = torch.hann_window(N_FFT)
    stft = {"n_fft": N_FFT, "hop_length": 256, "win_length": N_FFT, "window": window, "center": True}
    angles = torch.rand(target.shape, generator=torch.Generator().manual_seed(3)) * (2 * torch.pi)
    signal = torch.istft(target * torch.polar(torch.ones_like(angles), angles), **stft)
    for _ in range(6):
        spectrum = torch.stft(signal, pad_mode="constant", return_complex=True, **stft)
        signal = torch.istft(target * spectrum / spectrum.abs(), **stft)

    ours = griffin_lim(target, n_iters=6, n_fft=N_FFT, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(ours, signal, atol=2e-5, rtol=1e-4)


def test_griffin_lim_momentum_converges_faster(speech: torch.Tensor) -> None:
    from nemo.collections.tts.models.two_stages import griffin_lim

    target = magnitudes(speech)
    plain = griffin_lim(target, n_iters=16, generator=torch.Generator().manual_seed(0))
    fast = griffin_lim(target, n_iters=16, generator=torch.Generator().manual_seed(0), momentum=0.99)
    assert spectral_convergence(fast, target) < 0.8 * spectral_convergence(plain, target)
    with pytest.raises(ValueError, match="momentum must be in"):
        griffin_lim(target, n_iters=1, momentum=1.0)


def test_mel_pinv_inverse_keeps_the_level_and_the_mel(speech: torch.Tensor) -> None:
    """pinv: the linear magnitudes it gives map back to (nearly) the same mel, at the audio's own level."""
    target = magnitudes(speech)
    forward = MelPsuedoInverseModel(MEL_CFG).mel_pseudo_inverse  # (80, 513): the slaney filterbank
    mel = torch.einsum("bft,mf->bmt", target, forward)
    pinv = MelPsuedoInverseModel({**MEL_CFG, "inverse": "pinv"})
    linear = pinv.convert_mel_spectrogram_to_linear(mel)
    assert float(linear.min()) >= 0.0
    back = torch.einsum("bft,mf->bmt", linear, forward)
    assert float(torch.linalg.norm(back - mel) / torch.linalg.norm(mel)) < 0.1  # 0 but for the clamp at 0
    # NeMo's transpose scales magnitudes down by orders of magnitude; pinv stays within 3x of the truth.
    transpose = MelPsuedoInverseModel(MEL_CFG).convert_mel_spectrogram_to_linear(mel)
    assert float(transpose.mean() / target.mean()) < 0.01
    assert 1 / 3 < float(linear.mean() / target.mean()) < 3
    with pytest.raises(ValueError, match="inverse='lstsq'"):
        MelPsuedoInverseModel({**MEL_CFG, "inverse": "lstsq"})

"""AudioToSpectrogram / SpectrogramToAudio against a numpy STFT and perfect reconstruction."""

import numpy as np
import pytest
import torch
from nemo.collections.asr.modules import AudioToSpectrogram, SpectrogramToAudio


def _numpy_stft(x: np.ndarray, fft_length: int, hop_length: int) -> np.ndarray:
    """Centred frames (zero padding of fft_length // 2), periodic Hann window, rfft: (F, N)."""
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(fft_length) / fft_length)
    padded = np.pad(x, fft_length // 2)
    starts = range(0, len(padded) - fft_length + 1, hop_length)
    return np.stack([np.fft.rfft(window * padded[s : s + fft_length]) for s in starts], axis=-1)


def test_spectrogram_matches_numpy_stft_and_masks_padding():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 3, 200)).astype(np.float32)
    module = AudioToSpectrogram(fft_length=32, hop_length=12)
    assert module.num_subbands == 17
    spec, spec_len = module(input=torch.from_numpy(x))
    assert spec.shape == (2, 3, 17, 200 // 12 + 1) and spec.dtype == torch.complex64
    assert spec_len.tolist() == [17, 17]
    np.testing.assert_allclose(spec[1, 2].numpy(), _numpy_stft(x[1, 2], 32, 12), atol=1e-4)

    lengths = torch.tensor([200, 100])
    masked, masked_len = module(input=torch.from_numpy(x), input_length=lengths)
    assert masked_len.tolist() == [17, 100 // 12 + 1]
    assert torch.all(masked[1, ..., masked_len[1] :] == 0)
    torch.testing.assert_close(masked[1, ..., : masked_len[1]], spec[1, ..., : masked_len[1]])


@pytest.mark.parametrize("hop_length", [16, 8])
def test_synthesis_inverts_analysis(hop_length):
    x = torch.randn(2, 2, 64 * 10)
    analysis = AudioToSpectrogram(fft_length=64, hop_length=hop_length)
    synthesis = SpectrogramToAudio(fft_length=64, hop_length=hop_length)
    spec, spec_len = analysis(input=x)
    y, y_len = synthesis(input=spec, input_length=spec_len)
    assert y_len.tolist() == [(spec.shape[-1] - 1) * hop_length] * 2
    torch.testing.assert_close(y, x[..., : y.shape[-1]], atol=1e-5, rtol=1e-5)
    short, short_len = synthesis(input=spec, input_length=torch.tensor([spec_len[0], 5]))
    assert short_len.tolist() == [y_len[0], 4 * hop_length]
    assert torch.all(short[1, :, 4 * hop_length :] == 0)


def test_state_dict_keys_and_argument_errors():
    # NeMo 1.23 checkpoints hold the windows under these keys.
    assert list(AudioToSpectrogram(fft_length=8, hop_length=4).state_dict()) == ["stft.window"]
    assert list(SpectrogramToAudio(fft_length=8, hop_length=4).state_dict()) == ["istft.window"]
    with pytest.raises(ValueError, match="even fft_length"):
        AudioToSpectrogram(fft_length=7, hop_length=2)
    with pytest.raises(ValueError, match="expects 5 subbands"):
        SpectrogramToAudio(fft_length=8, hop_length=4)(input=torch.zeros(1, 1, 6, 3, dtype=torch.complex64))
    magnitude, _ = AudioToSpectrogram(fft_length=8, hop_length=4, power=2.0)(input=torch.ones(1, 1, 16))
    assert not magnitude.is_complex()

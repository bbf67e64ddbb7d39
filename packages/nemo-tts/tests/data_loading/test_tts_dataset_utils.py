import numpy as np
import pytest
import torch
from nemo.collections.tts.parts.utils.tts_dataset_utils import (
    BetaBinomialInterpolator,
    beta_binomial_prior_distribution,
    general_padding,
    get_base_dir,
    stack_tensors,
)


@pytest.mark.parametrize("text_len, mel_len", [(1, 5), (7, 23), (12, 40), (30, 31)])
def test_beta_binomial_prior_equals_nemo(nemo_reference, text_len, mel_len):
    prior = beta_binomial_prior_distribution(text_len, mel_len)
    assert prior.dtype == np.float32 and prior.shape == (mel_len, text_len)
    torch.testing.assert_close(
        torch.from_numpy(prior), nemo_reference[f"prior_{text_len}_{mel_len}"], rtol=1e-6, atol=1e-7
    )
    np.testing.assert_allclose(prior.sum(axis=1), 1.0, rtol=1e-5)


def test_beta_binomial_prior_row_is_the_beta_binomial_pmf():
    """Independent check: frame j of 4 over 3 tokens is BetaBinom(n=2, a=j, b=5-j), by its closed form."""
    from math import comb, gamma

    def pmf(k, n, a, b):
        beta = lambda x, y: gamma(x) * gamma(y) / gamma(x + y)  # noqa: E731
        return comb(n, k) * beta(k + a, n - k + b) / beta(a, b)

    expected = [[pmf(k, 2, j, 5 - j) for k in range(3)] for j in range(1, 5)]
    np.testing.assert_allclose(beta_binomial_prior_distribution(3, 4), expected, rtol=1e-5)


@pytest.mark.parametrize("mel_len, text_len", [(57, 13), (123, 31), (3, 2), (200, 9)])
def test_interpolator_equals_nemo(nemo_reference, mel_len, text_len):
    prior = BetaBinomialInterpolator()(mel_len, text_len)
    assert prior.shape == (mel_len, text_len)
    torch.testing.assert_close(
        torch.from_numpy(prior), nemo_reference[f"interp_{mel_len}_{text_len}"], rtol=1e-6, atol=1e-7
    )


def test_padding_helpers():
    padded = general_padding(torch.tensor([1, 2]), 2, 4, pad_value=9)
    assert padded.tolist() == [1, 2, 9, 9]
    stacked = stack_tensors([torch.ones(2, 3), torch.ones(1, 2)], max_lens=[4, 2], pad_value=-1)
    assert stacked.shape == (2, 2, 4)
    assert stacked[1].tolist() == [[1, 1, -1, -1], [-1, -1, -1, -1]]


def test_base_dir_is_the_common_folder(tmp_path):
    paths = [tmp_path / "a" / "x" / "1.wav", tmp_path / "a" / "y" / "2.wav", tmp_path / "a" / "3.wav"]
    assert get_base_dir(paths) == tmp_path / "a"
    assert get_base_dir([tmp_path / "b" / "1.wav"]) == tmp_path / "b"
    assert get_base_dir([tmp_path / "ab" / "1.wav", tmp_path / "a" / "2.wav"]) == tmp_path


def test_load_and_sample_audio_read_the_entrys_window(tmp_path, write_wav):
    from nemo.collections.tts.parts.utils.tts_dataset_utils import load_audio, sample_audio

    write_wav(tmp_path / "w" / "a.wav", (np.arange(16000) / 32768).astype(np.float32), 16000)
    entry = {"audio_filepath": "w/a.wav", "offset": 0.25, "duration": 0.5}
    audio, absolute, relative = load_audio(entry, tmp_path, 16000)
    assert (absolute, str(relative)) == (tmp_path / "w" / "a.wav", "w/a.wav")
    np.testing.assert_allclose(audio, np.arange(4000, 12000) / 32768, atol=1e-7)
    segment, _, _ = sample_audio(entry, tmp_path, 16000, n_samples=1000)
    start = int(round(segment[0] * 32768))
    assert segment.shape == (1000,) and 4000 <= start <= 11000
    np.testing.assert_allclose(segment, np.arange(start, start + 1000) / 32768, atol=1e-7)

"""bench_tts_fastpitch's alignment prior against closed forms of the beta-binomial distribution."""

import torch
from bench_tts_fastpitch import beta_binomial_prior


def test_one_frame_spreads_evenly_over_the_tokens() -> None:
    # alpha = beta = 1: the beta-binomial is uniform over its n + 1 outcomes.
    prior = beta_binomial_prior(torch.tensor([5]), torch.tensor([1]))
    torch.testing.assert_close(prior, torch.full((1, 1, 5), 0.2))


def test_each_frame_is_a_distribution_centred_on_its_place_and_padding_stays_zero() -> None:
    prior = beta_binomial_prior(torch.tensor([7, 4]), torch.tensor([12, 9]))
    assert prior.shape == (2, 12, 7)
    torch.testing.assert_close(prior[0].sum(1), torch.ones(12))
    torch.testing.assert_close(prior[1, :9].sum(1), torch.ones(9))
    assert prior[1, 9:].abs().sum() == 0 and prior[1, :, 4:].abs().sum() == 0
    # Mean of BetaBinomial(n, a, b) is n * a / (a + b); frame t has a = t + 1, b = frames - t.
    for item, (tokens, frames) in enumerate([(7, 12), (4, 9)]):
        t = torch.arange(frames, dtype=torch.float32)
        expected = (tokens - 1) * (t + 1) / (frames + 1)
        mean = (prior[item, :frames, :tokens] * torch.arange(tokens)).sum(1)
        torch.testing.assert_close(mean, expected)

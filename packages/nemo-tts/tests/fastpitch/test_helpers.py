"""The tensor helpers against independent references: brute-force alignment search, a per-item loop for
length regulation and per-token averaging."""

import itertools

import numpy as np
import pytest
import torch
from nemo.collections.tts.parts.utils.helpers import (
    average_features,
    b_mas,
    binarize_attention_parallel,
    get_mask_from_lengths,
    regulate_len,
)


def _monotonic_paths(n_frames: int, n_tokens: int):
    """Every path from (0, 0) to (n_frames - 1, n_tokens - 1) advancing 0 or 1 token per frame."""
    for steps in itertools.combinations(range(1, n_frames), n_tokens - 1):
        path, token = [], 0
        for frame in range(n_frames):
            if frame in steps:
                token += 1
            path.append(token)
        yield path


def _best_path_score(log_map: np.ndarray) -> float:
    n_frames, n_tokens = log_map.shape
    return max(
        sum(log_map[frame, token] for frame, token in enumerate(path))
        for path in _monotonic_paths(n_frames, n_tokens)
    )


@pytest.mark.parametrize("seed", range(6))
def test_mas_finds_the_best_monotonic_path_per_item(seed):
    rng = np.random.default_rng(seed)
    in_lens = np.array([3, 5, 2])
    out_lens = np.array([7, 6, 4])
    log_map = np.log(rng.dirichlet(np.ones(5), size=(3, 1, 7))).astype(np.float32)
    hard = b_mas(log_map, in_lens, out_lens)
    assert hard.shape == log_map.shape
    for b in range(3):
        n_frames, n_tokens = out_lens[b], in_lens[b]
        item = hard[b, 0]
        assert item[n_frames:].sum() == 0 and item[:, n_tokens:].sum() == 0
        assert (item[:n_frames].sum(axis=1) == 1).all(), "one token per frame"
        tokens = item[:n_frames].argmax(axis=1)
        assert tokens[0] == 0 and tokens[-1] == n_tokens - 1
        assert set(np.diff(tokens)) <= {0, 1}
        score = log_map[b, 0, np.arange(n_frames), tokens].sum()
        assert score == pytest.approx(_best_path_score(log_map[b, 0, :n_frames, :n_tokens]), abs=1e-5)


def test_mas_breaks_ties_towards_the_earlier_token():
    # All paths score the same. Backtracking from the last frame, NeMo 1.23 steps back to the earlier token
    # whenever it scores at least as well, so later tokens get as few frames as possible (NeMo 1.23's
    # b_mas returns [0, 0, 0, 1] and [0, 0, 0, 1, 2] for these maps).
    hard = b_mas(np.zeros((1, 1, 4, 2), dtype=np.float32), np.array([2]), np.array([4]))
    assert hard[0, 0].argmax(axis=1).tolist() == [0, 0, 0, 1]
    hard = b_mas(np.zeros((1, 1, 5, 3), dtype=np.float32), np.array([3]), np.array([5]))
    assert hard[0, 0].argmax(axis=1).tolist() == [0, 0, 0, 1, 2]


def test_binarize_attention_parallel_returns_tensor_on_input_device():
    attn = torch.softmax(torch.randn(2, 1, 6, 4), dim=3)
    hard = binarize_attention_parallel(attn, torch.tensor([4, 3]), torch.tensor([6, 5]))
    assert hard.dtype == attn.dtype and hard.device == attn.device
    assert hard.sum().item() == 11


def _regulate_reference(durations, enc_out, pace):
    reps = torch.floor(durations.float() / pace + 0.5).long()
    rows = [torch.repeat_interleave(enc_out[b], reps[b], dim=0) for b in range(enc_out.shape[0])]
    out = torch.nn.utils.rnn.pad_sequence(rows, batch_first=True)
    return out, reps.sum(dim=1)


@pytest.mark.parametrize("pace", [1.0, 1.3, 0.7])
def test_regulate_len_repeats_each_token_for_its_rounded_duration(pace):
    torch.manual_seed(0)
    durations = torch.rand(3, 5) * 4
    durations[1, 3:] = 0
    enc_out = torch.randn(3, 5, 8)
    found, lens = regulate_len(durations, enc_out, pace)
    expected, expected_lens = _regulate_reference(durations, enc_out, pace)
    assert torch.equal(lens, expected_lens)
    assert torch.equal(found, expected)


def test_regulate_len_rounds_half_up():
    enc_out = torch.ones(1, 2, 1)
    _, lens = regulate_len(torch.tensor([[0.5, 2.5]]), enc_out)
    assert lens.tolist() == [1 + 3]
    _, lens = regulate_len(torch.tensor([[1.4999, 3.0]]), enc_out, pace=2.0)
    assert lens.tolist() == [1 + 2]


def test_regulate_len_group_size_adjusts_the_last_token():
    # NeMo 1.23 moves the length to group_size * ((length + 1) // group_size) by changing the last token:
    # 7 frames become 8, 5 frames become 4 (values from NeMo's regulate_len).
    enc_out = torch.arange(3.0).view(1, 3, 1)
    found, lens = regulate_len(
        torch.tensor([[1.0, 2.0, 4.0]]), enc_out, group_size=4, dur_lens=torch.tensor([3])
    )
    assert lens.tolist() == [8]
    assert found[0, :, 0].tolist() == [0, 1, 1, 2, 2, 2, 2, 2]
    found, lens = regulate_len(
        torch.tensor([[1.0, 2.0, 2.0]]), enc_out, group_size=4, dur_lens=torch.tensor([3])
    )
    assert lens.tolist() == [4]
    assert found[0, :, 0].tolist() == [0, 1, 1, 2]


def test_average_features_ignores_zero_frames():
    pitch = torch.tensor([[[1.0, 3.0, 0.0, 4.0, 0.0, 0.0, 7.0]]])
    durs = torch.tensor([[2, 3, 1, 1]])
    found = average_features(pitch, durs)
    expected = torch.tensor([[[2.0, 4.0, 0.0, 7.0]]])
    assert torch.equal(found, expected)


def test_get_mask_from_lengths():
    mask = get_mask_from_lengths(torch.tensor([1, 3]))
    assert mask.tolist() == [[True, False, False], [True, True, True]]
    assert get_mask_from_lengths(torch.tensor([1]), x=torch.zeros(2, 4)).shape == (1, 4)

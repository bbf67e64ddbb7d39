"""BatchedHyps / BatchedAlignments (NeMo 1.23's batched greedy storage) and their conversion to Hypothesis."""

import pytest
import torch
from nemo.collections.asr.parts.utils.rnnt_utils import (
    BatchedAlignments,
    BatchedHyps,
    batched_hyps_to_hypotheses,
)


def test_storage_grows_and_converts():
    hyps = BatchedHyps(batch_size=2, init_length=1)
    alignments = BatchedAlignments(batch_size=2, logits_dim=3, init_length=1, store_frame_confidence=True)
    logits = torch.arange(12, dtype=torch.float32).view(4, 3)
    # frame 0: utterance 0 emits 1 then blank (2); utterance 1 blank. frame 1: utterance 1 emits 0 then blank.
    hyps.add_results_(torch.tensor([0]), torch.tensor([1]), torch.tensor([0]), torch.tensor([-0.5]))
    alignments.add_results_(
        torch.tensor([0, 1]), torch.tensor([0, 0]), logits[:2], torch.tensor([1, 2]), torch.tensor([0.9, 0.8])
    )
    alignments.add_results_(
        torch.tensor([0]), torch.tensor([0]), logits[2:3], torch.tensor([2]), torch.tensor([0.7])
    )
    hyps.add_results_(torch.tensor([1]), torch.tensor([0]), torch.tensor([1]), torch.tensor([-0.25]))
    alignments.add_results_(
        torch.tensor([1]), torch.tensor([1]), logits[3:], torch.tensor([0]), torch.tensor([0.6])
    )
    alignments.add_results_(
        torch.tensor([1]), torch.tensor([1]), logits[3:], torch.tensor([2]), torch.tensor([0.5])
    )
    assert alignments.current_lengths.tolist() == [2, 3]
    first, second = batched_hyps_to_hypotheses(hyps, alignments)
    assert (first.y_sequence.tolist(), first.timestep.tolist(), first.score) == ([1], [0], -0.5)
    assert (second.y_sequence.tolist(), second.timestep.tolist(), second.score) == ([0], [1], -0.25)
    assert [[int(label) for _, label in frame] for frame in first.alignments] == [[1, 2]]
    assert [[int(label) for _, label in frame] for frame in second.alignments] == [[2], [0, 2]]
    assert second.frame_confidence == [[pytest.approx(0.8)], [pytest.approx(0.6), pytest.approx(0.5)]]
    assert torch.equal(first.alignments[0][1][0], logits[2])


def test_same_frame_counter():
    hyps = BatchedHyps(batch_size=1, init_length=2)
    for frame in (3, 3, 4):
        hyps.add_results_(torch.tensor([0]), torch.tensor([5]), torch.tensor([frame]), torch.tensor([0.0]))
    assert hyps.last_timestep.tolist() == [4] and hyps.last_timestep_lasts.tolist() == [1]
    assert hyps.transcript.shape[1] == 4  # doubled once


@pytest.mark.parametrize(("batch_size", "init_length"), [(0, 1), (1, 0)])
def test_sizes_must_be_positive(batch_size, init_length):
    with pytest.raises(ValueError, match="must be > 0"):
        BatchedHyps(batch_size=batch_size, init_length=init_length)

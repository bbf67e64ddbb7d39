"""sort_tensor / unsort_tensor / mask_sequence_tensor (nemo.collections.tts.parts.utils.helpers)."""

import pytest
import torch
from nemo.collections.tts.parts.utils.helpers import mask_sequence_tensor, sort_tensor, unsort_tensor


def test_sort_orders_by_length_and_unsort_restores():
    lengths = torch.tensor([3, 7, 1, 5])
    context = torch.arange(4 * 2 * 3).view(4, 2, 3)
    ordered, sorted_lengths, order = sort_tensor(context, lengths)
    assert sorted_lengths.tolist() == [7, 5, 3, 1]
    assert order.tolist() == [1, 3, 0, 2]
    assert torch.equal(ordered, context[[1, 3, 0, 2]])
    assert torch.equal(unsort_tensor(ordered, order), context)


def test_sort_along_another_dim_ascending():
    context = torch.arange(6).view(2, 3)
    ordered, sorted_lengths, order = sort_tensor(context, torch.tensor([5, 2, 9]), dim=1, descending=False)
    assert sorted_lengths.tolist() == [2, 5, 9]
    assert ordered.tolist() == [[1, 0, 2], [4, 3, 5]]
    assert torch.equal(unsort_tensor(ordered, order, dim=1), context)


@pytest.mark.parametrize("shape", [(2, 5), (2, 3, 5), (2, 3, 4, 5)])
def test_mask_sequence_tensor_zeroes_past_length(shape):
    x = torch.ones(shape)
    out = mask_sequence_tensor(x, torch.tensor([5, 2]))
    assert torch.all(out[0] == 1)
    assert torch.all(out[1, ..., :2] == 1) and torch.all(out[1, ..., 2:] == 0)


def test_mask_sequence_tensor_rejects_other_ranks():
    with pytest.raises(ValueError, match="mask_sequence_tensor"):
        mask_sequence_tensor(torch.ones(5), torch.tensor([2]))

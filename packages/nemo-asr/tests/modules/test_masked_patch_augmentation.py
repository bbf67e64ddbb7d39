"""MaskedPatchAugmentation: whole time patches zeroed, the same count per item, inside each item's length."""

import pytest
import torch
from nemo.collections.asr.modules import MaskedPatchAugmentation


def _zeroed_patches(augmented: torch.Tensor, patch_size: int) -> list[list[int]]:
    """Per item, the patch indices whose frames are all zero (every frequency row)."""
    zero_frames = (augmented == 0).all(dim=1)  # (B, T)
    result = []
    for row in zero_frames:
        frames = row.nonzero().flatten().tolist()
        patches = sorted({frame // patch_size for frame in frames})
        # Zeroed frames come in whole patches.
        assert len(frames) == len(patches) * patch_size
        result.append(patches)
    return result


def test_counted_patches_are_zeroed_inside_each_items_whole_patches():
    torch.manual_seed(0)
    module = MaskedPatchAugmentation(patch_size=4, mask_patches=2)
    spec = torch.rand(3, 5, 20) + 1.0
    lengths = torch.tensor([20, 13, 9])
    augmented = module(input_spec=spec, length=lengths)
    for patches, length in zip(_zeroed_patches(augmented, 4), lengths.tolist()):
        assert len(patches) == 2
        assert all(patch < length // 4 for patch in patches)
    kept = augmented != 0
    assert torch.equal(augmented[kept], spec[kept])  # the rest is untouched
    assert (spec != 0).all()  # input not modified in place


def test_fraction_rounds_up_to_whole_patches_and_is_capped_by_the_shortest_item():
    torch.manual_seed(1)
    spec = torch.ones(2, 3, 40)
    # 0.5 of the shortest item's 20 frames = 10 frames -> 3 patches of 4.
    fraction = MaskedPatchAugmentation(patch_size=4, mask_patches=0.5)
    zeroed = _zeroed_patches(fraction(input_spec=spec, length=torch.tensor([40, 20])), 4)
    assert [len(patches) for patches in zeroed] == [3, 3]
    # 10 patches asked, but a 9-frame item has only 2 whole patches of 4.
    capped = MaskedPatchAugmentation(patch_size=4, mask_patches=10)
    zeroed = _zeroed_patches(capped(input_spec=spec, length=torch.tensor([40, 9])), 4)
    assert [len(patches) for patches in zeroed] == [2, 2]


def test_eval_mode_is_the_identity_and_negative_counts_are_refused():
    module = MaskedPatchAugmentation(patch_size=2, mask_patches=3, freq_masks=1, freq_width=2).eval()
    spec = torch.rand(2, 4, 10)
    assert torch.equal(module(input_spec=spec, length=torch.tensor([10, 8])), spec)
    with pytest.raises(ValueError, match="mask_patches"):
        MaskedPatchAugmentation(mask_patches=-1)

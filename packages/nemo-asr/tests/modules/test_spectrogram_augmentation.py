"""SpectrogramAugmentation (SpecAugment masks, SpecCutout rectangles): bounds, counts, lengths, modes, seeding."""

from __future__ import annotations

import random

import pytest
import torch
from nemo.collections.asr.modules.audio_preprocessing import SpectrogramAugmentation
from nemo.collections.asr.parts.submodules.spectr_augment import SpecAugment, SpecCutout, uniform_integers
from nemo.core.neural_types import SpectrogramType

BATCH, FREQ, TIME = 6, 40, 120
LENGTHS = torch.tensor([120, 100, 77, 50, 31, 8])


def _masked(augmented: torch.Tensor, mask_value: float) -> torch.Tensor:
    """Cells of an all-ones spectrogram that the augmentation overwrote."""
    return augmented == mask_value


def _runs(flags: list[bool]) -> list[tuple[int, int]]:
    """Contiguous [start, end) runs of True."""
    runs, start = [], None
    for index, flag in enumerate([*flags, False]):
        if flag and start is None:
            start = index
        elif not flag and start is not None:
            runs.append((start, index))
            start = None
    return runs


def _ones() -> torch.Tensor:
    return torch.ones(BATCH, FREQ, TIME)


def test_frequency_masks_cover_whole_rows_within_bounds() -> None:
    augment = SpectrogramAugmentation(freq_masks=2, freq_width=7, mask_value=-1.0, rng=0)
    masked_any = False
    for _ in range(20):
        masked = _masked(augment(input_spec=_ones(), length=LENGTHS), -1.0)
        rows = masked.any(dim=2)
        assert torch.equal(masked, rows.unsqueeze(2).expand_as(masked)), (
            "a frequency mask must span all frames"
        )
        for item in range(BATCH):
            bands = _runs(rows[item].tolist())
            assert len(bands) <= 2
            assert int(rows[item].sum()) <= 2 * 7
            assert all(end - start <= 14 for start, end in bands)
        masked_any |= bool(rows.any())
    assert masked_any


@pytest.mark.parametrize("time_width", [10, 0.2])
def test_time_masks_respect_lengths_and_widths(time_width: int | float) -> None:
    augment = SpectrogramAugmentation(time_masks=3, time_width=time_width, mask_value=-1.0, rng=1)
    masked_any = False
    for _ in range(20):
        masked = _masked(augment(input_spec=_ones(), length=LENGTHS), -1.0)
        columns = masked.any(dim=1)
        assert torch.equal(masked, columns.unsqueeze(1).expand_as(masked)), "a time mask must span all bins"
        for item, length in enumerate(LENGTHS.tolist()):
            assert not columns[item, length:].any(), "padded frames must not be masked"
            max_width = time_width if isinstance(time_width, int) else max(1, int(length * time_width))
            assert int(columns[item].sum()) <= 3 * max_width
            assert len(_runs(columns[item].tolist())) <= 3
        masked_any |= bool(columns.any())
    assert masked_any


def test_rectangles_are_zeroed_within_bounds() -> None:
    augment = SpectrogramAugmentation(rect_masks=3, rect_time=6, rect_freq=9, rng=2)
    masked_any = False
    for _ in range(20):
        masked = _masked(augment(input_spec=_ones(), length=LENGTHS), 0.0)
        for item in range(BATCH):
            assert int(masked[item].sum()) <= 3 * 6 * 9
            assert int(masked[item].any(dim=1).sum()) <= 3 * 9
            assert int(masked[item].any(dim=0).sum()) <= 3 * 6
        masked_any |= bool(masked.any())
    assert masked_any


def test_spec_cutout_rectangle_matches_its_footprint() -> None:
    cutout = SpecCutout(rect_masks=1, rect_time=5, rect_freq=20, rng=3)
    for _ in range(10):
        masked = cutout(input_spec=_ones()) == 0.0
        for item in range(BATCH):
            rows = masked[item].any(dim=1)
            columns = masked[item].any(dim=0)
            assert int(masked[item].sum()) == int(rows.sum()) * int(columns.sum()), "one rectangle per item"


def test_eval_mode_is_identity() -> None:
    augment = SpectrogramAugmentation(
        freq_masks=2, time_masks=2, rect_masks=2, freq_width=5, time_width=5
    ).eval()
    spec = torch.randn(BATCH, FREQ, TIME)
    assert torch.equal(augment(input_spec=spec, length=LENGTHS), spec)


def test_disabled_augmentation_is_identity_in_training() -> None:
    spec = torch.randn(BATCH, FREQ, TIME)
    assert torch.equal(SpectrogramAugmentation()(input_spec=spec, length=LENGTHS), spec)


def test_input_is_not_modified() -> None:
    spec = torch.randn(BATCH, FREQ, TIME)
    original = spec.clone()
    SpectrogramAugmentation(freq_masks=2, time_masks=2, rect_masks=2, time_width=5)(
        input_spec=spec, length=LENGTHS
    )
    assert torch.equal(spec, original)


def test_seeded_rng_is_reproducible() -> None:
    kwargs = {"freq_masks": 2, "time_masks": 4, "time_width": 0.1, "rect_masks": 2}
    spec = torch.randn(BATCH, FREQ, TIME)
    first = SpectrogramAugmentation(**kwargs, rng=random.Random(7))
    second = SpectrogramAugmentation(**kwargs, rng=random.Random(7))
    outputs_first = [first(input_spec=spec, length=LENGTHS) for _ in range(3)]
    outputs_second = [second(input_spec=spec, length=LENGTHS) for _ in range(3)]
    for a, b in zip(outputs_first, outputs_second):
        assert torch.equal(a, b)
    assert not torch.equal(outputs_first[0], outputs_first[1])
    other = SpectrogramAugmentation(**kwargs, rng=random.Random(8))(input_spec=spec, length=LENGTHS)
    assert not torch.equal(other, outputs_first[0])


def test_global_torch_seed_reproduces_unseeded_masks() -> None:
    augment = SpectrogramAugmentation(freq_masks=2, time_masks=2, time_width=5)
    spec = torch.randn(BATCH, FREQ, TIME)
    torch.manual_seed(11)
    first = augment(input_spec=spec, length=LENGTHS)
    torch.manual_seed(11)
    second = augment(input_spec=spec, length=LENGTHS)
    assert torch.equal(first, second)


def test_uniform_integers_cover_inclusive_range() -> None:
    generator = torch.Generator().manual_seed(0)
    high = torch.tensor([[0], [3], [9]])
    draws = uniform_integers(high, (3, 4000), generator)
    assert draws[0].unique().tolist() == [0]
    assert draws[1].unique().tolist() == [0, 1, 2, 3]
    assert draws[2].unique().tolist() == list(range(10))


def test_ports_and_output_type() -> None:
    augment = SpectrogramAugmentation(freq_masks=1, freq_width=3)
    assert list(augment.input_types) == ["input_spec", "length"]
    assert list(augment.output_types) == ["augmented_spec"]
    out = augment(input_spec=torch.randn(2, 8, 10), length=torch.tensor([10, 4]))
    assert isinstance(out.neural_type.elements_type, SpectrogramType)
    with pytest.raises(TypeError):
        augment(torch.randn(2, 8, 10), torch.tensor([10, 4]))


@pytest.mark.parametrize(
    ("module", "message"),
    [
        (SpecAugment(freq_masks=1, freq_width=50), "freq_width=50"),
        (SpecCutout(rect_masks=1, rect_freq=50), "rect_freq"),
    ],
)
def test_masks_wider_than_the_spectrogram_are_explained(module: torch.nn.Module, message: str) -> None:
    spec = torch.randn(2, FREQ, TIME)
    kwargs = {"length": torch.tensor([TIME, TIME])} if isinstance(module, SpecAugment) else {}
    with pytest.raises(ValueError, match=message):
        module(input_spec=spec, **kwargs)


def test_invalid_arguments_are_explained() -> None:
    with pytest.raises(ValueError, match="time_width"):
        SpecAugment(time_masks=1, time_width=1.5)
    with pytest.raises(TypeError, match="rng"):
        SpecAugment(rng="seed")

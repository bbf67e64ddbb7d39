"""spread.py: median, range and count of a figure's samples."""

import pytest
from spread import Spread, rounded, summarize


def test_summarize_gives_median_range_and_count() -> None:
    # Even count: the median is the mean of the two middle samples, 2 and 3.
    assert summarize("train_step_s", [3.0, 1.0, 10.0, 2.0]) == Spread(median=2.5, low=1.0, high=10.0, count=4)


def test_summarize_refuses_a_figure_without_samples() -> None:
    with pytest.raises(ValueError, match=r"'train_step_s' has no samples.*--repeats"):
        summarize("train_step_s", [])


@pytest.mark.parametrize(
    ("other", "expected"),
    [(Spread(2.0, 1.5, 2.5, 3), True), (Spread(1.2, 1.1, 1.3, 3), True), (Spread(3.0, 2.1, 4.0, 3), False)],
)
def test_overlaps_when_the_ranges_share_a_value(other: Spread, expected: bool) -> None:
    ours = Spread(median=1.5, low=1.0, high=2.0, count=3)
    assert ours.overlaps(other) is expected
    assert other.overlaps(ours) is expected


def test_cell_shows_median_range_and_count() -> None:
    assert Spread(0.601, 0.58, 0.6504, 9).cell() == "0.601 (0.58 to 0.6504, n=9)"


def test_rounded_scales_then_rounds_each_sample() -> None:
    assert rounded([0.61234, 1.0], 1, scale=1000.0) == [612.3, 1000.0]

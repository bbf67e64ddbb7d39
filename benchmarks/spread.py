"""A timed figure's samples: rounded for a script's JSON line, summarized as median, range and count.

Every benchmark script prints a timed figure as the list of its samples (one per timed call or fresh
interpreter); ``run_all.py`` pools the samples of every run of a script and summarizes them here, so the
tables always give a median with its spread and the number of samples behind it. Importable as ``spread``
from this folder; it imports nothing heavy.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Spread:
    """Median, lowest and highest of ``count`` samples."""

    median: float
    low: float
    high: float
    count: int

    def overlaps(self, other: Spread) -> bool:
        """Whether the two ranges ``[low, high]`` share a value (then the medians' ratio is within the noise)."""
        return self.low <= other.high and other.low <= self.high

    def cell(self) -> str:
        """Markdown table text: ``median (low to high, n=count)``."""
        return f"{self.median:.4g} ({self.low:.4g} to {self.high:.4g}, n={self.count})"


def summarize(name: str, samples: Sequence[float]) -> Spread:
    """The median, range and count of the samples of the figure ``name``.

    Raises:
        ValueError: ``samples`` is empty (a benchmark printed a timed figure with no samples).
    """
    if not samples:
        raise ValueError(
            f"timed figure {name!r} has no samples; expected at least one. Run its script with --repeats 1 or more."
        )
    return Spread(statistics.median(samples), min(samples), max(samples), len(samples))


def rounded(samples: Iterable[float], digits: int, scale: float = 1.0) -> list[float]:
    """Each of ``samples`` times ``scale``, rounded to ``digits`` decimals (a script's JSON figure)."""
    return [round(sample * scale, digits) for sample in samples]

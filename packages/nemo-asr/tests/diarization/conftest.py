"""Synthetic multi-scale speaker embeddings for the diarization tests.

Each speaker talks for ``spk_dur`` seconds in turn. Every scale cuts each turn into windows with NeMo's
default multi-scale setting (1.5/1.0/0.5 s windows, half-window shifts); a window's embedding is its
speaker's random unit direction plus small uniform noise, so speakers are far apart in cosine terms.
"""

import math
from dataclasses import dataclass

import pytest
import torch

WINDOWS = (1.5, 1.0, 0.5)
SHIFTS = (0.75, 0.5, 0.25)


@dataclass
class ToySession:
    embeddings: torch.Tensor  # (sum N_s, D), scale after scale
    timestamps: torch.Tensor  # (sum N_s, 2)
    counts: torch.Tensor  # (S,)
    weights: torch.Tensor  # (1, S)
    base_labels: torch.Tensor  # (N_base,) true speaker of every base-scale segment


def _windows(start: float, duration: float, window: float, shift: float) -> list[tuple[float, float]]:
    count = max(math.ceil((duration - window) / shift), -1) + 1
    count = max(count, 1)
    return [(start + k * shift, min(start + k * shift + window, start + duration)) for k in range(count)]


def make_session(n_spks: int, spk_dur: float, dim: int = 32, noise: float = 0.1, seed: int = 0) -> ToySession:
    gen = torch.Generator().manual_seed(seed)
    directions = torch.linalg.qr(torch.randn(dim, dim, generator=gen))[0][:n_spks]
    embs, stamps, counts, truth = [], [], [], []
    for window, shift in zip(WINDOWS, SHIFTS):
        n_scale = 0
        for spk in range(n_spks):
            for start, end in _windows(spk * spk_dur, spk_dur, window, shift):
                embs.append(directions[spk] + noise * torch.rand(dim, generator=gen))
                stamps.append([start, end])
                n_scale += 1
                if window == WINDOWS[-1]:
                    truth.append(spk)
        counts.append(n_scale)
    return ToySession(
        embeddings=torch.stack(embs),
        timestamps=torch.tensor(stamps),
        counts=torch.tensor(counts),
        weights=torch.ones(1, len(WINDOWS)),
        base_labels=torch.tensor(truth),
    )


@pytest.fixture
def toy_session():
    return make_session

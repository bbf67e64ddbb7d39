"""RPA, RCA, voicing and overall accuracy against hand-counted frames."""

from __future__ import annotations

import math

import pytest

pytest.importorskip(
    "nemo_pitch", reason="nemo_pitch is not installed; install it with `pip install -e examples/nemo-pitch`"
)

import torch
from nemo_pitch.metrics import PitchCounts, count_pitch_frames


def test_counts_match_a_hand_worked_example():
    # frame:           0      1      2      3      4      5 (padding)
    ref = torch.tensor([[0.0, 100.0, 200.0, 400.0, 220.0, 300.0]])
    est = torch.tensor([[150.0, 102.0, 400.0, 390.0, 220.0, 300.0]])
    voiced = torch.tensor([[True, True, True, False, True, True]])
    mask = torch.tensor([[True, True, True, True, True, False]])
    # frame 1: +34 cents (hit); 2: +1200 (octave: chroma hit only); 3: -44 cents (hit, but called unvoiced);
    # 4: exact (hit); 0: unvoiced reference called voiced; 5: outside the clip.
    assert 1200 * math.log2(102 / 100) < 50 and abs(1200 * math.log2(390 / 400)) < 50
    counts = count_pitch_frames(est, voiced, ref, mask)
    assert counts == PitchCounts(
        frames=5, reference_voiced=4, pitch_hits=3, chroma_hits=4, voicing_hits=3, overall_hits=2
    )
    assert counts.as_dict("val_") == {"val_rpa": 0.75, "val_rca": 1.0, "val_vda": 0.6, "val_oa": 0.4}


def test_the_50_cent_tolerance_and_corpus_sums():
    just_in = 100.0 * 2 ** (49.9 / 1200)
    just_out = 100.0 * 2 ** (50.1 / 1200)
    ref = torch.tensor([[100.0, 100.0, 0.0]])
    est = torch.tensor([[just_in, just_out, 80.0]])
    voiced = torch.tensor([[True, True, False]])
    mask = torch.ones(1, 3, dtype=torch.bool)
    first = count_pitch_frames(est, voiced, ref, mask)
    assert (first.pitch_hits, first.reference_voiced, first.voicing_hits, first.overall_hits) == (1, 2, 3, 2)
    total = first + count_pitch_frames(ref, voiced, ref, mask)  # a perfect second batch
    assert total.raw_pitch_accuracy == pytest.approx(3 / 4)
    assert total.overall_accuracy == pytest.approx(5 / 6)
    assert math.isnan(PitchCounts().raw_pitch_accuracy)

"""Frame-level melody/pitch metrics (the definitions of mir_eval's ``melody`` module), summed over a corpus.

For frames inside each clip (``mask``), with a reference pitch ``ref_hz`` (0 = unvoiced), an estimated pitch
``est_hz`` given for every frame and an estimated voicing decision ``est_voiced``:

- raw pitch accuracy (RPA): of the reference-voiced frames, the share whose estimated pitch is within 50 cents
  of the reference, whatever the voicing decision;
- raw chroma accuracy (RCA): the same with octave errors forgiven (the error is taken modulo 1200 cents);
- voicing decision accuracy (VDA): of all frames, the share whose voicing decision matches the reference's;
- overall accuracy (OA): of all frames, the share that are unvoiced in both, or voiced in both with the pitch
  within 50 cents.

Counts, not ratios, are kept so that a corpus figure weighs every frame equally whatever the batching.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import torch

__all__ = ["PitchCounts", "count_pitch_frames"]

TOLERANCE_CENTS = 50.0


@dataclass
class PitchCounts:
    """Frame counts from which the metrics are computed; add two with ``+``."""

    frames: int = 0
    reference_voiced: int = 0
    pitch_hits: int = 0
    chroma_hits: int = 0
    voicing_hits: int = 0
    overall_hits: int = 0

    def __add__(self, other: PitchCounts) -> PitchCounts:
        return PitchCounts(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    @property
    def raw_pitch_accuracy(self) -> float:
        """pitch_hits / reference_voiced (nan without reference-voiced frames)."""
        return self.pitch_hits / self.reference_voiced if self.reference_voiced else float("nan")

    @property
    def raw_chroma_accuracy(self) -> float:
        """chroma_hits / reference_voiced (nan without reference-voiced frames)."""
        return self.chroma_hits / self.reference_voiced if self.reference_voiced else float("nan")

    @property
    def voicing_accuracy(self) -> float:
        """voicing_hits / frames (nan without frames)."""
        return self.voicing_hits / self.frames if self.frames else float("nan")

    @property
    def overall_accuracy(self) -> float:
        """overall_hits / frames (nan without frames)."""
        return self.overall_hits / self.frames if self.frames else float("nan")

    def as_dict(self, prefix: str = "") -> dict[str, float]:
        """``{prefix + "rpa": ..., "rca", "vda", "oa"}``, the four ratios."""
        return {
            f"{prefix}rpa": self.raw_pitch_accuracy,
            f"{prefix}rca": self.raw_chroma_accuracy,
            f"{prefix}vda": self.voicing_accuracy,
            f"{prefix}oa": self.overall_accuracy,
        }


def count_pitch_frames(
    est_hz: torch.Tensor, est_voiced: torch.Tensor, ref_hz: torch.Tensor, mask: torch.Tensor
) -> PitchCounts:
    """Count the frames behind RPA, RCA, VDA and OA.

    Args:
        est_hz: (B, T) estimated pitch in Hz for every frame (> 0), voiced or not.
        est_voiced: (B, T) bool, the estimated voicing decision.
        ref_hz: (B, T) reference pitch in Hz, 0 where unvoiced.
        mask: (B, T) bool, True for frames inside each clip.

    Returns:
        The counts over the batch.
    """
    mask = mask.bool()
    ref_voiced = (ref_hz > 0) & mask
    est_voiced = est_voiced.bool() & mask
    safe_ref = torch.where(ref_voiced, ref_hz.float(), torch.ones_like(ref_hz, dtype=torch.float32))
    safe_est = est_hz.float().clamp_min(1e-6)
    error = 1200.0 * torch.log2(safe_est / safe_ref)
    pitch_hit = ref_voiced & (error.abs() <= TOLERANCE_CENTS)
    chroma_error = error - 1200.0 * torch.round(error / 1200.0)
    chroma_hit = ref_voiced & (chroma_error.abs() <= TOLERANCE_CENTS)
    voicing_hit = mask & (est_voiced == ref_voiced)
    overall_hit = (mask & ~ref_voiced & ~est_voiced) | (pitch_hit & est_voiced)
    return PitchCounts(
        frames=int(mask.sum()),
        reference_voiced=int(ref_voiced.sum()),
        pitch_hits=int(pitch_hit.sum()),
        chroma_hits=int(chroma_hit.sum()),
        voicing_hits=int(voicing_hit.sum()),
        overall_hits=int(overall_hit.sum()),
    )

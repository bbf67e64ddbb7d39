"""Score a pitch ``.nemo`` on a manifest: raw pitch accuracy, raw chroma accuracy, voicing and overall accuracy.

    python -m nemo_pitch.evaluate MODEL.nemo MANIFEST [--batch-size N] [--voicing-threshold P]
    nemo pitch eval MODEL.nemo MANIFEST [...]          (the same, through the plugin's ``nemo`` command)

Every frame of every clip counts once (``nemo_pitch.metrics``); the reference is the manifest's F0 tracks.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
from nemo.core.cli.errors import CommandError
from omegaconf import OmegaConf

from nemo_pitch.data import PitchDataError
from nemo_pitch.metrics import PitchCounts

__all__ = ["evaluate_manifest", "main", "pitch_command"]


def evaluate_manifest(model, manifest_filepath: str, batch_size: int = 16) -> PitchCounts:
    """Frame counts of ``model`` (a ``PitchEstimatorModel``) on every clip of a manifest, whole clips, CPU or GPU.

    Args:
        model: the model; its ``cfg.pitch.voicing_threshold`` decides voicing.
        manifest_filepath: a pitch manifest (``nemo_pitch.data``).
        batch_size: clips per forward pass.
    """
    cfg = OmegaConf.create(
        {"manifest_filepath": manifest_filepath, "batch_size": batch_size, "shuffle": False}
    )
    loader = model.loader(cfg, "evaluation")
    model.eval()
    counts = PitchCounts()
    with torch.no_grad():
        for batch in loader:
            audio, audio_lengths, reference_hz, _ = (tensor.to(model.device) for tensor in batch)
            pitch_logits, voicing_logits, lengths = model(
                input_signal=audio, input_signal_length=audio_lengths
            )
            counts = counts + model.count_frames(pitch_logits, voicing_logits, lengths, reference_hz)
    return counts


def report(counts: PitchCounts, manifest_filepath: str) -> str:
    """The lines printed for one evaluation."""
    return "\n".join(
        [
            f"manifest: {manifest_filepath} ({counts.frames} frames of 10 ms, {counts.reference_voiced} voiced "
            "in the reference)",
            f"raw pitch accuracy (RPA, within 50 cents): {counts.raw_pitch_accuracy:.4f}",
            f"raw chroma accuracy (RCA, octave errors forgiven): {counts.raw_chroma_accuracy:.4f}",
            f"voicing decision accuracy (VDA): {counts.voicing_accuracy:.4f}",
            f"overall accuracy (OA): {counts.overall_accuracy:.4f}",
        ]
    )


def parser(prog: str) -> argparse.ArgumentParser:
    result = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0])
    result.add_argument("model", help="a .nemo file of a PitchEstimatorModel")
    result.add_argument("manifest", help="a pitch manifest (audio_filepath, f0_filepath, f0_key per line)")
    result.add_argument("--batch-size", type=int, default=16, help="clips per forward pass (default 16)")
    result.add_argument(
        "--voicing-threshold",
        type=float,
        help="voiced where sigmoid(voicing logit) > this (default: the model's pitch.voicing_threshold)",
    )
    return result


def run(argv: list[str], prog: str) -> int:
    """Parse ``argv``, restore the model, evaluate and print; raise ``CommandError`` for bad input."""
    args = parser(prog).parse_args(argv)
    if not Path(args.model).is_file():
        raise CommandError(f"model file {args.model!r} does not exist. Pass the path of a .nemo archive.")
    from nemo_pitch.models import PitchEstimatorModel

    model = PitchEstimatorModel.restore_from(args.model, map_location="cpu")
    if args.voicing_threshold is not None:
        model.cfg.pitch.voicing_threshold = args.voicing_threshold
    try:
        counts = evaluate_manifest(model, args.manifest, args.batch_size)
    except (FileNotFoundError, PitchDataError) as err:
        raise CommandError(str(err)) from err
    print(report(counts, args.manifest))
    return 0


def pitch_command(argv: list[str]) -> int:
    """``nemo pitch eval MODEL.nemo MANIFEST [...]``; the exit status."""
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: nemo pitch eval MODEL.nemo MANIFEST [--batch-size N] [--voicing-threshold P]")
        return 0 if argv else 2
    if argv[0] != "eval":
        raise CommandError(
            f"unknown pitch command {argv[0]!r}; the only one is `nemo pitch eval MODEL.nemo MANIFEST`."
        )
    return run(argv[1:], "nemo pitch eval")


def main(argv: list[str] | None = None) -> int:
    """``python -m nemo_pitch.evaluate MODEL.nemo MANIFEST [...]``; errors go to stderr with exit status 1."""
    try:
        return run(sys.argv[1:] if argv is None else argv, "python -m nemo_pitch.evaluate")
    except CommandError as err:
        print(f"nemo_pitch.evaluate: error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

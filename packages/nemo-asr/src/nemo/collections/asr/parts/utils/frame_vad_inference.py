"""Frame VAD inference: a frame model's speech probabilities for a file -> speech segments -> an RTTM file.

``nemo vad MODEL.nemo AUDIO [AUDIO ...] --out-dir DIR`` writes ``DIR/<audio stem>.rttm`` per file, with NeMo's
post-processing (``vad_utils``) and the defaults of NeMo's ``frame_vad_infer_postprocess.yaml``.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from nemo.collections.asr.parts.utils.vad_utils import (
    generate_vad_segment_table_per_tensor,
    prepare_gen_segment_table,
    write_vad_segment_table,
)

__all__ = [
    "DEFAULT_POSTPROCESSING",
    "frame_vad_segments",
    "model_frame_length_in_sec",
    "speech_probabilities",
    "vad_main",
    "write_frame_vad_rttm",
]

# vad.parameters.postprocessing of NeMo 1.23's examples/asr/conf/vad/frame_vad_infer_postprocess.yaml.
DEFAULT_POSTPROCESSING: dict[str, Any] = {
    "onset": 0.3,
    "offset": 0.3,
    "pad_onset": 0.2,
    "pad_offset": 0.2,
    "min_duration_on": 0.2,
    "min_duration_off": 0.2,
    "filter_speech_first": True,
}


def model_frame_length_in_sec(model) -> float:
    """Seconds per output frame of a frame model: the feature stride times the encoder's total stride.

    Reads ``preprocessor.window_stride`` and the ``stride`` of every ``encoder.jasper`` block of the model's
    config (0.01 x 2 = 0.02 for ``marblenet_3x2x64_20ms``).
    """
    cfg = model.cfg
    window_stride = cfg.preprocessor.get("window_stride")
    blocks = cfg.encoder.get("jasper")
    if window_stride is None or not blocks:
        missing = "preprocessor.window_stride" if window_stride is None else "encoder.jasper"
        raise ValueError(
            f"model_frame_length_in_sec: the model config has no {missing}, so the output frame length is "
            "unknown. Pass frame_length_in_sec (seconds per output frame, e.g. 0.02) explicitly."
        )
    return float(window_stride) * math.prod(int(block.get("stride", [1])[0]) for block in blocks)


def speech_probabilities(model, audio_filepath: str | os.PathLike, speech_index: int = 1) -> torch.Tensor:
    """Per-frame speech probabilities of one audio file.

    Args:
        model: an ``EncDecFrameClassificationModel``.
        audio_filepath: the audio (resampled to the model's rate).
        speech_index: the class column holding speech (1, as NeMo's ``['0', '1']`` labels).

    Returns:
        (T,) float32 softmax probabilities of the speech class, one per output frame.
    """
    (logits,) = model.transcribe([os.fspath(audio_filepath)], batch_size=1, logprobs=True)
    return torch.softmax(torch.from_numpy(logits), dim=-1)[:, speech_index].contiguous()


def frame_vad_segments(
    probabilities: torch.Tensor, frame_length_in_sec: float, postprocessing: Mapping[str, Any] | None = None
) -> torch.Tensor:
    """NeMo's segment table of speech probabilities.

    Args:
        probabilities: (T,) speech probabilities, one per ``frame_length_in_sec``.
        frame_length_in_sec: seconds per probability.
        postprocessing: ``onset``, ``offset``, ``pad_onset``, ``pad_offset``, ``min_duration_on``,
            ``min_duration_off``, ``filter_speech_first``, optional ``scale`` (default
            :data:`DEFAULT_POSTPROCESSING`).

    Returns:
        (N, 3) ``[start, end, duration]`` rows (``torch.empty(0)`` without speech).
    """
    settings = dict(DEFAULT_POSTPROCESSING if postprocessing is None else postprocessing)
    missing = {"onset", "offset"} - settings.keys()
    if missing:
        raise ValueError(
            f"frame_vad_segments: postprocessing lacks {sorted(missing)}; give the probability thresholds "
            "'onset' and 'offset' (NeMo's vad.parameters.postprocessing keys)."
        )
    settings["frame_length_in_sec"] = frame_length_in_sec
    _, per_args = prepare_gen_segment_table(probabilities, settings)
    return generate_vad_segment_table_per_tensor(probabilities, per_args)


def write_frame_vad_rttm(
    model,
    audio_filepath: str | os.PathLike,
    out_dir: str | os.PathLike,
    postprocessing: Mapping[str, Any] | None = None,
    frame_length_in_sec: float | None = None,
    use_rttm: bool = True,
) -> tuple[Path, torch.Tensor]:
    """Run a frame VAD model on one file and write its speech segments as ``out_dir/<stem>.rttm``.

    Args:
        model: an ``EncDecFrameClassificationModel``.
        audio_filepath: the audio.
        out_dir: folder for the output (created if missing).
        postprocessing: see :func:`frame_vad_segments`.
        frame_length_in_sec: seconds per model frame (default: :func:`model_frame_length_in_sec`).
        use_rttm: RTTM lines (True) or NeMo's ``start duration speech`` text lines (``.txt``).

    Returns:
        (the file written, the (N, 3) segment table).
    """
    if frame_length_in_sec is None:
        frame_length_in_sec = model_frame_length_in_sec(model)
    table = frame_vad_segments(
        speech_probabilities(model, audio_filepath), frame_length_in_sec, postprocessing
    )
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    name = Path(audio_filepath).stem
    path = out_dir / f"{name}{'.rttm' if use_rttm else '.txt'}"
    write_vad_segment_table(table, path, name, use_rttm=use_rttm)
    return path, table


def vad_main(argv: Sequence[str]) -> int:
    """``nemo vad``: speech segments of audio files as RTTM files."""
    parser = argparse.ArgumentParser(
        prog="nemo vad",
        description="Detect speech in audio files with a frame VAD .nemo model; write one RTTM file per input.",
    )
    parser.add_argument("model", help="path of a .nemo EncDecFrameClassificationModel")
    parser.add_argument("audio", nargs="+", help="audio files (wav, flac, ogg, ...)")
    parser.add_argument("--out-dir", required=True, help="folder for the <audio stem>.rttm files")
    for key, value in DEFAULT_POSTPROCESSING.items():
        if key != "filter_speech_first":
            parser.add_argument(
                f"--{key.replace('_', '-')}", type=float, default=value, help=f"default {value}"
            )
    parser.add_argument(
        "--filter-gaps-first",
        action="store_true",
        help="fill short gaps before dropping short speech (filter_speech_first: false)",
    )
    args = parser.parse_args(list(argv))
    missing = [path for path in [args.model, *args.audio] if not Path(path).is_file()]
    if missing:
        print(f"nemo vad: file(s) not found: {', '.join(missing)}", file=sys.stderr)
        return 2
    from nemo.collections.asr.models.frame_classification_models import EncDecFrameClassificationModel
    from nemo.core.classes.modelPT import ModelPT

    model = ModelPT.restore_from(args.model, map_location="cpu")
    if not isinstance(model, EncDecFrameClassificationModel):
        print(
            f"nemo vad: {args.model} holds a {type(model).__name__}; expected an EncDecFrameClassificationModel "
            "(a frame VAD model such as one trained from marblenet_3x2x64_20ms).",
            file=sys.stderr,
        )
        return 2
    postprocessing = {
        key: getattr(args, key) for key in DEFAULT_POSTPROCESSING if key != "filter_speech_first"
    }
    postprocessing["filter_speech_first"] = not args.filter_gaps_first
    for audio in args.audio:
        path, table = write_frame_vad_rttm(model, audio, args.out_dir, postprocessing)
        print(f"{audio}\t{path}\t{table.shape[0] if table.numel() else 0} speech segments")
    return 0

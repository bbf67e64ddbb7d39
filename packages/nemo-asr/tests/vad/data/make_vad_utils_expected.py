"""Write ``vad_utils_expected.json``: what NeMo 1.23's ``vad_utils`` computes on seeded probability sequences.

This script runs NeMo 1.23 (``nemo.collections.asr.parts.utils.vad_utils``, which needs pandas and pyannote
in the reference venv). The tests never need NeMo: they read the JSON this writes.

    mkdir -p /tmp/scratch_vad && cd /tmp/scratch_vad && /tmp/nemo-ref/bin/python \
        /work/main/packages/nemo-asr/tests/vad/data/make_vad_utils_expected.py

The JSON holds the inputs (probability sequences rounded to 4 decimals, as NeMo's ``.frame`` files hold them;
segments; RTTM text) next to NeMo's outputs (tensors as ``{"shape", "values"}``; NeMo's "no segment" is
``torch.empty(0)``, shape ``[0]``).
"""

import json
import math
import os
import random
import tempfile
from pathlib import Path

import torch
from nemo.collections.asr.parts.utils import vad_utils

OUT = Path(__file__).with_name("vad_utils_expected.json")

# Post-processing settings: NeMo's two shipped VAD configs, and others that switch on one feature each.
POSTPROCESSING = {
    "defaults": {},
    "hysteresis": {"onset": 0.6, "offset": 0.4},
    "padded": {"onset": 0.5, "offset": 0.3, "pad_onset": 0.1, "pad_offset": 0.15},
    "min_on": {"onset": 0.5, "offset": 0.5, "min_duration_on": 0.15},
    "min_off": {"onset": 0.5, "offset": 0.5, "min_duration_off": 0.12},
    "speech_first": {
        "onset": 0.55,
        "offset": 0.35,
        "min_duration_on": 0.1,
        "min_duration_off": 0.1,
        "filter_speech_first": 1.0,
    },
    "gaps_first": {
        "onset": 0.55,
        "offset": 0.35,
        "min_duration_on": 0.1,
        "min_duration_off": 0.1,
        "filter_speech_first": 0.0,
    },
    "frame_20ms": {
        "onset": 0.3,
        "offset": 0.3,
        "pad_onset": 0.2,
        "pad_offset": 0.2,
        "min_duration_on": 0.2,
        "min_duration_off": 0.2,
        "filter_speech_first": 1.0,
        "frame_length_in_sec": 0.02,
    },
    "segment_vad": {
        "onset": 0.5,
        "offset": 0.3,
        "pad_onset": 0.2,
        "pad_offset": 0.2,
        "min_duration_on": 0.5,
        "min_duration_off": 0.5,
        "filter_speech_first": 1.0,
        "frame_length_in_sec": 0.01,
    },
}

SMOOTHING = {
    "segment_vad": {"overlap": 0.875, "window_length_in_sec": 0.63, "shift_length_in_sec": 0.08},
    "half_overlap": {"overlap": 0.5, "window_length_in_sec": 0.15, "shift_length_in_sec": 0.01},
    "coarse": {"overlap": 0.8, "window_length_in_sec": 0.4, "shift_length_in_sec": 0.04, "frame_len": 0.01},
}


def probability_sequence(seed: int, length: int) -> list[float]:
    """A smooth random walk squashed into 0..1, with a few frames exactly at common thresholds."""
    rng = random.Random(seed)
    level, values = rng.uniform(-3, 3), []
    for _ in range(length):
        level += rng.gauss(0, 0.9)
        level = max(-6.0, min(6.0, level))
        values.append(round(1 / (1 + math.exp(-level)), 4))
    for threshold in (0.3, 0.5, 0.35, 0.55, 0.6, 0.4):
        values[rng.randrange(length)] = threshold
    return values


def as_list(tensor: torch.Tensor) -> dict:
    """A tensor as ``{"shape": [...], "values": nested lists}`` (the shape tells (0,) from (0, 2))."""
    return {"shape": list(tensor.shape), "values": tensor.tolist()}


def tensor_cases(sequences: dict) -> dict:
    cases = {}
    for seq_name, values in sequences.items():
        sequence = torch.tensor(values, dtype=torch.float32)
        for args_name, per_args in POSTPROCESSING.items():
            binarized = vad_utils.binarization(sequence, dict(per_args))
            filtered = vad_utils.filtering(binarized, dict(per_args))
            table = vad_utils.generate_vad_segment_table_per_tensor(sequence, dict(per_args))
            cases[f"{seq_name}/{args_name}"] = {
                "sequence": seq_name,
                "per_args": per_args,
                "binarization": as_list(binarized),
                "filtering": as_list(filtered),
                "table": as_list(table),
            }
    return cases


def smoothing_cases(sequences: dict) -> dict:
    cases = {}
    for seq_name in ("short_a", "short_b"):
        frame = torch.tensor(sequences[seq_name], dtype=torch.float32)
        for args_name, per_args in SMOOTHING.items():
            for method in ("mean", "median"):
                smoothed = vad_utils.generate_overlap_vad_seq_per_tensor(frame, dict(per_args), method)
                cases[f"{seq_name}/{args_name}/{method}"] = {
                    "sequence": seq_name,
                    "per_args": per_args,
                    "method": method,
                    "output": as_list(smoothed),
                }
    return cases


def segment_cases() -> dict:
    segments = torch.tensor([[3.0, 4.5], [0.0, 1.5], [1.0, 2.0], [4.5, 6.0], [7.25, 7.5], [8.0, 9.75]])
    removed = torch.tensor([[1.0, 2.0], [7.25, 7.5]])
    return {
        "segments": as_list(segments),
        "removed": as_list(removed),
        "merge_overlap_segment": as_list(vad_utils.merge_overlap_segment(segments)),
        "filter_short_segments_1.5": as_list(vad_utils.filter_short_segments(segments, 1.5)),
        "get_gap_segments": as_list(vad_utils.get_gap_segments(vad_utils.merge_overlap_segment(segments))),
        "remove_segments": as_list(vad_utils.remove_segments(segments, removed)),
    }


RTTM_TEXT = (
    "SPEAKER rec 1 2.35 0.80 <NA> <NA> bob <NA> <NA>\n"
    "SPEAKER rec 1 0.12 1.005 <NA> <NA> alice <NA> <NA>\n"
    "SPEAKER rec 1 0.90 0.60 <NA> <NA> bob <NA> <NA>\n"
    "SPEAKER rec 1 3.15 0.25 <NA> <NA> alice <NA> <NA>\n"
    "SPEAKER rec 1 4.00 0.02 <NA> <NA> alice <NA> <NA>\n"
)
FRAME_LABEL_CASES = [
    {"frame_length": 0.02, "offset": 0.0, "duration": 4.5},
    {"frame_length": 0.01, "offset": 0.0, "duration": 1.7},
    {"frame_length": 0.02, "offset": 0.5, "duration": 3.0},
    {"frame_length": 0.04, "offset": 2.3, "duration": 2.1},
]


def rttm_cases(folder: str) -> dict:
    path = os.path.join(folder, "rec.rttm")
    with open(path, "w", encoding="utf-8") as file:
        file.write(RTTM_TEXT)
    segments = vad_utils.load_speech_segments_from_rttm(path)
    labels = []
    for case in FRAME_LABEL_CASES:
        as_str = vad_utils.get_frame_labels(segments, case["frame_length"], case["offset"], case["duration"])
        as_floats = vad_utils.get_frame_labels(
            segments, case["frame_length"], case["offset"], case["duration"], as_str=False
        )
        back = vad_utils.convert_labels_to_speech_segments(as_floats, case["frame_length"])
        labels.append({**case, "labels": as_str, "speech_segments": back})
    nonspeech = {
        str(max_duration): vad_utils.get_nonspeech_segments(segments, max_duration)
        for max_duration in (None, 3.0, 6.5)
    }
    return {"rttm_text": RTTM_TEXT, "segments": segments, "frame_labels": labels, "nonspeech": nonspeech}


def file_cases(sequences: dict, folder: str) -> dict:
    cases = {}
    settings = {
        "rttm_absolute": (
            "long_a",
            {
                "onset": 0.5,
                "offset": 0.3,
                "pad_onset": 0.1,
                "pad_offset": 0.1,
                "min_duration_on": 0.1,
                "min_duration_off": 0.1,
                "filter_speech_first": True,
            },
            True,
        ),
        "txt_relative": (
            "long_b",
            {
                "onset": 0.6,
                "offset": 0.4,
                "scale": "relative",
                "filter_speech_first": False,
                "min_duration_on": 0.05,
            },
            False,
        ),
        "rttm_percentile": ("short_a", {"onset": 0.5, "offset": 0.5, "scale": "percentile"}, True),
        "rttm_no_speech": ("silence", {"onset": 0.5, "offset": 0.3}, True),
        "txt_no_speech": ("silence", {"onset": 0.5, "offset": 0.3}, False),
    }
    for case_name, (seq_name, params, use_rttm) in settings.items():
        pred_dir = os.path.join(folder, case_name)
        out_dir = os.path.join(pred_dir, "out")
        os.makedirs(out_dir)
        pred_path = os.path.join(pred_dir, f"{seq_name}.frame")
        with open(pred_path, "w", encoding="utf-8") as file:
            file.write("".join(f"{value:.4f}\n" for value in sequences[seq_name]))
        per_args = {"frame_length_in_sec": 0.02, "out_dir": out_dir, "use_rttm": use_rttm, **params}
        written = vad_utils.generate_vad_segment_table_per_file(pred_path, per_args)
        with open(written, encoding="utf-8") as file:
            text = file.read()
        cases[case_name] = {
            "sequence": seq_name,
            "params": params,
            "use_rttm": use_rttm,
            "file_name": os.path.basename(written),
            "text": text,
        }
    return cases


def threshold_cases(sequences: dict) -> dict:
    cases = {}
    for name in ("long_a", "ramp"):
        sequence = torch.tensor(sequences[name], dtype=torch.float32)
        for scale in ("absolute", "relative", "percentile"):
            cases[f"{name}/{scale}"] = list(vad_utils.cal_vad_onset_offset(scale, 0.6, 0.3, sequence))
    return cases


def main() -> None:
    sequences = {
        "long_a": probability_sequence(1, 600),
        "long_b": probability_sequence(2, 450),
        "short_a": probability_sequence(3, 120),
        "short_b": probability_sequence(4, 97),
        "speech_to_end": [0.1, 0.2, 0.7, 0.9, 0.95, 0.8, 0.2, 0.6, 0.7, 0.9],
        "starts_in_speech": [0.9, 0.9, 0.8, 0.1, 0.1, 0.1, 0.1, 0.9, 0.1, 0.1],
        "silence": [0.01] * 50,
        # Distinct values in a seeded order: neighbouring percentiles differ.
        "ramp": random.Random(5).sample([round(index / 137, 4) for index in range(137)], 137),
    }
    with tempfile.TemporaryDirectory() as folder:
        expected = {
            "sequences": sequences,
            "tensor_cases": tensor_cases(sequences),
            "smoothing_cases": smoothing_cases(sequences),
            "segment_cases": segment_cases(),
            "rttm_cases": rttm_cases(folder),
            "file_cases": file_cases(sequences, folder),
            "threshold_cases": threshold_cases(sequences),
        }
    OUT.write_text(json.dumps(expected, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()

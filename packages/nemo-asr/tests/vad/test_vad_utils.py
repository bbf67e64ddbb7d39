"""NeMo's VAD post-processing (``parts/utils/vad_utils.py``) against what NeMo 1.23 computes.

Expected values come from ``data/vad_utils_expected.json``, written by ``data/make_vad_utils_expected.py``
with NeMo 1.23 on seeded probability sequences; a few cases NeMo cannot run are worked out by hand.
"""

import json
import re
from pathlib import Path

import pytest
import torch
from nemo.collections.asr.parts.utils import vad_utils

EXPECTED = json.loads(
    (Path(__file__).parent / "data" / "vad_utils_expected.json").read_text(encoding="utf-8")
)
SEQUENCES = {
    name: torch.tensor(values, dtype=torch.float32) for name, values in EXPECTED["sequences"].items()
}
TENSOR_CASES = EXPECTED["tensor_cases"]
SMOOTHING_CASES = EXPECTED["smoothing_cases"]


def assert_segments(actual: torch.Tensor, expected: dict | list, atol: float = 1e-6) -> None:
    """``actual`` equals NeMo's output: ``{"shape", "values"}`` from the JSON, or nested lists."""
    if isinstance(expected, dict):
        expected_tensor = torch.tensor(expected["values"], dtype=torch.float32).reshape(expected["shape"])
    else:
        expected_tensor = torch.tensor(expected, dtype=torch.float32)
    assert actual.dtype == torch.float32
    assert tuple(actual.shape) == tuple(expected_tensor.shape), (actual, expected)
    torch.testing.assert_close(actual, expected_tensor, atol=atol, rtol=0)


@pytest.mark.parametrize("case", sorted(TENSOR_CASES))
def test_binarization_filtering_and_table_match_nemo(case: str) -> None:
    spec = TENSOR_CASES[case]
    sequence = SEQUENCES[spec["sequence"]]
    binarized = vad_utils.binarization(sequence, spec["per_args"])
    assert_segments(binarized, spec["binarization"])
    assert_segments(vad_utils.filtering(binarized, spec["per_args"]), spec["filtering"])
    assert_segments(
        vad_utils.generate_vad_segment_table_per_tensor(sequence, spec["per_args"]), spec["table"]
    )


def test_the_cases_cover_each_feature() -> None:
    """The NeMo cases exercise padding merges, both filter orders and empty results (else they prove little)."""

    def rows(case: str, key: str) -> int:
        return TENSOR_CASES[case][key]["shape"][0]

    unpadded = vad_utils.binarization(SEQUENCES["long_a"], {"onset": 0.5, "offset": 0.3})
    assert rows("long_a/padded", "binarization") < unpadded.shape[0], "padding merged no segments"
    first = TENSOR_CASES["long_a/speech_first"]["filtering"]
    assert first != TENSOR_CASES["long_a/gaps_first"]["filtering"], "the filter order changed nothing"
    assert TENSOR_CASES["silence/defaults"]["table"]["shape"] == [0]
    assert rows("long_b/min_off", "filtering") < rows("long_b/min_off", "binarization")
    assert rows("long_b/min_on", "filtering") < rows("long_b/min_on", "binarization")


def test_thresholds_compare_in_the_sequence_dtype() -> None:
    """A frame exactly at the onset is not above it: NeMo compares float32 values with float32 thresholds."""
    sequence = torch.tensor([0.1, 0.3, 0.3, 0.1], dtype=torch.float32)
    assert vad_utils.binarization(sequence, {"onset": 0.3, "offset": 0.2}).numel() == 0
    assert_segments(vad_utils.binarization(sequence, {"onset": 0.29, "offset": 0.2}), [[0.01, 0.03]])


@pytest.mark.parametrize("case", sorted(SMOOTHING_CASES))
def test_overlap_smoothing_matches_nemo(case: str) -> None:
    spec = SMOOTHING_CASES[case]
    smoothed = vad_utils.generate_overlap_vad_seq_per_tensor(
        SEQUENCES[spec["sequence"]], spec["per_args"], spec["method"]
    )
    assert_segments(smoothed, spec["output"])


def test_overlap_smoothing_refuses_windows_that_do_not_move() -> None:
    per_args = {"overlap": 0.99, "window_length_in_sec": 0.1, "shift_length_in_sec": 0.01}
    with pytest.raises(ValueError, match=r"jump_on_frame = .* = 0, expected >= 1.*Lower overlap"):
        vad_utils.generate_overlap_vad_seq_per_tensor(SEQUENCES["short_a"], per_args, "mean")
    with pytest.raises(ValueError, match="'mode'.*expected 'mean' or 'median'"):
        vad_utils.generate_overlap_vad_seq_per_tensor(
            SEQUENCES["short_a"], {**per_args, "overlap": 0.5}, "mode"
        )


def test_segment_helpers_match_nemo() -> None:
    spec = EXPECTED["segment_cases"]
    segments = torch.tensor(spec["segments"]["values"])
    assert_segments(vad_utils.merge_overlap_segment(segments), spec["merge_overlap_segment"])
    assert_segments(vad_utils.filter_short_segments(segments, 1.5), spec["filter_short_segments_1.5"])
    merged = vad_utils.merge_overlap_segment(segments)
    assert_segments(vad_utils.get_gap_segments(merged), spec["get_gap_segments"])
    assert_segments(
        vad_utils.remove_segments(segments, torch.tensor(spec["removed"]["values"])), spec["remove_segments"]
    )


def test_merge_overlap_segment_merges_nested_segments() -> None:
    """NeMo's merge compares neighbours only and splits ``[0, 10]`` around ``[1, 2]``; every overlap merges here."""
    nested = torch.tensor([[1.0, 2.0], [0.0, 10.0], [3.0, 4.0], [11.0, 12.0]])
    assert_segments(vad_utils.merge_overlap_segment(nested), [[0.0, 10.0], [11.0, 12.0]])


def test_rttm_segments_and_frame_labels_match_nemo(tmp_path) -> None:
    spec = EXPECTED["rttm_cases"]
    rttm = tmp_path / "rec.rttm"
    rttm.write_text(spec["rttm_text"], encoding="utf-8")
    segments = vad_utils.load_speech_segments_from_rttm(rttm)
    torch.testing.assert_close(torch.tensor(segments), torch.tensor(spec["segments"]))
    for case in spec["frame_labels"]:
        args = (segments, case["frame_length"], case["offset"], case["duration"])
        labels = vad_utils.get_frame_labels(*args)
        assert labels == case["labels"], case
        as_floats = vad_utils.get_frame_labels(*args, as_str=False)
        assert as_floats == [float(label) for label in case["labels"].split()]
        back = vad_utils.convert_labels_to_speech_segments(as_floats, case["frame_length"])
        torch.testing.assert_close(
            torch.tensor(back).reshape(-1, 2), torch.tensor(case["speech_segments"]).reshape(-1, 2)
        )


@pytest.mark.parametrize("max_duration", [None, 3.0, 6.5])
def test_nonspeech_segments_match_nemo(max_duration) -> None:
    spec = EXPECTED["rttm_cases"]
    nonspeech = vad_utils.get_nonspeech_segments(spec["segments"], max_duration)
    expected = spec["nonspeech"][str(max_duration)]
    torch.testing.assert_close(torch.tensor(nonspeech), torch.tensor(expected))


def test_rttm_errors_name_the_file_and_line(tmp_path) -> None:
    rttm = tmp_path / "bad.rttm"
    rttm.write_text(
        "SPEAKER rec 1 0.5 1.0 <NA> <NA> a <NA> <NA>\n\nSPEAKER rec 1 two 1.0 <NA> <NA> a <NA> <NA>\n"
    )
    with pytest.raises(
        ValueError, match=rf"{re.escape(str(rttm))}:3: expected an RTTM line .* got 'SPEAKER rec 1 two"
    ):
        vad_utils.load_speech_segments_from_rttm(rttm)
    with pytest.raises(FileNotFoundError, match="missing.rttm' does not exist"):
        vad_utils.load_speech_segments_from_rttm(tmp_path / "missing.rttm")


def test_frame_labels_without_segments_are_all_silence() -> None:
    assert vad_utils.get_frame_labels([], 0.02, 0.0, 0.1) == "0 0 0 0 0"


@pytest.mark.parametrize("case", sorted(EXPECTED["file_cases"]))
def test_segment_table_files_match_nemo(case: str, tmp_path) -> None:
    spec = EXPECTED["file_cases"][case]
    pred_path = tmp_path / f"{spec['sequence']}.frame"
    pred_path.write_text("".join(f"{value:.4f}\n" for value in EXPECTED["sequences"][spec["sequence"]]))
    per_args = {
        "frame_length_in_sec": 0.02,
        "out_dir": str(tmp_path),
        "use_rttm": spec["use_rttm"],
        **spec["params"],
    }
    written = vad_utils.generate_vad_segment_table_per_file(pred_path, per_args)
    assert Path(written).name == spec["file_name"]
    assert Path(written).read_text(encoding="utf-8") == spec["text"]


def test_prediction_file_errors_name_the_line(tmp_path) -> None:
    pred_path = tmp_path / "a.frame"
    pred_path.write_text("0.5\n0.7\nspeech\n")
    with pytest.raises(
        ValueError, match=rf"{re.escape(str(pred_path))}:3: expected one probability per line, got 'speech'"
    ):
        vad_utils.load_tensor_from_file(pred_path)


@pytest.mark.parametrize("case", sorted(EXPECTED["threshold_cases"]))
def test_threshold_scales_match_nemo(case: str) -> None:
    name, scale = case.split("/")
    onset, offset = vad_utils.cal_vad_onset_offset(scale, 0.6, 0.3, SEQUENCES[name])
    assert [onset, offset] == pytest.approx(EXPECTED["threshold_cases"][case], abs=1e-7)


def test_unknown_threshold_scale_is_an_error() -> None:
    with pytest.raises(
        ValueError, match="unknown scale 'log'; expected 'absolute', 'relative' or 'percentile'"
    ):
        vad_utils.cal_vad_onset_offset("log", 0.5, 0.5, SEQUENCES["short_a"])

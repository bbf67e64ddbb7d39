"""CTM lines and the annotation files of simulated sessions, against hand-written lines in NeMo's layouts."""

import json

import pytest
from nemo.collections.asr.parts.utils.data_simulation_utils import DataAnnotator
from nemo.collections.asr.parts.utils.manifest_utils import get_ctm_line

from .conftest import simulator_config


@pytest.fixture()
def annotator(tmp_path):
    return DataAnnotator(simulator_config(tmp_path / "unused.json", tmp_path))


class TestCtmLine:
    def test_full_line(self):
        line = get_ctm_line("sess", 1, 0.123, 0.456, "word", 0.789, "lex", "spk", output_precision=2)
        assert line == "sess 1 0.12 0.46 word 0.79 lex spk\n"

    def test_missing_fields_and_string_numbers(self):
        line = get_ctm_line("sess", None, "1.5", "0.25", "hi", None, None, None, output_precision=3)
        assert line == "sess 1 1.500 0.250 hi NA unknown NA\n"

    def test_precision_is_clamped_to_one_to_three(self):
        assert get_ctm_line("s", 2, 1.23456, 0.5, "w", None, "lex", "a", output_precision=5) == (
            "s 2 1.235 0.500 w NA lex a\n"
        )
        assert (
            get_ctm_line("s", 2, 1.26, 0.5, "w", None, "lex", "a", output_precision=0)
            == "s 2 1.3 0.5 w NA lex a\n"
        )

    @pytest.mark.parametrize(
        "kwargs",
        [
            {"start_time": 1},  # ints are refused, as in NeMo
            {"duration": "long"},
            {"conf": 1},
            {"conf": 1.5},
            {"type_of_token": "word"},
            {"speaker": 3},
        ],
    )
    def test_invalid_values(self, kwargs):
        args = dict(
            source="s",
            channel=1,
            start_time=0.1,
            duration=0.2,
            token="w",
            conf=0.5,
            type_of_token="lex",
            speaker="a",
        )
        with pytest.raises(ValueError):
            get_ctm_line(**{**args, **kwargs})


class TestDataAnnotator:
    def test_rttm_entries_split_at_long_pauses(self, annotator):
        # split_buffer 0.1: the 0.5 s pause (1.0 -> 1.5) splits, keeping 0.1 s on each side; start 10 s.
        words = ["", "a", "b", "", "c", ""]
        alignments = [0.2, 0.6, 1.0, 1.5, 1.9, 2.0]
        entries = annotator.create_new_rttm_entry(words, alignments, start=10.0, end=12.0, speaker_id="spk")
        assert entries == ["10.0 11.1 spk", "11.4 12.0 spk"]

    def test_ctm_entries_start_at_previous_token_end(self, annotator):
        words = ["", "a", "b", "", "c", ""]
        alignments = [0.2, 0.6, 1.0, 1.5, 1.9, 2.0]
        entries = annotator.create_new_ctm_entry(words, alignments, "sess", "spk", start=10.0)
        assert entries == [
            (10.2, "sess 1 10.20 0.40 a NA lex spk\n"),
            (10.6, "sess 1 10.60 0.40 b NA lex spk\n"),
            (11.5, "sess 1 11.50 0.40 c NA lex spk\n"),
        ]

    def test_written_files(self, annotator, tmp_path):
        annotator.init_annotation_lists()
        annotator.annote_lists["rttm"] = ["0.5 1.5 spk_b", "0.25 1.0 spk_a"]
        annotator.annote_lists["ctm"] = [
            (0.6, "sess 1 0.60 0.40 there NA lex spk_b\n"),
            (0.25, "sess 1 0.25 0.30 hi NA lex spk_a\n"),
        ]
        annotator.annote_lists["json"] = [{"audio_filepath": "x.wav", "offset": 0.25}]
        annotator.write_annotation_files(str(tmp_path), "sess", {"duration": 2.0, "bg_snr": "N/A"})

        assert (tmp_path / "sess.rttm").read_text() == (
            "SPEAKER sess 1   0.500   1.000 <NA> <NA> spk_b <NA> <NA>\n"
            "SPEAKER sess 1   0.250   0.750 <NA> <NA> spk_a <NA> <NA>\n"
        )
        assert (tmp_path / "sess.ctm").read_text() == (
            "sess 1 0.25 0.30 hi NA lex spk_a\nsess 1 0.60 0.40 there NA lex spk_b\n"
        )
        assert (tmp_path / "sess.txt").read_text() == "hi there \n"
        assert (tmp_path / "sess.json").read_text() == '{"audio_filepath": "x.wav", "offset": 0.25}\n'
        assert json.loads((tmp_path / "sess.meta").read_text()) == {"duration": 2.0, "bg_snr": "N/A"}

    def test_filelists(self, annotator, tmp_path):
        for name in ("s_0", "s_1"):
            annotator.add_to_filename_lists(str(tmp_path), name)
        annotator.write_filelist_files(str(tmp_path))
        assert (tmp_path / "synthetic_rttm.list").read_text() == f"{tmp_path}/s_0.rttm\n{tmp_path}/s_1.rttm"
        assert sorted(p.name for p in tmp_path.glob("synthetic_*.list")) == [
            f"synthetic_{t}.list" for t in sorted(["wav", "rttm", "json", "ctm", "txt", "meta"])
        ]

"""Frame VAD inference: speech probabilities of a file -> NeMo's segments -> RTTM file, and ``nemo vad``."""

import json
import re
from pathlib import Path

import pytest
import soundfile as sf
import torch
from nemo.collections.asr.models import EncDecFrameClassificationModel
from nemo.collections.asr.parts.utils import frame_vad_inference
from nemo.collections.asr.parts.utils.vad_utils import write_vad_segment_table
from nemo.core.cli.main import main as nemo_main

DATA = Path(__file__).parent / "data"
ARCHIVE = DATA / "marblenet_3x2x64_20ms_nemo.nemo"
EXPECTED = json.loads((DATA / "vad_utils_expected.json").read_text(encoding="utf-8"))
RTTM_LINE = re.compile(r"SPEAKER (\S+) 1 (\d+\.\d{4}) (\d+\.\d{4}) <NA> <NA> speech <NA> <NA>")


@pytest.fixture(scope="module")
def nemo_model() -> EncDecFrameClassificationModel:
    return EncDecFrameClassificationModel.restore_from(str(ARCHIVE), map_location="cpu")


@pytest.fixture(scope="module")
def nemo_io() -> dict[str, torch.Tensor]:
    return torch.load(DATA / "marblenet_3x2x64_20ms_nemo.io.pt", weights_only=True)


@pytest.fixture
def first_clip(nemo_io, tmp_path) -> Path:
    """The first clip of NeMo's recording, alone in a wav file (float, so the samples stay exact)."""
    path = tmp_path / "first_clip.wav"
    length = int(nemo_io["audio_len"][0])
    sf.write(path, nemo_io["audio"][0, :length].numpy(), 16000, subtype="FLOAT")
    return path


@pytest.mark.parametrize("case", ["rttm_absolute", "txt_relative", "rttm_percentile", "rttm_no_speech"])
def test_segments_and_files_match_nemo(case: str, tmp_path) -> None:
    spec = EXPECTED["file_cases"][case]
    probabilities = torch.tensor(EXPECTED["sequences"][spec["sequence"]], dtype=torch.float32)
    table = frame_vad_inference.frame_vad_segments(probabilities, 0.02, spec["params"])
    path = tmp_path / spec["file_name"]
    write_vad_segment_table(table, path, Path(spec["file_name"]).stem, use_rttm=spec["use_rttm"])
    assert path.read_text(encoding="utf-8") == spec["text"]


def test_frame_length_comes_from_the_config(nemo_model) -> None:
    assert frame_vad_inference.model_frame_length_in_sec(nemo_model) == pytest.approx(0.02)


def test_frame_length_of_an_encoder_without_jasper_blocks_must_be_given(frame_vad_config) -> None:
    from omegaconf import open_dict

    model = EncDecFrameClassificationModel(cfg=frame_vad_config().model)
    with open_dict(model.cfg):
        model.cfg.encoder.pop("jasper")
    with pytest.raises(ValueError, match="no encoder.jasper, so the output frame length is unknown. Pass"):
        frame_vad_inference.model_frame_length_in_sec(model)


def test_speech_probabilities_are_nemo_softmax(nemo_model, nemo_io, first_clip) -> None:
    """One file alone gives NeMo's batched frames for it (the second clip is longer, so the first is padded)."""
    probabilities = frame_vad_inference.speech_probabilities(nemo_model, first_clip)
    expected = torch.softmax(nemo_io["logits"][0], dim=-1)[:, 1]
    assert probabilities.shape[0] <= expected.shape[0]
    torch.testing.assert_close(probabilities, expected[: probabilities.shape[0]], atol=1e-4, rtol=1e-4)


def test_rttm_file_holds_the_post_processed_segments(nemo_model, nemo_io, first_clip, tmp_path) -> None:
    """The RTTM lines are NeMo's post-processing of NeMo's probabilities for the clip's valid frames."""
    settings = {
        "onset": 0.5,
        "offset": 0.45,
        "pad_onset": 0.02,
        "pad_offset": 0.04,
        "min_duration_on": 0.06,
        "min_duration_off": 0.1,
        "filter_speech_first": True,
    }
    path, table = frame_vad_inference.write_frame_vad_rttm(nemo_model, first_clip, tmp_path / "out", settings)
    assert path == tmp_path / "out" / "first_clip.rttm"
    # Valid encoder frames of the clip: mel frames (samples // 160 + 1), halved by the stride-2 first block.
    frames = -(-(int(nemo_io["audio_len"][0]) // 160 + 1) // 2)
    probabilities = torch.softmax(nemo_io["logits"][0, :frames], dim=-1)[:, 1]
    expected = frame_vad_inference.frame_vad_segments(probabilities, 0.02, settings)
    assert table.numel() > 0, "the settings found no speech: the test would check only the empty line"
    torch.testing.assert_close(table, expected, atol=1e-5, rtol=0)
    rows = [RTTM_LINE.fullmatch(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert all(rows) and len(rows) == table.shape[0]
    assert [row.group(1) for row in rows] == ["first_clip"] * len(rows)
    assert [float(row.group(2)) for row in rows] == pytest.approx(table[:, 0].tolist(), abs=5e-5)
    assert [float(row.group(3)) for row in rows] == pytest.approx(table[:, 2].tolist(), abs=5e-5)


def test_nemo_vad_command_writes_one_rttm_per_file(nemo_model, first_clip, tmp_path, capsys) -> None:
    """``nemo vad`` with post-processing options writes what the function writes with the same settings."""
    settings = {
        "onset": 0.6,
        "offset": 0.5,
        "pad_onset": 0.0,
        "pad_offset": 0.0,
        "min_duration_on": 0.2,
        "min_duration_off": 0.1,
        "filter_speech_first": False,
    }
    options = [
        f"--{key.replace('_', '-')}={value}"
        for key, value in settings.items()
        if key != "filter_speech_first"
    ]
    out_dir = tmp_path / "rttm"
    code = nemo_main(
        ["vad", str(ARCHIVE), str(first_clip), "--out-dir", str(out_dir), *options, "--filter-gaps-first"]
    )
    assert code == 0
    written = out_dir / "first_clip.rttm"
    assert f"{first_clip}\t{written}\t" in capsys.readouterr().out
    reference, table = frame_vad_inference.write_frame_vad_rttm(
        nemo_model, first_clip, tmp_path / "ref", settings
    )
    assert written.read_text(encoding="utf-8") == reference.read_text(encoding="utf-8")
    probabilities = frame_vad_inference.speech_probabilities(nemo_model, first_clip)
    for other in (
        {"filter_speech_first": True},
        {"onset": 0.7},
        {"min_duration_off": 0.2},
        {"pad_offset": 0.02},
    ):
        changed = frame_vad_inference.frame_vad_segments(probabilities, 0.02, {**settings, **other})
        assert changed.shape != table.shape or not torch.equal(changed, table), (
            f"{other} changes nothing here"
        )


def test_nemo_vad_command_reports_missing_files(tmp_path, capsys) -> None:
    code = nemo_main(["vad", str(ARCHIVE), str(tmp_path / "none.wav"), "--out-dir", str(tmp_path)])
    assert code == 2
    assert "none.wav" in capsys.readouterr().err

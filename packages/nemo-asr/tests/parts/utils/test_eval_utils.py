"""eval_utils: text cleaning and manifest scoring.

Expected strings were computed once with NeMo 1.23's eval_utils in /tmp/nemo-ref (noted per value); NeMo's
cal_write_wer does not run there (its jiwer has no compute_measures), so its figures are counted by hand.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from nemo.collections.asr.parts.utils import eval_utils
from omegaconf import OmegaConf


def test_text_helpers_match_nemo() -> None:
    # All values below: NeMo 1.23's eval_utils, run once.
    assert eval_utils.clean_label("  Hello, World! It's 42 “quoted” 0 007 a/b  ") == (
        "hello world it's four two quoted seven a b"
    )
    assert eval_utils.convert_num_to_words("room 042 has 3 doors 0 x") == "room four two  has three  doors x"
    assert eval_utils.remove_punctuations("a-b, c's (d)!") == "ab c's d"
    assert eval_utils.remove_punctuations("a-b, c's (d)!", punctuations=[",", "!"]) == "a-b c's (d)"
    assert eval_utils.strip_spaces_before_punctuations("hello , world . ok ?") == "hello, world. ok?"
    config = OmegaConf.create({"a": {"b": 1, "c": {"d": "x"}}, "e": None})
    assert eval_utils.get_hydra_override_from_config(config, exclude_keys=["a.b"]) == "++a.c.d=x ++e=None"
    assert eval_utils.get_hydra_override_from_config(None) == ""
    with pytest.raises(NotImplementedError, match="English only"):
        eval_utils.convert_num_to_words("3", langid="de")


def _pred_manifest(path: Path) -> str:
    lines = [
        {"audio_filepath": "a.wav", "text": "the cat sat", "pred_text": "the cat sat down"},
        {"audio_filepath": "b.wav", "text": "Hello, 2 dogs", "pred_text": "hello two dog"},
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return str(path)


def test_cal_write_wer_scores_lines_and_corpus(tmp_path: Path) -> None:
    manifest = _pred_manifest(tmp_path / "pred.json")
    out = str(tmp_path / "out.json")
    written, totals, metric = eval_utils.cal_write_wer(
        manifest, clean_groundtruth_text=True, output_filename=out
    )
    assert (written, metric) == (out, "wer")
    # By hand: line 1 one insertion in 3 words; line 2 ("hello two dogs" after clean_label) one substitution.
    assert totals == pytest.approx(
        {"samples": 2, "tokens": 6, "wer": 2 / 6, "ins_rate": 1 / 6, "del_rate": 0.0, "sub_rate": 1 / 6}
    )
    first, second = (json.loads(line) for line in Path(out).read_text().splitlines())
    assert first["wer"] == pytest.approx(1 / 3) and first["ins_rate"] == pytest.approx(1 / 3)
    assert second["tokens"] == 3 and second["sub_rate"] == pytest.approx(1 / 3)


def test_cal_write_wer_cer_and_missing_reference(tmp_path: Path) -> None:
    manifest = _pred_manifest(tmp_path / "pred.json")
    _, totals, metric = eval_utils.cal_write_wer(
        manifest,
        use_cer=True,
        ignore_capitalization=True,
        ignore_punctuation=True,
        output_filename=str(tmp_path / "o"),
    )
    # By hand: "the cat sat" -> "the cat sat down" is 5 insertions in 11 characters; "hello 2 dogs" (punctuation
    # removed, lower-cased) -> "hello two dog" is 4 edits in 12 ("2"->"t", "w" and "o" inserted, "s" deleted).
    assert metric == "cer" and totals["tokens"] == 23
    assert totals["cer"] == pytest.approx(9 / 23)
    no_ref = tmp_path / "noref.json"
    no_ref.write_text(json.dumps({"pred_text": "x"}) + "\n")
    assert eval_utils.cal_write_wer(str(no_ref)) == (None, None, "wer")


def test_text_metric_names_are_checked(tmp_path: Path) -> None:
    manifest = _pred_manifest(tmp_path / "pred.json")
    with pytest.raises(ValueError, match="not supported"):
        eval_utils.cal_write_text_metric(manifest, metric="meteor")
    _, totals, _ = eval_utils.cal_write_text_metric(manifest, output_filename=str(tmp_path / "b.json"))
    assert totals["samples"] == 2 and 0.0 <= totals["bleu"] <= 1.0

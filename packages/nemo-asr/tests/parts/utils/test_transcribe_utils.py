"""transcribe_utils: the helpers NeMo's transcribe_speech.py / speech_to_text_eval.py call.

Expected values come from NeMo 1.23's transcribe_utils run once in /tmp/nemo-ref (noted), or from an independent
path of our own model (``transcribe`` on a waveform cut by hand).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from nemo.collections.asr.parts.utils import transcribe_utils as tu
from nemo.collections.asr.parts.utils.rnnt_utils import Hypothesis
from omegaconf import OmegaConf

REPO = Path(__file__).resolve().parents[5]
TINY_CTC = REPO / "tests" / "data" / "nemo-1.23" / "conformer_ctc_char_tiny.nemo"


def _manifest(path: Path) -> str:
    lines = [
        {"audio_filepath": "a.wav", "text": "the cat sat", "pred_text": "the cat sat down"},
        {"audio_filepath": "b.wav", "text": "Hello, 2 dogs", "pred_text": "hello two dog"},
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return str(path)


def test_output_filename_and_text_processing_match_nemo() -> None:
    # Values: NeMo 1.23's transcribe_utils, run once.
    cfg = OmegaConf.create(
        {
            "output_filename": None,
            "audio_dir": None,
            "pred_name_postfix": None,
            "dataset_manifest": "/d/x.json",
        }
    )
    assert tu.compute_output_filename(cfg, "m").output_filename == "/d/x_m.json"
    cfg = OmegaConf.create(
        {
            "output_filename": None,
            "audio_dir": "/d/audio/",
            "pred_name_postfix": None,
            "dataset_manifest": None,
        }
    )
    assert tu.compute_output_filename(cfg, "m").output_filename == "/d/audio.json"
    pc = tu.PunctuationCapitalization(".,?")
    assert pc.separate_punctuation(["Hi, you.  There?"]) == ["Hi , you . There ?"]
    assert pc.rm_punctuation(["Hi, you.  There?"]) == ["Hi you There"]
    assert pc.do_lowercase(["Hi"]) == ["hi"]
    assert tu.PunctuationCapitalization("").rm_punctuation(["a, b"]) == ["a, b"]
    # Usable as a dataclass default on Python 3.11 (speech_to_text_eval.py does that).
    assert hash(tu.TextProcessingConfig(punctuation_marks=".,?")) is not None


def test_write_transcription_nbest_with_beams_and_append_pred(tmp_path: Path) -> None:
    manifest = _manifest(tmp_path / "pred.json")
    cfg = OmegaConf.create(
        {
            "append_pred": True,
            "pred_name_postfix": None,
            "output_filename": str(tmp_path / "w.json"),
            "audio_dir": None,
            "dataset_manifest": manifest,
            "decoding": {"beam": {"return_best_hypothesis": False}},
        }
    )
    nbest = [
        [
            Hypothesis(score=-1.0, y_sequence=[], text="a b"),
            Hypothesis(score=-2.0, y_sequence=[], text="a c"),
        ],
        [Hypothesis(score=-3.0, y_sequence=[], text="x"), Hypothesis(score=-4.0, y_sequence=[], text="y")],
    ]
    assert tu.write_transcription(nbest, cfg, "mod") == (str(tmp_path / "w.json"), "pred_text_mod")
    # The lines NeMo 1.23 writes for the same input (run once).
    assert (tmp_path / "w.json").read_text().splitlines() == [
        '{"audio_filepath": "a.wav", "text": "the cat sat", "pred_text": "the cat sat down", "pred_text_mod": "a b", '
        '"beams": [["a b", -1.0], ["a c", -2.0]]}',
        '{"audio_filepath": "b.wav", "text": "Hello, 2 dogs", "pred_text": "hello two dog", "pred_text_mod": "x", '
        '"beams": [["x", -3.0], ["y", -4.0]]}',
    ]
    with pytest.raises(TypeError, match="strings, Hypothesis"):
        tu.write_transcription([1, 2], cfg, "mod")


def test_metrics_per_sample_match_nemo(tmp_path: Path) -> None:
    manifest = _manifest(tmp_path / "pred.json")
    samples = tu.compute_metrics_per_sample(
        manifest, metrics=["wer", "cer"], output_manifest_path=str(tmp_path / "o")
    )
    # NeMo 1.23 gives wer 33.33 / cer 45.45 and wer 100.0 / cer 46.15 (run once).
    assert [(s["wer"], s["cer"]) for s in samples] == [(33.33, 45.45), (100.0, 46.15)]
    with pytest.raises(AssertionError, match="not supported"):
        tu.compute_metrics_per_sample(manifest, metrics=["bleu"])


def test_setup_model_prepare_audio_and_partial_transcription(tmp_path: Path) -> None:
    from nemo.collections.asr.models import EncDecCTCModel

    rng = np.random.default_rng(0)
    audio = (0.1 * rng.standard_normal(16000 * 2)).astype(np.float32)
    sf.write(tmp_path / "noise.wav", audio, 16000)
    manifest = tmp_path / "segments.json"
    manifest.write_text(
        json.dumps({"audio_filepath": "noise.wav", "offset": 0.5, "duration": 1.0, "text": "x"}) + "\n"
    )
    cfg = OmegaConf.create(
        {
            "model_path": str(TINY_CTC),
            "pretrained_name": None,
            "audio_dir": None,
            "dataset_manifest": str(manifest),
            "append_pred": False,
            "model_change": {"conformer": {"self_attention_model": None, "att_context_size": None}},
        }
    )
    model, name = tu.setup_model(cfg, "cpu")
    assert isinstance(model, EncDecCTCModel) and name == "conformer_ctc_char_tiny"
    filepaths, partial = tu.prepare_audio_data(cfg)
    assert filepaths == [str(tmp_path / "noise.wav")] and partial is True

    (hyp,) = tu.transcribe_partial_audio(model, str(manifest), batch_size=1, return_hypotheses=True)
    # Independent path: the model's own transcribe on the same second cut out by hand.
    (expected,) = model.transcribe([audio[8000:24000]], batch_size=1)
    assert hyp.text == expected
    (logits,) = tu.transcribe_partial_audio(model, str(manifest), logprobs=True)
    assert np.allclose(logits, hyp.y_sequence.numpy(), atol=1e-5)
    assert model.preprocessor.featurizer.dither == pytest.approx(model.cfg.preprocessor.get("dither", 1e-5))
    with pytest.raises(ValueError, match="augmentor"):
        tu.transcribe_partial_audio(model, str(manifest), augmentor={"white_noise": {}})

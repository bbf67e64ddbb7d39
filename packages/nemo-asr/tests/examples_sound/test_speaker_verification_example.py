"""``examples/asr/speaker_verification.py``: the equal error rate, trial lists, and a tiny real run."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import roc_curve

ROOT = Path(__file__).resolve().parents[4]
EXAMPLES = ROOT / "examples" / "asr"
SPEAKERS = ROOT / "data" / "speakers"


def _sklearn_eer(scores: np.ndarray, targets: np.ndarray) -> float:
    """The usual EER of speaker-verification recipes: the ROC point where FNR and FPR are closest."""
    fpr, tpr, _ = roc_curve(targets, scores)
    fnr = 1 - tpr
    index = int(np.nanargmin(np.abs(fnr - fpr)))
    return float((fpr[index] + fnr[index]) / 2)


def test_eer_where_the_rates_meet_exactly(speaker_verification):
    # same speaker 0.9, 0.8, 0.6; different 0.7, 0.5, 0.4: at threshold 0.7 one of three of each kind is wrong.
    scores = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4]
    targets = [1, 1, 0, 1, 0, 0]
    eer, threshold = speaker_verification.equal_error_rate(scores, targets)
    assert eer == pytest.approx(1 / 3)
    assert threshold == pytest.approx(0.7)
    assert _sklearn_eer(np.asarray(scores), np.asarray(targets)) == pytest.approx(1 / 3)


def test_eer_interpolates_between_thresholds(speaker_verification):
    # FAR/FRR: at 0.9 -> 0/0.5, at 0.5 -> 1/0.5. The curves cross halfway, at rate 0.5 and threshold 0.7.
    eer, threshold = speaker_verification.equal_error_rate([0.9, 0.3, 0.5], [1, 1, 0])
    assert eer == pytest.approx(0.5)
    assert threshold == pytest.approx(0.7)


def test_eer_of_separable_scores_is_zero(speaker_verification):
    eer, threshold = speaker_verification.equal_error_rate([0.9, 0.8, 0.2, 0.1], [1, 1, 0, 0])
    assert eer == 0.0
    assert 0.2 < threshold <= 0.8


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_eer_agrees_with_sklearn_roc_curve(speaker_verification, seed):
    rng = np.random.default_rng(seed)
    targets = np.concatenate([np.ones(400, dtype=int), np.zeros(600, dtype=int)])
    scores = np.concatenate([rng.normal(1.0, 1.0, 400), rng.normal(-0.5, 1.0, 600)])
    eer, threshold = speaker_verification.equal_error_rate(scores, targets)
    assert eer == pytest.approx(_sklearn_eer(scores, targets), abs=1 / 400)
    far = np.mean(scores[targets == 0] >= threshold)
    frr = np.mean(scores[targets == 1] < threshold)
    assert far == pytest.approx(eer, abs=1 / 400) and frr == pytest.approx(eer, abs=1 / 400)


def test_eer_needs_both_kinds_of_trial(speaker_verification):
    with pytest.raises(ValueError, match="got 2 same-speaker and 0 different-speaker"):
        speaker_verification.equal_error_rate([0.5, 0.6], [1, 1])


def test_read_trials_of_the_dev_list(speaker_verification):
    targets, pairs = speaker_verification.read_trials(SPEAKERS / "dev_trials.txt")
    assert len(pairs) == 4080 and int(targets.sum()) == 2040
    assert all((SPEAKERS / path).is_file() for path in pairs[0])


def test_read_trials_names_the_bad_line(speaker_verification, tmp_path):
    path = tmp_path / "trials.txt"
    path.write_text("1 a.wav b.wav\n2 a.wav c.wav\n")
    with pytest.raises(SystemExit, match=r"trials.txt:2: expected '<1\|0> <path> <path>'"):
        speaker_verification.read_trials(path)


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        ("espeak-en-us-f4", "espeak-en-us-nyc-f4", True),  # variant f4 in two accents
        ("espeak-en-gb-scotland-klatt4", "espeak-en-gb-x-gbcwmd-klatt4", True),
        ("espeak-en-us-f4", "espeak-en-us-f4", False),  # one speaker
        ("espeak-en-us-m1", "espeak-en-us-m7", False),  # two variants
        ("espeak-en-gb-klatt", "espeak-en-gb-klatt4", False),
        ("flite-slt", "flite-awb", False),
        ("asterisk-allison", "espeak-en-us-f4", False),
    ],
)
def test_accent_pairs_are_one_espeak_variant_in_two_accents(speaker_verification, first, second, expected):
    assert speaker_verification.same_voice_other_accent(first, second) is expected
    assert speaker_verification.same_voice_other_accent(second, first) is expected


def test_eer_without_accent_pairs_leaves_out_only_those_impostor_trials(speaker_verification):
    """The accent pair (0.9) outscores one same-speaker trial (0.8): 1 of 2 impostors accepted at EER."""
    scores = np.asarray([0.95, 0.8, 0.9, 0.1])
    targets = np.asarray([1, 1, 0, 0])
    accent_pairs = np.asarray([False, False, True, False])
    figures = speaker_verification.verification_figures(scores, targets, accent_pairs)

    assert figures["eer"] == pytest.approx(0.5)  # FAR 1/2 and FRR 1/2 at the threshold 0.8 .. 0.9
    assert figures["accent_pair_trials"] == 1
    assert figures["eer_without_accent_pairs"] == 0.0
    unmarked = speaker_verification.verification_figures(scores, targets, np.zeros(4, dtype=bool))
    assert unmarked["eer_without_accent_pairs"] == unmarked["eer"] == figures["eer"]


def _tiny_speakers(folder: Path) -> None:
    """Three training speakers with two utterances each; dev trials over two held-out speakers."""

    def entries(split: str) -> list[dict]:
        lines = (SPEAKERS / f"{split}_manifest.json").read_text().splitlines()
        return [json.loads(line) for line in lines]

    kept, seen = [], {}
    for entry in entries("train"):
        if len(seen) < 3 or entry["label"] in seen:
            if seen.setdefault(entry["label"], 0) < 2 and entry["duration"] < 3:
                seen[entry["label"]] += 1
                kept.append({**entry, "audio_filepath": str(SPEAKERS / entry["audio_filepath"])})
    (folder / "train_manifest.json").write_text("".join(json.dumps(entry) + "\n" for entry in kept))
    dev = entries("dev")
    first = [entry["audio_filepath"] for entry in dev if entry["label"] == dev[0]["label"]][:2]
    second = [entry["audio_filepath"] for entry in dev if entry["label"] != dev[0]["label"]][:1]
    trials = [(1, first[0], first[1]), (0, first[0], second[0]), (0, first[1], second[0])]
    labels = {entry["audio_filepath"]: entry["label"] for entry in dev}
    (folder / "dev_manifest.json").write_text(
        "".join(
            json.dumps({"audio_filepath": str(SPEAKERS / path), "duration": 1.0, "label": labels[path]})
            + "\n"
            for path in (*first, *second)
        )
    )
    (folder / "dev_trials.txt").write_text(
        "".join(f"{target} {SPEAKERS / one} {SPEAKERS / two}\n" for target, one, two in trials)
    )


def test_dev_only_run_trains_saves_restores_and_scores_dev(tmp_path):
    """Two real training steps on a few clips; the folder has no test trials, so reading them would fail."""
    data, run = tmp_path / "data", tmp_path / "run"
    data.mkdir()
    _tiny_speakers(data)
    command = [
        sys.executable,
        str(EXAMPLES / "speaker_verification.py"),
        "--data-dir",
        str(data),
        "--run-dir",
    ]
    command += [str(run), "--max-steps", "2", "--batch-size", "3", "--filters", "16", "--emb-size", "8"]
    command += ["--threads", "1"]  # one per pytest worker
    finished = subprocess.run(command + ["--dev-only"], capture_output=True, text=True, timeout=120)
    assert finished.returncode == 0, finished.stderr[-3000:]
    results = json.loads((run / "results.json").read_text())
    assert results["steps"] == 2
    assert results["dev"]["trials"] == 3 and results["dev"]["same_speaker_trials"] == 1
    assert results["dev"]["utterances"] == 3
    assert 0.0 <= results["dev"]["eer"] <= 1.0
    assert results["dev"]["accent_pair_trials"] == 0  # two different espeak-ng variants or a flite voice
    assert results["dev"]["eer_without_accent_pairs"] == results["dev"]["eer"]
    assert not any(key.startswith("test") for key in results)
    assert (run / "det_curve.png").read_bytes()[:4] == b"\x89PNG"
    assert (run / "titanet_speakers.nemo").is_file()

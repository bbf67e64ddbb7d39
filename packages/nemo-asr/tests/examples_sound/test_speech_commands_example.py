"""``examples/asr/speech_commands.py``: per-group accuracy, confusion counts, labels, and a tiny real run."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import confusion_matrix as sklearn_confusion_matrix

ROOT = Path(__file__).resolve().parents[4]
EXAMPLES = ROOT / "examples" / "asr"
COMMANDS = ROOT / "data" / "commands"


def test_confusion_matrix_counts_match_sklearn(speech_commands):
    labels = ["zero", "one", "a", "b"]
    rng = np.random.default_rng(0)
    truth = [labels[i] for i in rng.integers(0, 4, size=200)]
    predicted = [labels[i] for i in rng.integers(0, 4, size=200)]
    counts = speech_commands.confusion_matrix(truth, predicted, labels)
    np.testing.assert_array_equal(counts, sklearn_confusion_matrix(truth, predicted, labels=labels))


def test_confusion_matrix_rows_are_the_spoken_words(speech_commands):
    counts = speech_commands.confusion_matrix(["a", "a", "b"], ["b", "a", "b"], ["a", "b"])
    np.testing.assert_array_equal(counts, [[1, 1], [0, 1]])


def test_group_accuracy_by_the_spoken_words_group(speech_commands):
    groups = {"one": "digits", "two": "digits", "a": "letters", "b": "letters"}
    truth = ["one", "one", "two", "a", "a"]
    predicted = ["one", "a", "two", "a", "b"]
    figures = speech_commands.group_accuracy(truth, predicted, groups)
    assert figures == {
        "digits": {"accuracy": 2 / 3, "clips": 3},
        "letters": {"accuracy": 1 / 2, "clips": 2},
        "overall": {"accuracy": 3 / 5, "clips": 5},
    }


def test_read_labels_gives_the_36_words_and_their_groups(speech_commands):
    words, groups = speech_commands.read_labels(COMMANDS / "labels.txt")
    assert words[:3] == ["zero", "one", "two"] and words[-1] == "z" and len(words) == 36
    assert sum(group == "digits" for group in groups.values()) == 10
    assert {groups[word] for word in words[10:]} == {"letters"}


def test_read_labels_names_the_bad_line(speech_commands, tmp_path):
    path = tmp_path / "labels.txt"
    path.write_text("zero digits\none\n")
    with pytest.raises(SystemExit, match=r"labels.txt:2: expected '<word> <group>'"):
        speech_commands.read_labels(path)


def _tiny_commands(tmp_path, per_word: int) -> None:
    """A commands folder with ``per_word`` training and dev clips of each of the first four words."""
    (tmp_path / "labels.txt").write_text((COMMANDS / "labels.txt").read_text())
    for split in ("train", "dev"):
        kept, seen = [], {}
        for line in (COMMANDS / f"{split}_manifest.json").read_text().splitlines():
            entry = json.loads(line)
            if entry["label"] in ("zero", "one", "a", "b") and seen.get(entry["label"], 0) < per_word:
                seen[entry["label"]] = seen.get(entry["label"], 0) + 1
                entry["audio_filepath"] = str(COMMANDS / entry["audio_filepath"])
                kept.append(json.dumps(entry))
        (tmp_path / f"{split}_manifest.json").write_text("\n".join(kept) + "\n")
    real = [json.loads(line) for line in (COMMANDS / "dev_real_manifest.json").read_text().splitlines()[:3]]
    for entry in real:  # words cut from longer prompts: offset and duration into the prompt's file
        entry["audio_filepath"] = str((COMMANDS / entry["audio_filepath"]).resolve())
    (tmp_path / "dev_real_manifest.json").write_text("".join(json.dumps(entry) + "\n" for entry in real))


def test_dev_only_run_trains_saves_restores_and_scores_dev(tmp_path):
    """Two real training steps on a few clips; the folder has no test manifest, so reading it would fail."""
    data, run = tmp_path / "data", tmp_path / "run"
    data.mkdir()
    _tiny_commands(data, per_word=2)
    command = [sys.executable, str(EXAMPLES / "speech_commands.py"), "--data-dir", str(data), "--run-dir"]
    command += [str(run), "--max-steps", "2", "--batch-size", "4", "--filters", "16", "--dev-only"]
    finished = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert finished.returncode == 0, finished.stderr[-3000:]
    results = json.loads((run / "results.json").read_text())
    assert results["steps"] == 2
    assert set(results["dev"]["accuracy"]) == {"digits", "letters", "overall"}
    assert results["dev"]["accuracy"]["overall"]["clips"] == 8
    assert not any(key.startswith("test") for key in results)
    assert results["dev_real"]["accuracy"]["overall"]["clips"] == 3
    assert len(list((run / "clips" / "dev_real").glob("*.wav"))) == 3
    assert (run / "confusion_dev.png").read_bytes()[:4] == b"\x89PNG"
    assert (run / "matchboxnet_commands.nemo").is_file()
    assert "dev: digits" in finished.stdout


def test_read_manifest_cuts_a_word_out_of_a_longer_prompt_and_keeps_whole_clips(speech_commands, tmp_path):
    import soundfile as sf

    prompt = ROOT / "data" / "asterisk" / "audio" / "vm-calldiffnum.opus"
    whole = COMMANDS / "audio" / "seven" / "flite-slt_3.opus"
    lines = [
        {"audio_filepath": str(prompt), "duration": 0.5, "label": "two", "offset": 0.25},
        {
            "audio_filepath": str(whole),
            "duration": sf.info(str(whole)).duration,
            "label": "seven",
            "offset": 0.0,
        },
    ]
    manifest = tmp_path / "dev_real_manifest.json"
    manifest.write_text("".join(json.dumps(line) + "\n" for line in lines))
    cuts = tmp_path / "cuts"
    cuts.mkdir()

    paths, labels = speech_commands.read_manifest(manifest, cuts)

    assert labels == ["two", "seven"]
    assert paths[1] == str(whole.resolve())
    cut, rate = sf.read(paths[0])
    source, source_rate = sf.read(str(prompt))
    assert rate == source_rate == 16000 and Path(paths[0]).parent == cuts
    np.testing.assert_allclose(cut, source[4000:12000], atol=1e-4)  # 0.25 s to 0.75 s, as 16-bit wav


def test_recipe_options_reach_nemos_config_keys(speech_commands):
    from nemo.collections.asr.parts.preprocessing.perturb import process_augmentations

    words, _ = speech_commands.read_labels(COMMANDS / "labels.txt")
    default = speech_commands.build_config(speech_commands.parse_args([]), words).model
    options = ["--speed-prob", "0.5", "--speed-range", "0.1", "--noise-max-db", "-30", "--shift-ms", "50"]
    options += ["--workers", "2", "--features", "mel_per_feature"]
    changed = speech_commands.build_config(speech_commands.parse_args(options), words).model

    assert "speed" not in default.train_ds.augmentor and default.train_ds.num_workers == 1
    assert (
        default.train_ds.augmentor.white_noise.max_level == -46
        and default.train_ds.augmentor.shift.max_shift_ms == 5
    )
    assert default.preprocessor._target_.endswith("AudioToMFCCPreprocessor")
    speed = changed.train_ds.augmentor.speed
    assert (
        speed.prob == 0.5
        and speed.min_speed_rate == pytest.approx(0.9)
        and speed.max_speed_rate == pytest.approx(1.1)
    )
    assert changed.train_ds.augmentor.white_noise.max_level == -30
    assert (changed.train_ds.augmentor.shift.min_shift_ms, changed.train_ds.augmentor.shift.max_shift_ms) == (
        -50,
        50,
    )
    assert changed.train_ds.num_workers == 2 and changed.validation_ds.num_workers == 0
    assert changed.preprocessor._target_.endswith("AudioToMelSpectrogramPreprocessor")
    assert changed.preprocessor.normalize == "per_feature" and changed.preprocessor.features == 64
    # The augmentor sections build: only the speed perturbation can lengthen a clip (by its highest rate).
    assert process_augmentations(default.train_ds.augmentor).max_augmentation_length(1.0) == pytest.approx(
        1.0
    )
    assert process_augmentations(changed.train_ds.augmentor).max_augmentation_length(1.0) == pytest.approx(
        1.1
    )


def test_highfreq_limits_the_mfcc_filterbank_to_that_band(speech_commands):
    """--highfreq 7000 sets the preprocessor's highfreq: a loud 7.5 kHz tone added to white noise, outside that
    band, then hardly moves the MFCCs, where with the default band (to 8 kHz) it moves them a lot."""
    import torch
    from hydra.utils import instantiate

    words, _ = speech_commands.read_labels(COMMANDS / "labels.txt")
    noise = 0.01 * torch.randn(16000, generator=torch.Generator().manual_seed(0))
    tone = 0.5 * torch.sin(2 * torch.pi * 7500 * torch.arange(16000) / 16000)
    moved = {}
    for name, options in (("full band", []), ("to 7 kHz", ["--highfreq", "7000"])):
        cfg = speech_commands.build_config(speech_commands.parse_args(options), words).model
        preprocessor = instantiate(cfg.preprocessor).eval()
        with torch.no_grad():
            noisy, toned = (
                preprocessor(input_signal=signal[None], length=torch.tensor([16000]))[0]
                for signal in (noise, noise + tone)
            )
        # Inner frames: the first and last are padded by reflection, whose seam clicks across every band.
        moved[name] = (toned - noisy)[..., 2:-2].abs().max().item()
    limited = speech_commands.build_config(speech_commands.parse_args(["--highfreq", "7000"]), words)
    assert limited.model.preprocessor.highfreq == 7000
    assert moved["full band"] > 10 * moved["to 7 kHz"], moved

"""`nemo train pitch.estimator` on real bundled clips writes a `.nemo` that restores, evaluates and loads by name."""

from __future__ import annotations

import re
import shutil

import pytest

pytest.importorskip(
    "nemo_pitch", reason="nemo_pitch is not installed; install it with `pip install -e examples/nemo-pitch`"
)

import torch
from nemo.core.plugins.testing import run_python
from nemo_pitch.data import PitchDataset, collate_pitch, read_pitch_manifest
from nemo_pitch.evaluate import evaluate_manifest, pitch_command
from nemo_pitch.models import PitchEstimatorModel


@pytest.fixture(scope="module")
def trained(tiny_manifest, tmp_path_factory):
    """Train for 4 steps (2 epochs of 2 batches) on 4 real train clips; the run directory and the dev manifest."""
    train, dev = tiny_manifest("train", 4), tiny_manifest("dev", 2)
    runs = tmp_path_factory.mktemp("runs")
    overrides = [
        f"model.train_ds.manifest_filepath={train}",
        "model.train_ds.batch_size=2",
        "model.train_ds.crop_seconds=1.0",
        f"model.validation_ds.manifest_filepath={dev}",
        "model.network.hidden=32",
        "model.network.num_layers=2",
        "trainer.max_epochs=2",
        "trainer.accelerator=cpu",
        "trainer.enable_progress_bar=false",
        f"exp_manager.exp_dir={runs}",
        "exp_manager.create_tensorboard_logger=false",
        "exp_manager.checkpoint_callback_params.save_best_model=false",  # the .nemo holds the last weights
    ]
    result = run_python(["-m", "nemo.core.cli.main", "train", "pitch.estimator", *overrides], timeout=300)
    assert result.returncode == 0, f"nemo train failed:\n{result.stdout}\n{result.stderr}"
    return runs, dev, result.stdout


def test_nemo_train_writes_a_nemo_that_restores_with_the_trained_weights(trained):
    runs, dev, output = trained
    (archive,) = runs.rglob("*.nemo")
    (last,) = runs.rglob("*-last.ckpt")
    assert f".nemo: {archive}" in output
    dataset = PitchDataset(read_pitch_manifest(str(dev), 16000, 160), 16000, 160)
    audio, lengths, _, _ = collate_pitch([dataset[0], dataset[1]])

    restored = PitchEstimatorModel.restore_from(str(archive), map_location="cpu").eval()
    from_checkpoint = PitchEstimatorModel.load_from_checkpoint(str(last), map_location="cpu").eval()
    with torch.no_grad():
        expected = from_checkpoint(input_signal=audio, input_signal_length=lengths)
        actual = restored(input_signal=audio, input_signal_length=lengths)
    for a, e in zip(actual, expected):
        assert torch.equal(a, e)
    assert restored.cfg.network.hidden == 32


def test_nemo_pitch_eval_prints_the_metrics_of_the_archive(trained, capsys):
    runs, dev, _ = trained
    (archive,) = runs.rglob("*.nemo")
    counts = evaluate_manifest(PitchEstimatorModel.restore_from(str(archive), map_location="cpu"), str(dev))
    assert pitch_command(["eval", str(archive), str(dev)]) == 0
    printed = capsys.readouterr().out
    assert re.search(
        rf"raw pitch accuracy \(RPA, within 50 cents\): {counts.raw_pitch_accuracy:.4f}\n", printed
    )
    assert re.search(rf"voicing decision accuracy \(VDA\): {counts.voicing_accuracy:.4f}\n", printed)
    assert f"{counts.frames} frames of 10 ms" in printed


def test_the_archive_loads_by_its_pretrained_name_from_the_cache_dir(trained, tmp_path, monkeypatch):
    runs, _, _ = trained
    (archive,) = runs.rglob("*.nemo")
    cache = tmp_path / "cache"
    cache.mkdir()
    shutil.copy(archive, cache / "pitch_estimator_asterisk.nemo")
    monkeypatch.setenv("NEMO_CACHE_DIR", str(cache))
    model = PitchEstimatorModel.from_pretrained("pitch_estimator_asterisk", map_location="cpu")
    assert type(model) is PitchEstimatorModel and model.cfg.network.hidden == 32

"""PitchEstimatorModel on a few real clips: nemo-core's conformance kit, and the validation metrics it logs."""

from __future__ import annotations

import pytest

pytest.importorskip(
    "nemo_pitch", reason="nemo_pitch is not installed; install it with `pip install -e examples/nemo-pitch`"
)

import pytorch_lightning as pl
import torch
from nemo.core import registry
from nemo.core.conformance import assert_model_conforms
from nemo_pitch.data import collate_pitch, read_pitch_manifest
from nemo_pitch.evaluate import evaluate_manifest
from nemo_pitch.models import PitchEstimatorModel
from omegaconf import OmegaConf


@pytest.fixture
def tiny_cfg(tiny_manifest):
    """The shipped config, shrunk: a 2-layer network of 32 channels over 4 training and 2 dev clips."""
    cfg = OmegaConf.load(registry.find_config("pitch_estimator"))
    cfg.model.network.hidden = 32
    cfg.model.network.num_layers = 2
    cfg.model.train_ds.manifest_filepath = str(tiny_manifest("train", 4))
    cfg.model.train_ds.batch_size = 2
    cfg.model.train_ds.crop_seconds = 1.0
    cfg.model.validation_ds.manifest_filepath = str(tiny_manifest("dev", 2))
    return cfg


def real_batch(manifest: str) -> dict[str, torch.Tensor]:
    from nemo_pitch.data import PitchDataset

    dataset = PitchDataset(read_pitch_manifest(manifest, 16000, 160), 16000, 160)
    audio, lengths, _, _ = collate_pitch([dataset[i] for i in range(len(dataset))])
    return {"input_signal": audio, "input_signal_length": lengths}


def test_the_model_conforms(tiny_cfg, tmp_path):
    inputs = real_batch(tiny_cfg.model.validation_ds.manifest_filepath)
    assert_model_conforms(PitchEstimatorModel, tiny_cfg, tmp_path, inputs=inputs)


def test_outputs_have_one_frame_per_10_ms_and_estimates_are_in_hz(tiny_cfg):
    model = PitchEstimatorModel(cfg=tiny_cfg.model).eval()
    inputs = real_batch(tiny_cfg.model.validation_ds.manifest_filepath)
    pitch_logits, voicing_logits, lengths = model(**inputs)
    frames = 1 + inputs["input_signal"].shape[1] // 160
    assert pitch_logits.shape == (2, frames, 242) and voicing_logits.shape == (2, frames)
    assert lengths.tolist() == (1 + inputs["input_signal_length"] // 160).tolist()
    f0, _ = model.estimate_f0(**inputs)
    voiced = f0[f0 > 0]
    assert ((voiced >= 65.4 * 0.99) & (voiced <= 1060.0)).all()
    assert (f0[1, lengths[1] :] == 0).all()


def test_validation_logs_corpus_metrics_equal_to_the_evaluator(tiny_cfg):
    # One clip per batch, in both: two batches to sum, and no padding (which shifts a clip's last frames a little).
    tiny_cfg.model.validation_ds.batch_size = 1
    model = PitchEstimatorModel(cfg=tiny_cfg.model)
    trainer = pl.Trainer(
        accelerator="cpu", logger=False, enable_progress_bar=False, enable_model_summary=False
    )
    model.set_trainer(trainer)
    (logged,) = trainer.validate(model, verbose=False)
    counts = evaluate_manifest(model, tiny_cfg.model.validation_ds.manifest_filepath, batch_size=1)
    assert set(logged) >= {"val_loss", "val_rpa", "val_rca", "val_vda", "val_oa"}
    assert logged["val_rpa"] == pytest.approx(counts.raw_pitch_accuracy, abs=1e-6)
    assert logged["val_vda"] == pytest.approx(counts.voicing_accuracy, abs=1e-6)

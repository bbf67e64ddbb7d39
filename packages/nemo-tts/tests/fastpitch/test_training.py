"""FastPitch trains with a real Lightning Trainer on real speech (the bundled Asterisk prompts, 16 kHz) through
NeMo's TTSDataset: learned alignment, losses logged under NeMo's names, the binarization loss weight warming up
over ``bin_loss_warmup_epochs``, and validation images in TensorBoard."""

import json
import math
from pathlib import Path

import pytest
import pytorch_lightning as pl
import soundfile as sf
import torch
from nemo.collections.tts.models import FastPitchModel
from nemo.collections.tts.parts.utils.helpers import binarize_attention_parallel, process_batch
from omegaconf import open_dict

ASTERISK = Path(__file__).resolve().parents[4] / "data" / "asterisk"
PROMPTS = ("activated", "agent-loggedoff", "auth-thankyou", "vm-goodbye")
SAMPLE_RATE = 16000
WARMUP_EPOCHS = 4
STEPS = 20


@pytest.fixture(scope="module")
def speech_manifest(tmp_path_factory) -> Path:
    """Four Asterisk prompts decoded to 16 kHz wav files, and their TTS manifest."""
    folder = tmp_path_factory.mktemp("fastpitch_speech")
    known = {}
    for split in ("train", "dev"):
        for line in (ASTERISK / f"{split}_manifest.json").read_text(encoding="utf-8").splitlines():
            if line.strip():
                entry = json.loads(line)
                known[Path(entry["audio_filepath"]).stem] = entry
    lines = []
    for name in PROMPTS:
        samples, rate = sf.read(ASTERISK / known[name]["audio_filepath"], dtype="float32")
        assert rate == SAMPLE_RATE
        path = folder / f"{name}.wav"
        sf.write(path, samples, SAMPLE_RATE, subtype="PCM_16")
        lines.append(
            {"audio_filepath": str(path), "duration": len(samples) / rate, "text": known[name]["text"]}
        )
    manifest = folder / "speech_manifest.json"
    manifest.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return manifest


def _config(cfg, manifest: Path, sup_data_path: Path, log_images: bool = False):
    """NeMo's fixture config ``cfg`` (fastpitch_align_v1.05 keys) set to 16 kHz, reading ``manifest``."""
    with open_dict(cfg):
        cfg.sample_rate = SAMPLE_RATE
        cfg.preprocessor.sample_rate = SAMPLE_RATE
        cfg.bin_loss_warmup_epochs = WARMUP_EPOCHS
        cfg.log_images = log_images
        cfg.optim = {"name": "adam", "lr": 3e-3}
        for key in ("train_ds", "validation_ds"):
            dataset = cfg[key].dataset
            dataset.manifest_filepath = str(manifest)
            dataset.sample_rate = SAMPLE_RATE
            dataset.sup_data_path = str(sup_data_path)
            dataset.min_duration = None
            cfg[key].dataloader_params.batch_size = len(PROMPTS)
            cfg[key].dataloader_params.shuffle = key == "train_ds"
    return cfg


class _Recorder(pl.Callback):
    """Logged training losses per step, and the unweighted binarization loss of each batch."""

    def __init__(self):
        self.rows = []
        self.raw_bin = None

    def on_train_batch_start(self, trainer, model, batch, batch_idx):
        data = process_batch(batch, model._train_dl.dataset.sup_data_types_set)
        with torch.no_grad():
            mels, mel_lens = model.preprocessor(input_signal=data["audio"], length=data["audio_lens"])
            text_emb = model.fastpitch.encoder.word_emb(data["text"])
            pad = (data["text"] == model.vocab.pad).unsqueeze(2)
            soft, _ = model.aligner(mels, text_emb.transpose(1, 2), pad, data["align_prior_matrix"])
            hard = binarize_attention_parallel(soft, data["text_lens"], mel_lens)
            self.raw_bin = model.bin_loss_fn(hard_attention=hard, soft_attention=soft).item()

    def on_train_batch_end(self, trainer, model, outputs, batch, batch_idx):
        metrics = {k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith("t_")}
        self.rows.append({"epoch": trainer.current_epoch, "raw_bin": self.raw_bin, **metrics})


def test_fit_learned_alignment_losses_decrease(speech_manifest, fastpitch_config, tmp_path, cpu_trainer):
    torch.manual_seed(0)
    cfg = _config(fastpitch_config, speech_manifest, tmp_path / "sup")
    recorder = _Recorder()
    trainer = cpu_trainer(
        max_epochs=STEPS,
        limit_train_batches=1,
        limit_val_batches=0,
        callbacks=[recorder],
    )
    model = FastPitchModel(cfg=cfg, trainer=trainer)
    trainer.fit(model)

    rows = recorder.rows
    assert len(rows) == STEPS
    names = {"t_loss", "t_mel_loss", "t_dur_loss", "t_pitch_loss", "t_ctc_loss", "t_bin_loss"}
    assert names <= set(rows[0]), sorted(rows[0])
    assert "t_energy_loss" not in rows[0]
    for row in rows:
        assert all(math.isfinite(row[name]) for name in names), row
        parts = (
            row["t_mel_loss"]
            + row["t_dur_loss"]
            + row["t_pitch_loss"]
            + row["t_ctc_loss"]
            + row["t_bin_loss"]
        )
        assert row["t_loss"] == pytest.approx(parts, rel=1e-5)
        weight = min(row["epoch"] / WARMUP_EPOCHS, 1.0)
        assert row["t_bin_loss"] == pytest.approx(row["raw_bin"] * weight, rel=1e-4, abs=1e-7), row
    assert rows[0]["t_bin_loss"] == 0.0
    first, last = rows[:3], rows[-3:]
    for name, factor in (("t_mel_loss", 0.8), ("t_ctc_loss", 0.97)):
        start = sum(row[name] for row in first) / 3
        end = sum(row[name] for row in last) / 3
        assert end < factor * start, (name, start, end)


def test_validation_logs_losses_and_tensorboard_images(
    speech_manifest, fastpitch_config, tmp_path, cpu_trainer
):
    from pytorch_lightning.loggers import TensorBoardLogger
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    torch.manual_seed(0)
    cfg = _config(fastpitch_config, speech_manifest, tmp_path / "sup", log_images=True)
    logger = TensorBoardLogger(str(tmp_path / "tb"), name="fastpitch")
    trainer = cpu_trainer(
        max_epochs=1,
        limit_train_batches=1,
        limit_val_batches=1,
        num_sanity_val_steps=0,
        log_every_n_steps=1,
        logger=logger,
    )
    model = FastPitchModel(cfg=cfg, trainer=trainer)
    trainer.fit(model)
    for name in ("val_loss", "val_mel_loss", "val_dur_loss", "val_pitch_loss"):
        assert math.isfinite(float(trainer.callback_metrics[name])), name
    logger.experiment.flush()
    events = EventAccumulator(logger.log_dir, size_guidance={"images": 0})
    events.Reload()
    images = set(events.Tags()["images"])
    expected = {"val_mel_target", "val_mel_predicted", "val_attn", "val_soft_attn", "val_pitch_target"}
    assert expected <= images, images
    mel = events.Images("val_mel_target")[0]
    assert mel.height == 80 * 2 and mel.width > 0


def test_fastpitch_passes_the_conformance_kit(speech_manifest, fastpitch_config, tmp_path):
    from nemo.core.conformance import assert_model_conforms

    cfg = _config(fastpitch_config, speech_manifest, tmp_path / "sup")
    tokens = torch.randint(1, 20, (2, 12), generator=torch.Generator().manual_seed(0))
    # NeMo's FastPitchModel.forward declares durs and pitch mandatory: 3 frames and a flat pitch per token.
    inputs = {"text": tokens, "durs": torch.full((2, 12), 3), "pitch": torch.zeros(2, 12)}
    assert_model_conforms(FastPitchModel, cfg, tmp_path, inputs=inputs)

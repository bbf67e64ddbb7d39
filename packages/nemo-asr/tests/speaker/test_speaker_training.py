"""EncDecSpeakerLabelModel trained by a real Lightning Trainer on real clips of three synthetic voices: NeMo's
logged names, a falling loss, labels saved in the archive, save/restore, batch inference; config errors."""

import json
import tarfile
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
from hydra import compose, initialize_config_dir
from nemo.collections.asr.models import EncDecSpeakerLabelModel
from nemo.core import registry
from omegaconf import OmegaConf

VOICES = ("flite-slt", "flite-awb", "flite-kal16")


def _titanet_cfg(train_manifest, val_manifest, num_classes: int = 3, extra: tuple[str, ...] = ()):
    path = registry.find_config("titanet-small")
    overrides = [
        "model.model_defaults.filters=16",
        "model.model_defaults.repeat=1",
        "model.decoder.feat_in=32",
        "model.decoder.emb_sizes=16",
        "+model.decoder.attention_channels=8",
        f"model.decoder.num_classes={num_classes}",
        "model.train_ds.augmentor=null",
        f"model.train_ds.manifest_filepath={train_manifest}",
        f"model.validation_ds.manifest_filepath={val_manifest}",
        "model.train_ds.batch_size=4",
        "model.validation_ds.batch_size=6",
        "model.optim.name=adam",
        "model.optim.lr=0.005",
        "~model.optim.momentum",
        "trainer.accelerator=cpu",
        "trainer.max_steps=9",
        "trainer.enable_progress_bar=false",
        "+trainer.num_sanity_val_steps=0",
        *extra,
    ]
    with initialize_config_dir(config_dir=str(path.parent), version_base=None):
        return compose(config_name="titanet-small", overrides=overrides)


def _batch_loss(model: EncDecSpeakerLabelModel, batch) -> float:
    """Training-mode loss of ``batch`` (batch statistics), without SpecAugment and with fixed dropout/dither draws."""
    audio, audio_len, labels, _ = batch
    spec_augmentation, model.spec_augmentation = model.spec_augmentation, None
    model.train()
    torch.manual_seed(0)
    with torch.no_grad():
        logits, _ = model(input_signal=audio, input_signal_length=audio_len)
        loss = model.loss(logits=logits, labels=labels).item()
    model.spec_augmentation = spec_augmentation
    return loss


def test_trainer_fits_logs_nemos_names_and_restores(voice_manifest, tmp_path):
    pl.seed_everything(0)
    manifest = voice_manifest(VOICES, per_voice=4)
    cfg = _titanet_cfg(manifest, manifest)
    trainer = pl.Trainer(**OmegaConf.to_container(cfg.trainer), enable_model_summary=False)
    model = EncDecSpeakerLabelModel(cfg=cfg.model, trainer=trainer)
    model.setup_optimization(cfg.model.optim)
    batch = next(iter(model.val_dataloader()))
    before = _batch_loss(model, batch)

    trainer.fit(model)

    metrics = trainer.callback_metrics
    for name in ("loss", "learning_rate", "global_step", "training_batch_accuracy_top_0"):
        assert name in metrics, f"training step did not log {name}: {sorted(metrics)}"
    for name in ("val_loss", "val_acc_micro_top_1", "val_acc_macro"):
        assert name in metrics, f"validation did not log {name}: {sorted(metrics)}"
    assert 0.0 <= float(metrics["val_acc_macro"]) <= 1.0
    assert trainer.global_step == 9
    after = _batch_loss(model, batch)
    assert after < before, f"loss of a training batch did not fall: {before} -> {after}"

    model.setup_test_data(
        {"manifest_filepath": str(manifest), "sample_rate": 16000, "labels": None, "batch_size": 5}
    )
    (results,) = trainer.test(model, verbose=False)
    assert {"test_loss", "test_acc_micro_top_1", "test_acc_macro"} <= set(results)

    path = tmp_path / "speaker.nemo"
    model.save_to(str(path))
    restored = EncDecSpeakerLabelModel.restore_from(str(path), map_location="cpu")
    assert list(restored.cfg.train_ds.labels) == sorted(VOICES)
    clip = json.loads(manifest.read_text().splitlines()[0])["audio_filepath"]
    model.eval()
    torch.testing.assert_close(restored.get_embedding(clip), model.get_embedding(clip), atol=1e-5, rtol=0)
    assert restored.get_label(clip) in VOICES

    embs, logits, gt_labels, trained_labels = restored.batch_inference(
        str(manifest), batch_size=5, device="cpu"
    )
    assert embs.shape == (12, 16) and logits.shape == (12, 3)
    assert list(gt_labels) == [voice for voice in VOICES for _ in range(4)]
    assert trained_labels == sorted(VOICES)


def test_auto_loss_weight_is_inverse_class_frequency(voice_manifest):
    manifest = voice_manifest(VOICES[:2], per_voice=3)
    lines = manifest.read_text().splitlines()
    manifest.write_text("\n".join(lines[:4]) + "\n")  # three clips of flite-slt, one of flite-awb
    cfg = _titanet_cfg(
        manifest,
        manifest,
        num_classes=2,
        extra=(
            "model.loss._target_=nemo.collections.common.losses.CrossEntropyLoss",
            "~model.loss.scale",
            "~model.loss.margin",
            "+model.loss.weight=auto",
        ),
    )

    model = EncDecSpeakerLabelModel(cfg=cfg.model)

    # Labels sorted: flite-awb (1 clip), flite-slt (3 clips); weight = total / (classes * count).
    assert model.loss.weight.tolist() == pytest.approx([4 / (2 * 1), 4 / (2 * 3)])
    assert model.eval_loss.weight is None
    assert not model.decoder.angular and model.decoder.final.bias is not None
    assert model.cfg.loss.weight == "auto"


def test_more_speakers_than_decoder_classes_is_an_error(voice_manifest):
    manifest = voice_manifest(VOICES, per_voice=1)
    cfg = _titanet_cfg(manifest, manifest, num_classes=2)

    with pytest.raises(ValueError, match=r"decoder.num_classes=2.*model.decoder.num_classes to 3"):
        EncDecSpeakerLabelModel(cfg=cfg.model)


def test_validation_speaker_unknown_to_training_names_the_line(voice_manifest):
    train = voice_manifest(VOICES[:2], per_voice=1, name="train.json")
    val = voice_manifest(VOICES, per_voice=1, name="val.json")
    cfg = _titanet_cfg(train, val, num_classes=2)

    with pytest.raises(ValueError, match=r"val.json:3: label 'flite-kal16'"):
        EncDecSpeakerLabelModel(cfg=cfg.model)


def test_manifest_line_without_label_is_an_error(voice_manifest):
    manifest = voice_manifest(VOICES[:1], per_voice=2)
    first, second = manifest.read_text().splitlines()
    item = json.loads(second)
    del item["label"]
    manifest.write_text(first + "\n" + json.dumps(item) + "\n")
    cfg = _titanet_cfg(manifest, manifest)

    with pytest.raises(ValueError, match=r"voices_manifest.json:2: no speaker label"):
        EncDecSpeakerLabelModel(cfg=cfg.model)


def test_null_manifests_build_a_model_without_data():
    cfg = _titanet_cfg("null", "null")

    model = EncDecSpeakerLabelModel(cfg=cfg.model)

    assert model.train_dataloader() is None and model.labels is None
    assert model.cfg.train_ds.labels is None


def test_tarred_training_data_streams_every_clip(voice_manifest, tmp_path):
    manifest = voice_manifest(VOICES[:2], per_voice=3)
    entries = [json.loads(line) for line in manifest.read_text().splitlines()]
    shard = tmp_path / "audio_0.tar"
    with tarfile.open(shard, "w") as tar:
        for entry in entries:
            tar.add(entry["audio_filepath"], arcname=Path(entry["audio_filepath"]).name)
    tarred = tmp_path / "tarred_manifest.json"
    tarred.write_text(
        "".join(
            json.dumps({**entry, "audio_filepath": Path(entry["audio_filepath"]).name}) + "\n"
            for entry in entries
        )
    )
    cfg = _titanet_cfg(
        tarred,
        "null",
        num_classes=2,
        extra=("model.train_ds.is_tarred=true", f"model.train_ds.tarred_audio_filepaths={shard}"),
    )
    trainer = pl.Trainer(**OmegaConf.to_container(cfg.trainer), enable_model_summary=False)

    model = EncDecSpeakerLabelModel(cfg=cfg.model, trainer=trainer)
    batches = list(model.train_dataloader())

    assert list(model.cfg.train_ds.labels) == ["flite-awb", "flite-slt"]
    assert sorted(label for batch in batches for label in batch[2].tolist()) == [0, 0, 0, 1, 1, 1]
    assert [batch[0].shape[0] for batch in batches] == [4, 2]
    assert trainer.limit_train_batches == 2, "a streamed dataset's batch count was not set on the trainer"


def test_titanet_passes_the_conformance_kit(voice_manifest, tmp_path):
    from nemo.core.conformance import assert_model_conforms

    manifest = voice_manifest(VOICES, per_voice=4)
    cfg = _titanet_cfg(manifest, manifest)
    audio = 0.1 * torch.randn(2, 24000, generator=torch.Generator().manual_seed(0))
    inputs = {"input_signal": audio, "input_signal_length": torch.tensor([24000, 20000])}
    assert_model_conforms(EncDecSpeakerLabelModel, cfg, tmp_path, inputs=inputs)

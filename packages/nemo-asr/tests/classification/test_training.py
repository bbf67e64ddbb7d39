"""A tiny MatchboxNet trained with a real Lightning Trainer on real spoken words: NeMo's logged names, save, restore."""

import pytorch_lightning as pl
import torch
from nemo.collections.asr.models import EncDecClassificationModel
from omegaconf import OmegaConf


def _tiny_matchboxnet(manifest: str, labels: list[str]) -> dict:
    block = {"repeat": 1, "stride": [1], "dilation": [1], "dropout": 0.0, "separable": True}
    dataset = {
        "manifest_filepath": manifest,
        "sample_rate": 16000,
        "labels": labels,
        "batch_size": 3,
        "num_workers": 0,
        "pin_memory": False,
    }
    return {
        "sample_rate": 16000,
        "labels": labels,
        "train_ds": {
            **dataset,
            "augmentor": {"shift": {"prob": 1.0, "min_shift_ms": -5.0, "max_shift_ms": 5.0, "rng": 0}},
        },
        "validation_ds": {**dataset, "shuffle": False},
        "preprocessor": {
            "_target_": "nemo.collections.asr.modules.AudioToMFCCPreprocessor",
            "window_size": 0.025,
            "window_stride": 0.01,
            "n_mels": 32,
            "n_mfcc": 32,
            "n_fft": 512,
        },
        "spec_augment": {
            "_target_": "nemo.collections.asr.modules.SpectrogramAugmentation",
            "freq_masks": 1,
            "time_masks": 1,
            "freq_width": 4,
            "time_width": 5,
        },
        "crop_or_pad_augment": {
            "_target_": "nemo.collections.asr.modules.CropOrPadSpectrogramAugmentation",
            "audio_length": 112,
        },
        "encoder": {
            "_target_": "nemo.collections.asr.modules.ConvASREncoder",
            "feat_in": 32,
            "activation": "relu",
            "conv_mask": True,
            "jasper": [
                {**block, "filters": 32, "kernel": [11], "residual": False},
                {**block, "filters": 32, "kernel": [13], "residual": True},
                {**block, "filters": 48, "kernel": [1], "residual": False, "separable": False},
            ],
        },
        "decoder": {
            "_target_": "nemo.collections.asr.modules.ConvASRDecoderClassification",
            "feat_in": 48,
            "return_logits": True,
            "pooling_type": "avg",
        },
        "optim": {"name": "adam", "lr": 0.01},
    }


def test_tiny_matchboxnet_fits_real_words_logs_nemo_names_and_restores(spoken_words, tmp_path):
    torch.manual_seed(0)
    cfg = OmegaConf.create(_tiny_matchboxnet(str(spoken_words.manifest), spoken_words.labels))
    trainer = pl.Trainer(
        max_steps=24,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        log_every_n_steps=1,
        num_sanity_val_steps=0,
        check_val_every_n_epoch=4,
    )
    model = EncDecClassificationModel(cfg=cfg, trainer=trainer)
    # train_ds.augmentor shifts every training read by up to 5 ms; validation reads stay the same.
    reads = [model._train_dl.dataset[0][0] for _ in range(3)]
    assert {read.shape for read in reads} == {reads[0].shape}
    assert not all(torch.equal(reads[0], read) for read in reads[1:])
    assert torch.equal(model._validation_dl.dataset[0][0], model._validation_dl.dataset[0][0])
    before = model.transcribe(spoken_words.paths, logprobs=True)
    trainer.fit(model)

    metrics = trainer.callback_metrics
    for name in (
        "train_loss",
        "learning_rate",
        "global_step",
        "training_batch_accuracy_top_1",
        "val_loss",
        "val_epoch_top@1",
    ):
        assert name in metrics, f"{name} not logged; logged: {sorted(metrics)}"
    assert float(metrics["val_epoch_top@1"]) == 1.0
    after = model.transcribe(spoken_words.paths, logprobs=True)
    labels = [path.rsplit("/", 1)[-1].split("_")[0] for path in spoken_words.paths]
    assert model.transcribe(spoken_words.paths) == labels
    assert not all(torch.allclose(torch.as_tensor(a), torch.as_tensor(b)) for a, b in zip(before, after))

    path = tmp_path / "tiny_matchboxnet.nemo"
    model.save_to(str(path))
    restored = EncDecClassificationModel.restore_from(str(path), map_location="cpu")
    for ours, theirs in zip(restored.transcribe(spoken_words.paths, logprobs=True), after, strict=True):
        torch.testing.assert_close(torch.as_tensor(ours), torch.as_tensor(theirs), atol=1e-5, rtol=1e-5)


def test_matchboxnet_passes_the_conformance_kit(spoken_words, tmp_path):
    from nemo.core.conformance import assert_model_conforms

    cfg = OmegaConf.create(_tiny_matchboxnet(str(spoken_words.manifest), spoken_words.labels))
    audio = 0.1 * torch.randn(2, 16000, generator=torch.Generator().manual_seed(0))
    inputs = {"input_signal": audio, "input_signal_length": torch.tensor([16000, 12000])}
    assert_model_conforms(EncDecClassificationModel, cfg, tmp_path, inputs=inputs)

"""SpeechEncDecSelfSupervisedModel: construction, masking, layer outputs for extra losses, targets from another
loss, and a gradient step."""

from __future__ import annotations

import pytest
import torch
from nemo.collections.asr.models import SpeechEncDecSelfSupervisedModel
from omegaconf import OmegaConf


def _block() -> dict:
    return {
        "filters": 16,
        "repeat": 1,
        "kernel": [3],
        "stride": [1],
        "dilation": [1],
        "dropout": 0.0,
        "residual": False,
    }


def _config(**extra_losses) -> dict:
    mlm = {
        "decoder": {
            "_target_": "nemo.collections.asr.modules.ConvASRDecoder",
            "feat_in": 16,
            "num_classes": 64,
        },
        "loss": {"_target_": "nemo.collections.asr.losses.MLMLoss"},
        "targets_from_loss": "contr",
    }
    return {
        "sample_rate": 16000,
        "preprocessor": {
            "_target_": "nemo.collections.asr.modules.AudioToMelSpectrogramPreprocessor",
            "features": 16,
            "dither": 0.0,
            "pad_to": 16,
        },
        "spec_augment": {
            "_target_": "nemo.collections.asr.modules.MaskedPatchAugmentation",
            "freq_masks": 0,
            "freq_width": 4,
            "patch_size": 4,
            "mask_patches": 0.5,
        },
        "encoder": {
            "_target_": "nemo.collections.asr.modules.ConvASREncoder",
            "feat_in": 16,
            "activation": "relu",
            "jasper": [_block(), _block()],
        },
        "loss_list": {
            "contr": {
                "decoder": {
                    "_target_": "nemo.collections.asr.modules.ConvASRDecoderReconstruction",
                    "feat_in": 16,
                    "feat_hidden": 16,
                    "feat_out": 8,
                },
                "loss": {
                    "_target_": "nemo.collections.asr.losses.ContrastiveLoss",
                    "in_dim": 16,
                    "proj_dim": 8,
                    "quantized_targets": True,
                    "codebook_size": 8,
                    "num_negatives": 2,
                },
            },
            "mlm": mlm,
            **extra_losses,
        },
    }


def _audio() -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    return torch.randn(2, 4000, generator=generator), torch.tensor([4000, 3200])


def test_masks_mark_the_zeroed_patches_within_each_length() -> None:
    torch.manual_seed(0)
    model = SpeechEncDecSelfSupervisedModel(cfg=OmegaConf.create(_config()))
    audio, lengths = _audio()
    spectrograms, spec_masks, encoded, encoded_len = model(input_signal=audio, input_signal_length=lengths)
    features, feature_lengths = model.preprocessor(input_signal=audio, length=lengths)
    torch.testing.assert_close(spectrograms, features)  # the targets are the unmasked features
    assert spec_masks[1, :, int(feature_lengths[1]) :].sum() == 0
    assert (
        0 < float(spec_masks.mean()) < 1
        and encoded.shape[1] == 16
        and torch.equal(encoded_len, feature_lengths)
    )
    with pytest.raises(ValueError, match="exactly one pair"):
        model(
            input_signal=audio,
            input_signal_length=lengths,
            processed_signal=features,
            processed_signal_length=lengths,
        )


def test_losses_from_encoder_layers_and_targets_from_the_quantizer_train() -> None:
    torch.manual_seed(0)
    extra = {
        "mlm_layer0": {
            "decoder": {
                "_target_": "nemo.collections.asr.modules.ConvASRDecoder",
                "feat_in": 16,
                "num_classes": 64,
            },
            "loss": {"_target_": "nemo.collections.asr.losses.MLMLoss"},
            "targets_from_loss": "contr",
            "output_from_layer": "encoder.0",
            "loss_alpha": 0.5,
        },
        "off": {**_config()["loss_list"]["mlm"], "is_active": False},
    }
    model = SpeechEncDecSelfSupervisedModel(cfg=OmegaConf.create(_config(**extra))).train()
    assert set(model.decoder_losses) == {"contr", "mlm", "mlm_layer0"}
    assert "decoder_losses.contr.loss.quantizer.vars" in model.state_dict()
    audio, lengths = _audio()
    outputs = model(input_signal=audio, input_signal_length=lengths)
    total, losses = model.decoder_loss_step(*outputs)
    assert set(losses) == {"contr", "mlm", "mlm_layer0"}
    expected = losses["contr"] + losses["mlm"] + 0.5 * losses["mlm_layer0"]
    torch.testing.assert_close(total, expected.reshape(1))
    total.sum().backward()
    assert model.decoder_losses["mlm_layer0"]["decoder"].decoder_layers[0].weight.grad is not None
    model.reset_registry()


def test_config_round_trip_and_unknown_target_source() -> None:
    model = SpeechEncDecSelfSupervisedModel(cfg=OmegaConf.create(_config()))
    again = SpeechEncDecSelfSupervisedModel.from_config_dict(model.to_config_dict())
    assert set(again.state_dict()) == set(model.state_dict())
    broken = _config()
    broken["loss_list"]["mlm"]["targets_from_loss"] = "quantizer"
    with pytest.raises(ValueError, match="targets_from_loss='quantizer'"):
        SpeechEncDecSelfSupervisedModel(cfg=OmegaConf.create(broken))


def test_eval_mode_still_masks_for_validation_losses() -> None:
    torch.manual_seed(0)
    model = SpeechEncDecSelfSupervisedModel(cfg=OmegaConf.create(_config())).eval()
    audio, lengths = _audio()
    _, spec_masks, _, _ = model(input_signal=audio, input_signal_length=lengths)
    assert float(spec_masks.mean()) > 0  # NeMo 1.23 masks in eval mode too
    assert not model.spec_augmentation.training


def test_fit_runs_training_and_validation_steps(tmp_path) -> None:
    import json

    import pytorch_lightning as pl
    import soundfile as sf

    generator = torch.Generator().manual_seed(1)
    with open(tmp_path / "ssl_small.json", "w") as manifest:
        for index in range(3):
            sf.write(tmp_path / f"{index}.wav", (0.1 * torch.randn(4000, generator=generator)).numpy(), 16000)
            manifest.write(
                json.dumps({"audio_filepath": f"{index}.wav", "duration": 0.25, "text": "a"}) + "\n"
            )
    config = _config()
    data = {"manifest_filepath": str(tmp_path / "ssl_small.json"), "batch_size": 2}
    config.update(train_ds=data, validation_ds=data, optim={"name": "adam", "lr": 1e-3})
    torch.manual_seed(0)
    model = SpeechEncDecSelfSupervisedModel(cfg=OmegaConf.create(config))
    trainer = pl.Trainer(
        max_epochs=1, accelerator="cpu", logger=False, enable_checkpointing=False, enable_progress_bar=False
    )
    trainer.fit(model)
    assert trainer.global_step == 2

"""Structured model configs (``nemo.collections.asr.models.configs``) and the regression model."""

import dataclasses

import numpy as np
import pytest
import soundfile as sf
import torch
from nemo.collections.asr import modules
from nemo.collections.asr.models import (
    EncDecClassificationModel,
    EncDecCTCModel,
    EncDecRegressionModel,
    configs,
)
from nemo.collections.asr.modules import audio_preprocessing, conv_asr
from nemo.core.config import AdamParams, CosineAnnealingParams
from nemo.utils.config_utils import assert_dataclass_signature_match
from omegaconf import OmegaConf

LABELS = [" "] + [chr(c) for c in range(ord("a"), ord("z") + 1)] + ["'"]


def _block(
    filters: int, kernel: int, stride: int = 1, residual: bool = False
) -> conv_asr.JasperEncoderConfig:
    return conv_asr.JasperEncoderConfig(
        filters=filters,
        repeat=1,
        kernel=[kernel],
        stride=[stride],
        dilation=[1],
        dropout=0.0,
        residual=residual,
    )


@pytest.mark.parametrize(
    ("module", "config", "required"),
    [
        (
            modules.AudioToMelSpectrogramPreprocessor,
            audio_preprocessing.AudioToMelSpectrogramPreprocessorConfig,
            {},
        ),
        (modules.AudioToMFCCPreprocessor, audio_preprocessing.AudioToMFCCPreprocessorConfig, {}),
        (modules.SpectrogramAugmentation, audio_preprocessing.SpectrogramAugmentationConfig, {}),
        (
            modules.CropOrPadSpectrogramAugmentation,
            audio_preprocessing.CropOrPadSpectrogramAugmentationConfig,
            {"audio_length": 8},
        ),
        (
            modules.ConvASRDecoderClassification,
            conv_asr.ConvASRDecoderClassificationConfig,
            {"feat_in": 4, "num_classes": 2},
        ),
        (
            modules.ConvASRDecoder,
            conv_asr.ConvASRDecoderConfig,
            {"feat_in": 4, "num_classes": 2, "vocabulary": ["a", "b"]},
        ),
    ],
)
def test_module_configs_build_their_module(module, config, required):
    if module is not modules.ConvASRDecoder:  # the decoder also takes add_blank, which NeMo's config omits
        assert assert_dataclass_signature_match(module, config) == (True, None, None)
    section = OmegaConf.structured(config(**required))
    assert isinstance(modules.ConvASRDecoder.from_config_dict(section), module)


def test_ctc_config_dataclass_builds_a_model_that_runs_forward():
    cfg = configs.EncDecCTCConfig(
        labels=LABELS,
        preprocessor=configs.AudioToMelSpectrogramPreprocessorConfig(features=32, dither=0.0, pad_to=0),
        encoder=configs.ConvASREncoderConfig(
            feat_in=32, activation="relu", jasper=[_block(16, 11, stride=2), _block(16, 5, residual=True)]
        ),
        decoder=configs.ConvASRDecoderConfig(feat_in=16, num_classes=len(LABELS), vocabulary=LABELS),
    )
    model = EncDecCTCModel(cfg=OmegaConf.structured(cfg)).eval()
    audio = torch.randn(2, 16000)
    with torch.no_grad():
        log_probs, encoded_len, greedy = model(
            input_signal=audio, input_signal_length=torch.tensor([16000, 8000])
        )
    # 1 s at a 10 ms hop: 101 frames (51 for 0.5 s); the stride-2 'same' block halves them, rounding up.
    assert encoded_len.tolist() == [51, 26]
    assert log_probs.shape == (2, 51, len(LABELS) + 1)
    torch.testing.assert_close(log_probs.exp().sum(-1), torch.ones(2, 51))
    assert greedy.shape == (2, 51)
    # Training defaults: shuffled train_ds, SpecAugment present but with no masks, optimizer name still unset.
    assert cfg.train_ds.shuffle and not cfg.validation_ds.shuffle
    assert OmegaConf.is_missing(OmegaConf.structured(cfg).optim, "name")


def test_whole_script_config_wraps_the_model_section():
    script = OmegaConf.structured(configs.EncDecCTCModelConfig())
    assert set(script) >= {"name", "model", "trainer", "exp_manager"}
    assert script.model.decoding.strategy == "greedy"
    assert script.model.encoder._target_ == "nemo.collections.asr.modules.ConvASREncoder"


# Parameter counts of the same builder configs in NeMo 1.23 (computed once with /tmp/nemo-ref; for MatchboxNet
# the NeMo builder needs preprocessor.features set by hand, since NeMo reads that key from an MFCC config).
@pytest.mark.parametrize(
    ("builder", "name", "labels", "weights"),
    [
        (configs.EncDecCTCModelConfigBuilder, "quartznet_15x5", list("abc "), 18899781),
        (configs.EncDecClassificationModelConfigBuilder, "matchboxnet_3x1x64", ["yes", "no"], 599810),
        (configs.EncDecClassificationModelConfigBuilder, "matchboxnet_3x1x64_vad", None, 73602),
    ],
)
def test_builders_give_nemo_architectures(builder, name, labels, weights):
    config_builder = builder(name)
    if labels is not None:
        config_builder.set_labels(labels)
    cfg = config_builder.build()
    model_class = (
        EncDecCTCModel if builder is configs.EncDecCTCModelConfigBuilder else EncDecClassificationModel
    )
    model = model_class(cfg=OmegaConf.structured(cfg))
    assert model.num_weights == weights
    assert cfg.train_ds.labels == cfg.labels and cfg.decoder.num_classes == len(cfg.labels)


def test_builder_propagates_repeat_separable_dropout_and_timesteps():
    builder = configs.EncDecClassificationModelConfigBuilder("matchboxnet_3x1x64")
    builder.set_labels(["a", "b", "c"])
    builder.set_repeat(2)
    builder.set_dropout(0.25)
    builder.set_separable(True)
    builder.set_timesteps(64)
    builder.set_sample_rate(8000)
    cfg = builder.build()
    blocks = cfg.encoder.jasper
    assert [block.repeat for block in blocks] == [1, 2, 2, 2, 1, 1]
    assert [block.separable for block in blocks] == [True] * 5 + [False]
    assert {block.dropout for block in blocks} == {0.25}
    assert cfg.crop_or_pad_augment.audio_length == 64
    assert cfg.encoder.feat_in == cfg.preprocessor.n_mfcc == 64
    assert cfg.preprocessor.sample_rate == cfg.test_ds.sample_rate == 8000
    with pytest.raises(NotImplementedError, match="is_regression_task"):
        builder.set_is_regression_task(True)


def test_builder_set_optim_names_optimizer_and_scheduler():
    builder = configs.EncDecCTCModelConfigBuilder("quartznet_15x5_zh")
    builder.set_labels(list("ab"))
    builder.set_optim(AdamParams(lr=0.5), CosineAnnealingParams(min_lr=0.01))
    optim = OmegaConf.structured(builder.build()).optim
    assert optim.name == "adam" and optim.lr == 0.5
    assert optim.sched.name == "CosineAnnealing" and optim.sched.min_lr == 0.01
    assert builder.model_cfg.train_ds.normalize is False
    with pytest.raises(ValueError, match="quartznet_15x5"):
        configs.EncDecCTCModelConfigBuilder("quartznet_5x5")


def test_classification_config_sets_crop_length_from_timesteps():
    cfg = configs.EncDecClassificationConfig(
        labels=["x", "y"],
        timesteps=40,
        preprocessor=configs.AudioToMFCCPreprocessorConfig(n_mfcc=16, n_mels=32),
        encoder=configs.ConvASREncoderConfig(feat_in=16, activation="relu", jasper=[_block(8, 3)]),
        decoder=configs.ConvASRDecoderClassificationConfig(feat_in=8, num_classes=2),
    )
    assert cfg.crop_or_pad_augment.audio_length == 40
    model = EncDecClassificationModel(cfg=OmegaConf.structured(cfg)).eval()
    with torch.no_grad():
        logits = model(
            input_signal=torch.randn(3, 4000), input_signal_length=torch.tensor([4000, 3000, 2000])
        )
    assert logits.shape == (3, 2)


def test_dataset_configs_are_dataset_config_subclasses():
    for config in (configs.ASRDatasetConfig, configs.EncDecClassificationDatasetConfig):
        names = {field.name for field in dataclasses.fields(config)}
        assert {"batch_size", "shuffle", "manifest_filepath", "labels", "trim_silence"} <= names


@pytest.fixture
def regression_model():
    torch.manual_seed(0)
    cfg = OmegaConf.create(
        {
            "is_regression_task": True,
            "labels": None,
            "preprocessor": {
                "_target_": "nemo.collections.asr.modules.AudioToMelSpectrogramPreprocessor",
                "pad_to": 0,  # transcribe() turns padding off; so does this config, for the direct forward
            },
            "encoder": {
                "_target_": "nemo.collections.asr.modules.ConvASREncoder",
                "feat_in": 64,
                "activation": "relu",
                "jasper": [dataclasses.asdict(_block(8, 3))],
            },
            "decoder": {
                "_target_": "nemo.collections.asr.modules.ConvASRDecoderClassification",
                "feat_in": 8,
                "num_classes": 7,
            },
        }
    )
    return EncDecRegressionModel(cfg)


def test_regression_model_predicts_one_value_per_utterance(regression_model, speech):
    assert regression_model.decoder.num_classes == 1  # forced, whatever the config said
    # trainable: bias-free conv (8x64x3) + batch-norm scale and shift (2x8) + decoder (8 + 1)
    assert regression_model.num_weights == 8 * 64 * 3 + 2 * 8 + 8 + 1
    values = regression_model.transcribe(speech.paths[:3], batch_size=1)
    assert len(values) == 3 and all(isinstance(value, float) for value in values)
    audio, _ = sf.read(speech.paths[0], dtype="float32")
    regression_model.eval()
    with torch.no_grad():
        single = regression_model(
            input_signal=torch.from_numpy(audio)[None], input_signal_length=torch.tensor([len(audio)])
        )
    assert single.shape == (1,)
    np.testing.assert_allclose(values[0], float(single[0]), rtol=1e-5, atol=1e-6)


def test_regression_eval_metrics_are_corpus_mse_and_mae(regression_model):
    preds_a, preds_b = torch.tensor([0.5, 1.0, -1.0]), torch.tensor([2.0])
    targets_a, targets_b = torch.tensor([0.0, 1.0, 1.0]), torch.tensor([0.0])
    outputs = []
    for preds, targets in ((preds_a, targets_a), (preds_b, targets_b)):
        errors = preds - targets
        outputs.append(
            {
                "val_loss": errors.square().mean(),
                "val_squared_error_sum": errors.square().sum(),
                "val_abs_error_sum": errors.abs().sum(),
                "val_count": torch.tensor(errors.numel()),
            }
        )
    log = regression_model.multi_validation_epoch_end(outputs)["log"]
    all_errors = np.array([0.5, 0.0, -2.0, 2.0])
    np.testing.assert_allclose(float(log["val_mse"]), np.mean(all_errors**2))
    np.testing.assert_allclose(float(log["val_mae"]), np.mean(np.abs(all_errors)))


def test_regression_model_needs_the_regression_flag():
    with pytest.raises(ValueError, match="is_regression_task"):
        EncDecRegressionModel(OmegaConf.create({"is_regression_task": False}))


def test_regression_model_trains_and_validates_on_float_labels(
    regression_model, cpu_trainer, speech, tmp_path
):
    import json

    manifest = tmp_path / "durations.json"
    lines = [
        {"audio_filepath": path, "duration": entry["duration"], "label": entry["duration"]}
        for path, entry in zip(speech.paths, speech.entries)
    ]
    manifest.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    data = {
        "manifest_filepath": str(manifest),
        "sample_rate": 16000,
        "batch_size": 3,
        "is_regression_task": True,
    }
    regression_model.setup_training_data({**data, "shuffle": False})
    regression_model.setup_validation_data(data)
    regression_model.setup_optimization(OmegaConf.create({"name": "adam", "lr": 0.01}))
    trainer = cpu_trainer(max_steps=2, val_check_interval=2, limit_val_batches=2)
    trainer.fit(regression_model)
    logged = trainer.logged_metrics
    assert {"train_loss", "train_mse", "train_mae", "learning_rate", "val_loss", "val_mse", "val_mae"} <= set(
        logged
    )
    torch.testing.assert_close(logged["train_loss"], logged["train_mse"])

    # Epoch-level val_mse is the MSE over all six clips: recompute it from the model's own predictions.
    predictions = np.array(regression_model.transcribe(speech.paths, batch_size=3))
    durations = np.array([entry["duration"] for entry in speech.entries])
    np.testing.assert_allclose(float(logged["val_mse"]), np.mean((predictions - durations) ** 2), rtol=1e-4)

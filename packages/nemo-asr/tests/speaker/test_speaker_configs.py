"""The five shipped speaker configs: NeMo 1.23's keys and values, found through the plugin, each built (at a
small size) into EncDecSpeakerLabelModel on real voices and run forward once."""

import pytest
import pytorch_lightning as pl
import torch
from hydra import compose, initialize_config_dir
from nemo.collections.asr.models import EncDecSpeakerLabelModel
from nemo.core import registry
from nemo.utils.model_utils import import_class_by_path
from omegaconf import OmegaConf

TINY_TITANET = [
    "model.model_defaults.filters=16",
    "model.model_defaults.repeat=1",
    "model.decoder.feat_in=32",
    "model.decoder.emb_sizes=16",
    "model.train_ds.augmentor=null",
]
TINY_SPEAKERNET = [
    "model.encoder.jasper=[{filters:16,repeat:1,kernel:[3],stride:[1],dilation:[1],dropout:0.5,residual:true,"
    "separable:true},{filters:32,repeat:1,kernel:[1],stride:[1],dilation:[1],dropout:0.0,residual:false,"
    "separable:true}]",
    "model.decoder.feat_in=32",
]
CONFIGS = {
    "titanet-small": TINY_TITANET,
    "titanet-large": TINY_TITANET,
    "ecapa_tdnn": [
        "model.encoder.filters=[16,16,16,32]",
        "model.encoder.kernel_sizes=[5,3,3,1]",
        "model.encoder.dilations=[1,2,3,1]",
        "model.decoder.feat_in=32",
        "model.decoder.emb_sizes=16",
        "model.train_ds.augmentor=null",
    ],
    "SpeakerNet_verification_3x2x256": [*TINY_SPEAKERNET, "model.decoder.emb_sizes=16"],
    "SpeakerNet_recognition_3x2x512": [*TINY_SPEAKERNET, "model.decoder.emb_sizes=[16,12]"],
}
# Values of NeMo 1.23's examples/speaker_tasks/recognition/conf/*.yaml.
NEMO_VALUES = {
    "titanet-small": {
        "model.model_defaults.filters": 256,
        "model.encoder._target_": "nemo.collections.asr.modules.ConvASREncoder",
        "model.encoder.jasper.4.filters": 3072,
        "model.decoder.pool_mode": "attention",
        "model.decoder.emb_sizes": 192,
        "model.loss._target_": "nemo.collections.asr.losses.angularloss.AngularSoftmaxLoss",
        "model.loss.scale": 30,
        "model.loss.margin": 0.2,
        "model.train_ds.augmentor.impulse.prob": 0.5,
        "model.optim.weight_decay": 0.001,
    },
    "titanet-large": {
        "model.model_defaults.filters": 1024,
        "model.encoder.jasper.1.repeat": 3,
        "model.encoder.jasper.3.kernel": [15],
        "model.decoder.feat_in": 3072,
        "model.train_ds.augmentor.speed.prob": 0.3,
        "model.optim.weight_decay": 0.0002,
    },
    "ecapa_tdnn": {
        "model.encoder._target_": "nemo.collections.asr.modules.ECAPAEncoder",
        "model.encoder.filters": [1024, 1024, 1024, 1024, 3072],
        "model.encoder.kernel_sizes": [5, 3, 3, 3, 1],
        "model.encoder.scale": 8,
        "model.preprocessor.stft_conv": False,
        "model.optim.lr": 0.08,
    },
    "SpeakerNet_verification_3x2x256": {
        "model.encoder.jasper.0.filters": 256,
        "model.encoder.jasper.4.filters": 1500,
        "model.preprocessor.features": 64,
        "model.decoder.pool_mode": "xvector",
        "model.decoder.emb_sizes": 256,
    },
    "SpeakerNet_recognition_3x2x512": {
        "model.encoder.jasper.1.filters": 512,
        "model.decoder.emb_sizes": [512, 512],
        "model.loss._target_": "nemo.collections.common.losses.CrossEntropyLoss",
        "model.optim.name": "novograd",
        "model.optim.args.betas": [0.95, 0.5],
        "model.test_ds.embedding_dir": ".",
    },
}


def _compose(name: str, overrides: list[str]):
    path = registry.find_config(name)
    assert path is not None, f"{name}.yaml is not in the config paths the asr plugin registers"
    with initialize_config_dir(config_dir=str(path.parent), version_base=None):
        return compose(config_name=name, overrides=overrides)


@pytest.mark.parametrize("name", sorted(NEMO_VALUES))
def test_config_has_nemos_values(name):
    cfg = _compose(name, [])

    for key, value in NEMO_VALUES[name].items():
        found = OmegaConf.select(cfg, key)
        found = OmegaConf.to_container(found) if OmegaConf.is_config(found) else found
        assert found == value, f"{name}.yaml: {key} is {found!r}, NeMo's is {value!r}"
    assert OmegaConf.is_missing(cfg.model.train_ds, "manifest_filepath")
    assert OmegaConf.is_missing(cfg.model.validation_ds, "manifest_filepath")
    assert cfg.model.decoder._target_ == "nemo.collections.asr.modules.SpeakerDecoder"
    assert cfg.model.decoder.num_classes == 7205


def test_plugin_registers_the_speaker_model_with_titanet_small():
    spec = next(spec for spec in registry.list_models("asr") if spec.name == "asr.EncDecSpeakerLabelModel")

    assert spec.config == "titanet-small"
    assert registry.get_model_class(spec.name) is EncDecSpeakerLabelModel


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_config_builds_and_runs_forward_on_real_voices(name, voice_manifest):
    manifest = voice_manifest(("flite-slt", "flite-awb", "flite-kal16"), per_voice=2)
    overrides = [
        *CONFIGS[name],
        f"model.train_ds.manifest_filepath={manifest}",
        f"model.validation_ds.manifest_filepath={manifest}",
        "model.train_ds.batch_size=2",
        "model.decoder.num_classes=3",
        "trainer.accelerator=cpu",
        "trainer.max_steps=2",
        "trainer.enable_progress_bar=false",
    ]
    if name.startswith("SpeakerNet_recognition"):
        overrides.append(f"model.test_ds.manifest_filepath={manifest}")
    cfg = _compose(name, overrides)
    assert import_class_by_path(cfg.model.target) is EncDecSpeakerLabelModel
    trainer = pl.Trainer(**OmegaConf.to_container(cfg.trainer), enable_model_summary=False)

    model = EncDecSpeakerLabelModel(cfg=cfg.model, trainer=trainer)
    model.setup_optimization(cfg.model.optim)

    assert model.num_weights < 400_000, "the small overrides did not reach the encoder"
    assert list(model.cfg.train_ds.labels) == ["flite-awb", "flite-kal16", "flite-slt"]
    assert model._optimizer is not None and model._scheduler is not None
    audio, audio_len, labels, _ = next(iter(model.train_dataloader()))
    model.eval()
    with torch.no_grad():
        logits, embs = model(input_signal=audio, input_signal_length=audio_len)
    assert logits.shape == (2, 3)
    assert embs.shape == (2, cfg.model.decoder.emb_sizes[-1] if name.endswith("512") else 16)
    assert labels.tolist() and all(0 <= label < 3 for label in labels.tolist())

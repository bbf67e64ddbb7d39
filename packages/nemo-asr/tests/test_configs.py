"""The shipped ASR configs (``nemo/collections/asr/conf/*.yaml``): found through the plugin registry,
composed by Hydra with small overrides, built into their model class, with NeMo 1.23's key paths."""

import pytest
import pytorch_lightning as pl
from hydra import compose, initialize_config_dir
from nemo.core import registry
from nemo.utils.model_utils import import_class_by_path
from omegaconf import OmegaConf
from omegaconf.errors import MissingMandatoryValue

CONFORMER_TINY = [
    "model.encoder.n_layers=1",
    "model.encoder.d_model=16",
    "model.encoder.n_heads=2",
    "model.encoder.conv_kernel_size=9",
]
TRANSDUCER_TINY = [
    "model.model_defaults.pred_hidden=16",
    "model.model_defaults.joint_hidden=16",
]
QUARTZNET_TINY = [
    "model.encoder.jasper=[{filters:16,repeat:1,kernel:[11],stride:[2],dilation:[1],dropout:0.0,"
    "residual:false,separable:true},{filters:16,repeat:2,kernel:[11],stride:[1],dilation:[1],dropout:0.0,"
    "residual:true,separable:true}]",
    "model.decoder.feat_in=16",
]
CONFIGS = {
    "conformer_ctc_char": ("nemo.collections.asr.models.EncDecCTCModel", CONFORMER_TINY),
    "conformer_ctc_bpe": ("nemo.collections.asr.models.EncDecCTCModelBPE", CONFORMER_TINY),
    "conformer_transducer_char": (
        "nemo.collections.asr.models.EncDecRNNTModel",
        CONFORMER_TINY + TRANSDUCER_TINY,
    ),
    "conformer_transducer_bpe": (
        "nemo.collections.asr.models.EncDecRNNTBPEModel",
        CONFORMER_TINY + TRANSDUCER_TINY,
    ),
    "quartznet_15x5": ("nemo.collections.asr.models.EncDecCTCModel", QUARTZNET_TINY),
    "conformer_hybrid_transducer_ctc_char": (
        "nemo.collections.asr.models.EncDecHybridRNNTCTCModel",
        CONFORMER_TINY + TRANSDUCER_TINY,
    ),
    "conformer_hybrid_transducer_ctc_bpe": (
        "nemo.collections.asr.models.EncDecHybridRNNTCTCBPEModel",
        CONFORMER_TINY + TRANSDUCER_TINY,
    ),
}
# Sound-classification configs: their NeMo keys and forward passes are tested beside their models (tests/
# classification, tests/vad, tests/speaker); here only that they are covered and name their model class.
SOUND_CONFIGS = {
    **dict.fromkeys(
        ("matchboxnet_3x1x64_v1", "matchboxnet_3x1x64_v2", "marblenet_3x2x64"),
        ("nemo.collections.asr.models.EncDecClassificationModel", None),
    ),
    "marblenet_3x2x64_20ms": ("nemo.collections.asr.models.EncDecFrameClassificationModel", None),
    # Multitask AED: keys and a tiny build tested in tests/models/test_aed_multitask_models.py.
    "fast-conformer_aed": ("nemo.collections.asr.models.EncDecMultiTaskModel", None),
    **dict.fromkeys(
        (
            "titanet-small",
            "titanet-large",
            "ecapa_tdnn",
            "SpeakerNet_recognition_3x2x512",
            "SpeakerNet_verification_3x2x256",
        ),
        ("nemo.collections.asr.models.EncDecSpeakerLabelModel", None),
    ),
}
ABSENT = object()
# Key paths every NeMo 1.23 ASR example config has.
COMMON_KEYS = {
    "name": None,
    "model.sample_rate": 16000,
    "model.train_ds.manifest_filepath": None,
    "model.train_ds.batch_size": None,
    "model.validation_ds.manifest_filepath": None,
    "model.test_ds.manifest_filepath": None,
    "model.preprocessor._target_": "nemo.collections.asr.modules.AudioToMelSpectrogramPreprocessor",
    "model.preprocessor.normalize": "per_feature",
    "model.preprocessor.window_stride": 0.01,
    "model.spec_augment._target_": "nemo.collections.asr.modules.SpectrogramAugmentation",
    "model.decoder._target_": None,
    "model.decoding.strategy": None,
    "model.optim.name": None,
    "model.optim.lr": None,
    "model.optim.sched.name": None,
    "trainer.max_epochs": None,
    "trainer.precision": None,
    "exp_manager.checkpoint_callback_params.monitor": "val_wer",
}
CONFORMER_KEYS = {
    "model.encoder._target_": "nemo.collections.asr.modules.ConformerEncoder",
    "model.encoder.feat_in": 80,
    "model.encoder.self_attention_model": "rel_pos",
    "model.encoder.subsampling": "striding",
    "model.encoder.subsampling_factor": 4,
    "model.encoder.ff_expansion_factor": 4,
    "model.encoder.conv_norm_type": "batch_norm",
    "model.optim.sched.name": "NoamAnnealing",
}
TRANSDUCER_KEYS = {
    "model.decoder._target_": "nemo.collections.asr.modules.RNNTDecoder",
    "model.decoder.prednet.pred_rnn_layers": 1,
    "model.joint._target_": "nemo.collections.asr.modules.RNNTJoint",
    "model.joint.jointnet.activation": "relu",
    "model.decoding.greedy.max_symbols": 10,
    "model.loss.loss_name": "default",
    "model.model_defaults.enc_hidden": 176,
}
CTC_KEYS = {"model.decoder._target_": "nemo.collections.asr.modules.ConvASRDecoder"}
HYBRID_KEYS = {
    "model.aux_ctc.ctc_loss_weight": 0.3,
    "model.aux_ctc.decoder._target_": "nemo.collections.asr.modules.ConvASRDecoder",
    "model.aux_ctc.decoding.strategy": "greedy",
}
BPE_KEYS = {"model.tokenizer.type": "bpe"}
CHAR_KEYS = {"model.labels": [" ", *"abcdefghijklmnopqrstuvwxyz", "'"]}
QUARTZNET_KEYS = {
    "model.encoder._target_": "nemo.collections.asr.modules.ConvASREncoder",
    "model.encoder.feat_in": 64,
    "model.preprocessor.features": 64,
    "model.optim.name": "novograd",
    "model.optim.sched.name": "CosineAnnealing",
}


def _expected_keys(name: str) -> dict:
    keys = dict(COMMON_KEYS)
    if name.startswith("conformer"):
        keys.update(CONFORMER_KEYS)
    if "transducer" in name:
        keys.update(TRANSDUCER_KEYS)
    if "hybrid" in name:
        keys.update(HYBRID_KEYS)
    elif "ctc" in name:
        keys.update(CTC_KEYS)
    keys.update(BPE_KEYS if name.endswith("_bpe") else CHAR_KEYS)
    if name == "quartznet_15x5":
        keys.update(CTC_KEYS)
        keys.update(QUARTZNET_KEYS)
    return keys


def _select(cfg, key: str):
    """The value at dotted ``key`` as plain Python, ``"???"`` when mandatory, ``ABSENT`` when not there."""
    try:
        value = OmegaConf.select(cfg, key, default=ABSENT, throw_on_missing=True)
    except MissingMandatoryValue:
        return "???"
    return OmegaConf.to_container(value) if OmegaConf.is_config(value) else value


def _compose(name: str, overrides: list[str]):
    path = registry.find_config(name)
    assert path is not None, f"{name}.yaml is not in the config paths the asr plugin registers"
    with initialize_config_dir(config_dir=str(path.parent), version_base=None):
        return compose(config_name=name, overrides=overrides)


def test_shipped_configs_are_all_covered():
    conf_dir = registry.find_config("conformer_ctc_char").parent
    assert {path.stem for path in conf_dir.glob("*.yaml")} == set(CONFIGS) | set(SOUND_CONFIGS)


def test_each_registered_asr_model_names_a_config_of_its_class():
    specs = {spec.name: spec for spec in registry.list_models("asr")}

    assert {spec.config for spec in specs.values()} <= set(CONFIGS) | set(SOUND_CONFIGS)
    for spec in specs.values():
        assert registry.find_config(spec.config) is not None
        target, _ = {**CONFIGS, **SOUND_CONFIGS}[spec.config]
        assert registry.get_model_class(spec.name) is import_class_by_path(target)


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_config_keys_match_nemo(name):
    cfg = _compose(name, [])

    for key, expected in _expected_keys(name).items():
        value = _select(cfg, key)
        assert value is not ABSENT, f"{name}.yaml has no key {key}"
        if expected is not None:
            assert value == expected, f"{name}.yaml: {key} is {value!r}, NeMo's is {expected!r}"
    assert OmegaConf.is_missing(cfg.model.train_ds, "manifest_filepath")


def test_quartznet_has_fifteen_blocks_of_five_between_prolog_and_epilog():
    jasper = _compose("quartznet_15x5", []).model.encoder.jasper

    assert len(jasper) == 18
    assert [block.repeat for block in jasper[1:16]] == [5] * 15
    assert jasper[0].stride == [2] and jasper[0].repeat == 1
    assert [block.filters for block in jasper[-2:]] == [512, 1024]


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_config_builds_its_model_with_tiny_overrides(name, speech, tokenizer_dir):
    target, tiny = CONFIGS[name]
    overrides = [
        *tiny,
        f"model.train_ds.manifest_filepath={speech.manifest}",
        "model.train_ds.num_workers=0",
        "trainer.accelerator=cpu",
        "trainer.max_steps=4",
        "trainer.enable_progress_bar=false",
    ]
    if name.endswith("_bpe"):
        overrides.append(f"model.tokenizer.dir={tokenizer_dir}")
    cfg = _compose(name, overrides)
    model_class = import_class_by_path(cfg.model.target)
    assert model_class is import_class_by_path(target)
    trainer = pl.Trainer(**OmegaConf.to_container(cfg.trainer), enable_model_summary=False)

    model = model_class(cfg=cfg.model, trainer=trainer)
    model.setup_optimization(cfg.model.optim)

    assert type(model) is model_class
    assert model.train_dataloader() is not None
    assert len(model.train_dataloader().dataset) == len(speech.entries)
    assert model.num_weights < 1_000_000, "the tiny overrides did not reach the encoder"
    assert model._optimizer is not None and model._scheduler is not None

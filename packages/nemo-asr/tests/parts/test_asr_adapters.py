"""ASR adapters end to end: a NeMo 1.23 Conformer-CTC archive gets a trained LinearAdapter, saved and loaded alone.

Also: InterCTC capture of encoder layer outputs through AccessMixin, and unchanged encoder state-dict keys.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from nemo.collections.asr.models import EncDecCTCModel
from nemo.collections.asr.modules import ConformerEncoder, ConvASREncoder
from nemo.collections.common.parts.adapter_modules import LinearAdapterConfig
from nemo.core.classes.mixins import AccessMixin, access_mixins, get_registered_adapter
from omegaconf import OmegaConf, open_dict

FIXTURES = Path(__file__).resolve().parents[4] / "tests" / "data" / "nemo-1.23"
CONFORMER = FIXTURES / "conformer_ctc_char_tiny.nemo"


def _restore_with_adapter_encoder() -> EncDecCTCModel:
    """The NeMo user story: swap the encoder's class for its registered adapter class, then restore."""
    cfg = EncDecCTCModel.restore_from(str(CONFORMER), map_location="cpu", return_config=True)
    info = get_registered_adapter(cfg.encoder._target_)
    assert info is not None
    cfg.encoder._target_ = info.adapter_class_path
    return EncDecCTCModel.restore_from(str(CONFORMER), map_location="cpu", override_config_path=cfg)


def _log_probs(model: EncDecCTCModel, audio: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    model.eval()
    with torch.no_grad():
        return model(input_signal=audio, input_signal_length=lengths)[0]


def test_train_only_the_adapter_then_save_and_load_it_alone(speech, cpu_trainer, tmp_path):
    torch.manual_seed(0)
    model = _restore_with_adapter_encoder()
    with open_dict(model.cfg):
        model.cfg.train_ds = {
            "manifest_filepath": str(speech.manifest),
            "sample_rate": 16000,
            "labels": list(model.cfg.labels),
            "batch_size": 2,
            "shuffle": False,
            "num_workers": 0,
        }
        model.cfg.optim = {"name": "adam", "lr": 0.05}
    model.setup_training_data(model.cfg.train_ds)
    audio = torch.randn(2, 8000)
    lengths = torch.tensor([8000, 6000])
    base_out = _log_probs(model, audio, lengths)

    model.add_adapter("encoder:tune", LinearAdapterConfig(in_features=1, dim=8))
    # The adapter's width follows the encoder; its last layer starts at zero, so nothing changes yet.
    assert model.encoder.layers[0].adapter_layer["tune"].module[0].normalized_shape == (64,)
    torch.testing.assert_close(_log_probs(model, audio, lengths), base_out)

    model.freeze()
    model.unfreeze_enabled_adapters()
    trainable = {name for name, p in model.named_parameters() if p.requires_grad}
    assert trainable and all(".adapter_layer.tune." in name for name in trainable)
    before = {name: value.clone() for name, value in model.state_dict().items()}

    trainer = cpu_trainer(max_steps=3)
    model.set_trainer(trainer)
    trainer.fit(model)

    after = model.state_dict()
    changed = {name for name in before if not torch.equal(before[name], after[name])}
    assert changed and changed <= trainable  # only adapter weights moved (no BatchNorm statistics either)
    adapted_out = _log_probs(model, audio, lengths)
    assert not torch.allclose(adapted_out, base_out)

    path = tmp_path / "tune.pt"
    model.save_adapters(str(path), name="encoder:tune")
    saved = torch.load(path, weights_only=True)
    assert sorted(saved) == ["__cfg__", "encoder:tune"] and len(saved["encoder:tune"]) == 2  # one per layer

    fresh = _restore_with_adapter_encoder()
    torch.testing.assert_close(_log_probs(fresh, audio, lengths), base_out)
    fresh.load_adapters(str(path), name="encoder:tune", map_location="cpu")
    assert fresh.get_enabled_adapters() == ["tune"]
    torch.testing.assert_close(_log_probs(fresh, audio, lengths), adapted_out)

    # The archive of the adapted model restores its adapter (the model re-creates it from cfg.adapters).
    archive = tmp_path / "adapted.nemo"
    model.save_to(str(archive))
    restored = EncDecCTCModel.restore_from(str(archive), map_location="cpu")
    torch.testing.assert_close(_log_probs(restored, audio, lengths), adapted_out)


def test_encoders_keep_their_state_dict_keys_without_adapters():
    torch.manual_seed(0)
    plain = ConformerEncoder(feat_in=16, n_layers=2, d_model=32, n_heads=2)
    adapter_capable = get_registered_adapter(ConformerEncoder).adapter_class(
        feat_in=16, n_layers=2, d_model=32, n_heads=2
    )
    assert list(plain.state_dict()) == list(adapter_capable.state_dict())
    adapter_capable.load_state_dict(plain.state_dict(), strict=True)


@pytest.mark.parametrize("kind", ["conformer", "convasr"])
def test_encoders_record_interctc_layer_outputs_when_access_is_enabled(kind):
    torch.manual_seed(0)
    if kind == "conformer":
        encoder = ConformerEncoder(feat_in=16, n_layers=3, d_model=32, n_heads=2, feat_out=24).eval()
    else:
        block = {"filters": 20, "repeat": 1, "kernel": [3], "stride": [1], "dilation": [1], "dropout": 0.0}
        encoder = ConvASREncoder(
            jasper=[{**block, "residual": False}] * 3, activation="relu", feat_in=16, conv_mask=True
        ).eval()
    signal, lengths = torch.randn(2, 16, 40), torch.tensor([40, 31])
    # The access config is process-wide (as NeMo's): start from one holding only this test's capture layers.
    previous_cfg = access_mixins._access_cfg
    access_mixins.set_access_cfg(OmegaConf.create({"interctc": {"capture_layers": [1, 2]}}))
    try:
        with torch.no_grad():
            encoder(audio_signal=signal, length=lengths)  # access off: nothing recorded
            assert AccessMixin.get_module_registry(encoder) == {}
            AccessMixin.set_access_enabled(access_enabled=True)
            out, out_len = encoder(audio_signal=signal, length=lengths)
            registry = {k: v for r in AccessMixin.get_module_registry(encoder).values() for k, v in r.items()}
    finally:
        AccessMixin.reset_registry(encoder)
        AccessMixin.set_access_enabled(access_enabled=False)
        access_mixins.set_access_cfg(previous_cfg)
    assert sorted(registry) == [f"interctc/layer_{kind}_{i}" for kind in ("length", "output") for i in (1, 2)]
    # The last layer's capture is the encoder output itself (same layout (B, D_out, T'), same lengths);
    # layer 1's has that layout but other values.
    torch.testing.assert_close(registry["interctc/layer_output_2"][0], out)
    assert torch.equal(registry["interctc/layer_length_2"][0], out_len)
    captured = registry["interctc/layer_output_1"][0]
    assert captured.shape == out.shape and not torch.allclose(captured, out)
    assert not AccessMixin.is_access_enabled()

"""InterCTC on EncDecCTCModel: config checks, the weighted loss against a hand computation, logged metrics."""

import pytest
import soundfile as sf
import torch
import torch.nn.functional as F
from nemo.collections.asr.models import EncDecCTCModel
from nemo.core.classes.mixins import AccessMixin
from omegaconf import OmegaConf, open_dict


def _with_interctc(cfg, loss_weights, apply_at_layers, **encoder_overrides):
    cfg = OmegaConf.create(OmegaConf.to_container(cfg))
    with open_dict(cfg):
        cfg.interctc = {"loss_weights": loss_weights, "apply_at_layers": apply_at_layers}
        cfg.encoder.update(encoder_overrides)
    return cfg


def _batch(speech, count: int = 3):
    """``(audio (B, T), audio_len (B,), targets (B, U), targets_len (B,))`` of the first ``count`` clips."""
    labels = [" "] + [chr(c) for c in range(ord("a"), ord("z") + 1)] + ["'"]
    waves = [torch.from_numpy(sf.read(path, dtype="float32")[0]) for path in speech.paths[:count]]
    texts = [[labels.index(ch) for ch in text if ch in labels] for text in speech.texts[:count]]
    audio = torch.nn.utils.rnn.pad_sequence(waves, batch_first=True)
    targets = torch.nn.utils.rnn.pad_sequence([torch.tensor(t) for t in texts], batch_first=True)
    return audio, torch.tensor([len(w) for w in waves]), targets, torch.tensor([len(t) for t in texts])


def _ctc_by_hand(log_probs, lengths, targets, target_lengths) -> torch.Tensor:
    """NeMo's ``mean_batch`` CTC: per-utterance negative log-likelihood (blank last), averaged over the batch."""
    per_utterance = F.ctc_loss(
        log_probs.transpose(0, 1),
        targets,
        lengths,
        target_lengths,
        blank=log_probs.shape[-1] - 1,
        reduction="none",
        zero_infinity=True,
    )
    return per_utterance.mean()


@pytest.mark.parametrize(
    ("loss_weights", "apply_at_layers", "message"),
    [
        ([0.1], [0, 1], "Length of interctc.apply_at_layers has to match interctc.loss_weights"),
        ([0.3], [], "Length of interctc.apply_at_layers has to match interctc.loss_weights"),
        ([0.6, 0.4], [0, 1], "sum to less than 1.0"),
    ],
)
def test_inconsistent_interctc_config_is_refused(tiny_asr_config, loss_weights, apply_at_layers, message):
    cfg = _with_interctc(tiny_asr_config("ctc", encoder="convasr"), loss_weights, apply_at_layers)
    with pytest.raises(ValueError, match=message):
        EncDecCTCModel(cfg)


def test_unknown_interctc_key_is_named(tiny_asr_config):
    cfg = _with_interctc(tiny_asr_config("ctc", encoder="convasr"), [0.3], [0])
    with open_dict(cfg):
        cfg.interctc.layer_weights = [0.3]
    with pytest.raises(ValueError, match="layer_weights"):
        EncDecCTCModel(cfg)


def test_loss_is_the_weighted_sum_of_final_and_intermediate_ctc(tiny_asr_config, speech):
    torch.manual_seed(0)
    model = EncDecCTCModel(_with_interctc(tiny_asr_config("ctc", encoder="convasr"), [0.3], [0])).eval()
    batch = _batch(speech)
    audio, audio_len, targets, target_len = batch

    with torch.no_grad():
        loss, metrics, _ = model._ctc_pass(batch, compute_wer=False, log_prefix="", evaluating=False)
        # Independent of the capture: run the first Jasper block by hand and decode its output.
        features, feature_len = model.preprocessor(input_signal=audio, length=audio_len)
        block_out, block_len = model.encoder.encoder[0](([features], feature_len))
        inter_log_probs = model.decoder(encoder_output=block_out[-1])
        final_log_probs, final_len, _ = model(input_signal=audio, input_signal_length=audio_len)

    final = _ctc_by_hand(final_log_probs, final_len, targets, target_len)
    inter = _ctc_by_hand(inter_log_probs, block_len, targets, target_len)
    torch.testing.assert_close(loss, 0.7 * final + 0.3 * inter, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(metrics["final_loss"], final, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(metrics["inter_ctc_loss_l0"], inter, rtol=1e-5, atol=1e-5)
    # The registry is cleared and recording switched off after the step.
    assert not AccessMixin.is_access_enabled()
    assert AccessMixin.get_module_registry(model) == {}


def test_without_interctc_the_loss_is_plain_ctc(tiny_asr_config, speech):
    torch.manual_seed(0)
    model = EncDecCTCModel(tiny_asr_config("ctc", encoder="convasr")).eval()
    batch = _batch(speech)
    with torch.no_grad():
        loss, metrics, _ = model._ctc_pass(batch, compute_wer=False, log_prefix="", evaluating=False)
        log_probs, lengths, _ = model(input_signal=batch[0], input_signal_length=batch[1])
    assert not model.is_interctc_enabled() and metrics == {}
    torch.testing.assert_close(
        loss, _ctc_by_hand(log_probs, lengths, batch[2], batch[3]), rtol=1e-5, atol=1e-5
    )


def test_captured_layers_go_through_the_ctc_decoder(tiny_asr_config, speech):
    torch.manual_seed(0)
    cfg = _with_interctc(tiny_asr_config("ctc"), [0.2, 0.1], [0, 1], n_layers=3)
    model = EncDecCTCModel(cfg).eval()
    audio, audio_len, _, _ = _batch(speech, count=2)
    AccessMixin.set_access_enabled(access_enabled=True)
    try:
        with torch.no_grad():
            log_probs, lengths, _ = model(input_signal=audio, input_signal_length=audio_len)
            captured = model.get_captured_interctc_tensors()
    finally:
        AccessMixin.reset_registry(model)
    assert len(captured) == 2
    for layer_log_probs, layer_lengths in captured:
        assert layer_log_probs.shape == log_probs.shape
        assert torch.equal(layer_lengths, lengths)
        # Log-probabilities over the vocabulary and blank: each frame sums to one.
        torch.testing.assert_close(layer_log_probs.exp().sum(-1), torch.ones(log_probs.shape[:2]))
        assert not torch.allclose(layer_log_probs, log_probs)


def test_training_logs_interctc_losses_and_wers(tiny_asr_config, cpu_trainer, speech):
    torch.manual_seed(0)
    cfg = _with_interctc(
        tiny_asr_config("ctc", manifest=speech.manifest, val_manifest=speech.manifest, batch_size=3),
        [0.3],
        [0],
        n_layers=2,
    )
    trainer = cpu_trainer(max_steps=2, limit_val_batches=1, val_check_interval=2)
    model = EncDecCTCModel(cfg, trainer=trainer)
    trainer.fit(model)
    logged = trainer.logged_metrics
    for name in ("train_loss", "final_loss", "inter_ctc_loss_l0", "inter_wer_l0", "training_batch_wer"):
        assert name in logged, name
    for name in ("val_loss", "val_wer", "val_final_loss", "val_inter_ctc_loss_l0", "val_inter_wer_l0"):
        assert name in logged, name
    # Per-step numerators/denominators are aggregated, not logged.
    assert "val_inter_wer_num_l0" not in logged
    assert 0.0 <= float(logged["val_inter_wer_l0"])
    torch.testing.assert_close(
        logged["train_loss"],
        0.7 * logged["final_loss"] + 0.3 * logged["inter_ctc_loss_l0"],
        rtol=1e-4,
        atol=1e-4,
    )

    trainer.test(model, dataloaders=model._validation_dl)
    for name in ("test_loss", "test_wer", "test_final_loss", "test_inter_ctc_loss_l0", "test_inter_wer_l0"):
        assert name in trainer.logged_metrics, name


def test_hybrid_model_adds_interctc_through_its_ctc_head(tiny_asr_config, speech):
    from nemo.collections.asr.models import EncDecHybridRNNTCTCModel

    torch.manual_seed(0)
    cfg = _with_interctc(tiny_asr_config("rnnt", encoder="convasr"), [0.25], [0])
    with open_dict(cfg):
        cfg.aux_ctc = {
            "ctc_loss_weight": 0.3,
            "decoder": {
                "_target_": "nemo.collections.asr.modules.ConvASRDecoder",
                "feat_in": None,
                "num_classes": -1,
                "vocabulary": list(cfg.labels),
            },
            "decoding": {"strategy": "greedy"},
        }
    model = EncDecHybridRNNTCTCModel(cfg).eval()
    batch = _batch(speech)
    audio, audio_len, targets, target_len = batch
    with torch.no_grad():
        with model.interctc_capture():
            loss, _, _, logs = model._hybrid_pass(
                batch, compute_wer=True, compute_loss=True, log_prefix="val_"
            )
        model.set_interctc_enabled(False)
        hybrid_loss, _, _, no_logs = model._hybrid_pass(
            batch, compute_wer=False, compute_loss=True, log_prefix=""
        )
        features, feature_len = model.preprocessor(input_signal=audio, length=audio_len)
        block_out, block_len = model.encoder.encoder[0](([features], feature_len))
        inter = _ctc_by_hand(model.ctc_decoder(encoder_output=block_out[-1]), block_len, targets, target_len)

    assert no_logs == {}
    torch.testing.assert_close(loss, 0.75 * hybrid_loss + 0.25 * inter, rtol=1e-5, atol=1e-5)
    assert {"val_final_loss", "val_inter_ctc_loss_l0", "val_inter_wer_l0"} <= set(logs)
    assert {"val_inter_wer_num_l0", "val_inter_wer_denom_l0"} <= set(logs)

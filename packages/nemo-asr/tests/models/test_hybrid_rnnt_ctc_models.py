"""EncDecHybridRNNTCTCModel(/BPE): training on real speech, both heads at inference, NeMo 1.23 compatibility.

``data/hybrid_rnnt_ctc_char_tiny.nemo`` and its ``.expected.pt`` were written by real NeMo 1.23 with
``data/make_hybrid_nemo_fixture.py`` (see its docstring).
"""

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
import torchaudio
from nemo.collections.asr.models import EncDecHybridRNNTCTCBPEModel, EncDecHybridRNNTCTCModel
from nemo.collections.asr.parts.submodules.ctc_decoding import CTCDecodingConfig
from omegaconf import OmegaConf, open_dict

DATA = Path(__file__).resolve().parent / "data"
CTC_WEIGHT = 0.3


def _hybrid_config(tiny_asr_config, **kwargs):
    cfg = tiny_asr_config("rnnt", **kwargs)
    with open_dict(cfg):
        cfg.aux_ctc = {
            "ctc_loss_weight": CTC_WEIGHT,
            "use_cer": False,
            "ctc_reduction": "mean_batch",
            "decoder": {
                "_target_": "nemo.collections.asr.modules.ConvASRDecoder",
                "feat_in": None,
                "num_classes": -1,
                "vocabulary": list(cfg.labels) if "labels" in cfg else [],
            },
            "decoding": {"strategy": "greedy"},
        }
    return cfg


@pytest.fixture(scope="module")
def hybrid(tiny_asr_config) -> EncDecHybridRNNTCTCModel:
    """A fixed tiny hybrid char model (seeded weights, eval mode); tests must not change it."""
    torch.manual_seed(1)
    return EncDecHybridRNNTCTCModel(_hybrid_config(tiny_asr_config)).eval()


def _wer(references: list[str], hypotheses: list[str], edit_distance) -> float:
    errors = sum(edit_distance(ref.split(), hyp.split()) for ref, hyp in zip(references, hypotheses))
    return errors / sum(len(ref.split()) for ref in references)


def test_validate_train_save_restore_and_transcribe_with_both_heads(
    tmp_path,
    tiny_asr_config,
    cpu_trainer,
    speech,
    loss_recorder,
    half_own_transcripts,
    reference_edit_distance,
):
    cfg = _hybrid_config(tiny_asr_config, manifest=speech.manifest, lr=0.02)
    torch.manual_seed(0)
    model = EncDecHybridRNNTCTCModel(cfg).eval()

    # The random model's transcripts from each head; validation logs both heads' corpus WER, here against
    # references of which half are the transducer's own transcripts.
    rnnt_texts, _ = model.transcribe(speech.paths, batch_size=len(speech.paths), verbose=False)
    model.change_decoding_strategy(decoder_type="ctc")
    ctc_texts, _ = model.transcribe(speech.paths, batch_size=len(speech.paths), verbose=False)
    model.change_decoding_strategy(decoder_type="rnnt")
    references, manifest = half_own_transcripts(rnnt_texts)
    model.setup_validation_data(
        {**OmegaConf.to_container(cfg.validation_ds), "manifest_filepath": str(manifest)}
    )
    metrics = cpu_trainer().validate(model, model._validation_dl, verbose=False)[0]
    assert metrics["val_wer"] == pytest.approx(
        _wer(references, rnnt_texts, reference_edit_distance), abs=1e-6
    )
    assert metrics["val_wer_ctc"] == pytest.approx(
        _wer(references, ctc_texts, reference_edit_distance), abs=1e-6
    )
    assert 0.0 < metrics["val_wer"] < 1.0

    # A fresh model for training: metric states reset under another Trainer's inference mode can't be updated.
    torch.manual_seed(0)
    trainer = cpu_trainer(max_steps=6, overfit_batches=1, callbacks=[loss_recorder])
    model = EncDecHybridRNNTCTCModel(cfg, trainer=trainer)
    trainer.fit(model)
    losses = loss_recorder.losses
    assert len(losses) == 6 and all(np.isfinite(losses)) and losses[-1] < losses[0]

    model.eval()
    path = tmp_path / "hybrid.nemo"
    model.save_to(str(path))
    restored = EncDecHybridRNNTCTCModel.restore_from(str(path), strict=True).eval()
    assert restored.cur_decoder == "rnnt"
    assert (
        restored.transcribe(speech.paths, verbose=False)[0]
        == model.transcribe(speech.paths, verbose=False)[0]
    )
    for head in (model, restored):
        head.change_decoding_strategy(decoder_type="ctc")
    trained = model.transcribe(speech.paths, verbose=False, logprobs=True)
    for before, after in zip(trained, restored.transcribe(speech.paths, verbose=False, logprobs=True)):
        torch.testing.assert_close(after, before)
    assert (
        restored.transcribe(speech.paths, verbose=False)[0]
        == model.transcribe(speech.paths, verbose=False)[0]
    )


def test_loss_is_the_weighted_sum_of_transducer_and_ctc_losses(hybrid, speech):
    signal = [torch.from_numpy(sf.read(p, dtype="float32")[0]) for p in speech.paths[:2]]
    lengths = torch.tensor([len(s) for s in signal])
    audio = torch.nn.utils.rnn.pad_sequence(signal, batch_first=True)
    labels = {char: index for index, char in enumerate(hybrid.cfg.labels)}
    texts = speech.texts[:2]
    transcript = torch.nn.utils.rnn.pad_sequence([torch.tensor([labels[c] for c in t]) for t in texts], True)
    transcript_len = torch.tensor([len(t) for t in texts])
    with torch.no_grad():
        metrics = hybrid.validation_step((audio, lengths, transcript, transcript_len), 0)
        hybrid.validation_step_outputs.clear()
        encoded, encoded_len = hybrid(input_signal=audio, input_signal_length=lengths)
        blank = len(labels)
        # Independent references: torchaudio's RNN-T loss and torch's CTC loss, mean over the batch.
        decoded, _, _ = hybrid.decoder(targets=transcript, target_length=transcript_len)
        logits = hybrid.joint.joint(encoded.transpose(1, 2), decoded.transpose(1, 2))
        rnnt = torchaudio.functional.rnnt_loss(
            logits, transcript.int(), encoded_len.int(), transcript_len.int(), blank=blank, reduction="none"
        ).mean()
        log_probs = hybrid.ctc_decoder(encoder_output=encoded)
        ctc = torch.nn.functional.ctc_loss(
            log_probs.transpose(0, 1),
            transcript,
            encoded_len,
            transcript_len,
            blank=blank,
            reduction="none",
            zero_infinity=True,
        ).mean()
    torch.testing.assert_close(metrics["val_rnnt_loss"], rnnt)
    torch.testing.assert_close(metrics["val_ctc_loss"], ctc)
    torch.testing.assert_close(metrics["val_loss"], (1 - CTC_WEIGHT) * rnnt + CTC_WEIGHT * ctc)


def test_ctc_head_transcripts_are_greedy_collapsed_log_probs(hybrid, speech):
    hybrid.change_decoding_strategy({"strategy": "greedy"}, decoder_type="ctc")
    try:
        assert hybrid.cur_decoder == "ctc" and hybrid.output_module is hybrid.ctc_decoder
        texts, _ = hybrid.transcribe(speech.paths[:3], batch_size=2, verbose=False)
        log_probs = hybrid.transcribe(speech.paths[:3], batch_size=2, verbose=False, logprobs=True)
    finally:
        hybrid.change_decoding_strategy(decoder_type="rnnt")
    labels = list(hybrid.cfg.labels)
    for text, frames in zip(texts, log_probs):
        best = torch.unique_consecutive(frames.argmax(-1)).tolist()
        assert text == "".join(labels[i] for i in best if i != len(labels))
    with pytest.raises(ValueError, match="logprobs"):
        hybrid.transcribe(speech.paths[:1], logprobs=True, verbose=False)


def test_decoding_strategy_switches_head_and_config(tiny_asr_config):
    model = EncDecHybridRNNTCTCModel(_hybrid_config(tiny_asr_config))
    model.change_decoding_strategy(CTCDecodingConfig(preserve_alignments=True), decoder_type="ctc")
    assert model.cur_decoder == "ctc" and model.ctc_decoding.preserve_alignments is True
    assert model.cfg.aux_ctc.decoding.preserve_alignments is True
    model.change_decoding_strategy({"strategy": "greedy", "greedy": {"max_symbols": 3}})
    assert model.cur_decoder == "rnnt" and model.cfg.decoding.greedy.max_symbols == 3
    with pytest.raises(ValueError, match="decoder_type"):
        model.change_decoding_strategy(None, decoder_type="attention")


def test_change_vocabulary_rebuilds_both_heads(tiny_asr_config):
    model = EncDecHybridRNNTCTCModel(_hybrid_config(tiny_asr_config))
    before = model.num_weights
    new_vocabulary = [*model.cfg.labels, "!", "?"]
    model.change_vocabulary(new_vocabulary)
    hidden = model.cfg.model_defaults.pred_hidden
    # 2 new rows in: prediction embedding (H), joint output (joint_hidden + 1), CTC 1x1 conv (feat_in + 1)
    assert model.num_weights == before + 2 * hidden + 2 * (32 + 1) + 2 * (model.ctc_decoder._feat_in + 1)
    assert list(model.ctc_decoder.vocabulary) == new_vocabulary == list(model.joint.vocabulary)
    assert list(model.cfg.aux_ctc.decoder.vocabulary) == new_vocabulary
    assert model.ctc_decoding.blank_id == len(new_vocabulary)


def test_config_errors_name_the_key(tiny_asr_config):
    cfg = tiny_asr_config("rnnt")
    with pytest.raises(ValueError, match="aux_ctc"):
        EncDecHybridRNNTCTCModel(cfg)
    cfg = _hybrid_config(tiny_asr_config)
    cfg.aux_ctc.decoder.vocabulary = ["a", "b"]
    with pytest.raises(ValueError, match="aux_ctc.decoder.vocabulary"):
        EncDecHybridRNNTCTCModel(cfg)


def test_restores_nemo_1_23_checkpoint_with_nemos_outputs():
    expected = torch.load(DATA / "hybrid_rnnt_ctc_char_tiny.expected.pt", weights_only=True)
    model = EncDecHybridRNNTCTCModel.restore_from(
        str(DATA / "hybrid_rnnt_ctc_char_tiny.nemo"), strict=True
    ).eval()
    assert sorted(model.state_dict()) == expected["state_dict_keys"]
    signal = expected["waveform"]
    with torch.no_grad():
        encoded, encoded_len = model(input_signal=signal, input_signal_length=torch.tensor([signal.shape[1]]))
        log_probs = model.ctc_decoder(encoder_output=encoded)
    torch.testing.assert_close(encoded, expected["encoded"], atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(log_probs, expected["ctc_log_probs"], atol=1e-4, rtol=1e-4)
    rnnt, _ = model.decoding.rnnt_decoder_predictions_tensor(encoded, encoded_len, return_hypotheses=True)
    assert (rnnt[0].text, list(rnnt[0].y_sequence)) == (expected["rnnt_text"], expected["rnnt_tokens"])
    ctc, _ = model.ctc_decoding.ctc_decoder_predictions_tensor(log_probs, encoded_len, return_hypotheses=True)
    assert (ctc[0].text, [int(t) for t in ctc[0].y_sequence]) == (
        expected["ctc_text"],
        expected["ctc_tokens"],
    )
    assert model.transcribe([signal[0].numpy()], verbose=False)[0] == [expected["rnnt_text"]]


def test_bpe_hybrid_heads_share_the_tokenizer_and_survive_save_restore(
    tmp_path, tiny_asr_config, tokenizer_dir, speech
):
    torch.manual_seed(0)
    model = EncDecHybridRNNTCTCBPEModel(_hybrid_config(tiny_asr_config, tokenizer=tokenizer_dir)).eval()
    pieces = model.tokenizer.ids_to_tokens(list(range(model.tokenizer.vocab_size)))
    assert list(model.ctc_decoder.vocabulary) == pieces == list(model.joint.vocabulary)
    model.change_decoding_strategy(decoder_type="ctc")
    texts, _ = model.transcribe(speech.paths[:2], verbose=False)
    path = tmp_path / "hybrid_bpe.nemo"
    model.save_to(str(path))
    restored = EncDecHybridRNNTCTCBPEModel.restore_from(str(path), strict=True).eval()
    restored.change_decoding_strategy(decoder_type="ctc")
    assert restored.transcribe(speech.paths[:2], verbose=False)[0] == texts

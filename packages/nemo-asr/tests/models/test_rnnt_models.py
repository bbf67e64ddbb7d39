"""EncDecRNNTModel: training on real speech, transcribe(), greedy decoding against a step-by-step search."""

import string

import numpy as np
import pytest
import soundfile as sf
import torch
from nemo.collections.asr.models import EncDecRNNTModel
from nemo.collections.asr.parts.submodules.rnnt_decoding import RNNTDecoding
from nemo.collections.asr.parts.utils.rnnt_utils import Hypothesis
from omegaconf import OmegaConf

LABELS = [" "] + list(string.ascii_lowercase) + ["'"]


def _encode(model, paths: list[str]) -> list[tuple[torch.Tensor, int]]:
    """(D, T) encoder output and valid length of each file, one file at a time."""
    outputs = []
    with torch.no_grad():
        for path in paths:
            signal = torch.from_numpy(sf.read(path, dtype="float32")[0])[None]
            encoded, encoded_len = model(
                input_signal=signal, input_signal_length=torch.tensor([signal.shape[1]])
            )
            outputs.append((encoded[0], int(encoded_len[0])))
    return outputs


@pytest.fixture(scope="module")
def rnnt_model(tiny_asr_config) -> EncDecRNNTModel:
    """A fixed tiny Conformer-RNNT char model (seeded random weights, eval mode); tests must not change it."""
    torch.manual_seed(1)
    return EncDecRNNTModel(tiny_asr_config("rnnt")).eval()


def test_training_steps_run_and_loss_decreases_on_one_batch(
    tiny_asr_config, cpu_trainer, speech, loss_recorder
):
    torch.manual_seed(0)
    trainer = cpu_trainer(max_steps=8, overfit_batches=1, callbacks=[loss_recorder])
    model = EncDecRNNTModel(tiny_asr_config("rnnt", manifest=speech.manifest, lr=0.02), trainer=trainer)

    trainer.fit(model)

    losses = loss_recorder.losses
    assert len(losses) == 8 and all(np.isfinite(losses))
    assert losses[-1] < 0.8 * losses[0]
    assert losses[-1] < min(losses[:4])


def _validation_transcripts(model, step_by_step_greedy) -> tuple[list[str], list[str]]:
    """Step-by-step greedy transcripts and reference texts of the model's validation set.

    Each utterance is searched on its row of the batch's encoder output, as validation decodes it.
    """
    hypotheses, references = [], []
    max_symbols = model.cfg.decoding.greedy.max_symbols
    was_training = model.training
    model.eval()
    with torch.no_grad():
        for audio, audio_len, tokens, tokens_len in model.val_dataloader():
            encoded, encoded_len = model(input_signal=audio, input_signal_length=audio_len)
            for row in range(audio.shape[0]):
                found = step_by_step_greedy(model, encoded[row], int(encoded_len[row]), max_symbols)
                hypotheses.append("".join(LABELS[token] for token in found))
                references.append("".join(LABELS[t] for t in tokens[row, : tokens_len[row]].tolist()))
    model.train(was_training)
    return hypotheses, references


def test_logged_val_wer_is_the_corpus_wer_of_the_greedy_transcripts(
    tiny_asr_config, cpu_trainer, speech, step_by_step_greedy, half_own_transcripts
):
    from torchmetrics.text import WordErrorRate

    torch.manual_seed(0)
    config = tiny_asr_config(
        "rnnt", encoder="convasr", manifest=speech.manifest, val_manifest=speech.manifest, lr=1e-6
    )
    trainer = cpu_trainer(max_steps=2)
    model = EncDecRNNTModel(config, trainer=trainer)
    trainer.fit(model)
    assert trainer.global_step == 2
    assert torch.isfinite(trainer.callback_metrics["train_loss"])

    # The references are made after training: the encoder's batch-norm statistics move in the two steps, so
    # transcripts from before could differ from what validation decodes.
    transcripts, _ = _validation_transcripts(model, step_by_step_greedy)
    assert all(text.split() for text in transcripts)
    references, manifest = half_own_transcripts(transcripts)
    model.setup_validation_data({**config.validation_ds, "manifest_filepath": str(manifest)})
    trainer.validate(model)

    hypotheses, targets = _validation_transcripts(model, step_by_step_greedy)
    assert targets == references
    expected = float(WordErrorRate()(hypotheses, targets))  # all word errors over all reference words
    assert expected > 0.0 and expected != pytest.approx(1.0, abs=1e-3)
    assert float(trainer.callback_metrics["val_wer"]) == pytest.approx(expected, abs=1e-6)


def test_transcribe_returns_best_and_all_lists_of_strings(rnnt_model, speech):
    best, all_hypotheses = rnnt_model.transcribe(speech.paths, batch_size=4, verbose=False)

    assert isinstance(best, list) and isinstance(all_hypotheses, list)
    assert len(best) == len(all_hypotheses) == len(speech.paths)
    assert all(isinstance(text, str) for text in best)
    assert set("".join(best)) <= set(LABELS)


def _padded_batch(paths: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    waveforms = [torch.from_numpy(sf.read(path, dtype="float32")[0]) for path in paths]
    lengths = torch.tensor([waveform.shape[0] for waveform in waveforms])
    return torch.nn.utils.rnn.pad_sequence(waveforms, batch_first=True), lengths


def test_batched_greedy_decoding_equals_step_by_step_search(rnnt_model, speech, step_by_step_greedy):
    max_symbols = rnnt_model.cfg.decoding.greedy.max_symbols
    signal, signal_length = _padded_batch(speech.paths)
    with torch.no_grad():
        encoded, encoded_len = rnnt_model(input_signal=signal, input_signal_length=signal_length)
    expected_tokens = [
        step_by_step_greedy(rnnt_model, encoded[row], int(encoded_len[row]), max_symbols)
        for row in range(len(speech.paths))
    ]
    assert any(expected_tokens), "the fixed model emits nothing: the comparison would prove little"

    hypotheses, _ = rnnt_model.decoding.rnnt_decoder_predictions_tensor(
        encoded, encoded_len, return_hypotheses=True
    )

    assert [list(hypothesis.y_sequence) for hypothesis in hypotheses] == expected_tokens
    assert [hypothesis.text for hypothesis in hypotheses] == [
        "".join(LABELS[token] for token in tokens) for tokens in expected_tokens
    ]


def test_transcribe_one_at_a_time_equals_step_by_step_search(rnnt_model, speech, step_by_step_greedy):
    max_symbols = rnnt_model.cfg.decoding.greedy.max_symbols
    expected = [
        "".join(LABELS[token] for token in step_by_step_greedy(rnnt_model, encoded, length, max_symbols))
        for encoded, length in _encode(rnnt_model, speech.paths)
    ]

    best, _ = rnnt_model.transcribe(speech.paths, batch_size=1, verbose=False)

    assert best == expected


def test_max_symbols_caps_tokens_per_frame(rnnt_model, speech, step_by_step_greedy):
    encoded, length = _encode(rnnt_model, speech.paths[:1])[0]
    decoding = RNNTDecoding(
        {"strategy": "greedy_batch", "greedy": {"max_symbols": 1}},
        decoder=rnnt_model.decoder,
        joint=rnnt_model.joint,
        vocabulary=LABELS,
    )

    hypotheses, _ = decoding.rnnt_decoder_predictions_tensor(
        encoded[None], torch.tensor([length]), return_hypotheses=True
    )

    assert list(hypotheses[0].y_sequence) == step_by_step_greedy(rnnt_model, encoded, length, 1)
    assert len(set(hypotheses[0].timestep)) == len(hypotheses[0].timestep) <= length


def test_save_to_restore_from_keeps_transcripts(rnnt_model, speech, tmp_path):
    archive = tmp_path / "rnnt.nemo"
    rnnt_model.save_to(str(archive))

    restored = EncDecRNNTModel.restore_from(str(archive), map_location="cpu")

    assert (
        restored.transcribe(speech.paths, verbose=False)[0]
        == rnnt_model.transcribe(speech.paths, verbose=False)[0]
    )


def test_forward_needs_exactly_one_kind_of_input(rnnt_model):
    signal = torch.zeros(1, 16000)
    length = torch.tensor([16000])
    features, feature_length = rnnt_model.preprocessor(input_signal=signal, length=length)

    with pytest.raises(ValueError, match="both"):
        rnnt_model(
            input_signal=signal,
            input_signal_length=length,
            processed_signal=features,
            processed_signal_length=feature_length,
        )
    with pytest.raises(ValueError, match="neither"):
        rnnt_model()


def test_fused_loss_wer_joint_gives_the_plain_loss_and_wer_and_trains(
    tiny_asr_config, cpu_trainer, speech, loss_recorder
):
    plain_config = tiny_asr_config("rnnt", manifest=speech.manifest)
    fused_config = tiny_asr_config("rnnt", manifest=speech.manifest)
    fused_config.joint.fuse_loss_wer = True
    fused_config.joint.fused_batch_size = 3
    torch.manual_seed(0)
    plain = EncDecRNNTModel(plain_config).eval()
    fused = EncDecRNNTModel(fused_config).eval()
    fused.load_state_dict(plain.state_dict())
    batch = next(iter(plain.train_dataloader()))
    assert batch[0].shape[0] == 4, "the batch must split into uneven sub-batches"

    with torch.no_grad():
        plain_metrics = plain.validation_step(batch, 0)
        fused_metrics = fused.validation_step(batch, 0)

    torch.testing.assert_close(fused_metrics["val_loss"], plain_metrics["val_loss"])
    for key in ("val_wer", "val_wer_num", "val_wer_denom"):
        torch.testing.assert_close(fused_metrics[key], plain_metrics[key])
    trainer = cpu_trainer(max_steps=2, callbacks=[loss_recorder])
    fused.train()
    trainer.fit(fused)
    assert len(loss_recorder.losses) == 2 and all(np.isfinite(loss_recorder.losses))
    assert "training_batch_wer" in trainer.callback_metrics


def test_decoding_config_sets_joint_temperature_and_fused_batch_size(tiny_asr_config, speech):
    """NeMo 1.23: decoding.temperature divides the joint's logits; decoding.fused_batch_size sets the joint's."""
    config = tiny_asr_config("rnnt", manifest=speech.manifest)
    config.joint.fuse_loss_wer = True
    config.joint.fused_batch_size = 3
    model = EncDecRNNTModel(config).eval()
    decoding = OmegaConf.to_container(model.cfg.decoding)
    model.change_decoding_strategy(OmegaConf.create({**decoding, "temperature": 2.0, "fused_batch_size": 2}))
    assert model.joint.temperature == 2.0 and model.joint._fused_batch_size == 2
    with pytest.raises(ValueError, match="fused_batch_size"):
        model.change_decoding_strategy(OmegaConf.create({**decoding, "fused_batch_size": 0}))


def test_change_vocabulary_rebuilds_the_transducer_and_still_trains(tiny_asr_config, cpu_trainer, speech):
    model = EncDecRNNTModel(tiny_asr_config("rnnt", manifest=speech.manifest))
    encoder_before = {key: value.clone() for key, value in model.encoder.state_dict().items()}
    new_labels = [" "] + list(string.ascii_lowercase)

    model.change_vocabulary(new_labels)

    assert model.joint.num_classes_with_blank == len(new_labels) + 1
    assert model.decoder.prediction["embed"].num_embeddings == len(new_labels) + 1
    assert list(model.cfg.labels) == new_labels and list(model.cfg.train_ds.labels) == new_labels
    assert all(torch.equal(value, encoder_before[key]) for key, value in model.encoder.state_dict().items())
    best, _ = model.transcribe(speech.paths[:2], verbose=False)
    assert all(set(text) <= set(new_labels) for text in best)
    trainer = cpu_trainer(max_steps=1)
    model.set_trainer(trainer)
    model.setup_training_data(model.cfg.train_ds)
    trainer.fit(model)
    assert trainer.global_step == 1


@pytest.fixture(scope="module")
def beam_model(tiny_asr_config) -> EncDecRNNTModel:
    """A tiny Conformer-RNNT char model of its own (seeded, eval mode): the beam tests change its decoding."""
    torch.manual_seed(3)
    return EncDecRNNTModel(tiny_asr_config("rnnt")).eval()


def _beam_config(**beam) -> dict:
    return {"strategy": "beam", "beam": {"beam_size": 2, "search_type": "default", **beam}}


def test_beam_strategy_transcribes_to_strings_and_hypotheses(beam_model, speech):
    beam_model.change_decoding_strategy(_beam_config(return_best_hypothesis=False))

    texts, _ = beam_model.transcribe(speech.paths, batch_size=3, verbose=False)
    hypotheses, _ = beam_model.transcribe(speech.paths, batch_size=3, return_hypotheses=True, verbose=False)

    assert len(texts) == len(hypotheses) == len(speech.paths)
    assert all(isinstance(text, str) and set(text) <= set(LABELS) for text in texts)
    assert all(isinstance(hypothesis, Hypothesis) for hypothesis in hypotheses)
    assert [hypothesis.text for hypothesis in hypotheses] == texts
    assert [hypothesis.text for hypothesis in hypotheses] == [
        "".join(LABELS[token] for token in hypothesis.y_sequence.tolist()) for hypothesis in hypotheses
    ]


def test_beam_of_one_transcribes_like_greedy_with_five_symbols(beam_model, speech):
    """beam_size 1 runs NeMo's greedy search, capped at 5 tokens per frame like the config's greedy.max_symbols."""
    beam_model.change_decoding_strategy({"strategy": "greedy_batch", "greedy": {"max_symbols": 5}})
    greedy, _ = beam_model.transcribe(speech.paths, verbose=False)
    assert any(greedy), "the fixed model emits nothing: the comparison would prove little"

    beam_model.change_decoding_strategy(_beam_config(beam_size=1))
    beam_of_one, _ = beam_model.transcribe(speech.paths, verbose=False)

    assert beam_of_one == greedy


def test_beam_strategy_with_another_search_type_names_the_config_key(beam_model):
    with pytest.raises(ValueError, match=r"decoding\.beam\.search_type is 'alsd'.*decoding\.strategy=alsd"):
        beam_model.change_decoding_strategy(_beam_config(search_type="alsd"))


def test_a_rejected_decoding_config_leaves_the_model_decoding_as_before(beam_model, speech):
    beam_model.change_decoding_strategy(_beam_config(beam_size=2))
    before_cfg = OmegaConf.to_container(beam_model.cfg.decoding)
    before_texts, _ = beam_model.transcribe(speech.paths, verbose=False)

    with pytest.raises(ValueError, match="search_type"):
        beam_model.change_decoding_strategy(_beam_config(search_type="maes"))

    assert OmegaConf.to_container(beam_model.cfg.decoding) == before_cfg
    assert beam_model.transcribe(speech.paths, verbose=False)[0] == before_texts

"""EncDecCTCModel: NeMo 1.23 archives, training on real speech, save/restore, decoding and transcribe()."""

import json
import string
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from nemo.collections.asr.models import EncDecCTCModel
from nemo.collections.asr.parts.utils.rnnt_utils import Hypothesis
from omegaconf import OmegaConf

FIXTURES = Path(__file__).resolve().parents[4] / "tests" / "data" / "nemo-1.23"
FIXTURE_NAMES = ("conformer_ctc_char_tiny", "quartznet_ctc_char_tiny")
# The fixtures' vocabulary as their README gives it: space, a-z, apostrophe; blank is index 28.
FIXTURE_LABELS = [" "] + list(string.ascii_lowercase) + ["'"]
FIXTURE_BLANK = 28


def _reference_greedy_text(log_probs: torch.Tensor, length: int) -> str:
    """Greedy CTC by hand: argmax per frame, merge repeats, drop blanks, map ids to labels."""
    best = log_probs[:length].argmax(dim=-1).tolist()
    merged = [token for index, token in enumerate(best) if index == 0 or token != best[index - 1]]
    return "".join(FIXTURE_LABELS[token] for token in merged if token != FIXTURE_BLANK)


def _fixture(name: str) -> tuple[EncDecCTCModel, dict[str, torch.Tensor]]:
    model = EncDecCTCModel.restore_from(str(FIXTURES / f"{name}.nemo"), map_location="cpu")
    reference = torch.load(FIXTURES / f"{name}.io.pt", weights_only=True)
    return model.eval(), reference


def _forward(model: EncDecCTCModel, paths: list[str]) -> list[torch.Tensor]:
    """Per-file (T, V+1) log-probs, one file at a time (no padding involved)."""
    outputs = []
    model.eval()
    with torch.no_grad():
        for path in paths:
            audio, _ = sf.read(path, dtype="float32")
            signal = torch.from_numpy(audio)[None]
            log_probs, encoded_len, _ = model(
                input_signal=signal, input_signal_length=torch.tensor([signal.shape[1]])
            )
            outputs.append(log_probs[0, : encoded_len[0]])
    return outputs


@pytest.fixture(scope="module")
def trained_ctc(tiny_asr_config, cpu_trainer, speech) -> EncDecCTCModel:
    """A tiny Conformer-CTC char model after a few steps on real speech; tests must not change it."""
    torch.manual_seed(0)
    trainer = cpu_trainer(max_steps=2)
    model = EncDecCTCModel(tiny_asr_config("ctc", manifest=speech.manifest), trainer=trainer)
    trainer.fit(model)
    return model.eval()


@pytest.fixture
def fresh_ctc(tiny_asr_config, speech) -> EncDecCTCModel:
    """A new tiny Conformer-CTC char model (random weights) that a test may change."""
    torch.manual_seed(0)
    return EncDecCTCModel(tiny_asr_config("ctc", manifest=speech.manifest))


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_restore_nemo_1_23_archive_reproduces_reference_outputs(name):
    model, reference = _fixture(name)
    with torch.no_grad():
        log_probs, encoded_len, greedy = model(
            input_signal=reference["input_signal"], input_signal_length=reference["input_signal_length"]
        )
        mel, mel_len = model.preprocessor(
            input_signal=reference["input_signal"], length=reference["input_signal_length"]
        )

    torch.testing.assert_close(log_probs, reference["log_probs"], atol=1e-4, rtol=0)
    assert torch.equal(encoded_len, reference["encoded_len"])
    assert torch.equal(greedy, reference["log_probs"].argmax(dim=-1))
    torch.testing.assert_close(mel, reference["mel"], atol=1e-4, rtol=0)
    assert torch.equal(mel_len, reference["mel_len"])


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_transcribe_fixture_input_matches_reference_greedy_decoding(name, tmp_path):
    model, reference = _fixture(name)
    lengths = reference["input_signal_length"].tolist()
    waveforms = [reference["input_signal"][row, :length].numpy() for row, length in enumerate(lengths)]
    wav_paths = []
    for row, waveform in enumerate(waveforms):
        wav_paths.append(str(tmp_path / f"input{row}.wav"))
        sf.write(wav_paths[-1], waveform, 16000, subtype="FLOAT")
    # Row 0 fills the reference batch. The shorter rows carry real audio past their length in the
    # reference batch, which the edge STFT frames see, so a trimmed waveform cannot reproduce them.
    full_rows = [row for row, length in enumerate(lengths) if length == reference["input_signal"].shape[1]]
    assert full_rows == [0]
    expected = _reference_greedy_text(reference["log_probs"][0], int(reference["encoded_len"][0]))

    from_arrays = model.transcribe(waveforms, batch_size=len(waveforms), verbose=False)
    from_files = model.transcribe(wav_paths, batch_size=len(wav_paths), verbose=False)

    assert from_arrays == from_files
    assert from_arrays[0] == expected
    assert expected


def _validation_transcripts(model: EncDecCTCModel) -> tuple[list[str], list[str], list[int]]:
    """Greedy transcripts (by hand) and reference texts of the model's validation set, batch by batch.

    Returns:
        The hypotheses, the references (the batches' token ids read back as labels) and the batch sizes.
    """
    hypotheses, references, batch_sizes = [], [], []
    was_training = model.training
    model.eval()
    with torch.no_grad():
        for audio, audio_len, tokens, tokens_len in model.val_dataloader():
            log_probs, encoded_len, _ = model(input_signal=audio, input_signal_length=audio_len)
            for row in range(audio.shape[0]):
                hypotheses.append(_reference_greedy_text(log_probs[row], int(encoded_len[row])))
                references.append("".join(FIXTURE_LABELS[t] for t in tokens[row, : tokens_len[row]].tolist()))
            batch_sizes.append(audio.shape[0])
    model.train(was_training)
    return hypotheses, references, batch_sizes


def test_logged_val_wer_is_the_corpus_wer_of_the_greedy_transcripts(
    tiny_asr_config, cpu_trainer, speech, half_own_transcripts
):
    from torchmetrics.text import WordErrorRate

    torch.manual_seed(0)
    # A tiny learning rate keeps the random model's many-letter transcripts through the two steps.
    config = tiny_asr_config("ctc", manifest=speech.manifest, val_manifest=speech.manifest, lr=1e-6)
    trainer = cpu_trainer(max_steps=2)
    model = EncDecCTCModel(config, trainer=trainer)
    transcripts, _, _ = _validation_transcripts(model)
    assert all(text.split() for text in transcripts)
    references, manifest = half_own_transcripts(transcripts)
    model.setup_validation_data({**config.validation_ds, "manifest_filepath": str(manifest)})

    trainer.fit(model)

    assert trainer.global_step == 2
    metrics = trainer.callback_metrics
    assert torch.isfinite(metrics["train_loss"]) and torch.isfinite(metrics["val_loss"])
    hypotheses, targets, batch_sizes = _validation_transcripts(model)
    assert targets == references and batch_sizes == [4, 2]
    # NeMo's multi_validation_epoch_end: the word errors of all batches over all their reference words.
    expected = float(WordErrorRate()(hypotheses, targets))
    batch_mean = (
        float(WordErrorRate()(hypotheses[:4], targets[:4]))
        + float(WordErrorRate()(hypotheses[4:], targets[4:]))
    ) / 2
    assert 0.0 < expected < 1.0 and expected != pytest.approx(batch_mean, abs=1e-3)
    assert float(metrics["val_wer"]) == pytest.approx(expected, abs=1e-6)


def test_each_listed_validation_manifest_gets_its_own_dataloader(
    tiny_asr_config, cpu_trainer, speech, tmp_path
):
    short_dev = tmp_path / "short_dev.json"
    short_dev.write_text(
        "".join(
            json.dumps({**entry, "audio_filepath": str(speech.folder / entry["audio_filepath"])}) + "\n"
            for entry in speech.entries[:2]
        ),
        encoding="utf-8",
    )
    config = tiny_asr_config("ctc", manifest=speech.manifest)
    config.validation_ds.manifest_filepath = [str(speech.manifest), str(short_dev)]
    config.test_ds = {**config.validation_ds, "manifest_filepath": str(short_dev)}
    torch.manual_seed(0)
    trainer = cpu_trainer(max_steps=1)
    model = EncDecCTCModel(config, trainer=trainer)

    assert [len(loader.dataset) for loader in model.val_dataloader()] == [len(speech.entries), 2]
    assert len(model.test_dataloader().dataset) == 2
    trainer.fit(model)
    validated = trainer.validate(model, verbose=False)[0]
    tested = trainer.test(model, verbose=False)[0]

    # NeMo names each extra validation set after its file ("short_dev.json" -> "short_dev_").
    assert {"val_wer", "speech_val_wer", "short_dev_val_wer"} <= set(validated)
    assert validated["short_dev_val_loss"] == pytest.approx(tested["test_loss"], rel=1e-5)
    assert validated["val_loss"] == pytest.approx(validated["speech_val_loss"], rel=1e-6)
    assert validated["speech_val_loss"] != pytest.approx(validated["short_dev_val_loss"], rel=1e-3)


def test_repeated_steps_on_one_batch_reduce_the_loss(tiny_asr_config, cpu_trainer, speech, loss_recorder):
    torch.manual_seed(0)
    trainer = cpu_trainer(max_steps=12, overfit_batches=1, callbacks=[loss_recorder])
    model = EncDecCTCModel(tiny_asr_config("ctc", manifest=speech.manifest, lr=0.02), trainer=trainer)

    trainer.fit(model)

    losses = loss_recorder.losses
    assert len(losses) == 12 and all(np.isfinite(losses))
    assert losses[-1] < 0.5 * losses[0]
    assert losses[-1] < min(losses[:6])


def test_save_to_restore_from_gives_identical_outputs(trained_ctc, speech, tmp_path):
    archive = tmp_path / "ctc.nemo"
    trained_ctc.save_to(str(archive))

    restored = EncDecCTCModel.restore_from(str(archive), map_location="cpu")

    assert restored.cfg.labels == trained_ctc.cfg.labels
    for before, after in zip(_forward(trained_ctc, speech.paths), _forward(restored, speech.paths)):
        assert torch.equal(before, after)
    assert restored.transcribe(speech.paths, verbose=False) == trained_ctc.transcribe(
        speech.paths, verbose=False
    )


def test_change_vocabulary_resizes_decoder_and_still_trains(fresh_ctc, cpu_trainer, speech, loss_recorder):
    new_labels = [" "] + list(string.ascii_lowercase)
    encoder_before = {key: value.clone() for key, value in fresh_ctc.encoder.state_dict().items()}

    fresh_ctc.change_vocabulary(new_labels)

    assert fresh_ctc.decoder.num_classes_with_blank == len(new_labels) + 1
    assert list(fresh_ctc.decoder.vocabulary) == new_labels
    assert list(fresh_ctc.cfg.labels) == new_labels
    assert list(fresh_ctc.cfg.train_ds.labels) == new_labels
    assert all(
        torch.equal(value, encoder_before[key]) for key, value in fresh_ctc.encoder.state_dict().items()
    )
    assert _forward(fresh_ctc, speech.paths[:1])[0].shape[-1] == len(new_labels) + 1
    trainer = cpu_trainer(max_steps=2, callbacks=[loss_recorder])
    fresh_ctc.train()
    fresh_ctc.set_trainer(trainer)
    fresh_ctc.setup_training_data(fresh_ctc.cfg.train_ds)
    trainer.fit(fresh_ctc)
    assert len(loss_recorder.losses) == 2 and all(np.isfinite(loss_recorder.losses))


def test_change_decoding_strategy_to_beam_returns_strings(fresh_ctc, speech):
    greedy = fresh_ctc.transcribe(speech.paths, verbose=False)

    fresh_ctc.change_decoding_strategy(
        OmegaConf.create({"strategy": "beam", "beam": {"beam_size": 4, "return_best_hypothesis": True}})
    )
    beam = fresh_ctc.transcribe(speech.paths, verbose=False)

    assert fresh_ctc.cfg.decoding.strategy == "beam"
    assert len(beam) == len(greedy) and all(isinstance(text, str) for text in beam)
    assert all(text for text in beam)
    assert set("".join(beam)) <= set(FIXTURE_LABELS)


def test_transcribe_returns_hypotheses_with_text(trained_ctc, speech):
    texts = trained_ctc.transcribe(speech.paths, verbose=False)

    hypotheses = trained_ctc.transcribe(speech.paths, return_hypotheses=True, verbose=False)

    assert all(isinstance(hypothesis, Hypothesis) for hypothesis in hypotheses)
    assert [hypothesis.text for hypothesis in hypotheses] == texts


def test_transcribe_logprobs_match_a_plain_forward(trained_ctc, speech):
    expected = _forward(trained_ctc, speech.paths)

    log_probs = trained_ctc.transcribe(speech.paths, batch_size=1, logprobs=True, verbose=False)

    assert len(log_probs) == len(speech.paths)
    for got, want in zip(log_probs, expected):
        assert got.shape == want.shape and got.shape[-1] == len(FIXTURE_LABELS) + 1
        torch.testing.assert_close(got, want, atol=1e-5, rtol=0)


def test_transcribe_keeps_input_order_with_mixed_lengths(trained_ctc, speech):
    paths = [speech.paths[index] for index in (4, 5, 0, 2, 3, 1)]
    single = _forward(trained_ctc, paths)
    assert len({log_probs.shape[0] for log_probs in single}) == len(paths)
    one_by_one = [trained_ctc.transcribe([path], batch_size=1, verbose=False)[0] for path in paths]

    batched = trained_ctc.transcribe(paths, batch_size=3, verbose=False)
    batched_log_probs = trained_ctc.transcribe(paths, batch_size=3, logprobs=True, verbose=False)

    assert batched == one_by_one
    # Zero padding changes the last frames through the striding subsampling, which (as NeMo's) does not
    # mask between its convolutions; attention spreads a trace of that. Another utterance is far off.
    for got, want in zip(batched_log_probs, single):
        assert got.shape == want.shape
        torch.testing.assert_close(got[:-1], want[:-1], atol=1e-2, rtol=0)


def test_forward_needs_exactly_one_kind_of_input(trained_ctc):
    signal = torch.zeros(1, 16000)
    length = torch.tensor([16000])
    features, feature_length = trained_ctc.preprocessor(input_signal=signal, length=length)

    with pytest.raises(ValueError, match="both"):
        trained_ctc(
            input_signal=signal,
            input_signal_length=length,
            processed_signal=features,
            processed_signal_length=feature_length,
        )
    with pytest.raises(ValueError, match="neither"):
        trained_ctc()


def test_forward_on_features_equals_forward_on_audio(trained_ctc, speech):
    audio, _ = sf.read(speech.paths[0], dtype="float32")
    signal = torch.from_numpy(audio)[None]
    length = torch.tensor([signal.shape[1]])
    with torch.no_grad():
        features, feature_length = trained_ctc.preprocessor(input_signal=signal, length=length)
        from_audio, audio_len, _ = trained_ctc(input_signal=signal, input_signal_length=length)
        from_features, features_len, _ = trained_ctc(
            processed_signal=features, processed_signal_length=feature_length
        )

    assert torch.equal(audio_len, features_len)
    torch.testing.assert_close(from_audio, from_features)


def test_beam_lm_and_lexicon_travel_inside_the_nemo_archive(fresh_ctc, speech, tmp_path):
    import tarfile

    from nemo.collections.asr.parts.lm.ngram_lm import estimate_ngram_lm

    lm_path = tmp_path / "words.arpa"
    estimate_ngram_lm(speech.texts, order=2).write_arpa(lm_path)
    lexicon_path = tmp_path / "words.lex"
    words = sorted({word for text in speech.texts for word in text.split()})
    lexicon_path.write_text("".join(f"{word}\t{' '.join(word)}\n" for word in words), encoding="utf-8")
    decoding = {
        "strategy": "beam",
        "beam": {
            "beam_size": 4,
            "search_type": "flashlight",
            "kenlm_path": str(lm_path),
            "flashlight_cfg": {"lexicon_path": str(lexicon_path), "unk_weight": -5.0},
        },
    }
    fresh_ctc.change_decoding_strategy(decoding)
    before = fresh_ctc.transcribe(speech.paths[:2], batch_size=2)
    archive = tmp_path / "with_lm.nemo"
    fresh_ctc.save_to(str(archive))
    lm_path.unlink()
    lexicon_path.unlink()

    with tarfile.open(archive) as tar:
        members = {Path(name).name for name in tar.getnames()}
    assert any(name.endswith("words.arpa") for name in members), members
    assert any(name.endswith("words.lex") for name in members), members
    restored = EncDecCTCModel.restore_from(str(archive), map_location="cpu")
    assert restored.cfg.decoding.beam.search_type == "flashlight"
    assert restored.transcribe(speech.paths[:2], batch_size=2) == before
    assert all(word in words for text in before for word in text.split())

    restored.change_decoding_strategy({"strategy": "greedy"})
    resaved = tmp_path / "greedy.nemo"
    restored.save_to(str(resaved))
    with tarfile.open(resaved) as tar:
        assert not any(name.endswith((".arpa", ".lex")) for name in tar.getnames())


def test_a_rejected_decoding_config_leaves_the_model_decoding_as_before(tiny_asr_config, speech, tmp_path):
    from nemo.collections.asr.parts.lm.ngram_lm import estimate_ngram_lm

    torch.manual_seed(0)
    model = EncDecCTCModel(tiny_asr_config("ctc")).eval()
    lm_path = tmp_path / "words.arpa"
    estimate_ngram_lm(speech.texts, order=2).write_arpa(lm_path)
    model.change_decoding_strategy({"strategy": "beam", "beam": {"beam_size": 4, "kenlm_path": str(lm_path)}})
    before_cfg = OmegaConf.to_container(model.cfg.decoding)
    before_texts = model.transcribe(speech.paths, verbose=False)

    missing = tmp_path / "missing.arpa"
    with pytest.raises(FileNotFoundError, match="missing.arpa"):
        model.change_decoding_strategy(
            {"strategy": "beam", "beam": {"beam_size": 4, "kenlm_path": str(missing)}}
        )
    with pytest.raises(ValueError):
        model.change_decoding_strategy({"strategy": "no_such_strategy"})

    assert OmegaConf.to_container(model.cfg.decoding) == before_cfg
    assert model.transcribe(speech.paths, verbose=False) == before_texts
    model.save_to(str(tmp_path / "after_rejections.nemo"))
    restored = EncDecCTCModel.restore_from(str(tmp_path / "after_rejections.nemo"), map_location="cpu")
    assert restored.transcribe(speech.paths, verbose=False) == before_texts


def test_decoding_temperature_divides_the_logits_before_the_softmax(fresh_ctc, speech):
    """NeMo 1.23: change_decoding_strategy sets decoder.temperature = decoding.temperature."""
    fresh_ctc.eval()
    plain = _forward(fresh_ctc, speech.paths[:1])[0]
    fresh_ctc.change_decoding_strategy(OmegaConf.create({"strategy": "greedy", "temperature": 2.0}))
    warmer = _forward(fresh_ctc, speech.paths[:1])[0]
    # log_softmax(z / 2) from log_softmax(z): z is known up to a per-frame constant, which the softmax removes.
    torch.testing.assert_close(warmer, (plain / 2.0).log_softmax(-1), atol=1e-5, rtol=0)

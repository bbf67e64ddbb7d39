"""EncDecMultiTaskModel (Canary-style prompted AED): training on real speech, save/restore, greedy and beam
search, the canary prompt format and data, and a NeMo 1.23 checkpoint restored strictly."""

import json
import math
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from nemo.collections.asr.data.audio_to_text_prompted import (
    PromptedAudioToTextDataset,
    canary,
    get_prompted_audio_to_text_dataloader,
    read_prompted_manifest,
)
from nemo.collections.asr.models import EncDecMultiTaskModel
from nemo.collections.common.losses.smoothed_cross_entropy import SmoothedCrossEntropyLoss
from nemo.collections.common.tokenizers.canary_tokenizer import CanaryTokenizer
from omegaconf import OmegaConf

DATA = Path(__file__).parent / "data"
PROMPT_FIELDS = {"lang": "en", "source_lang": "en", "target_lang": "en", "taskname": "asr", "pnc": "no"}


@pytest.fixture(scope="session")
def special_tokenizer_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("canary_special")
    CanaryTokenizer.build_special_tokenizer(folder)
    return folder


@pytest.fixture(scope="session")
def prompted_manifest(speech) -> Path:
    """The session speech, with the canary prompt fields on every line."""
    path = speech.folder / "prompted_manifest.json"
    lines = [{**entry, **PROMPT_FIELDS} for entry in speech.entries]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


def tiny_config(
    special_dir: Path, english_dir: Path, manifest: Path | None = None, transf_encoder_layers: int = 1
):
    dataset = {"manifest_filepath": str(manifest) if manifest else None, "batch_size": 3, "shuffle": False}
    return OmegaConf.create(
        {
            "sample_rate": 16000,
            "prompt_format": "canary",
            "model_defaults": {"asr_enc_hidden": 32, "lm_enc_hidden": 24, "lm_dec_hidden": 24},
            "tokenizer": {
                "dir": None,
                "type": "agg",
                "langs": {
                    "spl_tokens": {"dir": str(special_dir), "type": "bpe"},
                    "en": {"dir": str(english_dir), "type": "bpe"},
                },
                "custom_tokenizer": {
                    "_target_": "nemo.collections.common.tokenizers.canary_tokenizer.CanaryTokenizer"
                },
            },
            "preprocessor": {
                "_target_": "nemo.collections.asr.modules.AudioToMelSpectrogramPreprocessor",
                "sample_rate": 16000,
                "features": 32,
                "n_fft": 512,
                "dither": 0.0,
                "pad_to": 0,
            },
            "spec_augment": None,
            "encoder": {
                "_target_": "nemo.collections.asr.modules.ConformerEncoder",
                "feat_in": 32,
                "n_layers": 1,
                "d_model": 32,
                "n_heads": 2,
                "subsampling": "dw_striding",
                "subsampling_factor": 8,
                "subsampling_conv_channels": 16,
                "ff_expansion_factor": 2,
                "conv_kernel_size": 9,
                "dropout": 0.0,
                "dropout_pre_encoder": 0.0,
                "dropout_emb": 0.0,
                "dropout_att": 0.0,
            },
            "transf_encoder": {
                "_target_": "nemo.collections.asr.modules.transformer.transformer_encoders.TransformerEncoder",
                "num_layers": transf_encoder_layers,
                "hidden_size": 24,
                "inner_size": 48,
                "num_attention_heads": 2,
                "pre_ln": True,
            },
            "transf_decoder": {
                "_target_": "nemo.collections.asr.modules.transformer.get_nemo_transformer",
                "encoder": False,
                "pre_ln_final_layer_norm": True,
                "config_dict": {
                    "max_sequence_length": 64,
                    "num_token_types": 0,
                    "hidden_size": 24,
                    "inner_size": 48,
                    "num_layers": 1,
                    "num_attention_heads": 2,
                    "pre_ln": True,
                },
            },
            "head": {
                "_target_": "nemo.collections.asr.parts.submodules.token_classifier.TokenClassifier",
                "num_layers": 1,
                "hidden_size": 24,
                "num_classes": None,
            },
            "decoding": {"strategy": "greedy", "greedy": {"max_generation_delta": 4}},
            "loss": {
                "_target_": "nemo.collections.common.losses.smoothed_cross_entropy.SmoothedCrossEntropyLoss"
            },
            "train_ds": dataset,
            "validation_ds": dataset,
            "optim": {"name": "adam", "lr": 0.01},
        }
    )


@pytest.fixture
def model(special_tokenizer_dir, tokenizer_dir):
    torch.manual_seed(0)
    return EncDecMultiTaskModel(tiny_config(special_tokenizer_dir, tokenizer_dir)).eval()


def encode(model, paths):
    """(encoder states, mask) of a batch of wav files, in eval mode."""
    import soundfile as sf

    model.eval()
    signals = [torch.from_numpy(sf.read(path, dtype="float32")[0]) for path in paths]
    lengths = torch.tensor([signal.shape[0] for signal in signals])
    batch = torch.nn.utils.rnn.pad_sequence(signals, batch_first=True)
    with torch.no_grad():
        _, _, states, mask = model(input_signal=batch, input_signal_length=lengths)
    return states, mask


def prompt_ids(tokenizer, batch: int = 1) -> torch.Tensor:
    en = tokenizer.to_language_id("en")
    return torch.tensor([[tokenizer.bos_id, en, tokenizer.transcribe_id, en, tokenizer.nopnc_id]] * batch)


# ------------------------------------------------------------------------------------------------ training
def test_trains_validates_and_transcribes_real_speech(
    special_tokenizer_dir, tokenizer_dir, prompted_manifest, cpu_trainer, loss_recorder, speech
):
    torch.manual_seed(0)
    trainer = cpu_trainer(max_steps=3, callbacks=[loss_recorder], limit_val_batches=1)
    model = EncDecMultiTaskModel(
        tiny_config(special_tokenizer_dir, tokenizer_dir, prompted_manifest), trainer=trainer
    )

    trainer.fit(model)

    assert len(loss_recorder.losses) == 3 and all(np.isfinite(loss_recorder.losses))
    assert loss_recorder.losses[-1] < loss_recorder.losses[0]
    metrics = trainer.callback_metrics
    assert torch.isfinite(metrics["val_loss"]) and {"val_sacreBLEU", "val_WER"} <= set(metrics)
    texts = model.transcribe(speech.paths[:2], batch_size=2, verbose=False)
    assert len(texts) == 2 and all(isinstance(text, str) and "<" not in text for text in texts)


def test_loss_is_label_smoothed_cross_entropy_over_non_padding_tokens():
    torch.manual_seed(0)
    logits, labels, pad, smoothing = torch.randn(2, 5, 7), torch.randint(1, 7, (2, 5)), 0, 0.1
    labels[1, 3:] = pad
    loss = SmoothedCrossEntropyLoss(pad_id=pad, label_smoothing=smoothing)(
        log_probs=logits.log_softmax(-1), labels=labels
    )

    # torch spreads its smoothing over all V classes, NeMo over the V-1 others: s_torch = s * V / (V - 1).
    reference = F.cross_entropy(
        logits.reshape(-1, 7), labels.reshape(-1), ignore_index=pad, label_smoothing=smoothing * 7 / 6
    )
    assert float(loss) == pytest.approx(float(reference), rel=1e-5)


# ------------------------------------------------------------------------------------------ save and restore
def test_save_restore_round_trip_keeps_outputs_and_packs_the_tokenizers(model, speech, tmp_path):
    expected_states, _ = encode(model, speech.paths[:2])
    expected_texts = model.transcribe(speech.paths[:2], verbose=False)
    archive = tmp_path / "aed.nemo"
    model.save_to(str(archive))

    restored = EncDecMultiTaskModel.restore_from(str(archive))

    with tarfile.open(archive) as tar:
        names = [Path(name).name for name in tar.getnames()]
    assert sum(name.endswith("_tokenizer.model") for name in names) == 2
    assert restored.tokenizer.special_tokens == model.tokenizer.special_tokens
    assert torch.allclose(encode(restored, speech.paths[:2])[0], expected_states, atol=1e-6)
    assert restored.transcribe(speech.paths[:2], verbose=False) == expected_texts
    assert restored.log_softmax.mlp.layer0.weight is restored.transf_decoder.embedding.token_embedding.weight


# ------------------------------------------------------------------------------------------------ decoding
def test_greedy_and_beam_give_strings_and_beam_of_one_equals_greedy(model, speech):
    states, mask = encode(model, speech.paths[:3])
    prompt = prompt_ids(model.tokenizer, 3)
    greedy, _ = model.decoding.decode_predictions_tensor(states, mask, prompt, return_hypotheses=True)
    model.change_decoding_strategy({"strategy": "beam", "beam": {"beam_size": 1, "max_generation_delta": 4}})
    beam_one, _ = model.decoding.decode_predictions_tensor(states, mask, prompt, return_hypotheses=True)
    model.change_decoding_strategy({"strategy": "beam", "beam": {"beam_size": 3, "max_generation_delta": 4}})
    beam_three, _ = model.decoding.decode_predictions_tensor(states, mask, prompt)

    assert [h.y_sequence.tolist() for h in beam_one] == [h.y_sequence.tolist() for h in greedy]
    assert all(h.y_sequence[:5].tolist() == prompt[0].tolist() for h in greedy)
    assert all(isinstance(text, str) for text in beam_three) and len(beam_three) == 3


def test_cached_step_by_step_decoding_matches_full_teacher_forced_pass(model, speech):
    """Greedy search (decoder memories reused step by step) picks the argmax of a full, uncached pass."""
    states, mask = encode(model, speech.paths[:1])
    model.change_decoding_strategy({"strategy": "greedy", "greedy": {"max_generation_delta": 4}})
    (hypothesis,), _ = model.decoding.decode_predictions_tensor(
        states, mask, prompt_ids(model.tokenizer), True
    )
    tokens = hypothesis.y_sequence[None]

    with torch.no_grad():
        hidden = model.transf_decoder(
            input_ids=tokens[:, :-1],
            decoder_mask=torch.ones_like(tokens[:, :-1]),
            encoder_embeddings=states,
            encoder_mask=mask,
        )
        full = model.log_softmax(hidden_states=hidden)
    assert full[0, 4:].argmax(-1).tolist() == tokens[0, 5:].tolist()


def test_beam_scores_are_teacher_forced_log_probabilities(model, speech):
    states, mask = encode(model, speech.paths[:1])
    prompt = prompt_ids(model.tokenizer)
    decoding = {"return_scores": True, "beam": {"max_generation_delta": 4, "len_pen": 0.0}}
    model.change_decoding_strategy({**decoding, "strategy": "greedy", "greedy": {"max_generation_delta": 4}})
    (greedy,), _ = model.decoding.decode_predictions_tensor(states, mask, prompt, True)
    model.change_decoding_strategy(
        {**decoding, "strategy": "beam", "beam": {**decoding["beam"], "beam_size": 4}}
    )
    (best,), _ = model.decoding.decode_predictions_tensor(states, mask, prompt, True)

    tokens = best.y_sequence[None]
    with torch.no_grad():
        hidden = model.transf_decoder(
            input_ids=tokens[:, :-1],
            decoder_mask=torch.ones_like(tokens[:, :-1]),
            encoder_embeddings=states,
            encoder_mask=mask,
        )
        log_probs = model.log_softmax(hidden_states=hidden)[0, 4:]
    generated = tokens[0, 5:]
    eos = model.tokenizer.eos_id
    ends = (generated == eos).nonzero()
    count = int(ends[0]) + 1 if len(ends) else len(generated)
    reference = float(log_probs[torch.arange(count), generated[:count]].sum())
    assert best.score == pytest.approx(reference, abs=1e-4)
    assert best.score >= greedy.score - 1e-5


def test_decoding_options_that_cannot_be_honoured_are_refused(model):
    for bad, key in (
        ({"temperature": 2.0}, "temperature"),
        ({"preserve_alignments": True}, "alignments"),
        ({"strategy": "beam", "beam": {"len_pen": 1.0, "length_penalty": 0.5}}, "len_pen"),
        ({"strategy": "tsd"}, "strategy"),
    ):
        with pytest.raises(ValueError, match=key):
            model.change_decoding_strategy(bad)


# ---------------------------------------------------------------------------------------- prompt and data
def test_canary_prompt_format_and_padded_batches(model, prompted_manifest, speech):
    tokenizer = model.tokenizer
    utterances = read_prompted_manifest(str(prompted_manifest))
    utterances[1].custom.update(taskname="s2t_translation", target_lang="de", pnc="yes")
    utterances[2].text = ""

    sequences = canary(utterances[:3], tokenizer)

    en, de = tokenizer.to_language_id("en"), tokenizer.to_language_id("de")
    text_ids = tokenizer.text_to_ids(speech.texts[0], "en")
    assert sequences[0] == [
        tokenizer.bos_id,
        en,
        tokenizer.transcribe_id,
        en,
        tokenizer.nopnc_id,
        *text_ids,
        tokenizer.eos_id,
    ]
    assert sequences[1][:5] == [tokenizer.bos_id, en, tokenizer.translate_id, de, tokenizer.pnc_id]
    assert sequences[2] == [tokenizer.bos_id, tokenizer.nospeech_id, tokenizer.eos_id]
    assert min(text_ids) >= len(tokenizer.tokenizers_dict["spl_tokens"].vocab)

    loader = get_prompted_audio_to_text_dataloader(
        {"manifest_filepath": str(prompted_manifest), "batch_size": 3}, tokenizer, canary
    )
    audio, audio_lens, tokens, token_lens = next(iter(loader))
    assert audio.shape == (3, int(audio_lens.max())) and tokens.shape == (3, int(token_lens.max()))
    short = int(token_lens.argmin())
    assert (tokens[short, token_lens[short] :] == tokenizer.pad_id).all()
    assert isinstance(loader.dataset, PromptedAudioToTextDataset)


def test_data_errors_name_the_problem(model, prompted_manifest, tmp_path):
    with pytest.raises(ValueError, match="batch_duration"):
        get_prompted_audio_to_text_dataloader(
            {"manifest_filepath": str(prompted_manifest), "batch_size": 2, "batch_duration": 360},
            model.tokenizer,
            canary,
        )
    bad = tmp_path / "bad.json"
    line = json.loads(prompted_manifest.read_text().splitlines()[0])
    bad.write_text(json.dumps({**line, "taskname": "summarize"}) + "\n")
    with pytest.raises(ValueError, match=r"bad\.json:1: taskname 'summarize'"):
        canary(read_prompted_manifest(str(bad)), model.tokenizer)


def test_transcribe_takes_a_manifest_with_per_line_prompts(model, prompted_manifest, speech):
    from_manifest = model.transcribe(str(prompted_manifest), batch_size=4, verbose=False)
    from_paths = model.transcribe(speech.paths, batch_size=4, verbose=False, pnc=False)

    assert from_manifest == from_paths  # the manifest's pnc: no equals pnc=False
    assert len(from_manifest) == len(speech.paths)


# ------------------------------------------------------------------------------------ NeMo 1.23 checkpoint
def test_nemo_checkpoint_restores_strictly_and_computes_the_same():
    """A .nemo written by NeMo 1.23 (see data/make_aed_multitask_nemo_fixture.py) gives NeMo's outputs here."""
    expected = torch.load(DATA / "aed_multitask_tiny.expected.pt")
    model = EncDecMultiTaskModel.restore_from(str(DATA / "aed_multitask_tiny.nemo"), strict=True).eval()
    waveform, tokens = expected["waveform"], expected["tokens"]

    with torch.no_grad():
        log_probs, encoded_len, states, mask = model(
            input_signal=waveform[None],
            input_signal_length=torch.tensor([waveform.shape[0]]),
            transcript=tokens[:, :-1],
            transcript_length=torch.tensor([tokens.shape[1] - 1]),
        )

    assert set(model.state_dict()) == set(expected["state_dict_keys"])
    assert model.tokenizer.special_tokens == expected["special_ids"]
    assert model.tokenizer.vocab_size == expected["vocab_size"]
    assert torch.equal(encoded_len, expected["encoded_len"])
    torch.testing.assert_close(states, expected["encoder_states"], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(log_probs, expected["log_probs"], atol=1e-5, rtol=1e-5)

    prompt = torch.tensor([expected["prompt_ids"]])
    model.change_decoding_strategy({"strategy": "greedy", "greedy": {"max_generation_delta": 8}})
    (greedy,), _ = model.decoding.decode_predictions_tensor(states, mask, prompt, return_hypotheses=True)
    reference = expected["greedy_tokens"]  # NeMo's decoder re-run on the whole sequence at every step
    assert greedy.y_sequence.tolist()[: len(reference)] == reference
    # NeMo 1.23's own beam search with beam_size 3 (beam_size 1 differs at late steps: NeMo 1.23 numbers the
    # positions of generated tokens from 1 instead of continuing after the prompt; see transformer_generators).
    model.change_decoding_strategy(
        {"strategy": "beam", "beam": {"beam_size": 3, "len_pen": 0.0, "max_generation_delta": 8}}
    )
    (beam,), _ = model.decoding.decode_predictions_tensor(states, mask, prompt, return_hypotheses=True)
    assert beam.y_sequence.tolist() == expected["nemo_beam_tokens"][3]


def test_shipped_config_builds_a_tiny_model(special_tokenizer_dir, tokenizer_dir, prompted_manifest):
    from hydra import compose, initialize_config_dir
    from nemo.core import registry

    path = registry.find_config("fast-conformer_aed")
    overrides = [
        f"model.tokenizer.langs.spl_tokens.dir={special_tokenizer_dir}",
        f"model.tokenizer.langs.en.dir={tokenizer_dir}",
        f"model.train_ds.manifest_filepath={prompted_manifest}",
        "model.train_ds.num_workers=0",
        "model.model_defaults.asr_enc_hidden=16",
        "model.model_defaults.lm_dec_hidden=16",
        "model.encoder.n_layers=1",
        "model.encoder.n_heads=2",
        "model.encoder.subsampling_conv_channels=8",
        "model.transf_decoder.config_dict.num_layers=1",
        "model.transf_decoder.config_dict.num_attention_heads=2",
        "model.transf_decoder.config_dict.inner_size=32",
    ]
    with initialize_config_dir(config_dir=str(path.parent), version_base=None):
        cfg = compose(config_name="fast-conformer_aed", overrides=overrides)

    model = EncDecMultiTaskModel(cfg.model)

    assert model.cfg.transf_decoder.config_dict.vocab_size == 8 * math.ceil(model.tokenizer.vocab_size / 8)
    assert len(model.train_dataloader().dataset) == len(read_prompted_manifest(str(prompted_manifest)))
    assert cfg.exp_manager.checkpoint_callback_params.monitor == "val_sacreBLEU"


def test_change_vocabulary_rebuilds_decoder_and_keeps_encoder(model, special_tokenizer_dir, tmp_path, speech):
    from nemo.collections.common.tokenizers.sentencepiece_tokenizer import create_spt_model

    text = tmp_path / "text.txt"
    text.write_text("\n".join(speech.texts) + "\n")
    create_spt_model(str(text), 24, -1, True, tokenizer_type="bpe", output_dir=str(tmp_path / "small"))
    encoder_weight = model.encoder.pre_encode.out.weight.clone()
    decoder_layer = model.transf_decoder.decoder.layers[0].third_sub_layer.dense_in.weight.clone()
    langs = {
        "spl_tokens": {"dir": str(special_tokenizer_dir), "type": "bpe"},
        "en": {"dir": str(tmp_path / "small"), "type": "bpe"},
    }
    custom = {"_target_": "nemo.collections.common.tokenizers.canary_tokenizer.CanaryTokenizer"}

    model.change_vocabulary({"langs": langs, "custom_tokenizer": custom}, "agg")

    rows = 8 * math.ceil(model.tokenizer.vocab_size / 8)
    assert (
        model.transf_decoder.embedding.token_embedding.weight.shape[0] == rows == model.cfg.head.num_classes
    )
    assert torch.equal(model.encoder.pre_encode.out.weight, encoder_weight)
    assert torch.equal(model.transf_decoder.decoder.layers[0].third_sub_layer.dense_in.weight, decoder_layer)
    assert model.cfg.tokenizer.langs.en.model_path.endswith("tokenizer.model")
    assert all(isinstance(text, str) for text in model.transcribe(speech.paths[:1], verbose=False))

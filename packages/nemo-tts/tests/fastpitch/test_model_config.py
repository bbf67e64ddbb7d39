"""FastPitchModel built from NeMo config keys: the text normalizer behind ``parse(normalize=True)``, the
``_target_`` allow-list, config errors that name the key, and save/restore of our own archives."""

import pytest
import torch
from nemo.collections.tts.models import FastPitchModel
from nemo.utils.target_allowlist import UnsafeTargetError
from omegaconf import open_dict

NTP_NORMALIZER = "nemo_text_processing.text_normalization.normalize.Normalizer"


def _with_normalizer(cfg):
    # NeMo's fastpitch_align_v1.05.yaml names nemo_text_processing's normalizer; without it installed ours is used.
    with open_dict(cfg):
        cfg.text_normalizer = {"_target_": NTP_NORMALIZER, "lang": "en", "input_case": "cased"}
        cfg.text_normalizer_call_kwargs = {
            "verbose": False,
            "punct_pre_process": True,
            "punct_post_process": True,
        }
    return cfg


def test_parse_normalizes_numbers_only_when_asked(fastpitch_config):
    model = FastPitchModel(cfg=_with_normalizer(fastpitch_config)).eval()
    assert model.normalizer is not None
    tokens = model.parse("I ran 42 tests.")
    assert torch.equal(tokens[0], torch.tensor(model.vocab.encode("I ran forty two tests.")))
    raw = model.parse("I ran 42 tests.", normalize=False)
    assert torch.equal(raw[0], torch.tensor(model.vocab.encode("I ran  tests.")))


def test_save_restore_keeps_normalizer_and_outputs(fastpitch_config, tmp_path):
    torch.manual_seed(0)
    model = FastPitchModel(cfg=_with_normalizer(fastpitch_config)).eval()
    with torch.no_grad():
        model.fastpitch.duration_predictor.fc.bias.fill_(1.6)
    path = tmp_path / "ours.nemo"
    model.save_to(str(path))
    restored = FastPitchModel.restore_from(str(path)).eval()
    tokens = model.parse("Meet me at 5.")
    assert torch.equal(restored.parse("Meet me at 5."), tokens)
    with torch.inference_mode():
        assert torch.equal(
            restored.generate_spectrogram(tokens=tokens), model.generate_spectrogram(tokens=tokens)
        )


def test_tokenizer_target_outside_the_allow_list_is_refused(fastpitch_config):
    with open_dict(fastpitch_config):
        fastpitch_config.text_tokenizer._target_ = "os.system"
    with pytest.raises(UnsafeTargetError, match="text_tokenizer"):
        FastPitchModel(cfg=fastpitch_config)


def test_unknown_dataset_class_names_the_key(fastpitch_config):
    with open_dict(fastpitch_config):
        fastpitch_config.train_ds.dataset._target_ = "nemo.collections.tts.data.dataset.NoSuchDataset"
    with pytest.raises(ValueError, match="train_ds.dataset._target_"):
        FastPitchModel(cfg=fastpitch_config)


def test_energy_predictor_and_multi_speaker_config(fastpitch_config):
    with open_dict(fastpitch_config):
        fastpitch_config.n_speakers = 3
        fastpitch_config.energy_embedding_kernel_size = 3
        fastpitch_config.energy_predictor = dict(fastpitch_config.pitch_predictor)
    torch.manual_seed(0)
    model = FastPitchModel(cfg=fastpitch_config).eval()
    keys = set(model.state_dict())
    assert {
        "fastpitch.speaker_emb.weight",
        "fastpitch.energy_emb.weight",
        "fastpitch.energy_predictor.fc.bias",
    } <= keys
    tokens = model.parse("Hello world.")
    with torch.inference_mode():
        spect = model.generate_spectrogram(tokens=tokens, speaker=2)
    assert spect.shape[:2] == (1, 80)
    assert model.export_config["num_speakers"] == 3


def test_default_speaker_answers_calls_that_name_none(fastpitch_config):
    with open_dict(fastpitch_config):
        fastpitch_config.n_speakers = 3
    torch.manual_seed(0)
    nemo_like = FastPitchModel(cfg=fastpitch_config).eval()
    tokens = nemo_like.parse("Hello world.")
    with pytest.raises(ValueError, match="speaker=None"):  # NeMo's behaviour without the key
        nemo_like.generate_spectrogram(tokens=tokens)

    with open_dict(fastpitch_config):
        fastpitch_config.default_speaker = 2
    model = FastPitchModel(cfg=fastpitch_config).eval()
    model.load_state_dict(nemo_like.state_dict())
    with torch.inference_mode():
        torch.testing.assert_close(
            model.generate_spectrogram(tokens=tokens), model.generate_spectrogram(tokens=tokens, speaker=2)
        )

    with open_dict(fastpitch_config):
        fastpitch_config.default_speaker = 3
    with pytest.raises(ValueError, match="default_speaker=3"):
        FastPitchModel(cfg=fastpitch_config)

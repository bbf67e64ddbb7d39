"""A FastPitch that NeMo 1.23 built from its own fastpitch_align_v1.05.yaml, with the EnglishPhonemesTokenizer,
EnglishG2p (a small ARPAbet dictionary and heteronym list packed in the archive) and two speakers, restores
here and reproduces NeMo's outputs (``data/make_nemo_fastpitch_phonemes_fixture.py`` made the files)."""

from pathlib import Path

import pytest
import torch
from nemo.collections.tts.models import FastPitchModel

DATA = Path(__file__).parent / "data"
NAME = "fastpitch_phonemes_2spk_tiny"
ATOL = 1e-4


@pytest.fixture(scope="module")
def io() -> dict:
    return torch.load(DATA / f"{NAME}.io.pt", weights_only=True)


@pytest.fixture(scope="module")
def model():
    return FastPitchModel.restore_from(str(DATA / f"{NAME}.nemo")).eval()


def _max_diff(found: torch.Tensor, expected: torch.Tensor) -> float:
    assert found.shape == expected.shape
    return (found.float() - expected.float()).abs().max().item()


def test_restored_model_has_two_speakers_and_phoneme_vocabulary(model, io):
    assert model.fastpitch.speaker_emb.num_embeddings == 2
    assert len(model.vocab.tokens) == io["vocab_size"]
    assert "input_fft" in model.cfg and model.cfg.n_speakers == 2


def test_parse_uses_the_packed_dictionary_and_heteronyms(model, io):
    for i, text in enumerate(io["texts"]):
        assert torch.equal(model.parse(text), io[f"tokens_{i}"]), text


def test_generate_spectrogram_per_speaker(model, io):
    with torch.inference_mode():
        spect = model.generate_spectrogram(tokens=io["tokens"], speaker=io["speakers"])
        alone = model.generate_spectrogram(tokens=io["tokens_0"], speaker=1)
    assert _max_diff(spect, io["spect"]) <= ATOL
    assert _max_diff(alone, io["spect_0_speaker1"]) <= ATOL


def test_speaker_changes_the_output_and_is_required(model, io):
    with torch.inference_mode():
        speaker0 = model.generate_spectrogram(tokens=io["tokens_0"], speaker=0)
        speaker1 = model.generate_spectrogram(tokens=io["tokens_0"], speaker=1)
        assert speaker0.shape != speaker1.shape or _max_diff(speaker0, speaker1) > 1e-3
        with pytest.raises(ValueError, match="speaker"):
            model.generate_spectrogram(tokens=io["tokens_0"])


def test_forward_outputs_and_aligner_path(model, io):
    with torch.inference_mode():
        outputs = model(text=io["tokens"], durs=None, pitch=None, speaker=io["speakers"], pace=1.0)
        fwd = model(
            text=io["tokens"],
            durs=None,
            pitch=io["pitch"],
            energy=None,
            speaker=io["speakers"],
            pace=1.0,
            spec=io["mels"],
            attn_prior=io["attn_prior"],
            mel_lens=io["mel_lens"],
            input_lens=io["token_lens"],
        )
    assert torch.equal(outputs[1], io["num_frames"])
    for name, found in zip(("durs_predicted", "log_durs_predicted", "pitch_predicted"), outputs[2:5]):
        assert _max_diff(found, io[name]) <= ATOL, name
    for name, index in (
        ("fwd_spect", 0),
        ("fwd_attn_soft", 5),
        ("fwd_attn_logprob", 6),
        ("fwd_attn_hard_dur", 8),
        ("fwd_pitch", 9),
    ):
        assert _max_diff(fwd[index], io[name]) <= ATOL, name
    assert torch.equal(fwd[7], io["fwd_attn_hard"])


def test_interpolate_speaker_mixes_two_embeddings():
    model = FastPitchModel.restore_from(str(DATA / f"{NAME}.nemo")).eval()
    table = model.fastpitch.speaker_emb.weight.detach().clone()
    model.interpolate_speaker(0, 1, 0.25, 0.75, new_speaker_id=1)
    expected = 0.25 * table[0] + 0.75 * table[1]
    assert torch.allclose(model.fastpitch.speaker_emb.weight[1], expected, atol=1e-7)
    assert torch.equal(model.fastpitch.speaker_emb.weight[0], table[0])
    with pytest.raises(ValueError, match="n_speakers"):
        model.interpolate_speaker(0, 1, 0.5, 0.5, new_speaker_id=2)

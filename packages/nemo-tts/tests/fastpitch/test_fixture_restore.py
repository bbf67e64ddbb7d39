"""NeMo 1.23's FastPitch archive restores here and reproduces every tensor NeMo computed with it."""

from pathlib import Path

import pytest
import torch

ATOL = 1e-4


def _close(found: torch.Tensor, expected: torch.Tensor, name: str) -> None:
    assert found.shape == expected.shape, f"{name}: shape {tuple(found.shape)} != {tuple(expected.shape)}"
    if expected.dtype.is_floating_point:
        diff = (found.float() - expected.float()).abs().max().item()
        assert diff <= ATOL, f"{name}: max abs diff {diff} > {ATOL}"
    else:
        assert torch.equal(found.long(), expected.long()), f"{name}: {found} != {expected}"


def test_parse_gives_nemo_token_ids(nemo_fastpitch, fixture_io):
    assert len(nemo_fastpitch.vocab.tokens) == fixture_io["vocab_size"]
    assert nemo_fastpitch.vocab.pad == fixture_io["pad_id"]
    for i, text in enumerate(fixture_io["texts"]):
        _close(nemo_fastpitch.parse(text, normalize=False), fixture_io[f"tokens_{i}"], f"tokens_{i}")
        _close(nemo_fastpitch.parse(text), fixture_io[f"tokens_{i}"], f"tokens_{i} (normalize=True)")


@pytest.mark.parametrize(("pace", "key"), [(1.0, "spect"), (1.5, "spect_pace1.5")])
def test_generate_spectrogram_batch(nemo_fastpitch, fixture_io, pace, key):
    with torch.inference_mode():
        spect = nemo_fastpitch.generate_spectrogram(tokens=fixture_io["tokens"], pace=pace)
    _close(spect, fixture_io[key], key)


def test_generate_spectrogram_each_text_alone(nemo_fastpitch, fixture_io):
    with torch.inference_mode():
        for i in range(len(fixture_io["texts"])):
            spect = nemo_fastpitch.generate_spectrogram(tokens=fixture_io[f"tokens_{i}"])
            _close(spect, fixture_io[f"spect_{i}"], f"spect_{i}")


def test_forward_inference_outputs(nemo_fastpitch, fixture_io):
    tokens = fixture_io["tokens"]
    with torch.inference_mode():
        outputs = nemo_fastpitch(text=tokens, durs=None, pitch=None, speaker=None, pace=1.0)
        pace_outputs = nemo_fastpitch(text=tokens, durs=None, pitch=None, speaker=None, pace=1.5)
    _close(outputs[0], fixture_io["spect"], "spect")
    for name, found in zip(
        ("num_frames", "durs_predicted", "log_durs_predicted", "pitch_predicted"), outputs[1:5]
    ):
        _close(found, fixture_io[name], name)
    _close(pace_outputs[1], fixture_io["num_frames_pace1.5"], "num_frames_pace1.5")
    assert all(item is None for item in outputs[5:9])


def test_padding_frames_hold_projection_bias(nemo_fastpitch, fixture_io):
    with torch.inference_mode():
        spect, num_frames, *_ = nemo_fastpitch(
            text=fixture_io["tokens"], durs=None, pitch=None, speaker=None, pace=1.0
        )
    bias = nemo_fastpitch.fastpitch.proj.bias
    short = int(torch.argmin(num_frames))
    padding = spect[short, :, int(num_frames[short]) :]
    assert padding.shape[1] > 0
    assert torch.equal(padding, bias[:, None].expand_as(padding))


def test_aligner_forward_and_losses(nemo_fastpitch, fixture_io):
    d = fixture_io
    model = nemo_fastpitch
    with torch.inference_mode():
        mels, mel_lens = model.preprocessor(input_signal=d["audio"], length=d["audio_lens"])
        outputs = model(
            text=d["tokens"],
            durs=None,
            pitch=d["pitch"],
            energy=None,
            speaker=None,
            pace=1.0,
            spec=d["mels"],
            attn_prior=d["attn_prior"],
            mel_lens=d["mel_lens"],
            input_lens=d["token_lens"],
        )
        spect, dec_lens, _, log_durs, pitch_pred, soft, logprob, hard, hard_dur, pitch = outputs[:10]
        losses = {
            "loss_mel": model.mel_loss_fn(spect_predicted=spect, spect_tgt=d["mels"]),
            "loss_dur": model.duration_loss_fn(
                log_durs_predicted=log_durs, durs_tgt=hard_dur, len=d["token_lens"]
            ),
            "loss_pitch": model.pitch_loss_fn(
                pitch_predicted=pitch_pred, pitch_tgt=pitch, len=d["token_lens"]
            ),
            "loss_ctc": model.forward_sum_loss_fn(
                attn_logprob=logprob, in_lens=d["token_lens"], out_lens=d["mel_lens"]
            ),
            "loss_bin": model.bin_loss_fn(hard_attention=hard, soft_attention=soft),
        }
    _close(mels, d["mels"], "mels")
    _close(mel_lens, d["mel_lens"], "mel_lens")
    expected = {
        "fwd_spect": spect,
        "fwd_dec_lens": dec_lens,
        "fwd_log_durs_predicted": log_durs,
        "fwd_pitch_predicted": pitch_pred,
        "fwd_attn_soft": soft,
        "fwd_attn_logprob": logprob,
        "fwd_attn_hard": hard,
        "fwd_attn_hard_dur": hard_dur,
        "fwd_pitch": pitch,
    }
    for name, found in expected.items():
        _close(found, d[name], name)
    assert torch.equal(hard, d["fwd_attn_hard"]), "the hard alignment must match NeMo's exactly"
    for name, found in losses.items():
        _close(found, d[name], name)


def test_forward_is_typechecked_like_nemo(nemo_fastpitch, fixture_io):
    with pytest.raises(TypeError, match="durs"):
        nemo_fastpitch(text=fixture_io["tokens"], pitch=None)
    with pytest.raises(TypeError, match="keyword"):
        nemo_fastpitch(fixture_io["tokens"])


def test_restore_does_not_need_the_dataset(nemo_fastpitch):
    # The archive's train_ds/validation_ds name dummy manifests with defer_setup: true.
    assert nemo_fastpitch._train_dl is None
    assert nemo_fastpitch.cfg.train_ds.defer_setup is True


@pytest.fixture(scope="module")
def extra_io() -> dict:
    """More of NeMo's outputs for the same archive (``data/make_nemo_fastpitch_chars_extra.py``)."""
    return torch.load(Path(__file__).parent / "data" / "fastpitch_chars_tiny.extra.pt", weights_only=True)


def test_forward_with_given_durations_and_token_pitch(nemo_fastpitch, fixture_io, extra_io):
    with torch.inference_mode():
        outputs = nemo_fastpitch(
            text=fixture_io["tokens"],
            durs=extra_io["durs"],
            pitch=extra_io["pitch_tokens"],
            speaker=None,
            pace=1.3,
        )
    _close(outputs[0], extra_io["given_spect"], "given_spect")
    _close(outputs[1], extra_io["given_num_frames"], "given_num_frames")
    _close(outputs[9], extra_io["given_pitch"], "given_pitch")


def test_infer_with_pitch_shift_and_per_token_pace(nemo_fastpitch, fixture_io, extra_io):
    with torch.inference_mode():
        outputs = nemo_fastpitch.fastpitch.infer(
            text=fixture_io["tokens"], pitch=extra_io["infer_pitch"], pace=extra_io["infer_pace"]
        )
    names = ("spect", "num_frames", "durs_predicted", "log_durs_predicted", "pitch_predicted")
    for name, found in zip(names, outputs):
        _close(found, extra_io[f"infer_{name}"], f"infer_{name}")
    assert outputs[5] is None


def test_a_text_whose_durations_all_round_to_zero_is_a_clear_error(nemo_fastpitch, fixture_io):
    # A pace so high that every predicted duration rounds to 0: NeMo 1.23 fails inside a convolution here.
    with torch.inference_mode(), pytest.raises(ValueError, match="predicted no frames.*pace=1000"):
        nemo_fastpitch.generate_spectrogram(tokens=fixture_io["tokens_0"], pace=1000.0)

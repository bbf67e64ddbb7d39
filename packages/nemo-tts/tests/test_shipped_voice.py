"""The voice bundled with nemo-tts: registered by the plugin, restored offline, spoken by default."""

import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
import torch
from nemo.collections.tts.plugin import DEFAULT_VOICE, PRETRAINED_DIR
from nemo.core import registry


@pytest.fixture(scope="module")
def voice():
    from nemo.collections.tts.models import FastPitchModel

    return FastPitchModel.from_pretrained(DEFAULT_VOICE).eval()


def test_the_plugin_registers_the_bundled_archive():
    registry.refresh()
    info = registry.find_pretrained(DEFAULT_VOICE)
    assert info is not None
    assert info.location == str(PRETRAINED_DIR / f"{DEFAULT_VOICE}.nemo")
    assert info.class_ == "nemo.collections.tts.models.FastPitchModel"
    assert (PRETRAINED_DIR / f"{DEFAULT_VOICE}.nemo").is_file()
    # The licence and attribution of the recordings travel beside the weights.
    assert "CC-BY-SA-3.0" in (PRETRAINED_DIR / "README.md").read_text()


def test_from_pretrained_restores_it_offline_within_30_mb_of_weights(voice):
    from nemo.collections.tts.models import FastPitchModel

    assert isinstance(voice, FastPitchModel)
    weight_bytes = sum(p.numel() * p.element_size() for p in voice.state_dict().values())
    assert weight_bytes <= 30e6
    assert voice.cfg.sample_rate == 16000


def test_it_speaks_normalized_text_at_a_usable_level(voice):
    from nemo.collections.tts.inference import synthesize

    torch.manual_seed(0)
    audio, rate = synthesize("Dr. Brown paid $5 on March 3rd.", voice)
    seconds = audio.numel() / rate
    # "doctor brown paid five dollars on march third": 10 words take 2 to 6 s at any normal rate.
    assert rate == 16000 and 1.5 < seconds < 6.0
    assert 0.05 < float(audio.abs().max()) <= 1.5


def test_nemo_synthesize_uses_it_without_model(tmp_path):
    out = tmp_path / "hello.wav"
    result = subprocess.run(
        [sys.executable, "-m", "nemo.core.cli.main", "synthesize", "Please hold.", "-o", str(out)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    audio, rate = sf.read(out)
    assert rate == 16000 and len(audio) > 0.3 * rate and np.abs(audio).max() > 0.05


def test_its_default_speaker_is_the_real_voice(voice):
    """Multi-speaker (synthetic voices beside the real one): a call naming no speaker gets speaker 0."""
    if voice.fastpitch.speaker_emb is None:
        pytest.skip("a single-speaker voice")
    tokens = voice.parse("Please hold.")
    torch.manual_seed(0)
    with torch.inference_mode():
        default = voice.generate_spectrogram(tokens=tokens)
        real = voice.generate_spectrogram(tokens=tokens, speaker=torch.tensor([0]))
        other = voice.generate_spectrogram(tokens=tokens, speaker=torch.tensor([1]))
    torch.testing.assert_close(default, real)
    assert default.shape != other.shape or not torch.allclose(default, other)

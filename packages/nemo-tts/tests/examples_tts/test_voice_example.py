"""``examples/tts/voice.py`` (what ``nox -s voice`` runs): the bundled voice spoken, plotted, scored; a short training."""

import importlib.util
import json
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[4] / "examples" / "tts" / "voice.py"


@pytest.fixture(scope="module")
def voice_example():
    spec = importlib.util.spec_from_file_location("tts_voice_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_spoken_words_follow_the_models_normalizer(voice_example):
    from nemo.collections.tts.models import FastPitchModel

    voice = FastPitchModel.from_pretrained("tts_en_fastpitch_asterisk")
    # nemo_text_processing reads these as "doctor", "twenty five", "march third" and "seven forty five p m".
    assert voice_example.spoken_words(voice, "Dr. Brown needs 25 chairs on March 3rd.") == (
        "doctor brown needs twenty five chairs on march third"
    )
    assert voice_example.spoken_words(voice, "It's at 7:45 p.m.") == "it's at seven forty five p m"


def test_pace_divides_the_predicted_durations(voice_example):
    from nemo.collections.tts.inference import griffin_lim_vocoder
    from nemo.collections.tts.models import FastPitchModel

    # In eval mode, without dropout, both paces see the same predicted durations.
    voice = FastPitchModel.from_pretrained("tts_en_fastpitch_asterisk").eval()
    vocoder = griffin_lim_vocoder(voice, n_iters=2)
    spoken = {
        pace: voice_example.speak(voice, vocoder, "Call me at noon.", None, pace) for pace in (1.0, 0.5)
    }
    (audio, mel, _, frames), (slow_audio, slow_mel, _, slow_frames) = spoken[1.0], spoken[0.5]
    # The frames per token are what the length regulator repeated: they add up to the spectrogram's length.
    assert frames.sum() == mel.shape[1] and slow_frames.sum() == slow_mel.shape[1]
    # Half the pace, twice the frames (each token's rounding may differ by one) and twice the audio.
    assert abs(slow_mel.shape[1] - 2 * mel.shape[1]) <= len(frames)
    assert ((slow_frames - 2 * frames) ** 2 <= 1).all()
    assert len(slow_audio) == pytest.approx(2 * len(audio), rel=0.05)


def test_pocketsphinx_hears_a_recorded_prompt(voice_example):
    """The independent recognizer works here: a real Asterisk prompt comes back as its words."""
    root = EXAMPLE.parents[2] / "data" / "asterisk"
    entry = next(
        e
        for e in map(json.loads, (root / "dev_manifest.json").read_text().splitlines())
        if len(e["text"].split()) >= 5
    )
    import soundfile as sf

    audio, rate = sf.read(root / entry["audio_filepath"], dtype="int16")
    wav = Path(pytest.importorskip("tempfile").mkdtemp()) / "prompt.wav"
    sf.write(wav, audio, rate)
    (heard,) = voice_example.pocketsphinx_words([wav])
    words = set(entry["text"].split())
    assert len(words & set(heard.split())) >= len(words) / 2, (entry["text"], heard)


def test_a_short_run_writes_wavs_plots_scores_and_a_trained_model(voice_example, tmp_path):
    run_dir = tmp_path / "run"
    status = voice_example.main(
        [
            "--run-dir", str(run_dir), "--dev-only", "--limit", "2", "--train-minutes", "0.05",
            "--train-clips", "4", "--threads", "1", "--no-asr",
        ]
    )  # fmt: skip
    assert status == 0
    results = json.loads((run_dir / "results.json").read_text())
    assert results["dev"]["sentences"] == 2 and 0.0 <= results["dev"]["pocketsphinx_wer"]
    assert "test" not in results
    for name in ("01.wav", "01.png", "02.wav", "02.png", "transcripts.json"):
        assert (run_dir / "dev" / name).stat().st_size > 0
    assert (run_dir / "train" / "fastpitch.nemo").is_file() and results["training"]["steps"] >= 1

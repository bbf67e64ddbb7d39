"""``nemo synthesize`` run as the installed console script on NeMo 1.23's FastPitch and HiFi-GAN archives."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import soundfile
import torch
from nemo.collections.tts.models import FastPitchModel, HifiGanModel
from nemo.core.cli.main import main

TESTS = Path(__file__).resolve().parent
FASTPITCH = TESTS / "fastpitch" / "data" / "fastpitch_chars_tiny.nemo"
HIFIGAN = TESTS / "hifigan" / "data" / "hifigan_tiny.nemo"
NEMO = Path(sys.executable).parent / "nemo"
HOP = 256  # both fixtures: 22050 Hz, one mel frame per 256 samples


def run_nemo(*args: object) -> subprocess.CompletedProcess:
    """Run this environment's ``nemo`` console script; one torch thread keeps it quick on shared cores."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        [str(NEMO), *map(str, args)], capture_output=True, text=True, env=env, timeout=300, check=False
    )


@pytest.fixture(scope="module")
def fastpitch() -> FastPitchModel:
    return FastPitchModel.restore_from(str(FASTPITCH), map_location="cpu").eval()


@pytest.fixture(scope="module")
def hifigan() -> HifiGanModel:
    return HifiGanModel.restore_from(str(HIFIGAN), map_location="cpu").eval()


def expected_audio(fastpitch, hifigan, text: str) -> torch.Tensor:
    """What the library gives for ``text``: FastPitch's spectrogram vocoded by HiFi-GAN, as (T,)."""
    with torch.inference_mode():
        spec = fastpitch.generate_spectrogram(tokens=fastpitch.parse(text))
        return hifigan.convert_spectrogram_to_audio(spec=spec).reshape(-1)


def test_synthesize_writes_the_models_audio_as_a_16_bit_wav(fastpitch, hifigan, tmp_path):
    text = "Please hold, your call is important."
    expected = expected_audio(fastpitch, hifigan, text)
    out = tmp_path / "speech" / "hello.wav"

    result = run_nemo("synthesize", text, "-o", out, "--model", FASTPITCH, "--vocoder", HIFIGAN)

    assert result.returncode == 0, result.stderr
    audio, sample_rate = soundfile.read(str(out), dtype="float32")
    info = soundfile.info(str(out))
    assert (sample_rate, info.subtype, info.channels) == (22050, "PCM_16", 1)
    assert len(audio) == len(expected) and len(audio) % HOP == 0
    assert torch.allclose(torch.from_numpy(audio), expected.clamp(-1, 1), atol=1.0 / 32767 + 1e-6)


def test_synthesize_file_writes_one_wav_per_line_numbered_by_line(fastpitch, hifigan, tmp_path, capsys):
    lines = tmp_path / "lines.txt"
    lines.write_text("Good morning.\n\nThank you for calling.\n", encoding="utf-8")
    out_dir = tmp_path / "wavs"
    capsys.readouterr()

    # In this process (the console script's launch is tested above): the same `main` the script calls.
    arguments = ["--file", lines, "--out-dir", out_dir, "--model", FASTPITCH, "--vocoder", HIFIGAN]
    status = main(["synthesize", *map(str, arguments)])

    stderr = capsys.readouterr().err
    assert status == 0, stderr
    assert sorted(path.name for path in out_dir.iterdir()) == ["0001.wav", "0003.wav"]
    assert "synthesize" in stderr and "2/2" in stderr  # the progress bar
    for name, text in [("0001.wav", "Good morning."), ("0003.wav", "Thank you for calling.")]:
        audio, _ = soundfile.read(str(out_dir / name), dtype="float32")
        assert len(audio) == len(expected_audio(fastpitch, hifigan, text))


def test_synthesize_without_a_vocoder_uses_griffin_lim_at_the_models_rate(fastpitch, tmp_path):
    out = tmp_path / "gl.wav"
    text = "Goodbye."
    with torch.inference_mode():
        frames = fastpitch.generate_spectrogram(tokens=fastpitch.parse(text)).shape[-1]

    assert main(["synthesize", text, "-o", str(out), "--model", str(FASTPITCH)]) == 0

    audio, sample_rate = soundfile.read(str(out), dtype="float32")
    assert sample_rate == 22050
    # Griffin-Lim's inverse STFT (centred frames) gives hop * (frames - 1) samples.
    assert len(audio) == HOP * (frames - 1)
    assert float(abs(audio).max()) > 0.0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["Hello."], "TEXT needs -o OUT.wav"),
        (["Hello.", "-o", "x.wav", "--file", "lines.txt"], "pass either TEXT"),
        (["--file", "lines.txt"], "--file needs --out-dir"),
        (["Hello.", "-o", "x.wav", "--pace", "0"], "--pace must be positive"),
    ],
)
def test_synthesize_rejects_bad_arguments_before_loading_anything(args, message, tmp_path, capsys):
    status = main(["synthesize", *args, "--model", str(tmp_path / "absent.nemo")])

    assert status == 1
    assert message in capsys.readouterr().err


def test_synthesize_names_a_missing_model_and_a_model_in_the_wrong_role(tmp_path, capsys):
    absent = tmp_path / "absent.nemo"
    assert main(["synthesize", "Hello.", "-o", str(tmp_path / "x.wav"), "--model", str(absent)]) == 1
    assert "--model" in capsys.readouterr().err

    assert main(["synthesize", "Hello.", "-o", str(tmp_path / "x.wav"), "--model", str(HIFIGAN)]) == 1
    err = capsys.readouterr().err
    assert "HifiGanModel" in err and "SpectrogramGenerator" in err


def test_synthesize_file_names_the_line_whose_text_gives_no_tokens(tmp_path, capsys):
    lines = tmp_path / "lines.txt"
    lines.write_text("Hello.\n12345\n", encoding="utf-8")  # digits are not in the fixture's vocabulary

    status = main(
        ["synthesize", "--file", str(lines), "--out-dir", str(tmp_path / "out"), "--model", str(FASTPITCH)]
    )

    assert status == 1
    assert f"{lines} line 2" in capsys.readouterr().err
    assert (tmp_path / "out" / "0001.wav").is_file()

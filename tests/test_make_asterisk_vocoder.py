"""scripts/make_asterisk_vocoder.py, the HiFi-GAN lever of the bundled voice, at a tiny size: it hears the voice's
mels, and is deterministic and resumable."""

import importlib.util
import json
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "make_asterisk_vocoder.py"
# 8 clips, 2 a batch: 4 generator steps an epoch; a checkpoint at every epoch's end.
TINY = [
    "--max-clips", "8", "--batch-size", "2", "--channels", "16", "--segment", "4096",
    "--checkpoint-every", "1", "--threads", "1",
]  # fmt: skip


@pytest.fixture(scope="module")
def script():
    spec = importlib.util.spec_from_file_location("make_asterisk_vocoder", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _weights(path: Path) -> dict[str, torch.Tensor]:
    from nemo.collections.tts.models import HifiGanModel

    return HifiGanModel.restore_from(str(path), map_location="cpu").state_dict()


def _assert_equal_weights(expected: dict[str, torch.Tensor], actual: dict[str, torch.Tensor]) -> None:
    assert expected.keys() == actual.keys()
    for name, value in actual.items():
        torch.testing.assert_close(expected[name], value, rtol=0, atol=0, msg=name)


def test_manifests_hold_the_recorded_training_voice_and_never_the_test_prompts(script, tmp_path):
    manifests = script.write_manifests(script.parse_args(["--run-dir", str(tmp_path)]))
    train = [json.loads(line) for line in manifests["train"].read_text().splitlines()]
    test_audio = {
        str((ROOT / "data/asterisk" / json.loads(line)["audio_filepath"]).resolve())
        for line in (ROOT / "data/asterisk/test_manifest.json").read_text().splitlines()
    }
    assert len(train) == 445 and not test_audio & {entry["audio_filepath"] for entry in train}
    assert all(Path(entry["audio_filepath"]).is_file() for entry in train)


def test_the_vocoder_computes_the_bundled_voices_mels(script, tmp_path):
    # NeMo's HiFi-GAN framing (exact_pad) centers frame k at sample 256 k + 128, the voice's (centered STFT) at
    # 256 k: so the voice's mels of the audio without its first 128 samples are the vocoder's mels of all of it.
    from hydra.utils import instantiate
    from nemo.collections.tts.inference import load_tts_model

    args = script.parse_args(["--run-dir", str(tmp_path)])
    cfg = script.build_config(args, script.write_manifests(args), script.voice_mel_settings(script.VOICE))
    vocoder_mel = instantiate(cfg.model.preprocessor).eval()
    voice_mel = load_tts_model(script.VOICE).preprocessor.eval()
    t = torch.arange(16000) / 16000
    # A tone fading in and out: its quiet bins tell the voice's log floor, log(x + 1e-5), from a clamp.
    audio = (0.3 * torch.sin(2 * torch.pi * 220 * t) * (1 + torch.sin(2 * torch.pi * 3 * t)))[None]
    with torch.no_grad():
        mel_voice, frames_voice = voice_mel(input_signal=audio[:, 128:], length=torch.tensor([16000 - 128]))
        mel_vocoder, frames_vocoder = vocoder_mel(audio, torch.tensor([16000]))
    assert int(frames_vocoder) == 16000 // 256 == int(frames_voice) - 1
    # Away from the edges (where the two framings pad differently) the frames are the same.
    torch.testing.assert_close(mel_vocoder[0, :, 4:-4], mel_voice[0, :, 4 : int(frames_vocoder) - 4])


def test_the_same_arguments_give_the_same_weights_and_a_rerun_goes_on(script, tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    for run_dir in (first, second):
        assert script.main(["--run-dir", str(run_dir), "--max-steps", "4", *TINY]) == 0
    assert (first / "checkpoints" / "epoch=0-step=8.ckpt").is_file()  # Lightning counts both optimizers
    _assert_equal_weights(_weights(first / "hifigan.nemo"), _weights(second / "hifigan.nemo"))
    assert json.loads((first / "trained.json").read_text())["generator_steps"] == 4

    # Run again with more steps: it starts from last.ckpt, not from scratch.
    assert script.main(["--run-dir", str(first), "--max-steps", "8", *TINY]) == 0
    checkpoint = torch.load(first / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    assert checkpoint["global_step"] == 16 and "random_states" in checkpoint
    assert len(list((first / "logs").iterdir())) == 2  # two runs, one CSV log each

    # --export writes a checkpoint as a .nemo with its weights.
    assert script.main(["--run-dir", str(second), "--export", str(second / "checkpoints" / "last.ckpt")]) == 0
    _assert_equal_weights(_weights(second / "hifigan.nemo"), _weights(second / "last.nemo"))
    with pytest.raises(SystemExit, match="does not exist"):
        script.main(["--run-dir", str(first), "--export", str(first / "checkpoints" / "nope.ckpt")])

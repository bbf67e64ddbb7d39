import numpy as np
import pytest
import torch
from nemo.collections.common.tokenizers.text_to_speech.tts_tokenizers import EnglishCharsTokenizer
from nemo.collections.tts.data.dataset import TTSDataset
from nemo.collections.tts.parts.utils.pitch_stats import (
    compute_pitch_stats,
    pitch_stats_main,
    write_pitch_stats,
)

CONFIG = """\
# header comment
pitch_mean: ???  # e.g. 212.35 for LJSpeech
pitch_std:  ???
model:
  pitch_mean: ${pitch_mean}
  pitch_std: ${pitch_std}
"""


@pytest.fixture
def tones(tmp_path, write_wav, write_manifest, tone):
    """1 s of 150 Hz and 0.5 s of 300 Hz after 0.25 s of silence each, 16 kHz."""
    lines = []
    for name, frequency, seconds in (("low", 150.0, 1.0), ("high", 300.0, 0.5)):
        audio = np.concatenate([np.zeros(4000, np.float32), tone(frequency, seconds, 16000)])
        write_wav(tmp_path / "w" / f"{name}.wav", audio, 16000)
        lines.append({"audio_filepath": f"w/{name}.wav", "text": name, "duration": audio.shape[0] / 16000})
    return write_manifest(tmp_path / "m.json", lines)


def test_stats_are_over_voiced_frames(tones):
    mean, std = compute_pitch_stats(str(tones), 16000, hop_length=256, win_length=1024)
    # About 62 voiced frames at 150 Hz and 31 at 300 Hz: mean 200 Hz, std ~71 Hz (unbiased).
    frames = torch.cat([torch.full((62,), 150.0), torch.full((31,), 300.0)])
    assert mean == pytest.approx(float(frames.mean()), rel=0.03)
    assert std == pytest.approx(float(frames.std()), rel=0.05)


def test_stats_share_the_datasets_pitch_cache(tones, tmp_path):
    sup = tmp_path / "sup"
    first = compute_pitch_stats(str(tones), 16000, sup_data_path=str(sup))
    cached = sorted(p.name for p in (sup / "pitch").iterdir())
    assert cached == ["high.pt", "low.pt"]
    mtime = (sup / "pitch" / "low.pt").stat().st_mtime_ns
    dataset = TTSDataset(
        str(tones), 16000, EnglishCharsTokenizer(), sup_data_types=["pitch"], sup_data_path=str(sup)
    )
    dataset[1]
    assert (sup / "pitch" / "low.pt").stat().st_mtime_ns == mtime
    assert compute_pitch_stats(str(tones), 16000, sup_data_path=str(sup)) == first


def test_command_prints_yaml_and_writes_the_config_keeping_comments(tones, tmp_path, capsys):
    config = tmp_path / "fastpitch.yaml"
    config.write_text(CONFIG)
    assert pitch_stats_main([str(tones), "--sample-rate", "16000", "--config", str(config)]) == 0
    printed = capsys.readouterr().out.splitlines()
    mean, std = compute_pitch_stats(str(tones), 16000)
    assert printed[:2] == [f"pitch_mean: {mean}", f"pitch_std: {std}"]
    assert config.read_text() == CONFIG.replace("pitch_mean: ???  #", f"pitch_mean: {mean}  #").replace(
        "pitch_std:  ???", f"pitch_std:  {std}"
    )


def test_a_config_without_literal_keys_is_refused(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("model:\n  pitch_mean: ${pitch_mean}\n  pitch_std: ${pitch_std}\n")
    with pytest.raises(ValueError, match=r"c.yaml has no literal 'pitch_mean:' line"):
        write_pitch_stats(config, 1.0, 2.0)


def test_silence_only_is_a_clear_error(tmp_path, write_wav, write_manifest):
    write_wav(tmp_path / "s.wav", np.zeros(8000, np.float32), 16000)
    manifest = write_manifest(
        tmp_path / "m.json", [{"audio_filepath": "s.wav", "text": "s", "duration": 0.5}]
    )
    with pytest.raises(ValueError, match="Found 0 voiced frames"):
        compute_pitch_stats(str(manifest), 16000)

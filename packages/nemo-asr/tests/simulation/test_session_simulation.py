"""End to end: simulate two short sessions from real speech and check the written files agree with each other.

The audio must be silent (exactly zero: no noise is added) outside the RTTM segments and audible inside them;
the JSON lines, RTTM segments, CTM words and TXT transcript must describe the same sentences.
"""

import importlib.util
import json
import re

import numpy as np
import pytest
import soundfile as sf
from nemo.collections.asr.data.data_simulation import MultiSpeakerSimulator, RIRMultiSpeakerSimulator
from omegaconf import OmegaConf

from .conftest import simulator_config

RTTM_LINE = re.compile(r"SPEAKER (\S+) 1   (\d+\.\d{3})   (\d+\.\d{3}) <NA> <NA> (\S+) <NA> <NA>")
SR = 16000


def _read_rttm(path):
    segments = []
    for line in path.read_text().splitlines():
        match = RTTM_LINE.fullmatch(line)
        assert match, f"not an RTTM line: {line!r}"
        start, duration = float(match[2]), float(match[3])
        segments.append((match[1], start, start + duration, match[4]))
    return segments


@pytest.fixture(scope="module")
def sessions(aligned_manifest, tmp_path_factory):
    output = tmp_path_factory.mktemp("sessions")
    cfg = simulator_config(aligned_manifest, output)
    MultiSpeakerSimulator(cfg).generate_sessions()
    return output


@pytest.mark.parametrize("index", [0, 1])
def test_session_files_agree(sessions, index):
    name = f"multispeaker_session_{index}"
    audio, sr = sf.read(sessions / f"{name}.wav")
    assert sr == SR and audio.ndim == 1
    assert np.max(np.abs(audio)) == pytest.approx(1.0, abs=1e-4)  # peak-normalized (16-bit PCM)
    meta = json.loads((sessions / f"{name}.meta").read_text())
    assert meta["duration"] == len(audio) / SR

    segments = _read_rttm(sessions / f"{name}.rttm")
    assert {segment[0] for segment in segments} == {name}
    assert {segment[3] for segment in segments} == set(meta["speaker_ids"]) == {"speaker_0", "speaker_1"}

    # Audio is zero outside the segments and has energy in each of them.
    covered = np.zeros(len(audio), dtype=bool)
    for _, start, end, _ in segments:
        assert 0 <= start < end <= len(audio) / SR + 1e-3
        piece = audio[int(round(start * SR)) : int(round(end * SR))]
        assert np.sqrt(np.mean(piece**2)) > 0.01
        # RTTM times are rounded to 1 ms (16 samples).
        covered[max(int(start * SR) - 16, 0) : int(end * SR) + 16] = True
    assert np.all(audio[~covered] == 0)

    # One JSON line per sentence; its span holds its RTTM segments and its words are in the CTM (times to 10 ms).
    lines = [json.loads(line) for line in (sessions / f"{name}.json").read_text().splitlines()]
    ctm = [line.split() for line in (sessions / f"{name}.ctm").read_text().splitlines()]
    for line in lines:
        assert line["audio_filepath"] == str(sessions / f"{name}.wav")
        start, end = line["offset"], line["offset"] + line["duration"]
        assert any(abs(s - start) < 1e-3 for _, s, _, spk in segments if spk == line["label"])
        words = [w for w in ctm if w[7] == line["label"] and start - 0.01 <= float(w[2]) <= end]
        assert " ".join(line["text"].split()) in " ".join(w[4] for w in words)
    assert sum(len(line["text"].split()) for line in lines) == len(ctm)

    # CTM: sorted by start, each word inside one of its speaker's segments; TXT holds the same words.
    starts = [float(w[2]) for w in ctm]
    assert starts == sorted(starts)
    for word in ctm:
        begin, end = float(word[2]), float(word[2]) + float(word[3])
        assert any(s - 0.01 <= begin and end <= e + 0.01 for _, s, e, spk in segments if spk == word[7])
    assert (sessions / f"{name}.txt").read_text() == "".join(w[4] + " " for w in ctm) + "\n"


def test_session_lists_and_params(sessions):
    wav_list = (sessions / "synthetic_wav.list").read_text().split("\n")
    assert wav_list == [str(sessions / f"multispeaker_session_{i}.wav") for i in range(2)]
    saved = OmegaConf.load(sessions / "params.yaml")
    assert saved.data_simulator.session_config.num_sessions == 2


def test_same_seed_same_sessions(aligned_manifest, sessions, tmp_path):
    MultiSpeakerSimulator(simulator_config(aligned_manifest, tmp_path)).generate_sessions()
    for suffix in ("wav", "rttm", "ctm"):
        assert (tmp_path / f"multispeaker_session_1.{suffix}").read_bytes() == (
            sessions / f"multispeaker_session_1.{suffix}"
        ).read_bytes()


def test_invalid_config_names_the_key(aligned_manifest, tmp_path):
    cfg = simulator_config(
        aligned_manifest, tmp_path, **{"data_simulator.session_params.normalization_type": "var"}
    )
    with pytest.raises(ValueError, match="normalization_type"):
        MultiSpeakerSimulator(cfg)
    cfg = simulator_config(aligned_manifest, tmp_path, **{"data_simulator.session_config.num_speakers": 3})
    with pytest.raises(ValueError, match="only 2 speakers"):
        MultiSpeakerSimulator(cfg)


def _rir_config(aligned_manifest, output):
    cfg = simulator_config(aligned_manifest, output, **{"data_simulator.session_config.num_sessions": 1})
    cfg.data_simulator.rir_generation = {
        "use_rir": True,
        "toolkit": "pyroomacoustics",
        "room_config": {
            "room_sz": [3, 3, 3],
            "pos_src": [[1, 1, 1], [2, 2, 1]],
            "noise_src_pos": [1.5, 1.5, 2],
        },
        "mic_config": {
            "num_channels": 2,
            "pos_rcv": [[1.5, 1, 1], [1.5, 1.1, 1]],
            "orV_rcv": None,
            "mic_pattern": "omni",
        },
        "absorbtion_params": {"abs_weights": [0.9] * 6, "T60": 0.1, "att_diff": 15.0, "att_max": 60.0},
    }
    return cfg


def test_rir_simulator_needs_its_toolkit(aligned_manifest, tmp_path):
    if importlib.util.find_spec("pyroomacoustics") is not None:
        pytest.skip("pyroomacoustics is installed")
    with pytest.raises(ImportError, match="pyroomacoustics"):
        RIRMultiSpeakerSimulator(_rir_config(aligned_manifest, tmp_path))


class _FixedRoom(RIRMultiSpeakerSimulator):
    """Hand-made RIRs instead of a toolkit: channel 0 hears each speaker directly, channel 1 at half level 3
    samples later."""

    def _require_toolkit(self, toolkit):
        pass

    def _simulate_rir(self):
        rir = np.zeros((2, 2, 4))
        rir[:, 0, 0] = 1.0
        rir[:, 1, 3] = 0.5
        return rir


def test_rir_session_is_convolved_per_channel(aligned_manifest, tmp_path):
    _FixedRoom(_rir_config(aligned_manifest, tmp_path)).generate_sessions()
    audio, sr = sf.read(tmp_path / "multispeaker_session_0.wav")
    assert audio.shape[1] == 2 and sr == SR
    np.testing.assert_allclose(audio[3:, 1], 0.5 * audio[:-3, 0], atol=2 / 2**15)
    segments = _read_rttm(tmp_path / "multispeaker_session_0.rttm")
    assert segments and max(end for _, _, end, _ in segments) <= len(audio) / SR + 1e-3

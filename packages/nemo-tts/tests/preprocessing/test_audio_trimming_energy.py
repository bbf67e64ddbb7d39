"""Silence trimming: speech-run search by hand, frame levels against librosa, the trimmer against NeMo 1.23."""

import numpy as np
import pytest
from nemo.collections.tts.parts.preprocessing.audio_trimming import (
    EnergyAudioTrimmer,
    frame_rms_db,
    get_start_and_end_of_speech_frames,
    pad_sample_indices,
)


@pytest.mark.parametrize(
    "flags,threshold,expected",
    [
        ([0, 1, 1, 0, 1, 1, 1, 0], 1, (1, 7)),
        ([0, 1, 1, 0, 1, 1, 1, 0], 2, (1, 7)),
        ([0, 1, 1, 0, 1, 1, 1, 0], 3, (4, 7)),
        ([1, 1, 1], 3, (0, 3)),
        ([0, 1, 0, 1], 2, (0, 0)),
        ([1], 2, (0, 0)),
        ([], 1, (0, 0)),
    ],
)
def test_speech_runs(flags, threshold, expected):
    assert (
        get_start_and_end_of_speech_frames(np.array(flags, dtype=bool), threshold, audio_id="x") == expected
    )


def test_pad_sample_indices_clips_to_audio():
    assert pad_sample_indices(500, 900, max_sample=1000, sample_rate=1000, pad_seconds=0.25) == (250, 1000)
    assert pad_sample_indices(100, 200, max_sample=1000, sample_rate=1000, pad_seconds=0.2) == (0, 400)


def test_frame_levels_match_librosa_rms():
    librosa = pytest.importorskip("librosa")
    rng = np.random.default_rng(0)
    audio = np.concatenate(
        [1e-4 * rng.standard_normal(3000), 0.4 * rng.standard_normal(5000), np.zeros(2001)]
    )
    for frame_length, hop_length in [(1024, 256), (513, 160)]:
        rms = librosa.feature.rms(y=audio, frame_length=frame_length, hop_length=hop_length)[0]
        expected = librosa.amplitude_to_db(rms, ref=0.5, top_db=None)
        np.testing.assert_allclose(frame_rms_db(audio, frame_length, hop_length, 0.5), expected, atol=1e-4)


def test_energy_trimmer_matches_nemo():
    t = np.arange(16000) / 16000.0
    audio = np.where(
        (t > 0.3) & (t < 0.7), 0.5 * np.sin(2 * np.pi * 220 * t), 1e-4 * np.sin(2 * np.pi * 50 * t)
    )
    trimmer = EnergyAudioTrimmer(
        db_threshold=40, speech_frame_threshold=2, trim_win_length=1024, trim_hop_length=256, pad_seconds=0.05
    )
    trimmed, start, end = trimmer.trim_audio(audio, 16000, "tone")
    # (3552, 12576) computed once with NeMo 1.23 (/tmp/nemo-ref/bin/python) on this signal.
    assert (start, end) == (3552, 12576)
    # The returned audio is the peak-normalised (to 1.0) input, as in NeMo.
    np.testing.assert_allclose(trimmed, audio[start:end] / np.abs(audio).max())


def test_energy_trimmer_on_silence_returns_nothing():
    trimmed, start, end = EnergyAudioTrimmer().trim_audio(np.zeros(8000), 16000, "silence")
    assert trimmed.size == 0 and (start, end) == (0, 0)


def test_energy_trimmer_rejects_bad_arguments():
    with pytest.raises(ValueError, match="speech_frame_threshold"):
        EnergyAudioTrimmer(speech_frame_threshold=0)

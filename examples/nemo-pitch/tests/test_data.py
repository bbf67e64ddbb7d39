"""Pitch manifests over real clips: what a dataset yields, and the errors for bad input (each names file and line)."""

from __future__ import annotations

import json
import re

import pytest

pytest.importorskip(
    "nemo_pitch", reason="nemo_pitch is not installed; install it with `pip install -e examples/nemo-pitch`"
)

import numpy as np
import soundfile as sf
import torch
from nemo_pitch.data import PitchDataError, PitchDataset, collate_pitch, pitch_dataloader, read_pitch_manifest
from omegaconf import OmegaConf

SAMPLE_RATE, HOP = 16000, 160


def lines_of(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def write_manifest(path, items):
    path.write_text("".join((item if isinstance(item, str) else json.dumps(item)) + "\n" for item in items))
    return path


def test_clips_and_tracks_line_up_and_crops_keep_frames_aligned(tiny_manifest):
    manifest = tiny_manifest("dev", 3)
    clips = read_pitch_manifest(str(manifest), SAMPLE_RATE, HOP)
    assert [clip.where for clip in clips] == [f"{manifest}:{n}" for n in (1, 2, 3)]
    for clip in clips:
        assert clip.f0.shape == (1 + clip.num_samples // HOP,)

    torch.manual_seed(0)
    whole = PitchDataset(clips, SAMPLE_RATE, HOP)[0]
    cropped = PitchDataset(clips, SAMPLE_RATE, HOP, crop_samples=4000)[0]
    assert cropped[0].shape == (4000,) and cropped[1].shape == (1 + 4000 // HOP,)
    start = next(
        s
        for s in range(0, whole[0].shape[0] - 4000 + 1, HOP)
        if torch.equal(whole[0][s : s + 4000], cropped[0])
    )
    assert torch.equal(cropped[1], whole[1][start // HOP : start // HOP + 26])

    audio, audio_lengths, f0, f0_lengths = collate_pitch([whole, cropped])
    assert audio.shape == (2, whole[0].shape[0]) and f0.shape == (2, whole[1].shape[0])
    assert audio_lengths.tolist() == [whole[0].shape[0], 4000]
    assert f0_lengths.tolist() == [whole[1].shape[0], 26]
    assert f0[1, 26:].abs().sum() == 0 and audio[1, 4000:].abs().sum() == 0


def test_a_line_that_is_not_json_is_named(tiny_manifest, tmp_path):
    good = lines_of(tiny_manifest("dev", 1))[0]
    manifest = write_manifest(tmp_path / "bad.json", [good, '{"audio_filepath": "a.wav",'])
    with pytest.raises(PitchDataError, match=re.escape(f"{manifest}:2: not valid JSON")):
        read_pitch_manifest(str(manifest), SAMPLE_RATE, HOP)


def test_a_missing_key_is_named(tiny_manifest, tmp_path):
    good = lines_of(tiny_manifest("dev", 1))[0]
    manifest = write_manifest(
        tmp_path / "nokey.json", [good, {k: v for k, v in good.items() if k != "f0_key"}]
    )
    with pytest.raises(PitchDataError, match=re.escape(f"{manifest}:2: missing key 'f0_key'")):
        read_pitch_manifest(str(manifest), SAMPLE_RATE, HOP)


def test_a_missing_audio_file_is_named_with_its_line(tiny_manifest, tmp_path):
    good, other = lines_of(tiny_manifest("dev", 2))
    manifest = write_manifest(
        tmp_path / "missing.json", [good, other, {**good, "audio_filepath": "gone/nothing.opus"}]
    )
    expected = f"{manifest}:3: audio file {tmp_path / 'gone' / 'nothing.opus'} does not exist"
    with pytest.raises(PitchDataError, match=re.escape(expected)):
        read_pitch_manifest(str(manifest), SAMPLE_RATE, HOP)


def test_a_wrong_sample_rate_is_named_with_what_to_do(tiny_manifest, tmp_path):
    good = lines_of(tiny_manifest("dev", 1))[0]
    audio, _ = sf.read(good["audio_filepath"], dtype="float32")
    sf.write(tmp_path / "at_22k.wav", audio, 22050)  # the real clip, declared at another rate
    manifest = write_manifest(tmp_path / "rate.json", [{**good, "audio_filepath": "at_22k.wav"}])
    expected = (
        f"{manifest}:1: {tmp_path / 'at_22k.wav'} is sampled at 22050 Hz but the model expects 16000 Hz"
    )
    with pytest.raises(PitchDataError, match=re.escape(expected) + ".*Resample"):
        read_pitch_manifest(str(manifest), SAMPLE_RATE, HOP)


def test_a_track_of_another_length_or_a_missing_key_is_named(tiny_manifest, tmp_path):
    first, second = lines_of(tiny_manifest("dev", 2))
    manifest = write_manifest(tmp_path / "track.json", [{**first, "f0_key": second["f0_key"]}])
    with pytest.raises(PitchDataError, match=re.escape(f"{manifest}:1: the track") + ".*hop_length=160"):
        read_pitch_manifest(str(manifest), SAMPLE_RATE, HOP)
    np.savez_compressed(tmp_path / "few.npz", other=np.zeros(3, np.float16))
    manifest = write_manifest(tmp_path / "key.json", [{**first, "f0_filepath": "few.npz"}])
    with pytest.raises(
        PitchDataError, match=re.escape(f"{manifest}:1: f0_key {first['f0_key']!r} is not in")
    ):
        read_pitch_manifest(str(manifest), SAMPLE_RATE, HOP)


def test_a_missing_manifest_or_config_key_says_which_key_to_set(tmp_path):
    with pytest.raises(
        FileNotFoundError, match=re.escape(str(tmp_path / "none.json")) + ".*manifest_filepath"
    ):
        read_pitch_manifest(str(tmp_path / "none.json"), SAMPLE_RATE, HOP)
    with pytest.raises(PitchDataError, match=re.escape("model.train_ds.manifest_filepath is not set")):
        pitch_dataloader(
            OmegaConf.create({"manifest_filepath": "", "batch_size": 2}), "train_ds", SAMPLE_RATE, HOP
        )

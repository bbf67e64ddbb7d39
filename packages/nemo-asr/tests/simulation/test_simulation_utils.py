"""Helpers of the session simulator: reading pieces of utterances, levels, the silence/overlap model.

Expected values are worked out by hand from the documented formulas, or computed with numpy / scipy.
"""

import numpy as np
import pytest
import soundfile as sf
import torch
from nemo.collections.asr.parts.utils.data_simulation_utils import (
    SpeechSampler,
    binary_search_alignments,
    build_speaker_samples_map,
    get_background_noise,
    get_cleaned_base_path,
    get_split_points_in_alignments,
    get_subset_of_audio_manifest,
    load_speaker_sample,
    per_speaker_normalize,
    read_audio_from_buffer,
    read_noise_manifest,
    speech_union_seconds,
)
from scipy.stats import beta

from .conftest import simulator_config


def test_binary_search_finds_last_pause_with_enough_speech():
    alignments = [0.5, 11.0, 11.5, 12.0, 13.0, 14.0, 14.5, 15.0, 16.0, 17.0, 18.0, 19.0, 20.0, 30.0, 40.0]
    pauses = list(range(len(alignments)))
    # Speech up to alignments[-2] = 30 s; 4.5 s must remain: last start <= 25.5 s is alignments[12] = 20 s.
    assert binary_search_alignments(pauses, 4.5, 2, alignments) == 12
    # Up to alignments[-4] = 19 s: start <= 14.5 s is alignments[6] = 14.5 s.
    assert binary_search_alignments(pauses, 4.5, 4, alignments) == 6
    # Nothing qualifies: the floor of 1 is kept.
    assert binary_search_alignments(pauses, 100.0, 2, alignments) == 1


def test_subset_of_manifest_is_shifted_and_cut():
    manifest = {
        "audio_filepath": "a.wav",
        "words": ["", "a", "b", "", "c", "d", ""],
        "alignments": [0.5, 1.0, 1.5, 2.0, 3.0, 4.5, 5.0],
    }
    subset = get_subset_of_audio_manifest(
        manifest, offset_index=3, max_audio_read_sec=2.6, min_alignment_count=2
    )
    assert subset["offset"] == 2.0
    assert subset["alignments"] == [0.0, 1.0, 2.5]
    assert subset["words"] == ["", "c", "d"]
    assert subset["duration"] == 2.5


def test_split_points_hand_computed():
    words = ["", "hello", "world", "", "welcome", "to", "nemo", ""]
    alignments = [0.27, 1.0, 1.75, 2.75, 2.8, 3.2, 3.7, 3.9]
    # Pause 1.75 -> 2.75 is longer than 2 * 0.25: cut at 1.75 + 0.25 = 2.0 s, resume at 2.75 - 0.25 = 2.5 s.
    splits = get_split_points_in_alignments(words, alignments, 0.25, 16000, 62400)
    assert splits == [[0, 32000], [40000, 62400]]


def test_speech_union_counts_overlap_once():
    assert speech_union_seconds(
        [[0.0, 1.0], [0.5, 2.0], [3.0, 3.5], [3.5, 4.0], [5.0, 5.0]]
    ) == pytest.approx(3.0)
    assert speech_union_seconds([]) == 0.0


def test_per_speaker_normalize_sets_rms_over_speech_stretches():
    rng = np.random.default_rng(0)
    audio = torch.from_numpy(rng.standard_normal(1000))
    splits = [[0, 300], [600, 900]]
    out = per_speaker_normalize(audio, splits, speaker_turn=1, volume=[1.0, 0.5], device=torch.device("cpu"))
    speech = np.concatenate([out.numpy()[0:300], out.numpy()[600:900]])
    assert np.sqrt(np.mean(speech**2)) == pytest.approx(0.5)


def test_speaker_map_and_sample_loading():
    manifest = [
        {"audio_filepath": "a.wav", "speaker_id": "x", "words": ["hi", "you"], "alignments": [0.5, 1.0]},
        {"audio_filepath": "b.wav", "speaker_id": "y", "words": ["", "yo"], "alignments": [0.2, 0.6]},
    ]
    speakers = build_speaker_samples_map(manifest)
    assert list(speakers) == ["x", "y"]
    sample = load_speaker_sample(speakers, ["y", "x"], speaker_turn=1, min_alignment_count=2)
    assert sample["words"] == ["", "hi", "you"] and sample["alignments"] == [0.0, 0.5, 1.0]
    assert manifest[0]["words"] == ["hi", "you"]  # the manifest itself is not changed
    with pytest.raises(KeyError, match="speaker_id"):
        build_speaker_samples_map([{"audio_filepath": "c.wav"}])


def test_cleaned_base_path(tmp_path):
    target = tmp_path / "out"
    assert get_cleaned_base_path(str(target)) == str(target)
    (target / "old.txt").write_text("x")
    with pytest.raises(FileExistsError, match="overwrite_output"):
        get_cleaned_base_path(str(target), overwrite_output=False)
    get_cleaned_base_path(str(target), overwrite_output=True)
    assert list(target.iterdir()) == []


def test_read_audio_piece_is_cached_and_cut(tmp_path):
    samples = np.linspace(-0.5, 0.5, 16000, dtype=np.float32)
    sf.write(tmp_path / "a.wav", samples, 16000, subtype="FLOAT")
    manifest = {
        "audio_filepath": str(tmp_path / "a.wav"),
        "words": ["", "a", ""],
        "alignments": [0.25, 0.5, 1.0],
    }
    cache = {}
    audio, sr, subset = read_audio_from_buffer(
        manifest, cache, 0, torch.device("cpu"), max_audio_read_sec=2.5
    )
    assert sr == 16000 and subset["alignments"] == [0.0, 0.25, 0.75]
    np.testing.assert_allclose(audio.numpy(), samples[4000:16000])
    assert read_audio_from_buffer(manifest, cache, 0, torch.device("cpu"))[0] is audio


def test_background_noise_meets_requested_snr(tmp_path):
    rng = np.random.default_rng(1)
    sf.write(tmp_path / "n.wav", 0.1 * rng.standard_normal(3000), 16000, subtype="FLOAT")
    noise_manifest = [{"audio_filepath": str(tmp_path / "n.wav")}]
    noise, snr = get_background_noise(
        len_array=8000,
        power_array=0.04,
        noise_samples=noise_manifest,
        audio_read_buffer_dict={},
        snr_min=None,
        snr_max=None,
        background_noise_snr=20,
        seed=0,
        device=torch.device("cpu"),
    )
    assert snr == 20 and noise.shape == (8000,)
    # Every noise file chunk is scaled on its own, so the whole noise has the target power: 0.04 / 10^(20/10).
    assert float(torch.mean(noise.double() ** 2)) == pytest.approx(0.04 / 100, rel=1e-4)
    assert read_noise_manifest(False, None) == []
    with pytest.raises(FileNotFoundError):
        read_noise_manifest(True, str(tmp_path / "missing.json"))


class TestSpeechSampler:
    @pytest.fixture()
    def sampler(self, tmp_path):
        cfg = simulator_config(
            tmp_path / "m.json",
            tmp_path,
            **{
                "data_simulator.session_params.per_silence_var": 0,
                "data_simulator.session_params.per_overlap_var": 0,
            },
        )
        sampler = SpeechSampler(cfg)
        sampler.get_session_silence_mean()
        sampler.get_session_overlap_mean()
        return sampler

    def test_bounds_in_samples(self, sampler):
        # session_length 6 s at 16 kHz; per_*_max = -1 means the session length.
        assert (sampler.per_silence_min_len, sampler.per_silence_max_len) == (0, 96000)
        assert (sampler.per_overlap_min_len, sampler.per_overlap_max_len) == (0, 96000)

    def test_silence_and_overlap_without_variance_hit_the_target(self, sampler):
        sampler.sess_silence_mean, sampler.sess_overlap_mean = 0.2, 0.25
        # (0 + s) / (16000 + s) = 0.2  ->  s = 4000
        assert sampler.sample_from_silence_model(running_len_samples=16000) == 4000
        # (0 + o) / (25000 - o) = 0.25  ->  o = 5000
        assert sampler.sample_from_overlap_model(non_silence_len_samples=25000) == 5000
        sampler.running_overlap_len_samples = 7000
        assert sampler.sample_from_overlap_model(non_silence_len_samples=25000) == 0

    def test_selector_compares_distances_to_targets(self, sampler):
        sampler.sess_silence_mean, sampler.sess_overlap_mean = 0.1, 0.1
        sampler.running_speech_len_samples, sampler.running_overlap_len_samples = 700, 0
        # silence ratio 0.3 (0.2 above its target), overlap ratio 0 (0.1 below): overlap next.
        assert sampler.silence_vs_overlap_selector(1000, 800) is True
        # silence ratio 0.05 (0.05 below), overlap ratio 0.25 (0.15 above): silence next.
        sampler.running_speech_len_samples, sampler.running_overlap_len_samples = 950, 200
        assert sampler.silence_vs_overlap_selector(1000, 800) is False

    def test_session_means_follow_the_beta_distribution(self, sampler):
        sampler.mean_silence, sampler.mean_silence_var = 0.2, 0.01
        np.random.seed(0)
        draws = np.array([sampler.get_session_silence_mean() for _ in range(400)])
        a_b = beta.fit(draws, floc=0, fscale=1)[:2]
        reference = beta(*a_b)
        assert reference.mean() == pytest.approx(0.2, abs=0.02)
        assert reference.var() == pytest.approx(0.01, rel=0.25)

    def test_invalid_variance_names_the_key(self, sampler):
        sampler.mean_overlap, sampler.mean_overlap_var = 0.4, 0.3
        with pytest.raises(ValueError, match="mean_overlap_var"):
            sampler.get_session_overlap_mean()

    def test_noise_files_are_distinct(self, sampler):
        sampler.num_noise_files = 3
        chosen = sampler.sample_noise_manifest([{"id": k} for k in range(5)])
        assert len({item["id"] for item in chosen}) == 3

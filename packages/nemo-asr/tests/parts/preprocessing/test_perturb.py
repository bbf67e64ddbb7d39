import json
import math
import random
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from nemo.collections.asr.data.audio_loading import AudioLoader
from nemo.collections.asr.parts.preprocessing.perturb import (
    AudioAugmentor,
    GainPerturbation,
    ImpulsePerturbation,
    NoisePerturbation,
    Perturbation,
    ShiftPerturbation,
    SilencePerturbation,
    SpeedPerturbation,
    TimeStretchPerturbation,
    WhiteNoisePerturbation,
    perturbation_types,
    process_augmentations,
    register_perturbation,
)
from nemo.collections.asr.parts.preprocessing.segment import AudioSegment
from omegaconf import OmegaConf

SR = 16000
REPO = Path(__file__).resolve().parents[5]
SPEECH = REPO / "data" / "asterisk" / "audio" / "agent-loggedoff.opus"


def tone(seconds: float = 0.5, freq: float = 500.0) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def dominant_frequency(samples: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.argmax(spectrum)) * SR / len(samples)


def rms_db(samples: np.ndarray) -> float:
    return 10 * math.log10(float(np.mean(np.square(samples.astype(np.float64)))))


@pytest.fixture
def speech() -> AudioSegment:
    return AudioSegment.from_file(SPEECH, target_sr=SR)


@pytest.mark.parametrize("resample_type", ["kaiser_fast", "kaiser_best", "fft"])
@pytest.mark.parametrize("rate", [0.9, 1.1])
def test_speed_scales_duration_and_lowers_pitch_by_the_rate(resample_type, rate):
    segment = AudioSegment(tone(), SR)
    SpeedPerturbation(SR, resample_type, min_speed_rate=rate, max_speed_rate=rate, num_rates=1).perturb(
        segment
    )
    assert segment.num_samples == math.ceil(int(0.5 * SR) * int(SR * rate) / SR)
    assert segment.samples.dtype == np.float32
    assert dominant_frequency(segment.samples) == pytest.approx(
        500.0 / rate, abs=2 * SR / segment.num_samples
    )


def test_speed_on_real_speech_and_identity_rate(speech):
    original = speech.samples.copy()
    SpeedPerturbation(SR, "kaiser_fast", min_speed_rate=1.0, max_speed_rate=1.0, num_rates=1).perturb(speech)
    np.testing.assert_array_equal(speech.samples, original)
    SpeedPerturbation(SR, "kaiser_fast", min_speed_rate=1.1, max_speed_rate=1.1, num_rates=1).perturb(speech)
    assert speech.duration == pytest.approx(len(original) / SR * 1.1, abs=1 / SR)


def test_speed_draws_only_the_configured_rates_and_all_of_them():
    perturbation = SpeedPerturbation(SR, "kaiser_fast", num_rates=5, rng=3)
    lengths = set()
    for _ in range(40):
        segment = AudioSegment(tone(0.1), SR)
        perturbation.perturb(segment)
        lengths.add(segment.num_samples)
    expected = {math.ceil(1600 * int(SR * r) / SR) for r in np.linspace(0.9, 1.1, 5)}
    assert lengths == expected


def test_speed_uniform_rates_stay_in_range_and_keep_channels():
    perturbation = SpeedPerturbation(
        SR, "kaiser_fast", min_speed_rate=0.93, max_speed_rate=1.07, num_rates=-1, rng=0
    )
    stereo = np.stack([tone(0.2), -tone(0.2)], axis=1)
    for _ in range(5):
        segment = AudioSegment(stereo, SR)
        perturbation.perturb(segment)
        assert segment.samples.shape[1] == 2
        assert 0.93 * 3200 - 1 <= segment.num_samples <= 1.07 * 3200 + 1
        np.testing.assert_allclose(segment.samples[:, 0], -segment.samples[:, 1], atol=1e-6)


@pytest.mark.parametrize("rate", [0.8, 1.25])
def test_time_stretch_changes_duration_but_keeps_pitch(rate):
    segment = AudioSegment(tone(0.5), SR)
    TimeStretchPerturbation(min_speed_rate=rate, max_speed_rate=rate, num_rates=1).perturb(segment)
    assert segment.num_samples == round(int(0.5 * SR) / rate)
    assert dominant_frequency(segment.samples) == pytest.approx(500.0, abs=2 * SR / segment.num_samples)


def test_gain_changes_rms_by_the_drawn_db(speech):
    before = rms_db(speech.samples)
    GainPerturbation(min_gain_dbfs=-10, max_gain_dbfs=10, rng=11).perturb(speech)
    expected_gain = random.Random(11).uniform(-10, 10)
    assert rms_db(speech.samples) - before == pytest.approx(expected_gain, abs=1e-3)


def test_gain_with_a_fixed_level():
    segment = AudioSegment(tone(), SR)
    GainPerturbation(min_gain_dbfs=6, max_gain_dbfs=6).perturb(segment)
    np.testing.assert_allclose(segment.samples, tone() * 10 ** (6 / 20), rtol=1e-6)


def test_white_noise_has_the_requested_rms_level():
    segment = AudioSegment(np.zeros(SR, dtype=np.float32), SR)
    WhiteNoisePerturbation(min_level=-40, max_level=-40, rng=5).perturb(segment)
    assert rms_db(segment.samples) == pytest.approx(-40.0, abs=0.1)
    assert segment.samples.dtype == np.float32


def test_white_noise_level_is_an_integer_below_max_level():
    perturbation = WhiteNoisePerturbation(min_level=-50, max_level=-47, rng=1)
    levels = set()
    for _ in range(30):
        segment = AudioSegment(np.zeros(SR, dtype=np.float32), SR)
        perturbation.perturb(segment)
        levels.add(round(rms_db(segment.samples)))
    assert levels == {-50, -49, -48}


def test_white_noise_is_added_to_the_signal(speech):
    original = speech.samples.copy()
    WhiteNoisePerturbation(min_level=-30, max_level=-30, rng=2).perturb(speech)
    assert rms_db(speech.samples - original) == pytest.approx(-30.0, abs=0.2)


@pytest.mark.parametrize("shift_ms", [2.0, -2.0])
def test_shift_moves_content_and_zero_fills(shift_ms):
    samples = np.zeros(1000, dtype=np.float32)
    samples[500] = 1.0
    samples[0] = samples[-1] = 0.5
    segment = AudioSegment(samples, SR)
    ShiftPerturbation(min_shift_ms=shift_ms, max_shift_ms=shift_ms).perturb(segment)
    shift = int(shift_ms * SR / 1000)
    assert segment.num_samples == 1000
    assert segment.samples[500 - shift] == 1.0
    zeros = segment.samples[-shift:] if shift > 0 else segment.samples[:-shift]
    assert not zeros.any()


def test_shift_longer_than_the_audio_is_skipped():
    segment = AudioSegment(tone(0.001), SR)
    ShiftPerturbation(min_shift_ms=5.0, max_shift_ms=5.0).perturb(segment)
    np.testing.assert_array_equal(segment.samples, tone(0.001))


class CountingPerturbation(Perturbation):
    def __init__(self):
        self.calls = 0

    def perturb(self, data):
        self.calls += 1


def test_augmentor_honours_probabilities_with_a_seeded_rng():
    never, always, sometimes = CountingPerturbation(), CountingPerturbation(), CountingPerturbation()
    augmentor = AudioAugmentor([(0.0, never), (1.0, always), (0.3, sometimes)], rng=7)
    segment = AudioSegment(tone(0.01), SR)
    for _ in range(1000):
        augmentor.perturb(segment)
    draws = random.Random(7)
    expected = 0
    for _ in range(1000):
        draws.random(), draws.random()
        expected += draws.random() < 0.3
    assert (never.calls, always.calls, sometimes.calls) == (0, 1000, expected)
    assert 250 < sometimes.calls < 350


def test_augmentor_with_the_same_seed_gives_the_same_audio(speech):
    outputs = []
    for _ in range(2):
        pipeline = [
            (0.5, GainPerturbation(rng=1)),
            (0.5, WhiteNoisePerturbation(rng=2)),
            (0.5, ShiftPerturbation(rng=3)),
        ]
        augmentor = AudioAugmentor(pipeline, rng=4)
        segment = AudioSegment(speech.samples.copy(), SR)
        augmentor.perturb(segment)
        outputs.append(segment.samples)
    np.testing.assert_array_equal(*outputs)


def test_max_augmentation_length_composes():
    augmentor = AudioAugmentor(
        [
            (1.0, SpeedPerturbation(SR, "kaiser_fast", max_speed_rate=1.2)),
            (1.0, TimeStretchPerturbation(0.8, 1.0)),
        ]
    )
    assert augmentor.max_augmentation_length(10.0) == pytest.approx(10.0 * 1.2 / 0.8)


def test_process_augmentations_builds_nemo_config_form(speech):
    config = {
        "speed": {
            "prob": 0.5,
            "sr": SR,
            "resample_type": "kaiser_fast",
            "min_speed_rate": 0.9,
            "max_speed_rate": 1.1,
        },
        "white_noise": {"prob": 0.25, "min_level": -90, "max_level": -46},
    }
    for form in (config, OmegaConf.create(config)):
        augmentor = process_augmentations(form)
        pipeline = [(prob, type(p)) for prob, p in augmentor._pipeline]
        assert pipeline == [(0.5, SpeedPerturbation), (0.25, WhiteNoisePerturbation)]
    assert config["speed"]["prob"] == 0.5
    augmentor.perturb(speech)
    assert np.isfinite(speech.samples).all()


def test_process_augmentations_passthrough_and_none():
    augmentor = AudioAugmentor()
    assert process_augmentations(augmentor) is augmentor
    assert process_augmentations(None) is None


@pytest.mark.parametrize(
    ("config", "error", "message"),
    [
        (
            {"reverb": {"prob": 0.5}},
            KeyError,
            "Valid names: \\['gain', 'impulse', 'noise', 'shift', 'silence', 'speed'",
        ),
        ({"gain": {"min_gain_dbfs": -3}}, KeyError, "augmentor.gain has no `prob`"),
        ({"gain": {"prob": 1.5}}, ValueError, "augmentor.gain.prob must be a number in \\[0, 1\\], got 1.5"),
        ({"gain": {"prob": 0.5, "gain": 3}}, TypeError, "augmentor.gain: cannot build GainPerturbation"),
        ({"speed": {"prob": 0.5, "sr": SR, "resample_type": "sox"}}, ValueError, "resample_type='sox'"),
        (
            {"speed": {"prob": 0.5, "sr": SR, "resample_type": "fft", "min_speed_rate": 0}},
            ValueError,
            "0 < min",
        ),
        (
            {"white_noise": {"prob": 0.5, "min_level": -40, "max_level": -50}},
            ValueError,
            "min_level <= max_level",
        ),
        ({"gain": 0.5}, ValueError, "augmentor.gain must be a mapping"),
        ([("gain", 0.5)], ValueError, "augmentor must be a mapping"),
    ],
)
def test_process_augmentations_rejects_bad_configs(config, error, message):
    with pytest.raises(error, match=message):
        process_augmentations(config)


def test_bad_rng_is_rejected():
    with pytest.raises(TypeError, match="expected a random.Random, an int seed or None"):
        GainPerturbation(rng="seed")


def test_register_perturbation_makes_a_name_usable():
    class Silence(Perturbation):
        def perturb(self, data):
            data._samples = np.zeros_like(data._samples)

    register_perturbation("test_silence", Silence)
    try:
        with pytest.raises(KeyError, match="already registered"):
            register_perturbation("test_silence", Silence)
        segment = AudioSegment(tone(), SR)
        process_augmentations({"test_silence": {"prob": 1.0}}).perturb(segment)
        assert not segment.samples.any()
    finally:
        del perturbation_types["test_silence"]


def test_from_config_skips_unknown_types():
    augmentor = AudioAugmentor.from_config(
        [
            {"aug_type": "gain", "prob": 0.3, "cfg": {"min_gain_dbfs": -1}},
            {"aug_type": "nope", "prob": 1.0, "cfg": {}},
        ]
    )
    assert [(prob, type(p)) for prob, p in augmentor._pipeline] == [(0.3, GainPerturbation)]


def test_dataset_audio_loader_applies_a_configured_augmentor():
    augmentor = process_augmentations(
        {
            "speed": {
                "prob": 1.0,
                "sr": SR,
                "resample_type": "kaiser_fast",
                "min_speed_rate": 1.1,
                "max_speed_rate": 1.1,
            }
        }
    )
    plain = AudioLoader(SR).load(str(SPEECH), None, 0, where=str(SPEECH))
    augmented = AudioLoader(SR, augmentor=augmentor).load(str(SPEECH), None, 0, where=str(SPEECH))
    assert augmented.shape[0] == math.ceil(plain.shape[0] * 1.1)


def write_audio_manifest(folder: Path, files: dict[str, np.ndarray], sample_rate: int = SR) -> Path:
    """Write each (T,) or (T, C) array as a float WAV and a manifest listing them by relative path."""
    lines = []
    for name, samples in files.items():
        sf.write(folder / name, samples, sample_rate, subtype="FLOAT")
        lines.append(json.dumps({"audio_filepath": name, "duration": len(samples) / sample_rate}))
    manifest = folder / "manifest.json"
    manifest.write_text("\n".join(lines) + "\n")
    return manifest


def white(seconds: float, seed: int, scale: float = 0.1) -> np.ndarray:
    return (scale * np.random.default_rng(seed).standard_normal(int(seconds * SR))).astype(np.float32)


def test_noise_longer_than_the_audio_is_a_window_added_at_the_drawn_snr(tmp_path):
    noise = white(1.0, seed=0)
    manifest = write_audio_manifest(tmp_path, {"noise.wav": noise})
    segment = AudioSegment(tone(0.5), SR)
    NoisePerturbation(str(manifest), min_snr_db=12, max_snr_db=12, rng=3).perturb(segment)
    added = segment.samples.astype(np.float64) - tone(0.5)
    assert rms_db(tone(0.5)) - rms_db(added) == pytest.approx(12.0, abs=0.01)
    start = int(np.argmax(np.correlate(noise, added, mode="valid")))
    window = noise[start : start + len(added)]
    gain = 10 ** ((rms_db(tone(0.5)) - rms_db(window) - 12) / 20)
    np.testing.assert_allclose(added, gain * window, atol=1e-5)


def test_noise_shorter_than_the_audio_is_added_at_a_random_start(tmp_path):
    noise = white(0.1, seed=1)
    manifest = write_audio_manifest(tmp_path, {"noise.wav": noise})
    perturbation = NoisePerturbation(str(manifest), min_snr_db=6, max_snr_db=6, rng=0)
    starts = set()
    for _ in range(4):
        segment = AudioSegment(tone(0.5), SR)
        perturbation.perturb(segment)
        added = segment.samples.astype(np.float64) - tone(0.5)
        nonzero = np.flatnonzero(np.abs(added) > 1e-6)
        start = int(nonzero[0])
        assert nonzero[-1] - start < len(noise)
        block = added[start : start + len(noise)]
        gain = 10 ** ((rms_db(tone(0.5)) - rms_db(noise) - 6) / 20)
        np.testing.assert_allclose(block, gain * noise, atol=1e-5)
        assert not np.any(np.abs(np.delete(added, np.arange(start, start + len(noise)))) > 1e-6)
        starts.add(start)
    assert len(starts) > 1


def test_noise_gain_is_capped_by_max_gain_db(tmp_path):
    quiet = white(0.5, seed=2, scale=1e-4)
    manifest = write_audio_manifest(tmp_path, {"quiet.wav": quiet})
    segment = AudioSegment(tone(0.5), SR)
    NoisePerturbation(str(manifest), min_snr_db=0, max_snr_db=0, max_gain_db=6.0).perturb(segment)
    np.testing.assert_allclose(segment.samples - tone(0.5), quiet * 10 ** (6 / 20), atol=1e-6)


def test_noise_on_multichannel_audio_uses_the_reference_channel(tmp_path):
    noise = white(0.3, seed=3)
    manifest = write_audio_manifest(tmp_path, {"noise.wav": np.stack([noise, noise], axis=1)})
    stereo = np.stack([tone(0.3), 0.1 * tone(0.3)], axis=1)
    perturbation = NoisePerturbation(str(manifest), min_snr_db=10, max_snr_db=10, rng=1)
    for ref_mic in (0, 1):
        segment = AudioSegment(stereo.copy(), SR)
        perturbation.perturb(segment, ref_mic=ref_mic)
        added = segment.samples.astype(np.float64) - stereo
        np.testing.assert_allclose(added[:, 0], added[:, 1], atol=1e-7)
        assert rms_db(stereo[:, ref_mic]) - rms_db(added[:, 0]) == pytest.approx(10.0, abs=0.01)
    # As in NeMo 1.23, the noise must have the audio's channel count (a mono file is not spread over channels).
    for channels in (1, 3):
        other = write_audio_manifest(
            tmp_path, {f"noise{channels}.wav": np.stack([white(0.3, seed=4)] * channels, axis=1).squeeze()}
        )
        with pytest.raises(ValueError, match=f"the noise has {channels} channels but the audio has 2"):
            NoisePerturbation(str(other)).perturb(AudioSegment(stereo.copy(), SR))
    with pytest.raises(ValueError, match="ref_mic=2 for audio with 2 channels"):
        perturbation.perturb(AudioSegment(stereo.copy(), SR), ref_mic=2)


def test_perturb_with_input_noise_uses_the_given_data_level(tmp_path):
    manifest = write_audio_manifest(tmp_path, {"noise.wav": white(0.2, seed=5)})
    perturbation = NoisePerturbation(str(manifest), min_snr_db=10, max_snr_db=10)
    noise = AudioSegment(white(0.2, seed=6), SR)
    segment = AudioSegment(tone(0.2), SR)
    perturbation.perturb_with_input_noise(segment, noise, data_rms=rms_db(tone(0.2)) + 5)
    assert rms_db(tone(0.2)) - rms_db(segment.samples - tone(0.2)) == pytest.approx(5.0, abs=0.01)
    np.testing.assert_array_equal(noise.samples, white(0.2, seed=6))


def test_get_one_noise_sample_reads_a_whole_file_at_the_target_rate(tmp_path):
    manifest = write_audio_manifest(tmp_path, {"noise.wav": white(0.25, seed=7)[:2000]}, sample_rate=8000)
    sample = NoisePerturbation(str(manifest), orig_sr=8000).get_one_noise_sample(SR)
    assert (sample.sample_rate, sample.num_samples) == (SR, 4000)


def test_impulse_of_a_delayed_unit_sample_delays_the_audio(tmp_path):
    delay = 40
    impulse = np.zeros(100, dtype=np.float32)
    impulse[delay] = 1.0
    manifest = write_audio_manifest(tmp_path, {"rir.wav": impulse})
    signal = white(0.1, seed=8)
    segment = AudioSegment(signal, SR)
    ImpulsePerturbation(str(manifest)).perturb(segment)
    delayed = np.concatenate([np.zeros(delay, dtype=np.float32), signal[:-delay]])
    assert segment.num_samples == len(signal)
    np.testing.assert_allclose(segment.samples, delayed / np.abs(delayed).max(), atol=1e-5)
    shifted = AudioSegment(signal, SR)
    ImpulsePerturbation(str(manifest), shift_impulse=True).perturb(shifted)
    np.testing.assert_allclose(shifted.samples, signal / np.abs(signal).max(), atol=1e-5)


@pytest.mark.parametrize("normalize_impulse", [False, True])
def test_impulse_is_a_full_convolution_trimmed_and_peak_normalized(tmp_path, normalize_impulse):
    decay = np.exp(-np.arange(400) / 60.0)
    impulse = (0.3 + white(0.025, seed=9)[:400] * decay).astype(np.float32)
    manifest = write_audio_manifest(tmp_path, {"rir.wav": impulse})
    signal = white(0.1, seed=10)
    segment = AudioSegment(signal, SR)
    ImpulsePerturbation(str(manifest), normalize_impulse=normalize_impulse).perturb(segment)
    used = impulse / np.linalg.norm(impulse) if normalize_impulse else impulse
    expected = np.convolve(signal.astype(np.float64), used)[: len(signal)]
    np.testing.assert_allclose(segment.samples, expected / np.abs(expected).max(), atol=1e-5)
    assert np.abs(segment.samples).max() == pytest.approx(1.0, abs=1e-6)
    assert segment.samples.dtype == np.float32


def test_impulse_on_multichannel_audio_keeps_the_channel_levels(tmp_path):
    impulse = (white(0.01, seed=11) * np.exp(-np.arange(160) / 30.0)).astype(np.float32)
    manifest = write_audio_manifest(tmp_path, {"rir.wav": impulse})
    signal = white(0.1, seed=12)
    segment = AudioSegment(np.stack([signal, 0.5 * signal], axis=1), SR)
    ImpulsePerturbation(str(manifest), shift_impulse=True).perturb(segment)
    assert segment.samples.shape == (len(signal), 2)
    assert np.abs(segment.samples).max() == pytest.approx(1.0, abs=1e-6)
    np.testing.assert_allclose(segment.samples[:, 1], 0.5 * segment.samples[:, 0], atol=1e-6)


def test_all_zero_impulse_is_an_error_naming_the_file(tmp_path):
    manifest = write_audio_manifest(tmp_path, {"silent_rir.wav": np.zeros(50, dtype=np.float32)})
    with pytest.raises(ValueError, match="silent_rir.wav.*manifest.json:1.*all zeros"):
        ImpulsePerturbation(str(manifest)).perturb(AudioSegment(tone(0.1), SR))


def test_seeded_noise_and_impulse_repeat(tmp_path):
    files = {f"noise{i}.wav": white(0.2 + 0.15 * i, seed=20 + i) for i in range(3)}
    files.update({f"rir{i}.wav": white(0.01, seed=30 + i) for i in range(3)})
    manifest = write_audio_manifest(tmp_path, files)

    def run(seed: int) -> list[np.ndarray]:
        noise = NoisePerturbation(str(manifest), min_snr_db=0, max_snr_db=20, rng=seed)
        impulse = ImpulsePerturbation(str(manifest), rng=seed + 1)
        outputs = []
        for _ in range(3):
            segment = AudioSegment(tone(0.3), SR)
            noise.perturb(segment)
            impulse.perturb(segment)
            outputs.append(segment.samples)
        return outputs

    first, again, other = run(1), run(1), run(2)
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, b) for a, b in zip(first, other, strict=True))


def test_process_augmentations_builds_noise_and_impulse(tmp_path):
    noise_dir, rir_dir = tmp_path / "noise", tmp_path / "rir"
    noise_dir.mkdir()
    rir_dir.mkdir()
    noise_manifest = write_audio_manifest(noise_dir, {"n.wav": white(0.4, seed=40)})
    rir_manifest = write_audio_manifest(rir_dir, {"r.wav": white(0.01, seed=41)})
    config = {
        "noise": {
            "prob": 0.5,
            "manifest_path": str(noise_manifest),
            "min_snr_db": 5,
            "max_snr_db": 5,
            "rng": 1,
        },
        "impulse": {"prob": 1.0, "manifest_path": str(rir_manifest), "shift_impulse": True},
    }
    for form in (config, OmegaConf.create(config)):
        augmentor = process_augmentations(form)
        assert [(prob, type(p)) for prob, p in augmentor._pipeline] == [
            (0.5, NoisePerturbation),
            (1.0, ImpulsePerturbation),
        ]
    segment = AudioSegment(tone(0.3), SR)
    augmentor.perturb(segment)
    assert segment.num_samples == len(tone(0.3))
    assert np.abs(segment.samples).max() == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("perturbation_class", [NoisePerturbation, ImpulsePerturbation])
def test_noise_and_impulse_manifest_errors(tmp_path, perturbation_class):
    key = "noise" if perturbation_class is NoisePerturbation else "impulse"
    with pytest.raises(
        FileNotFoundError, match=f"missing.json' does not exist. Fix augmentor.{key}.manifest_path"
    ):
        perturbation_class(str(tmp_path / "missing.json"))
    empty = tmp_path / "empty.json"
    empty.write_text("\n")
    with pytest.raises(ValueError, match="has no entries"):
        perturbation_class(str(empty))
    with pytest.raises(ValueError, match=f"needs a manifest.*augmentor.{key}.manifest_path"):
        perturbation_class()
    with pytest.raises(
        ValueError, match=f"does not support tarred audio.*remove augmentor.{key}.audio_tar_filepaths"
    ):
        perturbation_class(str(empty), audio_tar_filepaths="noise_{0..3}.tar")
    listing = tmp_path / "listing.json"
    listing.write_text(json.dumps({"audio_filepath": "gone.wav", "duration": 1.0}) + "\n")
    with pytest.raises(FileNotFoundError, match="listing.json:1: audio file .*gone.wav' does not exist"):
        perturbation_class(str(listing))
    (tmp_path / "gone.wav").write_bytes(b"not audio")
    perturbation = perturbation_class(str(listing))
    with pytest.raises(RuntimeError, match="listing.json:1: cannot load .*gone.wav"):
        perturbation.perturb(AudioSegment(tone(0.1), SR))


def test_silence_pads_both_ends_with_the_value_and_keeps_dtype_and_channels():
    stereo = np.stack([tone(0.1), -tone(0.1)], axis=1)
    segment = AudioSegment(stereo.copy(), SR)
    perturbation = SilencePerturbation(0.25, 0.25, 0.5, 0.5, value=0.01)
    perturbation.perturb(segment)
    # 0.25 s = 4000 samples before, 0.5 s = 8000 samples after, at 16 kHz.
    assert segment.samples.shape == (4000 + len(stereo) + 8000, 2)
    assert segment.samples.dtype == np.float32
    np.testing.assert_array_equal(segment.samples[:4000], np.float32(0.01))
    np.testing.assert_array_equal(segment.samples[4000:-8000], stereo)
    np.testing.assert_array_equal(segment.samples[-8000:], np.float32(0.01))
    assert perturbation.max_augmentation_length(1.0) == pytest.approx(1.75)


def test_silence_lengths_are_drawn_in_their_ranges_from_the_seed():
    lengths = []
    for seed in (0, 1, 2):
        segment = AudioSegment(tone(0.1), SR)
        SilencePerturbation(0.0, 0.5, 0.1, 0.2, rng=seed).perturb(segment)
        draws = random.Random(seed)
        start, end = draws.uniform(0.0, 0.5), draws.uniform(0.1, 0.2)
        lengths.append(len(segment.samples))
        assert len(segment.samples) == int(start * SR) + len(tone(0.1)) + int(end * SR)
    assert len(set(lengths)) == 3
    with pytest.raises(ValueError, match="min_end_silence_secs=0.3, max_end_silence_secs=0.2"):
        SilencePerturbation(min_end_silence_secs=0.3, max_end_silence_secs=0.2)


def test_foreground_noise_adds_one_excerpt_at_the_drawn_snr(tmp_path):
    manifest = write_audio_manifest(tmp_path, {"noise.wav": white(0.1, seed=0)})
    data = tone(1.0)
    constant_noise = np.full(SR, 0.1, dtype=np.float32)  # 1 s at -20 dB: every excerpt has the same level
    perturbation = NoisePerturbation(str(manifest), min_snr_db=10, max_snr_db=10, rng=5)
    segment = AudioSegment(data.copy(), SR)
    perturbation.perturb_with_foreground_noise(segment, AudioSegment(constant_noise, SR), max_noise_dur=0.2)
    added = segment.samples.astype(np.float64) - data
    touched = np.flatnonzero(np.abs(added) > 1e-7)
    assert 0 < len(touched) <= 0.2 * SR
    assert touched[-1] - touched[0] + 1 == len(touched)  # one contiguous excerpt
    # The excerpt sits 10 dB below the tone's level.
    np.testing.assert_allclose(added[touched], 10 ** ((rms_db(data) - 10) / 20), rtol=1e-5)
    with pytest.raises(ValueError, match="the noise has 2 channels but the audio has 1"):
        perturbation.perturb_with_foreground_noise(
            segment, AudioSegment(np.stack([constant_noise] * 2, 1), SR)
        )
    with pytest.raises(ValueError, match="ref_mic=1 for audio with 1 channels"):
        perturbation.perturb_with_foreground_noise(segment, AudioSegment(constant_noise, SR), ref_mic=1)

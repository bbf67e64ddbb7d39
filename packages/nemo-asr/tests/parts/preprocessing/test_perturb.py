import math
import random
from pathlib import Path

import numpy as np
import pytest
from nemo.collections.asr.data.audio_loading import AudioLoader
from nemo.collections.asr.parts.preprocessing.perturb import (
    AudioAugmentor,
    GainPerturbation,
    Perturbation,
    ShiftPerturbation,
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
        ({"reverb": {"prob": 0.5}}, KeyError, "Valid names: \\['gain', 'shift', 'speed', 'time_stretch'"),
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

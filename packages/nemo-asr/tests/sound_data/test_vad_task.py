"""data/vad and scripts/prepare_vad_task.py: speech in silence and noise, with 20 ms frame labels."""

import json
import math
import random
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

NEMO_FRAME_LABELS = Path(__file__).with_name("data") / "nemo_frame_labels.json"
TINY_PROMPTS = {
    "train": ["../asterisk/audio/activated.opus", "../synthetic/audio/0001_flite-kal16.opus"],
    "test": ["../asterisk/audio/added.opus", "../asterisk/audio/call-fwd-no-ans.opus"],
}


def _recipes(folder, split):
    return [json.loads(line) for line in (folder / f"{split}_recipes.json").read_text().splitlines()]


@pytest.mark.parametrize(
    "case", json.loads(NEMO_FRAME_LABELS.read_text()), ids=lambda case: str(case["duration"])
)
def test_frame_labels_follow_nemo_get_frame_labels(scripts, case):
    labels = scripts.vad.frame_labels(case["segments"], case["duration"])

    assert " ".join(map(str, labels)) == case["labels"]


def test_speech_frames_find_bursts_fill_short_pauses_and_drop_clicks(scripts):
    rate, frame = 16000, 320
    samples = np.zeros(100 * frame)
    tone = 0.5 * np.sin(2 * np.pi * 300 * np.arange(20 * frame) / rate)
    samples[10 * frame : 30 * frame] = tone  # frames 10-29
    samples[40 * frame : 60 * frame] = tone  # a 0.2 s pause, filled: speech to frame 59
    samples[80 * frame : 81 * frame] = tone[:frame]  # a 20 ms click, dropped
    samples[90 * frame : 95 * frame] = tone[: 5 * frame] * 0.001  # 60 dB down: not speech
    samples += 1e-6 * np.random.default_rng(0).standard_normal(len(samples))

    frames = scripts.vad.speech_frames(samples)

    expected = np.zeros(100, dtype=bool)
    expected[10:60] = True
    np.testing.assert_array_equal(frames, expected)


def test_speech_frames_keep_a_long_pause_and_a_short_edge(scripts):
    frame = 320
    samples = np.zeros(60 * frame)
    samples[0 : 4 * frame] = 0.3  # at the very start, 80 ms: kept
    samples[30 * frame : 40 * frame] = 0.3  # after a 0.52 s pause: a second run

    frames = scripts.vad.speech_frames(samples)

    assert np.flatnonzero(frames).tolist() == [*range(0, 4), *range(30, 40)]


@pytest.mark.parametrize("kind,slope_db_per_decade", [("white", 0.0), ("pink", -10.0), ("brown", -20.0)])
def test_colored_noise_has_unit_rms_its_spectral_slope_and_its_seed(scripts, kind, slope_db_per_decade):
    noise = scripts.vad.colored_noise(kind, 160000, seed=5)
    power = np.abs(np.fft.rfft(noise)) ** 2
    frequencies = np.fft.rfftfreq(len(noise), 1 / 16000)
    bands = [(100, 200), (1000, 2000)]  # one decade apart
    levels = [10 * np.log10(power[(frequencies >= low) & (frequencies < high)].mean()) for low, high in bands]

    assert math.isclose(float(np.sqrt(np.mean(noise**2))), 1.0, rel_tol=1e-9)
    assert abs((levels[1] - levels[0]) - slope_db_per_decade) < 1.5
    np.testing.assert_array_equal(noise, scripts.vad.colored_noise(kind, 160000, seed=5))
    assert not np.allclose(noise, scripts.vad.colored_noise(kind, 160000, seed=6))
    with pytest.raises(ValueError, match=r"noise 'blue' is unknown; expected one of white, pink, brown"):
        scripts.vad.colored_noise("blue", 10, seed=0)


@pytest.fixture(scope="module")
def tiny(scripts, tmp_path_factory):
    """TINY_PROMPTS planned twice (``data/vad_a``, ``data/vad_b`` in a temporary folder whose ``asterisk`` and
    ``synthetic`` link to the committed ones, as the recipes' ``../asterisk`` paths need), the first plan
    built twice (``build1``, ``build2``)."""
    root = tmp_path_factory.mktemp("vad")
    (root / "data").mkdir()
    for source in ("asterisk", "synthetic"):
        (root / "data" / source).symlink_to(scripts.data / source)
    plans = [scripts.vad.plan(root / "data" / name, 3, 0, TINY_PROMPTS) for name in ("vad_a", "vad_b")]
    data_dir = root / "data" / "vad_a"
    builds = [scripts.vad.build(data_dir, root / name, list(TINY_PROMPTS)) for name in ("build1", "build2")]
    return plans, data_dir, root, builds


def test_a_tiny_plan_is_deterministic_and_its_build_too(tiny):
    plans, data_dir, root, _ = tiny

    assert plans[0] == plans[1]
    for split in TINY_PROMPTS:
        assert (data_dir / f"{split}_recipes.json").read_text() == (
            data_dir.with_name("vad_b") / f"{split}_recipes.json"
        ).read_text()
    for audio in sorted((root / "build1" / "audio").iterdir()):
        np.testing.assert_array_equal(sf.read(audio)[0], sf.read(root / "build2" / "audio" / audio.name)[0])
    assert (root / "build1" / "test_manifest.json").read_text() == (
        root / "build2" / "test_manifest.json"
    ).read_text()


def test_tiny_plan_layout_conditions_and_labels(scripts, tiny):
    plans, _, _, _ = tiny
    recipes = plans[0]

    assert len(recipes["train"]) == len({recipe["name"].rsplit("_", 1)[0] for recipe in recipes["train"]})
    test_layouts = {recipe["name"].rsplit("_", 1)[0] for recipe in recipes["test"]}
    assert len(recipes["test"]) == 5 * len(test_layouts)
    assert {recipe["condition"] for recipe in recipes["test"]} == {"clean", "snr20", "snr10", "snr5", "snr0"}
    for split, prompts in TINY_PROMPTS.items():
        used = [item["audio_filepath"] for recipe in recipes[split] for item in recipe["speech"]]
        assert sorted(set(used)) == sorted(prompts)
    for recipe in recipes["train"] + recipes["test"]:
        labels = recipe["label"].split()
        assert len(labels) == math.ceil(recipe["duration"] / 0.02)
        assert labels == [
            str(value) for value in scripts.vad.frame_labels(recipe["segments"], recipe["duration"])
        ]
        assert round(recipe["duration"] * 16000) % 320 == 0
        for item in recipe["speech"]:  # every speech segment lies inside a placed prompt
            start = item["start"]
            assert 0.4 <= start and start + item["samples"] / 16000 <= recipe["duration"] - 0.399
        for begin, end in recipe["segments"]:
            assert any(
                item["start"] <= begin < end <= item["start"] + item["samples"] / 16000
                for item in recipe["speech"]
            )


def test_built_clips_have_the_planned_snr_and_speech_inside_their_segments(scripts, tiny):
    _, data_dir, root, _ = tiny
    recipes = _recipes(data_dir, "test")
    checked = 0
    for recipe in recipes:
        if not recipe["speech"]:
            continue
        speech_only = scripts.vad.mix({**recipe, "noise_dbfs": -300.0}, data_dir)
        noise_only = scripts.vad.mix({**recipe, "speech": []}, data_dir)
        built, _ = sf.read(root / "build1" / "audio" / f"{recipe['name']}.flac")
        np.testing.assert_allclose(built, speech_only + noise_only, atol=2.0 / 32768)
        active = np.zeros(len(speech_only), dtype=bool)
        for begin, end in recipe["segments"]:
            active[round(begin * 16000) : round(end * 16000)] = True
        speech_db = 10 * np.log10(np.mean(speech_only[active] ** 2))
        noise_db = 10 * np.log10(np.mean(noise_only**2))
        if recipe["snr_db"] is None:
            assert noise_db == pytest.approx(-80.0, abs=0.01)
        else:
            assert speech_db - noise_db == pytest.approx(recipe["snr_db"], abs=1.0)
        quiet_db = 10 * np.log10(np.mean(speech_only[~active] ** 2) + 1e-20)
        assert speech_db - quiet_db > 20  # outside the segments there is (almost) no speech
        checked += 1
    assert checked >= 5


def test_build_writes_nemo_manifests_per_condition_and_rttm(scripts, tiny):
    _, data_dir, root, builds = tiny
    out = root / "build1"
    lines = [json.loads(line) for line in (out / "test_manifest.json").read_text().splitlines()]
    recipes = {recipe["name"]: recipe for recipe in _recipes(data_dir, "test")}

    assert builds[0]["test"] == out / "test_manifest.json"
    assert all(list(line) == ["audio_filepath", "duration", "offset", "label"] for line in lines)
    assert sorted(Path(line["audio_filepath"]).stem for line in lines) == sorted(recipes)
    for condition in ("clean", "snr20", "snr10", "snr5", "snr0"):
        per_condition = (out / f"test_{condition}_manifest.json").read_text().splitlines()
        assert {
            recipes[Path(json.loads(line)["audio_filepath"]).stem]["condition"] for line in per_condition
        } == {condition}
    for line in lines:
        recipe = recipes[Path(line["audio_filepath"]).stem]
        assert line["label"] == recipe["label"] and line["duration"] == recipe["duration"]
        assert sf.info(out / line["audio_filepath"]).frames == round(line["duration"] * 16000)
        rttm = (out / "rttm" / f"{recipe['name']}.rttm").read_text().splitlines()
        assert len(rttm) == len(recipe["segments"])
        for row, (begin, end) in zip(rttm, recipe["segments"]):
            fields = row.split()
            assert fields[:3] == ["SPEAKER", recipe["name"], "1"] and fields[7] == "speech"
            assert float(fields[3]) == pytest.approx(begin, abs=5e-4)
            assert float(fields[4]) == pytest.approx(end - begin, abs=1e-3)


def test_mix_refuses_a_prompt_that_changed_since_planning(scripts, tiny):
    _, data_dir, _, _ = tiny
    recipe = next(recipe for recipe in _recipes(data_dir, "test") if recipe["speech"])
    recipe["speech"][0]["samples"] += 1

    with pytest.raises(ValueError, match=r"decodes to \d+ samples, expected \d+; .* plan it again"):
        scripts.vad.mix(recipe, data_dir)


def test_committed_recipes_use_each_asterisk_split_for_its_own_split(scripts):
    folder = scripts.data / "vad"
    asterisk = {
        split: {
            "../asterisk/" + json.loads(line)["audio_filepath"]
            for line in (scripts.data / "asterisk" / f"{split}_manifest.json").read_text().splitlines()
        }
        for split in ("train", "dev", "test")
    }
    used = {}
    for split in ("train", "dev", "test"):
        recipes = _recipes(folder, split)
        used[split] = {item["audio_filepath"] for recipe in recipes for item in recipe["speech"]}
        real = {path for path in used[split] if path.startswith("../asterisk/")}
        assert real == asterisk[split]
        synthetic = used[split] - real
        assert all(path.startswith("../synthetic/audio/") for path in synthetic)
        assert bool(synthetic) == (split == "train")
        assert {recipe["condition"] for recipe in recipes} == {"clean", "snr20", "snr10", "snr5", "snr0"}
        background = [recipe for recipe in recipes if not recipe["speech"]]
        assert background and all(set(recipe["label"].split()) == {"0"} for recipe in background)
        assert all(2.0 <= recipe["duration"] <= 6.02 and not recipe["segments"] for recipe in background)
        for recipe in recipes[:: max(1, len(recipes) // 40)]:
            assert recipe["label"].split() == [
                str(value) for value in scripts.vad.frame_labels(recipe["segments"], recipe["duration"])
            ]
    assert (
        not used["train"] & used["dev"]
        and not used["train"] & used["test"]
        and not used["dev"] & used["test"]
    )
    assert sum(path.stat().st_size for path in folder.iterdir()) < 4 * 2**20


def test_split_prompts_keep_the_asterisk_splits_and_add_synthetic_speech_to_train(scripts):
    prompts = scripts.vad.split_prompts(scripts.data / "vad", 30, random.Random(0))

    for split in ("train", "dev", "test"):
        lines = (scripts.data / "asterisk" / f"{split}_manifest.json").read_text().splitlines()
        real = [path for path in prompts[split] if path.startswith("../asterisk/")]
        assert real == ["../asterisk/" + json.loads(line)["audio_filepath"] for line in lines]
        assert len(prompts[split]) - len(real) == (30 if split == "train" else 0)
    synthetic = prompts["train"][-30:]
    assert all(path.startswith("../synthetic/audio/") for path in synthetic) and len(set(synthetic)) == 30
    assert synthetic == scripts.vad.split_prompts(scripts.data / "vad", 30, random.Random(0))["train"][-30:]
